//! The driver: actors, their KV stores and alarms under one storage root (or in memory).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlite_runtime::{SqliteRuntime, StatementCacheStats, Target};

use crate::actor::{ActorInfo, Loaded, Slot, Status};
use crate::actor_id::check_actor_id;
use crate::alarm::{ActorAlarm, decode_alarm, encode_alarm};
use crate::error::{BoxError, Error, Result};
use crate::fsutil;
use crate::kv::{self, KvStore, ListOptions};
use crate::layout::Layout;
use crate::limits::DEFAULT_MAX_STORAGE_SIZE;
use crate::migration::{MigrationOptions, MigrationReport, migrate_legacy};
use crate::state::{ActorState, KvEntry, decode_state, encode_state};

/// A caller-supplied hook run when an actor is put to sleep or destroyed, before its
/// database is closed. It runs without the actor's lock held: operations on the actor
/// from inside the hook get [`Error::ActorStopping`]. Its failure (or panic) is
/// reported, but the actor is stopped all the same.
pub type StopHook<'a> = &'a (dyn Fn(&str) -> std::result::Result<(), BoxError> + 'a);

/// How many times an operation follows an actor to a fresh slot after a concurrent sleep
/// before giving up with [`Error::ActorStopping`].
const SLOT_RETRIES: usize = 64;

/// Driver settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverOptions {
    /// The storage limit per actor: the sum of `key + value` over its table
    /// (default 10 GiB).
    pub max_storage_bytes: u64,
    /// Temporary files older than this are removed at start-up (default one hour).
    pub stale_temp_age: Duration,
    /// Whether opening a root runs the legacy migration (default `true`).
    pub migrate_legacy: bool,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            max_storage_bytes: DEFAULT_MAX_STORAGE_SIZE,
            stale_temp_age: fsutil::STALE_TEMP_AGE,
            migrate_legacy: true,
        }
    }
}

