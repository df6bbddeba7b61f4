//! Alarms: one per actor, kept by the storage (`alarms/<id>` on disk).

use super::{FsDriver, check_id};
use crate::error::Result;

impl FsDriver {
    /// Sets (or replaces) the actor's alarm, persisted (in `alarms/<id>` on disk).
    pub fn set_alarm(&self, id: &str, timestamp_ms: u64) -> Result<()> {
        self.with_actor(id, |_| self.storage.set_alarm(id, timestamp_ms))
    }

    /// The actor's alarm, if one is set.
    pub fn get_alarm(&self, id: &str) -> Result<Option<u64>> {
        check_id(id)?;
        self.storage.alarm(id)
    }

    /// Clears the actor's alarm (no error when none is set).
    pub fn clear_alarm(&self, id: &str) -> Result<()> {
        self.with_actor(id, |_| self.storage.clear_alarm(id))
    }

    /// Alarms due at `now_ms` (timestamp `<= now_ms`), as `(actor id, timestamp)`,
    /// earliest first (ties by id).
    pub fn due_alarms(&self, now_ms: u64) -> Result<Vec<(String, u64)>> {
        self.storage.due_alarms(now_ms)
    }
}
