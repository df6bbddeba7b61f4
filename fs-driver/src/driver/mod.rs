//! The driver: actors, their KV stores and alarms under one storage root (or in memory).
//!
//! `mod.rs` holds the driver, its slots (one mutex per actor) and the path every actor
//! operation takes (`with_actor`); `lifecycle` creates, wakes, lists, puts to sleep and
//! destroys actors; `kv_ops` and `alarms` are the public KV and alarm operations;
//! `budget` caps how many actor databases are open at once.

mod alarms;
mod budget;
mod kv_ops;
mod lifecycle;
mod options;
mod sql_ops;

use std::collections::HashMap;

use crate::kv::read_cache::ReadCache;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sqlite_runtime::{Capability, Guard, SqliteRuntime};

pub use self::options::{DEFAULT_MAX_OPEN_DATABASES, DriverOptions};

use self::budget::OpenBudget;
use crate::actor::{Loaded, Slot, Status};
use crate::actor_id::check_actor_id;
use crate::error::{BoxError, Error, Result};
use crate::fsutil;
use crate::layout::Layout;
use crate::migration::{MigrationOptions, MigrationReport, migrate_legacy};
use crate::storage::Storage;
use crate::storage::database::DatabaseStorage;
use crate::storage::disk::DiskStorage;
use crate::storage::memory::MemoryStorage;

/// A caller-supplied hook run when an actor is put to sleep or destroyed, before its
/// database is closed. It runs without the actor's lock held: operations on the actor
/// from inside the hook get [`Error::ActorStopping`]. Its failure (or panic) is
/// reported, but the actor is stopped all the same.
pub type StopHook<'a> = &'a (dyn Fn(&str) -> std::result::Result<(), BoxError> + 'a);

/// How many times an operation follows an actor to a fresh slot after a concurrent sleep
/// before giving up with [`Error::ActorStopping`].
const SLOT_RETRIES: usize = 64;

/// Descriptors kept free for the lock files, the application and SQLite's own use when
/// the open-database budget is fitted to the process's descriptor limit.
const RESERVED_DESCRIPTORS: u64 = 32 + crate::storage::locks::SHARDS as u64;

/// The fewest databases the budget keeps open, whatever the descriptor limit.
const MIN_OPEN_DATABASES: usize = 4;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn check_id(id: &str) -> Result<()> {
    check_actor_id(id).map_err(|reason| Error::InvalidActorId {
        id: id.to_owned(),
        reason,
    })
}

fn run_hook(id: &str, hook: Option<StopHook<'_>>) -> Result<()> {
    let Some(hook) = hook else {
        return Ok(());
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| hook(id)))
        .unwrap_or_else(|_| Err(BoxError::from("the stop hook panicked")));
    outcome.map_err(|source| {
        tracing::warn!(actor = %id, error = %source, "stop hook failed; stopping the actor anyway");
        Error::StopHook {
            id: id.to_owned(),
            source,
        }
    })
}

/// The file-system driver (or, without a root, its in-memory twin).
///
/// Each actor has its own mutex: one actor's operations run one at a time, different
/// actors never wait on each other (the map of actors is locked only to look a slot up).
/// The driver is `Send + Sync`; share it as `&FsDriver` or `Arc<FsDriver>`.
///
/// Operations on an actor that is not running open it (a wake). Operations that race
/// with [`sleep_actor`](FsDriver::sleep_actor) or
/// [`destroy_actor`](FsDriver::destroy_actor) either complete fully or fail with
/// [`Error::ActorStopping`]. At most
/// [`max_open_databases`](DriverOptions::max_open_databases) actor databases are open at
/// once; awake actors beyond it are reopened transparently.
///
/// Several processes (and drivers) may use one root: KV reads and writes are safe between
/// them (SQLite's locking, and a storage size kept in each database), and each actor's
/// lifecycle is guarded by advisory locks (see "Several processes on one root" in the
/// crate docs: an actor awake in one process cannot be destroyed by another, and two
/// never both create one id).
pub struct FsDriver {
    runtime: Arc<dyn SqliteRuntime>,
    storage: Box<dyn Storage>,
    options: DriverOptions,
    actors: Mutex<HashMap<String, Arc<Slot>>>,
    budget: OpenBudget,
    migration: Option<MigrationReport>,
    /// What actors' own SQL runs under.
    sql_guard: Guard,
    /// The memory for copies of leased actors' entries.
    read_cache: Arc<ReadCache>,
}