impl DriverOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the storage limit per actor.
    pub fn max_storage_bytes(mut self, bytes: u64) -> Self {
        self.max_storage_bytes = bytes;
        self
    }

    /// Sets the age past which temporary files are removed at start-up.
    pub fn stale_temp_age(mut self, age: Duration) -> Self {
        self.stale_temp_age = age;
        self
    }

    /// Sets whether opening a root runs the legacy migration.
    pub fn migrate_legacy(mut self, migrate: bool) -> Self {
        self.migrate_legacy = migrate;
        self
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

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
/// Operations on an actor that is not running open it (like a wake-up). Operations that
/// race with [`sleep_actor`](FsDriver::sleep_actor) or
/// [`destroy_actor`](FsDriver::destroy_actor) either complete fully or fail with
/// [`Error::ActorStopping`]. Only one driver may use a storage root at a time.
pub struct FsDriver {
    runtime: Arc<dyn SqliteRuntime>,
    layout: Option<Layout>,
    options: DriverOptions,
    actors: Mutex<HashMap<String, Arc<Slot>>>,
    alarms: Mutex<HashMap<String, u64>>,
    /// Memory mode only: every actor's metadata, for listing.
    memory_index: Mutex<BTreeMap<String, ActorInfo>>,
    migration: Option<MigrationReport>,
}

impl std::fmt::Debug for FsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsDriver")
            .field("backend", &self.runtime.name())
            .field("root", &self.root())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl FsDriver {
    /// Opens the storage root at `root`, creating its directories: removes stale
    /// temporary files, runs the legacy migration (unless disabled) and reads persisted
    /// alarms back.
    pub fn open(
        runtime: Arc<dyn SqliteRuntime>,
        root: impl Into<PathBuf>,
        options: DriverOptions,
    ) -> Result<Self> {
        let layout = Layout::new(root);
        for dir in [
            layout.state_dir(),
            layout.databases_dir(),
            layout.alarms_dir(),
        ] {
            fsutil::create_dir_all(&dir)?;
        }
        for dir in [
            layout.root().to_path_buf(),
            layout.state_dir(),
            layout.databases_dir(),
            layout.alarms_dir(),
        ] {
            fsutil::remove_stale_temps(&dir, options.stale_temp_age);
        }
        let migration = if options.migrate_legacy {
            let report = migrate_legacy(&*runtime, layout.root(), MigrationOptions::default())?;
            tracing::info!(
                root = %layout.root().display(),
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
        let alarms = load_alarms(&layout)?;
        Ok(FsDriver {
            runtime,
            layout: Some(layout),
            options,
            actors: Mutex::default(),
            alarms: Mutex::new(alarms),
            memory_index: Mutex::default(),
            migration,
        })
    }

    /// A driver that persists nothing: each actor's KV store is a private in-memory
    /// database. Sleeping keeps the data (closing an in-memory database would erase
    /// it); destroying drops it.
    pub fn memory(runtime: Arc<dyn SqliteRuntime>, options: DriverOptions) -> Self {
        FsDriver {
            runtime,
            layout: None,
            options,
            actors: Mutex::default(),
            alarms: Mutex::default(),
            memory_index: Mutex::default(),
            migration: None,
        }
    }

    /// The storage root, `None` in memory mode.
    pub fn root(&self) -> Option<&Path> {
        self.layout.as_ref().map(Layout::root)
    }

    /// The storage layout, `None` in memory mode.
    pub fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    /// Whether this driver persists nothing.
    pub fn is_memory(&self) -> bool {
        self.layout.is_none()
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

    // ----- slots -----

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

    /// Whether the actor exists: it has a state file that is not a destroy's tombstone.
    fn exists(&self, id: &str) -> Result<bool> {
        match &self.layout {
            None => Ok(false),
            Some(layout) => Ok(live_state(layout, id)?.is_some()),
        }
    }

    /// Wakes the actor: reads its state, opens its database and records the wake in its
    /// state file (`startTs = connectableTs = now`, no `sleepTs`), as rivetkit does.
    /// `None` when the actor does not exist.
    fn load(&self, id: &str) -> Result<Option<Loaded>> {
        let Some(layout) = &self.layout else {
            return Ok(None);
        };
        let Some(mut state) = live_state(layout, id)? else {
            return Ok(None);
        };
        let mut kv = KvStore::open(
            self.runtime.clone(),
            id,
            Target::file(layout.database_path(id)),
            self.options.max_storage_bytes,
        )?;
        let now = now_ms();
        state.start_ts = Some(now);
        state.connectable_ts = Some(now);
        state.sleep_ts = None;
        let written = forget_migrated_entries(&mut state, &mut kv)
            .and_then(|()| write_state(layout, id, &state));
        if let Err(error) = written {
            let _ = kv.close();
            return Err(error);
        }
        tracing::debug!(actor = %id, "actor loaded");
        Ok(Some(Loaded {
            id: id.to_owned(),
            state,
            kv,
        }))
    }

    /// Runs `work` on the running actor, loading it first if needed.
    fn with_actor<R>(&self, id: &str, work: impl FnOnce(&mut Loaded) -> Result<R>) -> Result<R> {
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &mut *status {
                Status::Running(loaded) => return work(loaded),
                Status::Stopping | Status::Destroyed => {
                    return Err(Error::ActorStopping(id.to_owned()));
                }
                Status::Retired => continue,
                Status::Unloaded => {}
            }
            match self.load(id) {
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

    // ----- actors -----

    /// Creates an actor with `name`, `key` and `initial` KV entries (written in the same
    /// step, under the put limits). Fails with [`Error::ActorExists`] when the id is
    /// taken; leftover database or alarm files of a previous actor with this id are
    /// removed first, so the new actor starts empty.
    pub fn create_actor<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        name: &str,
        key: Vec<String>,
        initial: &[(K, V)],
    ) -> Result<ActorInfo> {
        check_id(id)?;
        crate::limits::check_put(initial, 0, self.options.max_storage_bytes)?;
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &*status {
                Status::Running(_) => return Err(Error::ActorExists(id.to_owned())),
                Status::Stopping => return Err(Error::ActorStopping(id.to_owned())),
                Status::Destroyed | Status::Retired => continue,
                Status::Unloaded => {}
            }
            if self.exists(id)? {
                return Err(Error::ActorExists(id.to_owned()));
            }
            let now = now_ms();
            let state = ActorState {
                actor_id: id.to_owned(),
                name: name.to_owned(),
                key,
                created_at: now,
                // Created and running, as rivetkit's create followed by its start.
                start_ts: Some(now),
                connectable_ts: Some(now),
                ..ActorState::default()
            };
            let kv = self.create_store(id, &state, initial)?;
            let loaded = Loaded {
                id: id.to_owned(),
                state,
                kv,
            };
            let info = loaded.info();
            *status = Status::Running(Box::new(loaded));
            if self.is_memory() {
                lock(&self.memory_index).insert(id.to_owned(), info.clone());
            }
            tracing::debug!(actor = %id, "actor created");
            return Ok(info);
        }
        Err(Error::ActorStopping(id.to_owned()))
    }

    fn create_store<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        state: &ActorState,
        initial: &[(K, V)],
    ) -> Result<KvStore> {
        let max = self.options.max_storage_bytes;
        let Some(layout) = &self.layout else {
            let mut kv = KvStore::create(self.runtime.clone(), id, Target::Memory, max)?;
            kv.put(initial)?;
            return Ok(kv);
        };
        // No live state file: whatever else carries this id is a leftover (of a destroy
        // that did not finish, or of a create that crashed), removed first.
        remove_actor_files(layout, id)?;
        lock(&self.alarms).remove(id);
        let mut kv = match KvStore::create(
            self.runtime.clone(),
            id,
            Target::file(layout.database_path(id)),
            max,
        ) {
            Ok(kv) => kv,
            Err(error) => {
                // The open may have created the file before failing.
                let _ = remove_actor_files(layout, id);
                return Err(error);
            }
        };
        let written = kv
            .put(initial)
            .and_then(|()| write_state(layout, id, state));
        if let Err(error) = written {
            let _ = kv.close();
            let _ = remove_actor_files(layout, id);
            return Err(error);
        }
        Ok(kv)
    }

    /// Makes sure the actor is running (opening its database) and returns its metadata.
    pub fn load_actor(&self, id: &str) -> Result<ActorInfo> {
        self.with_actor(id, |loaded| Ok(loaded.info()))
    }

    /// Whether the actor's database is open right now (in memory mode: whether it exists).
    pub fn is_running(&self, id: &str) -> bool {
        let slot = lock(&self.actors).get(id).cloned();
        slot.is_some_and(|slot| matches!(&*slot.lock(), Status::Running(_)))
    }

    /// Up to `limit` actors with ids after `after` (exclusive), sorted by id. Pass the
    /// last id of a page as `after` to get the next one. Actors whose state file cannot be
    /// decoded are skipped (and logged).
    pub fn list_actors(&self, after: Option<&str>, limit: usize) -> Result<Vec<ActorInfo>> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        let Some(layout) = &self.layout else {
            let index = lock(&self.memory_index);
            return Ok(index
                .range::<str, _>((lower, Bound::Unbounded))
                .take(limit)
                .map(|(_, info)| info.clone())
                .collect());
        };
        let mut ids: Vec<String> = fsutil::actor_file_names(&layout.state_dir())?
            .into_iter()
            .flatten()
            .filter(|id| check_actor_id(id).is_ok())
            .filter(|id| after.is_none_or(|after| id.as_str() > after))
            .collect();
        ids.sort();
        let mut actors = Vec::new();
        for id in ids {
            if actors.len() >= limit {
                break;
            }
            match read_state(layout, &id) {
                Ok(Some(state)) => actors.push(ActorInfo {
                    id,
                    name: state.name,
                    key: state.key,
                    created_at: state.created_at,
                }),
                Ok(None) => {}
                Err(error) => tracing::warn!(actor = %id, %error, "actor skipped in listing"),
            }
        }
        Ok(actors)
    }

    /// Puts the actor to sleep: runs `hook`, then closes its database, even when the hook
    /// fails (its error is returned after the actor is stopped). Sleeping an actor that
    /// is not running does nothing. The next operation on the actor opens it again.
    ///
    /// In memory mode the database stays open (closing it would erase the data); only
    /// the hook runs.
    pub fn sleep_actor(&self, id: &str, hook: Option<StopHook<'_>>) -> Result<()> {
        check_id(id)?;
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            match &*status {
                Status::Stopping | Status::Destroyed => {
                    return Err(Error::ActorStopping(id.to_owned()));
                }
                Status::Retired => continue,
                Status::Unloaded => {
                    let exists = self.exists(id);
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return match exists? {
                        true => Ok(()),
                        false => Err(Error::ActorNotFound(id.to_owned())),
                    };
                }
                Status::Running(_) => {}
            }
            let loaded = match std::mem::replace(&mut *status, Status::Stopping) {
                Status::Running(loaded) => loaded,
                other => {
                    *status = other;
                    return Err(Error::ActorStopping(id.to_owned()));
                }
            };
            drop(status);
            let hooked = run_hook(id, hook);
            if self.is_memory() {
                *slot.lock() = Status::Running(loaded);
                return hooked;
            }
            let Loaded { mut state, kv, .. } = *loaded;
            let closed = kv.close();
            // As rivetkit records a sleep: no longer connectable, asleep since now.
            state.connectable_ts = None;
            state.sleep_ts = Some(now_ms());
            let recorded = match &self.layout {
                Some(layout) => write_state(layout, id, &state),
                None => Ok(()),
            };
            let mut status = slot.lock();
            *status = Status::Retired;
            self.unmap(id, &slot);
            drop(status);
            tracing::debug!(actor = %id, "actor asleep");
            return hooked.and(closed).and(recorded);
        }
        Err(Error::ActorStopping(id.to_owned()))
    }

    /// Destroys the actor: runs `hook` if it is running, closes its database (even when
    /// the hook fails), then removes its files. A hook failure is returned after the actor
    /// is gone. Creating the id again gives an empty actor.
    ///
    /// All or nothing from the caller's view: the destroy first rewrites the state file
    /// with `destroyTs` (as rivetkit does), and that is the point of no return. When it
    /// fails, the actor is intact and the error says why. After it, the actor is gone
    /// (not found, not listed) even if removing a file then fails: the error names the
    /// file, and a retry of the destroy (or a create of the same id) finishes the job.
    pub fn destroy_actor(&self, id: &str, hook: Option<StopHook<'_>>) -> Result<()> {
        check_id(id)?;
        for _ in 0..SLOT_RETRIES {
            let slot = self.slot(id)?;
            let mut status = slot.lock();
            let loaded = match std::mem::replace(&mut *status, Status::Stopping) {
                Status::Running(loaded) => Some(loaded),
                Status::Unloaded => None,
                previous @ (Status::Stopping | Status::Destroyed) => {
                    *status = previous;
                    return Err(Error::ActorStopping(id.to_owned()));
                }
                Status::Retired => {
                    *status = Status::Retired;
                    continue;
                }
            };
            let was_running = loaded.is_some();
            let (hooked, closed) = match loaded {
                Some(loaded) => {
                    drop(status);
                    let hooked = run_hook(id, hook);
                    let closed = loaded.kv.close();
                    status = slot.lock();
                    (hooked, closed)
                }
                None => (Ok(()), Ok(())),
            };
            let removed = match &self.layout {
                Some(layout) => destroy_files(layout, id),
                // In memory an actor is its open database.
                None => Ok(was_running),
            };
            let removed = match removed {
                Ok(true) => Ok(()),
                Ok(false) => {
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return Err(Error::ActorNotFound(id.to_owned()));
                }
                Err(DestroyError::Intact(error)) => {
                    // Nothing was removed: the actor stays, asleep.
                    *status = Status::Retired;
                    self.unmap(id, &slot);
                    return Err(error);
                }
                Err(DestroyError::Unfinished(error)) => Err(error),
            };
            lock(&self.alarms).remove(id);
            lock(&self.memory_index).remove(id);
            *status = Status::Destroyed;
            self.unmap(id, &slot);
            drop(status);
            tracing::debug!(actor = %id, "actor destroyed");
            return hooked.and(closed).and(removed);
        }
        Err(Error::ActorStopping(id.to_owned()))
    }

    // ----- KV -----

    /// Batch put: at most 128 entries, all or nothing, existing keys replaced. Limits
    /// are checked before anything is written.
    pub fn kv_put<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        entries: &[(K, V)],
    ) -> Result<()> {
        self.with_actor(id, |loaded| loaded.kv.put(entries))
    }

    /// Batch get: one result per key, in order; `None` for a missing key.
    pub fn kv_get<K: AsRef<[u8]>>(&self, id: &str, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        self.with_actor(id, |loaded| loaded.kv.get(keys))
    }

    /// Point get of one key (the same limits as a batch of one).
    pub fn kv_get_one(&self, id: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        crate::limits::check_key(crate::limits::KeyRole::Key, key)?;
        self.with_actor(id, |loaded| loaded.kv.get_one_unchecked(key))
    }

    /// Batch delete: all or nothing; missing keys are ignored; an empty list does nothing.
    pub fn kv_delete<K: AsRef<[u8]>>(&self, id: &str, keys: &[K]) -> Result<()> {
        self.with_actor(id, |loaded| loaded.kv.delete(keys))
    }

    /// Deletes the keys in `[start, end)`; `start >= end` does nothing.
    pub fn kv_delete_range(&self, id: &str, start: &[u8], end: &[u8]) -> Result<()> {
        self.with_actor(id, |loaded| loaded.kv.delete_range(start, end))
    }

    /// Entries whose keys start with `prefix` (all entries for an empty prefix),
    /// ascending, or descending when `options.reverse`.
    pub fn kv_list_prefix(
        &self,
        id: &str,
        prefix: &[u8],
        options: ListOptions,
    ) -> Result<Vec<KvEntry>> {
        self.with_actor(id, |loaded| {
            kv::collect(|visit| loaded.kv.scan_prefix(prefix, options, visit))
        })
    }

    /// Entries with keys in `[start, end)`; empty when `start >= end`.
    pub fn kv_list_range(
        &self,
        id: &str,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
    ) -> Result<Vec<KvEntry>> {
        self.with_actor(id, |loaded| {
            kv::collect(|visit| loaded.kv.scan_range(start, end, options, visit))
        })
    }

    /// Like [`kv_list_prefix`](FsDriver::kv_list_prefix), handing each borrowed entry to
    /// `visit` instead of collecting them. `visit` runs under the actor's lock: it must
    /// not call back into the driver for the same actor.
    pub fn kv_scan_prefix(
        &self,
        id: &str,
        prefix: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        self.with_actor(id, |loaded| loaded.kv.scan_prefix(prefix, options, visit))
    }

    /// Like [`kv_list_range`](FsDriver::kv_list_range), handing each borrowed entry to
    /// `visit`; the same caveat as [`kv_scan_prefix`](FsDriver::kv_scan_prefix).
    pub fn kv_scan_range(
        &self,
        id: &str,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        self.with_actor(id, |loaded| {
            loaded.kv.scan_range(start, end, options, visit)
        })
    }

    /// The actor's storage size as tracked: the sum of `key + value` over its table.
    pub fn kv_storage_used(&self, id: &str) -> Result<u64> {
        self.with_actor(id, |loaded| loaded.kv.storage_used())
    }

    /// The prepared statements alive on the actor's connection, as SQLite reports them
    /// (for checking that statements are prepared once and reused).
    pub fn kv_statement_cache_stats(&self, id: &str) -> Result<StatementCacheStats> {
        self.with_actor(id, |loaded| loaded.kv.statement_cache_stats())
    }

    // ----- alarms -----

    /// Sets (or replaces) the actor's alarm, persisted in `alarms/<id>`.
    pub fn set_alarm(&self, id: &str, timestamp_ms: u64) -> Result<()> {
        self.with_actor(id, |_| {
            if let Some(layout) = &self.layout {
                let alarm = ActorAlarm {
                    actor_id: id.to_owned(),
                    timestamp: timestamp_ms,
                };
                fsutil::write_atomic(&layout.alarm_path(id), &encode_alarm(&alarm))?;
            }
            lock(&self.alarms).insert(id.to_owned(), timestamp_ms);
            Ok(())
        })
    }

    /// The actor's alarm, if one is set.
    pub fn get_alarm(&self, id: &str) -> Result<Option<u64>> {
        check_id(id)?;
        Ok(lock(&self.alarms).get(id).copied())
    }

    /// Clears the actor's alarm (no error when none is set).
    pub fn clear_alarm(&self, id: &str) -> Result<()> {
        self.with_actor(id, |_| {
            if let Some(layout) = &self.layout {
                fsutil::remove_if_exists(&layout.alarm_path(id))?;
            }
            lock(&self.alarms).remove(id);
            Ok(())
        })
    }

    /// Alarms due at `now_ms` (timestamp `<= now_ms`), as `(actor id, timestamp)`,
    /// earliest first (ties by id).
    pub fn due_alarms(&self, now_ms: u64) -> Vec<(String, u64)> {
        let mut due: Vec<(String, u64)> = lock(&self.alarms)
            .iter()
            .filter(|(_, timestamp)| **timestamp <= now_ms)
            .map(|(id, timestamp)| (id.clone(), *timestamp))
            .collect();
        due.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        due
    }
}

