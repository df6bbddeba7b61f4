//! Alarms: one per actor, persisted by the storage (`alarms/<id>` on disk), kept in
//! memory for `due_alarms`.

use super::{FsDriver, check_id, lock};
use crate::error::Result;

impl FsDriver {
    /// Sets (or replaces) the actor's alarm, persisted (in `alarms/<id>` on disk).
    pub fn set_alarm(&self, id: &str, timestamp_ms: u64) -> Result<()> {
        self.with_actor(id, |_| {
            self.storage.write_alarm(id, timestamp_ms)?;
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
            self.storage.remove_alarm(id)?;
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
