//! Where actors live, behind one interface: their state records, their KV databases,
//! their alarms, and the guard of their lifecycles across processes.
//!
//! - [`disk`]: a storage root in rivetkit's layout (`state/`, `databases/`, `alarms/`,
//!   advisory locks under `locks/`);
//! - [`database`]: everything in databases (the index database holds the state records,
//!   alarms and [`leases`]), for runtimes whose databases are not local files;
//! - [`memory`]: nothing persisted, every database a private `:memory:` one.

pub(crate) mod database;
pub(crate) mod disk;
mod leases;
pub(crate) mod locks;
pub(crate) mod memory;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlite_runtime::Target;

use crate::error::Result;
use crate::kv::fence::Claim;
use crate::kv::lease_clock::LeaseClock;
use crate::layout::Layout;
use crate::state::ActorState;

/// One place actors are kept.
pub(crate) trait Storage: Send + Sync {
    /// The storage root on disk, if this is one.
    fn layout(&self) -> Option<&Layout> {
        None
    }

    /// The storage root, if there is one.
    fn root(&self) -> Option<&Path> {
        self.layout().map(Layout::root)
    }

    /// Whether databases survive being closed. When not (memory), an actor's database
    /// is never closed while the actor exists: sleeping keeps it, the budget skips it.
    fn persistent(&self) -> bool;

    /// Where actor `id`'s KV database is.
    fn database(&self, id: &str) -> Target;

    /// The actor's state record as stored (a destroy's tombstone included); `None` when
    /// there is none.
    fn read_state(&self, id: &str) -> Result<Option<ActorState>>;

    /// Replaces the actor's state record (atomically).
    fn write_state(&self, id: &str, state: &ActorState) -> Result<()>;

    /// Fences the actor's database for this driver's lease before a destroy begins (see
    /// `kv::fence`), so that a driver that lost the actor writes nothing to it even if
    /// the destroy stops half-way; nothing to do where lifecycles are not leased.
    fn claim_database(&self, _id: &str) -> Result<()> {
        Ok(())
    }

    /// Removes everything of the actor, its state record last (so that an interrupted
    /// removal leaves the tombstone a retry finds), stopping at the first failure.
    fn remove_actor(&self, id: &str) -> Result<()>;

    /// The ids that may be actors, after `after`, sorted, at most `limit` of them (the
    /// caller reads each state and skips what is not an actor).
    fn actor_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>>;

    /// Sets (or replaces) the actor's alarm.
    fn set_alarm(&self, id: &str, timestamp: u64) -> Result<()>;

    /// Clears the actor's alarm (none is fine).
    fn clear_alarm(&self, id: &str) -> Result<()>;

    /// The actor's alarm, if set.
    fn alarm(&self, id: &str) -> Result<Option<u64>>;

    /// Alarms with a timestamp `<= now`, earliest first (ties by id).
    fn due_alarms(&self, now: u64) -> Result<Vec<(String, u64)>>;

    /// The guard of actor lifecycles across processes, where there is one.
    fn locks(&self) -> Option<&dyn LifecycleLocks>;
}

/// Actor lifecycles across processes: a process with an actor awake holds it shared;
/// creating and destroying hold it exclusively.
pub(crate) trait LifecycleLocks: Send + Sync {
    /// Takes the shared lock for a wake (waiting while another process creates or
    /// destroys the actor). Returns whether another process has it awake too.
    fn wake(&self, id: &str) -> Result<bool>;
    /// Takes the exclusive lock for a create; `exists` tells whether the actor appeared
    /// while waiting.
    fn create(&self, id: &str, exists: &dyn Fn() -> Result<bool>) -> Result<()>;
    /// Takes the exclusive lock for a destroy, failing at once when another process has
    /// the actor awake.
    fn destroy(&self, id: &str) -> Result<()>;
    /// Turns an exclusive lock into the shared one.
    fn share(&self, id: &str) -> Result<()>;
    /// Whether another process has the actor awake.
    fn others_awake(&self, id: &str) -> bool;
    /// Releases the actor's lock.
    fn release(&self, id: &str);
    /// The claim with which this driver fences the writes to actor `id`'s database (see
    /// `kv::fence`), while it holds the actor; `None` where holding an actor does not
    /// exclude other processes (the kernel's shared locks).
    fn fence(&self, _id: &str) -> Option<Claim> {
        None
    }
    /// The clock that says whether this driver's lease on actor `id` is certainly its
    /// own, and the clock's generation when it was taken (see [`LeaseClock`]); `None`
    /// where holding an actor does not exclude other processes, or when the lease was
    /// taken while the clock was not certain.
    fn lease_clock(&self, _id: &str) -> Option<(LeaseClock, u64)> {
        None
    }
}

/// Alarms kept in memory (the disk storage's copy of its alarm files, the memory
/// storage's only copy).
#[derive(Debug, Default)]
pub(crate) struct AlarmTable(Mutex<HashMap<String, u64>>);

impl AlarmTable {
    /// A table holding `alarms`.
    pub(crate) fn new(alarms: HashMap<String, u64>) -> Self {
        AlarmTable(Mutex::new(alarms))
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets (or replaces) the actor's alarm.
    pub(crate) fn set(&self, id: &str, timestamp: u64) {
        self.map().insert(id.to_owned(), timestamp);
    }

    /// Removes the actor's alarm, if any.
    pub(crate) fn clear(&self, id: &str) {
        self.map().remove(id);
    }

    /// The actor's alarm.
    pub(crate) fn get(&self, id: &str) -> Option<u64> {
        self.map().get(id).copied()
    }

    /// The alarms due at `now`, earliest first (ties by id).
    pub(crate) fn due(&self, now: u64) -> Vec<(String, u64)> {
        let mut due: Vec<(String, u64)> = self
            .map()
            .iter()
            .filter(|(_, timestamp)| **timestamp <= now)
            .map(|(id, timestamp)| (id.clone(), *timestamp))
            .collect();
        due.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        due
    }
}