/// Reads and decodes `state/<id>`; `None` when missing.
pub(crate) fn read_state(layout: &Layout, id: &str) -> Result<Option<ActorState>> {
    let path = layout.state_path(id);
    let Some(bytes) = fsutil::read_optional(&path)? else {
        return Ok(None);
    };
    decode_state(&bytes)
        .map(|(_, state)| Some(state))
        .map_err(|source| Error::Decode { path, source })
}

/// The actor's state, `None` when it has no state file or only the tombstone of a
/// destroy that did not finish.
fn live_state(layout: &Layout, id: &str) -> Result<Option<ActorState>> {
    Ok(read_state(layout, id)?.filter(|state| state.destroy_ts.is_none()))
}

/// Why a destroy failed.
enum DestroyError {
    /// Before the point of no return: the actor is intact.
    Intact(Error),
    /// After it: the actor is gone, some of its files are left; a retry finishes.
    Unfinished(Error),
}

/// Destroys the actor's files (its database closed): the tombstone first, then the rest.
/// `Ok(false)` when there is no actor (nor tombstone) to destroy.
fn destroy_files(layout: &Layout, id: &str) -> std::result::Result<bool, DestroyError> {
    let state = read_state(layout, id).map_err(DestroyError::Intact)?;
    let Some(mut state) = state else {
        return Ok(false);
    };
    if state.destroy_ts.is_none() {
        state.destroy_ts = Some(now_ms());
        write_state(layout, id, &state).map_err(DestroyError::Intact)?;
    }
    remove_actor_files(layout, id).map_err(DestroyError::Unfinished)?;
    Ok(true)
}

