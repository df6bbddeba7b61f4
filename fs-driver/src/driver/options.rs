//! Driver settings.

use std::time::Duration;

use sqlite_runtime::GuardLimits;

use crate::fsutil;
use crate::limits::DEFAULT_MAX_STORAGE_SIZE;

/// Driver settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverOptions {
    /// The storage limit per actor: the sum of `key + value` over its KV entries, plus
    /// what its own SQL takes (default 10 GiB).
    pub max_storage_bytes: u64,
    /// Temporary files whose modification time is further than this from now (in either
    /// direction: a clock set back leaves files "from the future") are removed at
    /// start-up (default one hour).
    pub stale_temp_age: Duration,
    /// Whether opening a root runs the legacy migration (default `true`).
    pub migrate_legacy: bool,
    /// How many actor databases may be open at once (default 256, lowered when the
    /// process's descriptor limit cannot hold that many: each takes three descriptors,
    /// for the database, its `-wal` and its `-shm`). Awake actors beyond it have their
    /// database closed, least recently used first, and reopened at their next operation:
    /// callers see no error, only the reopen's cost. Ignored in memory mode.
    pub max_open_databases: usize,
    /// On a runtime whose databases are not local files (a replicated engine), how long
    /// this driver's claim on its awake actors outlives its last renewal (default 30 s,
    /// well above a leader election plus a request timeout). Renewed every third of it;
    /// a driver that stops renewing (it crashed, or lost the engine) lets other drivers
    /// take its actors over once it has passed. Ignored on a local root, where the
    /// kernel's locks die with their process.
    pub lease_timeout: Duration,
    /// The limits of each statement of an actor's own SQL (default: 100 KB statements,
    /// 100 parameters, 2 MB values and rows, expressions 100 deep, 30 s per statement;
    /// see [`FsDriver::sql_execute`](crate::FsDriver::sql_execute)).
    pub sql_limits: GuardLimits,
    /// On a runtime whose databases are not local files (where each read is a request),
    /// the memory for copies of leased actors' entries, from which reads are served
    /// while this driver's lease is certain (default 64 MiB; 0 turns it off). The least
    /// recently used copies go first; an actor larger than a quarter of it is never
    /// copied. Ignored on a local root.
    pub read_cache_bytes: usize,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            max_storage_bytes: DEFAULT_MAX_STORAGE_SIZE,
            stale_temp_age: fsutil::STALE_TEMP_AGE,
            migrate_legacy: true,
            max_open_databases: DEFAULT_MAX_OPEN_DATABASES,
            lease_timeout: DEFAULT_LEASE_TIMEOUT,
            sql_limits: GuardLimits::default(),
            read_cache_bytes: DEFAULT_READ_CACHE_BYTES,
        }
    }
}

/// The default of [`DriverOptions::max_open_databases`]: sized for a process limited to
/// 1024 descriptors (3 each: 768, leaving room for the 32 lock files and the
/// application).
pub const DEFAULT_MAX_OPEN_DATABASES: usize = 256;

/// The default of [`DriverOptions::read_cache_bytes`].
pub const DEFAULT_READ_CACHE_BYTES: usize = 64 << 20;

/// The default of [`DriverOptions::lease_timeout`].
pub const DEFAULT_LEASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The shortest lease timeout: renewals are a third of it apart.
const MIN_LEASE_TIMEOUT: Duration = Duration::from_millis(300);

impl DriverOptions {
    /// Sets the limits of an actor's SQL statements.
    pub fn sql_limits(mut self, limits: GuardLimits) -> Self {
        self.sql_limits = limits;
        self
    }

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

    /// Sets how many actor databases may be open at once (at least 1).
    pub fn max_open_databases(mut self, count: usize) -> Self {
        self.max_open_databases = count.max(1);
        self
    }

    /// Sets the memory for copies of leased actors' entries (0: reads always go to the
    /// engine).
    pub fn read_cache_bytes(mut self, bytes: usize) -> Self {
        self.read_cache_bytes = bytes;
        self
    }

    /// Sets how long a lease outlives its last renewal (at least 300 ms).
    pub fn lease_timeout(mut self, timeout: Duration) -> Self {
        self.lease_timeout = timeout.max(MIN_LEASE_TIMEOUT);
        self
    }
}
