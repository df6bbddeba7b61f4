//! rusqlite used directly, as its documentation recommends: `prepare_cached`, `params!`,
//! `query_row`/`query_map`, `transaction_with_behavior(Immediate)`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sqlite_runtime::{OpenOptions, Target};

use super::{Durability, Entry, Settings, Store};
use crate::Result;
use crate::keys::{Key, Val};
use crate::sql;

/// A rusqlite connection with the backends' pragmas.
pub(crate) struct RusqliteStore {
    connection: Connection,
}

/// The actor's size, read inside a put as the driver does (for its storage limit).
fn used(connection: &Connection) -> rusqlite::Result<i64> {
    connection
        .prepare_cached(sql::USED_SIZE)?
        .query_row([], |row| row.get::<_, i64>(0))
}

impl RusqliteStore {
    pub(crate) fn open(path: &Path, settings: Settings) -> Result<Self> {
        let connection = Connection::open(path)?;
        let target = Target::file(path);
        connection.execute_batch(
            &OpenOptions::new()
                .synchronous(settings.synchronous)
                .setup_sql(&target),
        )?;
        if let Some(cache) = settings.cache_sql() {
            connection.execute_batch(&cache)?;
        }
        connection
            .set_prepared_statement_cache_capacity(OpenOptions::DEFAULT_STATEMENT_CACHE_CAPACITY);
        connection.execute_batch(sql::CREATE_TABLE)?;
        connection.execute_batch(&format!("BEGIN IMMEDIATE; {} COMMIT;", sql::INSTALL_SIZE))?;
        Ok(RusqliteStore { connection })
    }

    pub(crate) fn durability(&self) -> Result<Durability> {
        let mode: String = self
            .connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        let level: i64 = self
            .connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))?;
        Ok(Durability::new(mode, level))
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        let mut statement = self.connection.prepare_cached(sql::RANGE_ASC)?;
        let rows = statement.query_map(params![start, end], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        Ok(rows.take(limit).collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

impl Store for RusqliteStore {
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        Ok(self
            .connection
            .prepare_cached(sql::GET)?
            .query_row(params![&key[..]], |row| row.get::<_, Vec<u8>>(0))
            .optional()?)
    }

    fn get_many(&mut self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut statement = self.connection.prepare_cached(sql::GET)?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(
                statement
                    .query_row(params![&key[..]], |row| row.get::<_, Vec<u8>>(0))
                    .optional()?,
            );
        }
        Ok(values)
    }

    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        used(&tx)?;
        for (key, value) in entries {
            tx.prepare_cached(sql::PUT)?
                .execute(params![&key[..], &value[..]])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn list_range(&mut self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        self.range(start, end, limit)
    }

    fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<Option<u64>> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleted = tx
            .prepare_cached(sql::DELETE_RANGE)?
            .execute(params![start, end])?;
        tx.commit()?;
        Ok(Some(deleted as u64))
    }

    fn sql_get(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .connection
            .prepare_cached(sql::SQL_GET)?
            .query_row(params![id], |row| row.get::<_, Vec<u8>>(0))
            .optional()?)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.connection.close().map_err(|(_, error)| error)?;
        Ok(())
    }
}