/// Removes every file of the actor, stopping at the first failure: the database's `-wal`
/// first (a stale one could be replayed into a new database of the same id), its `-shm`,
/// the database, the alarm, and the state file last, so that an interrupted removal
/// leaves the tombstone that lets a retry find the rest.
fn remove_actor_files(layout: &Layout, id: &str) -> Result<()> {
    let [database, wal, shm] = layout.database_files(id);
    for path in [
        wal,
        shm,
        database,
        layout.alarm_path(id),
        layout.state_path(id),
    ] {
        fsutil::remove_if_exists(&path)?;
    }
    Ok(())
}

/// Replaces `state/<id>` with `state` (atomically).
fn write_state(layout: &Layout, id: &str, state: &ActorState) -> Result<()> {
    fsutil::write_atomic(&layout.state_path(id), &encode_state(state))
}

/// Drops the legacy entries of a state file about to be rewritten once its database
/// carries the migrated mark (they are in SQLite, and rivetkit rewrites the file without
/// them too); without the mark they stay, so a root opened with the migration disabled
/// loses nothing.
fn forget_migrated_entries(state: &mut ActorState, kv: &mut KvStore) -> Result<()> {
    if !state.kv_storage.is_empty() && kv.is_migrated()? {
        state.kv_storage.clear();
    }
    Ok(())
}

/// Reads every alarm file of an actor that exists; bad files are logged and skipped.
fn load_alarms(layout: &Layout) -> Result<HashMap<String, u64>> {
    let mut alarms = HashMap::new();
    for name in fsutil::actor_file_names(&layout.alarms_dir())? {
        let Ok(id) = name else { continue };
        if check_actor_id(&id).is_err() {
            continue;
        }
        let path = layout.alarm_path(&id);
        if !layout.state_path(&id).exists() {
            tracing::warn!(path = %path.display(), "alarm of a missing actor ignored");
            continue;
        }
        let loaded = fsutil::read_optional(&path).and_then(|bytes| {
            bytes
                .map(|bytes| decode_alarm(&bytes))
                .transpose()
                .map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })
        });
        match loaded {
            Ok(Some((_, alarm))) => {
                alarms.insert(id, alarm.timestamp);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "alarm file skipped"),
        }
    }
    Ok(alarms)
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
