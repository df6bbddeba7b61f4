//! The variants of the async cells: one database (or actor) each, prefilled alike, every
//! one running the driver's own SQL.

use std::path::Path;
use std::sync::Arc;

use fs_driver::{AsyncFsDriver, DriverOptions, FsDriver, ListOptions};
use sqlite_runtime::workers::WorkersOptions;
use sqlite_runtime::{
    AsyncDatabase, AsyncRuntime, OpenOptions, OwnedParams, SqliteRuntime, Target, Value,
};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::Result;
use crate::keys::{BATCH_PUT, LIST_LIMIT, initial_value, key};
use crate::sql;

/// The actor the driver variant measures.
pub(super) const ACTOR: &str = "bench";

/// One variant.
pub(super) enum Store {
    /// The async driver on the rusqlite backend.
    Driver(AsyncFsDriver),
    /// The async runtime layer on a backend.
    Layer(AsyncDatabase),
    /// sqlx's own async API, a pool of one connection.
    SqlxDirect(SqlitePool),
}

/// A named variant.
pub(super) struct Variant {
    pub(super) name: String,
    pub(super) store: Store,
}

/// Opens every in-process variant on copies of `template` (the driver on a root of its
/// own, filled through the driver).
pub(super) async fn open_all(dir: &Path, template: &Path, entries: u64) -> Result<Vec<Variant>> {
    let mut variants = vec![Variant {
        name: "async driver (rusqlite)".into(),
        store: Store::Driver(open_driver(&dir.join("driver"), entries)?),
    }];
    let backends: [(&str, Arc<dyn SqliteRuntime>); 2] = [
        (
            "rusqlite",
            Arc::new(sqlite_runtime_backends::RusqliteRuntime::new()),
        ),
        (
            "sqlx",
            Arc::new(sqlite_runtime_backends::SqlxRuntime::new()),
        ),
    ];
    for (name, runtime) in backends {
        let path = dir.join(format!("layer-{name}.db"));
        std::fs::copy(template, &path)?;
        let runtime = AsyncRuntime::with_options(runtime, WorkersOptions::new().threads(2))?;
        let db = runtime
            .open(Target::file(&path), OpenOptions::new())
            .await?;
        variants.push(Variant {
            name: format!("async layer ({name})"),
            store: Store::Layer(db),
        });
    }
    let path = dir.join("sqlx-direct.db");
    std::fs::copy(template, &path)?;
    variants.push(Variant {
        name: "sqlx direct".into(),
        store: Store::SqlxDirect(open_sqlx(&path).await?),
    });
    Ok(variants)
}

/// A driver with actor [`ACTOR`] holding `entries` entries.
pub(super) fn open_driver(root: &Path, entries: u64) -> Result<AsyncFsDriver> {
    let runtime = Arc::new(sqlite_runtime_backends::RusqliteRuntime::new());
    let driver = FsDriver::open(runtime, root, DriverOptions::new())?;
    let none: &[(&[u8], &[u8])] = &[];
    driver.create_actor(ACTOR, "bench", vec![], none)?;
    let all: Vec<(Vec<u8>, Vec<u8>)> = (0..entries)
        .map(|i| (key(i).to_vec(), initial_value(i).to_vec()))
        .collect();
    for chunk in all.chunks(BATCH_PUT) {
        driver.kv_put(ACTOR, chunk)?;
    }
    Ok(AsyncFsDriver::with_options(
        driver,
        WorkersOptions::new().threads(2),
    )?)
}

/// sqlx used directly: a pool of one connection with the backends' pragmas.
pub(super) async fn open_sqlx(path: &Path) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(OpenOptions::DEFAULT_BUSY_TIMEOUT)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .statement_cache_capacity(OpenOptions::DEFAULT_STATEMENT_CACHE_CAPACITY);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

fn blob(bytes: &[u8]) -> Value {
    Value::Blob(bytes.to_vec())
}

impl Store {
    /// A point get.
    pub(super) async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(match self {
            Store::Driver(driver) => driver.kv_get_one(ACTOR, key.to_vec()).await?,
            Store::Layer(db) => db
                .query_row(sql::GET, vec![blob(key)])
                .await?
                .map(|row| row.get::<Vec<u8>>(0))
                .transpose()?,
            Store::SqlxDirect(pool) => {
                sqlx::query_scalar::<_, Vec<u8>>(sql::GET)
                    .bind(key)
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// The entries in `[start, end)` (one bucket: [`LIST_LIMIT`] of them).
    pub(super) async fn list(&self, start: &[u8], end: &[u8]) -> Result<usize> {
        Ok(match self {
            Store::Driver(driver) => {
                let options = ListOptions::new().limit(LIST_LIMIT);
                driver
                    .kv_list_range(ACTOR, start.to_vec(), end.to_vec(), options)
                    .await?
                    .len()
            }
            Store::Layer(db) => db
                .query(sql::RANGE_ASC, vec![blob(start), blob(end)])
                .await?
                .len(),
            Store::SqlxDirect(pool) => sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(sql::RANGE_ASC)
                .bind(start)
                .bind(end)
                .fetch_all(pool)
                .await?
                .len(),
        })
    }

    /// A put as the driver does it: `BEGIN IMMEDIATE`, the size read, `INSERT OR
    /// REPLACE` (with the size triggers), `COMMIT`.
    pub(super) async fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        match self {
            Store::Driver(driver) => {
                driver
                    .kv_put(ACTOR, vec![(key.to_vec(), value.to_vec())])
                    .await?
            }
            Store::Layer(db) => {
                let params = OwnedParams::from(vec![blob(key), blob(value)]);
                db.transaction(move |tx| {
                    tx.get(sql::USED_SIZE, sqlite_runtime::Params::NONE)?;
                    params.with(|params| tx.run(sql::PUT, params))?;
                    Ok(())
                })
                .await?
            }
            Store::SqlxDirect(pool) => {
                let mut connection = pool.acquire().await?;
                let mut tx = connection.begin_with("BEGIN IMMEDIATE").await?;
                let _: i64 = sqlx::query_scalar(sql::USED_SIZE)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(sql::PUT)
                    .bind(key)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
