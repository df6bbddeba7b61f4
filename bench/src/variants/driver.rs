//! The fs-driver on one backend: what an application using us runs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use fs_driver::{DriverOptions, FsDriver, ListOptions};
use sqlite_runtime::{
    BackendKind, Capabilities, Capability, OpenOptions, Params, SqliteDatabase, SqliteRuntime,
    Target, params,
};

use super::{Durability, Entry, Settings, Store};
use crate::Result;
use crate::keys::{Key, Val};
use crate::sql;

/// The actor every driver variant uses.
pub(crate) const ACTOR: &str = "bench-actor";

/// A runtime that opens through `inner` with the pass's `synchronous` level and cache
/// size (the driver always asks for the defaults), and records what the connection
/// reports.
pub(crate) struct DurabilityRuntime {
    inner: Arc<dyn SqliteRuntime>,
    settings: Settings,
    seen: Mutex<Option<Durability>>,
}

impl DurabilityRuntime {
    pub(crate) fn new(inner: Arc<dyn SqliteRuntime>, settings: Settings) -> Self {
        DurabilityRuntime {
            inner,
            settings,
            seen: Mutex::new(None),
        }
    }

    fn seen(&self) -> Option<Durability> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn read_durability(db: &mut dyn SqliteDatabase) -> sqlite_runtime::Result<Durability> {
    let journal_mode = db
        .get("PRAGMA journal_mode", Params::NONE)?
        .map(|row| row.get::<String>(0))
        .transpose()?
        .unwrap_or_default();
    let synchronous = db
        .get("PRAGMA synchronous", Params::NONE)?
        .map(|row| row.get::<i64>(0))
        .transpose()?
        .unwrap_or(-1);
    Ok(Durability::new(journal_mode, synchronous))
}

impl SqliteRuntime for DurabilityRuntime {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn open(
        &self,
        target: &Target,
        options: &OpenOptions,
    ) -> sqlite_runtime::Result<Box<dyn SqliteDatabase>> {
        let options = options.clone().synchronous(self.settings.synchronous);
        let mut db = self.inner.open(target, &options)?;
        if let Some(cache) = self.settings.cache_sql() {
            db.exec(&cache)?;
        }
        if !target.is_memory() && self.inner.capabilities().has(Capability::LocalFiles) {
            let durability = read_durability(&mut *db)?;
            *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(durability);
        }
        Ok(db)
    }
}

/// A driver with one actor whose database is a copy of the template.
pub(crate) struct DriverStore {
    driver: FsDriver,
    runtime: Arc<DurabilityRuntime>,
}

impl DriverStore {
    /// Creates the actor under `root` through the driver with the `entries` of the
    /// template at `template`: when its databases are local files, by putting it to
    /// sleep, replacing its database with a copy of the template and loading it again
    /// (which reads the storage size from the copied table, so the driver's accounting
    /// is right); on a remote engine, by writing the same entries (and, where the
    /// engine runs actor SQL, the same `items` rows) through the driver.
    pub(crate) fn open(
        backend: Arc<dyn SqliteRuntime>,
        root: &Path,
        (template, entries): (&Path, u64),
        settings: Settings,
    ) -> Result<Self> {
        let runtime = Arc::new(DurabilityRuntime::new(backend, settings));
        let options = DriverOptions::new().migrate_legacy(false);
        let driver = FsDriver::open(runtime.clone(), root, options)?;
        let none: &[(&[u8], &[u8])] = &[];
        driver.create_actor(ACTOR, "bench", vec![], none)?;
        let Some(layout) = driver.layout() else {
            fill(&driver, &*runtime, entries)?;
            return Ok(DriverStore { driver, runtime });
        };
        driver.sleep_actor(ACTOR, None)?;
        for file in layout.database_files(ACTOR) {
            if file.exists() {
                std::fs::remove_file(&file)?;
            }
        }
        let database: PathBuf = layout.database_path(ACTOR);
        std::fs::copy(template, &database)?;
        driver.load_actor(ACTOR)?;
        Ok(DriverStore { driver, runtime })
    }

    /// What the actor's connection reported at open (nothing on a remote engine).
    pub(crate) fn durability(&self) -> Option<Durability> {
        self.runtime.seen()
    }

    /// The driver's tracked storage size.
    pub(crate) fn storage_used(&self) -> Result<u64> {
        Ok(self.driver.kv_storage_used(ACTOR)?)
    }
}

/// Writes the template's entries through the driver, a batch of the most keys a put
/// takes at a time, then its `items` table through the actor's SQL, in one transaction.
/// An engine without actor SQL gets no table: its `sql_get` row reports the driver's
/// `Unsupported`.
fn fill(driver: &FsDriver, runtime: &dyn SqliteRuntime, entries: u64) -> Result<()> {
    let mut batch = Vec::with_capacity(fs_driver::limits::MAX_KEYS);
    for index in 0..entries {
        batch.push((crate::keys::key(index), crate::keys::initial_value(index)));
        if batch.len() == fs_driver::limits::MAX_KEYS || index + 1 == entries {
            driver.kv_put(ACTOR, &batch)?;
            batch.clear();
        }
    }
    if !runtime.capabilities().has(Capability::GuardedSql) {
        return Ok(());
    }
    driver.sql_transaction(ACTOR, |tx| {
        tx.execute(sql::CREATE_ITEMS, Params::NONE)?;
        for index in 0..entries {
            let value = crate::keys::initial_value(index);
            tx.execute(sql::INSERT_ITEM, params![index as i64, &value[..]])?;
        }
        Ok(())
    })?;
    Ok(())
}

impl Store for DriverStore {
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        Ok(self.driver.kv_get_one(ACTOR, key)?)
    }

    fn get_many(&mut self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        Ok(self.driver.kv_get(ACTOR, keys)?)
    }

    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()> {
        Ok(self.driver.kv_put(ACTOR, entries)?)
    }

    fn list_prefix(&mut self, prefix: &[u8]) -> Result<Vec<Entry>> {
        Ok(self
            .driver
            .kv_list_prefix(ACTOR, prefix, ListOptions::new())?)
    }

    fn list_range(&mut self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        Ok(self
            .driver
            .kv_list_range(ACTOR, start, end, ListOptions::new().limit(limit))?)
    }

    fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<Option<u64>> {
        self.driver.kv_delete_range(ACTOR, start, end)?;
        Ok(None)
    }

    fn sql_get(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .driver
            .sql_query_row(ACTOR, sql::SQL_GET, params![id], |row| {
                row.get::<Vec<u8>>(0)
            })?)
    }

    fn close(self: Box<Self>) -> Result<()> {
        Ok(self.driver.sleep_actor(ACTOR, None)?)
    }
}