impl std::fmt::Debug for FsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsDriver")
            .field("backend", &self.runtime.backend())
            .field("root", &self.root())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl FsDriver {
    /// Opens the storage root at `root`.
    ///
    /// On a runtime whose databases are local files (every bundled backend) the root is
    /// a directory in rivetkit's layout: its directories are created, stale temporary
    /// files removed, the legacy migration run (unless disabled) and persisted alarms
    /// read back. On a runtime without [`Capability::LocalFiles`] (a replicated engine)
    /// the root only names the actors' databases on that engine, and state records and
    /// alarms live there too (see [Actors on a shared engine](crate#actors-on-a-shared-engine)); there
    /// are no legacy files to migrate.
    pub fn open(
        runtime: Arc<dyn SqliteRuntime>,
        root: impl Into<PathBuf>,
        options: DriverOptions,
    ) -> Result<Self> {
        let root = root.into();
        if !runtime.capabilities().has(Capability::LocalFiles) {
            let storage = DatabaseStorage::open(runtime.clone(), root, options.lease_timeout)?;
            return Ok(Self::with_storage(
                runtime,
                Box::new(storage),
                options,
                None,
            ));
        }
        let storage = DiskStorage::open(Layout::new(root.clone()), options.stale_temp_age)?;
        let migration = if options.migrate_legacy {
            let report = migrate_legacy(&*runtime, &root, MigrationOptions::default())?;
            tracing::info!(
                root = %root.display(),
                migrated = report.migrated.len(),
                entries = report.entries_migrated(),
                skipped = report.skipped_populated.len(),
                failures = report.failures.len(),
                "legacy migration finished"
            );
            Some(report)
        } else {
            None
        };
        Ok(Self::with_storage(
            runtime,
            Box::new(storage),
            options,
            migration,
        ))
    }

    fn with_storage(
        runtime: Arc<dyn SqliteRuntime>,
        storage: Box<dyn Storage>,
        options: DriverOptions,
        migration: Option<MigrationReport>,
    ) -> Self {
        let budget =
            if storage.root().is_some() && runtime.capabilities().has(Capability::LocalFiles) {
                fit_to_descriptors(options.max_open_databases)
            } else {
                options.max_open_databases
            };
        FsDriver {
            sql_guard: crate::kv::actor_sql::guard(options.sql_limits.clone()),
            read_cache: ReadCache::new(options.read_cache_bytes),
            runtime,
            storage,
            budget: OpenBudget::new(budget),
            options,
            actors: Mutex::default(),
            migration,
        }
    }

    /// A driver that persists nothing: each actor's KV store is a private in-memory
    /// database. Sleeping keeps the data (closing an in-memory database would erase
    /// it); destroying drops it.
    pub fn memory(runtime: Arc<dyn SqliteRuntime>, options: DriverOptions) -> Self {
        Self::with_storage(runtime, Box::new(MemoryStorage::default()), options, None)
    }

    /// The bytes held by copies of leased actors' entries (reads served by the lease
    /// holder, on an engine without local files), and their budget
    /// ([`DriverOptions::read_cache_bytes`]).
    pub fn read_cache_usage(&self) -> (usize, usize) {
        self.read_cache.usage()
    }

    /// The storage root (on an engine without local files, the name its databases are
    /// under), `None` in memory mode.
    pub fn root(&self) -> Option<&Path> {
        self.storage.root()
    }

    /// The storage layout on disk; `None` in memory mode and on an engine without local
    /// files.
    pub fn layout(&self) -> Option<&Layout> {
        self.storage.layout()
    }

    /// Whether this driver persists nothing.
    pub fn is_memory(&self) -> bool {
        !self.storage.persistent()
    }

    /// The settings.
    pub fn options(&self) -> &DriverOptions {
        &self.options
    }

    /// The runtime databases are opened with.
    pub fn runtime(&self) -> &Arc<dyn SqliteRuntime> {
        &self.runtime
    }

    /// What the start-up migration did (`None` in memory mode or when disabled).
    pub fn migration_report(&self) -> Option<&MigrationReport> {
        self.migration.as_ref()
    }

    /// How many actor databases are open now, and the most that may be (after fitting
    /// [`max_open_databases`](DriverOptions::max_open_databases) to the descriptor
    /// limit). Memory mode counts none.
    pub fn open_databases(&self) -> (usize, usize) {
        (self.budget.open_count(), self.budget.capacity())
    }

    /// The actor's slot, made on first use. An id is validated before its slot is made,
    /// so a mapped slot proves its id valid and the hot path skips the check.
    fn slot(&self, id: &str) -> Result<Arc<Slot>> {
        let mut actors = lock(&self.actors);
        if let Some(slot) = actors.get(id) {
            return Ok(slot.clone());
        }
        check_id(id)?;
        let slot = Arc::new(Slot::new());
        actors.insert(id.to_owned(), slot.clone());
        Ok(slot)
    }

    /// Drops `slot` from the map if it is still the one there. Called with the slot
    /// locked, so that nobody sees a retired slot still mapped.
    fn unmap(&self, id: &str, slot: &Arc<Slot>) {
        let mut actors = lock(&self.actors);
        if actors
            .get(id)
            .is_some_and(|current| Arc::ptr_eq(current, slot))
        {
            actors.remove(id);
        }
    }

    /// Runs `work` on the running actor, waking it first if needed, and reopening its
    /// database if the budget had closed it.
    fn with_actor<R>(&self, id: &str, work: impl FnOnce(&mut Loaded) -> Result<R>) -> Result<R> {
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &mut *status {
                Status::Running(loaded) => {
                    if loaded.kv.is_open() || self.is_memory() {
                        self.budget.touch(&slot);
                    } else {
                        self.budget.admit(&slot);
                    }
                    return work(loaded);
                }
                Status::Stopping | Status::Destroyed => {
                    return Err(Error::ActorStopping(id.to_owned()));
                }
                Status::Retired => continue,
                Status::Unloaded => {}
            }
            match self.wake(id, &slot) {
                Ok(Some(loaded)) => {
                    let mut loaded = Box::new(loaded);
                    let result = work(&mut loaded);
                    *status = Status::Running(loaded);
                    return result;
                }
                Ok(None) => {
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return Err(Error::ActorNotFound(id.to_owned()));
                }
                Err(error) => {
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return Err(error);
                }
            }
        }
        Err(Error::ActorStopping(id.to_owned()))
    }
}

