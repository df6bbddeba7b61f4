//! sqlx used directly, as its documentation shows: one `SqliteConnection` with
//! `SqliteConnectOptions`, `query`/`query_as`/`query_scalar` with `bind`, transactions
//! from `begin_with("BEGIN IMMEDIATE")`, each call driven to completion with
//! `futures_executor::block_on` (lists: `fetch` read through `block_on_stream` up to the
//! limit), what a synchronous caller does; sqlx-sqlite runs the connection on its own
//! worker thread.

use std::path::Path;

use futures_executor::{block_on, block_on_stream};
use sqlite_runtime::{OpenOptions, Synchronous};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

use super::{Durability, Entry, Settings, Store};
use crate::Result;
use crate::keys::{Key, Val};
use crate::sql;

/// A sqlx connection with the backends' pragmas.
pub(crate) struct SqlxStore {
    connection: SqliteConnection,
}

impl SqlxStore {
    pub(crate) fn open(path: &Path, settings: Settings) -> Result<Self> {
        let mut options = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(OpenOptions::DEFAULT_BUSY_TIMEOUT)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match settings.synchronous {
                Synchronous::Off => SqliteSynchronous::Off,
                Synchronous::Normal => SqliteSynchronous::Normal,
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Extra => SqliteSynchronous::Extra,
            })
            .statement_cache_capacity(OpenOptions::DEFAULT_STATEMENT_CACHE_CAPACITY);
        if settings.cache_kib > 0 {
            options = options.pragma("cache_size", format!("-{}", settings.cache_kib));
        }
        let mut connection = block_on(SqliteConnection::connect_with(&options))?;
        block_on(sqlx::query(sql::CREATE_TABLE).execute(&mut connection))?;
        let install = format!("BEGIN IMMEDIATE; {} COMMIT;", sql::INSTALL_SIZE);
        block_on(sqlx::raw_sql(sqlx::AssertSqlSafe(install)).execute(&mut connection))?;
        Ok(SqlxStore { connection })
    }

    pub(crate) fn durability(&mut self) -> Result<Durability> {
        let mode: String =
            block_on(sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut self.connection))?;
        let level: i64 =
            block_on(sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut self.connection))?;
        Ok(Durability::new(mode, level))
    }

    fn range(&mut self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        let rows = sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(sql::RANGE_ASC)
            .bind(start)
            .bind(end)
            .fetch(&mut self.connection);
        Ok(block_on_stream(rows)
            .take(limit)
            .collect::<sqlx::Result<Vec<_>>>()?)
    }
}

impl Store for SqlxStore {
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        Ok(block_on(
            sqlx::query_scalar(sql::GET)
                .bind(&key[..])
                .fetch_optional(&mut self.connection),
        )?)
    }

    fn get_many(&mut self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let connection = &mut self.connection;
        Ok(block_on(async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(
                    sqlx::query_scalar(sql::GET)
                        .bind(&key[..])
                        .fetch_optional(&mut *connection)
                        .await?,
                );
            }
            Ok::<_, sqlx::Error>(values)
        })?)
    }

    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()> {
        let connection = &mut self.connection;
        block_on(async move {
            let mut tx = connection.begin_with(sql::BEGIN).await?;
            let _used: i64 = sqlx::query_scalar(sql::USED_SIZE)
                .fetch_one(&mut *tx)
                .await?;
            for (key, value) in entries {
                sqlx::query(sql::PUT)
                    .bind(&key[..])
                    .bind(&value[..])
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    fn list_range(&mut self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        self.range(start, end, limit)
    }

    fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<Option<u64>> {
        let connection = &mut self.connection;
        let deleted = block_on(async move {
            let mut tx = connection.begin_with(sql::BEGIN).await?;
            let done = sqlx::query(sql::DELETE_RANGE)
                .bind(start)
                .bind(end)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(done.rows_affected())
        })?;
        Ok(Some(deleted))
    }

    fn sql_get(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(block_on(
            sqlx::query_scalar(sql::SQL_GET)
                .bind(id)
                .fetch_optional(&mut self.connection),
        )?)
    }

    fn close(self: Box<Self>) -> Result<()> {
        block_on(self.connection.close())?;
        Ok(())
    }
}
