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

    fn write_alarm(&self, _: &str, _: u64) -> Result<()> {
        Ok(())
    }

    fn remove_alarm(&self, _: &str) -> Result<()> {
        Ok(())
    }

    fn load_alarms(&self) -> Result<HashMap<String, u64>> {
        Ok(HashMap::new())
    }

    fn locks(&self) -> Option<&dyn LifecycleLocks> {
        None
    }
}
