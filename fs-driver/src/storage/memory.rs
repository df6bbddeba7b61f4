//! Nothing persisted: state records and alarms in maps, every KV database a private
//! `:memory:` one (kept open for the actor's whole life).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sqlite_runtime::Target;

use super::{LifecycleLocks, Storage};
use crate::error::Result;
use crate::state::ActorState;

/// Actors in memory.
#[derive(Default)]
pub(crate) struct MemoryStorage {
    states: Mutex<BTreeMap<String, ActorState>>,
    alarms: Mutex<HashMap<String, u64>>,
}

impl MemoryStorage {
    fn states(&self) -> MutexGuard<'_, BTreeMap<String, ActorState>> {
        self.states.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn alarms(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.alarms.lock().unwrap_or_else(PoisonError::into_inner)
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
        self.alarms().remove(id);
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
        self.alarms().insert(id.to_owned(), timestamp);
        Ok(())
    }

    fn clear_alarm(&self, id: &str) -> Result<()> {
        self.alarms().remove(id);
        Ok(())
    }

    fn alarm(&self, id: &str) -> Result<Option<u64>> {
        Ok(self.alarms().get(id).copied())
    }

    fn due_alarms(&self, now: u64) -> Result<Vec<(String, u64)>> {
        Ok(super::due_in(&self.alarms(), now))
    }

    fn locks(&self) -> Option<&dyn LifecycleLocks> {
        None
    }
}
