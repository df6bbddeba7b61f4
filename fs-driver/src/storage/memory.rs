//! Nothing persisted: state records and alarms in maps, every KV database a private
//! `:memory:` one (kept open for the actor's whole life).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlite_runtime::Target;

use super::{AlarmTable, LifecycleLocks, Storage};
use crate::error::Result;
use crate::state::ActorState;

/// Actors in memory.
#[derive(Default)]
pub(crate) struct MemoryStorage {
    states: Mutex<BTreeMap<String, ActorState>>,
    alarms: AlarmTable,
}

impl MemoryStorage {
    fn states(&self) -> MutexGuard<'_, BTreeMap<String, ActorState>> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Storage for MemoryStorage {
    fn persistent(&self) -> bool {
        false
    }

    fn database(&self, _: &str) -> Target {
        Target::Memory
    }

    fn read_state(&self, id: &str) -> Result<Option<ActorState>> {
        Ok(self.states().get(id).cloned())
    }

    fn write_state(&self, id: &str, state: &ActorState) -> Result<()> {
        self.states().insert(id.to_owned(), state.clone());
        Ok(())
    }

    fn remove_actor(&self, id: &str) -> Result<()> {
        self.alarms.clear(id);
        self.states().remove(id);
        Ok(())
    }

    fn actor_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(self
            .states()
            .range::<str, _>((lower, Bound::Unbounded))
            .take(limit)
            .map(|(id, _)| id.clone())
            .collect())
    }

    fn set_alarm(&self, id: &str, timestamp: u64) -> Result<()> {
        self.alarms.set(id, timestamp);
        Ok(())
    }

    fn clear_alarm(&self, id: &str) -> Result<()> {
        self.alarms.clear(id);
        Ok(())
    }

    fn alarm(&self, id: &str) -> Result<Option<u64>> {
        Ok(self.alarms.get(id))
    }

    fn due_alarms(&self, now: u64) -> Result<Vec<(String, u64)>> {
        Ok(self.alarms.due(now))
    }

    fn locks(&self) -> Option<&dyn LifecycleLocks> {
        None
    }
}