/// `requested`, lowered so that three descriptors per open database fit under the
/// process's descriptor limit with room to spare.
fn fit_to_descriptors(requested: usize) -> usize {
    let Some(limit) = fsutil::descriptor_limit() else {
        return requested;
    };
    let fits = limit.saturating_sub(RESERVED_DESCRIPTORS) / 3;
    let fitted = requested
        .min(usize::try_from(fits).unwrap_or(usize::MAX))
        .max(MIN_OPEN_DATABASES);
    if fitted < requested {
        tracing::info!(
            requested,
            fitted,
            limit,
            "open actor databases capped by the descriptor limit"
        );
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<FsDriver>();
        assert_send_sync::<Arc<FsDriver>>();
    }

    #[test]
    fn hook_failures_and_panics_become_typed_errors() {
        assert!(run_hook("a", None).is_ok());
        let failing = |_: &str| -> std::result::Result<(), BoxError> { Err("boom".into()) };
        assert!(matches!(
            run_hook("a", Some(&failing)),
            Err(Error::StopHook { .. })
        ));
        let panicking = |_: &str| -> std::result::Result<(), BoxError> { panic!("hook panic") };
        assert!(matches!(
            run_hook("a", Some(&panicking)),
            Err(Error::StopHook { .. })
        ));
    }
}
