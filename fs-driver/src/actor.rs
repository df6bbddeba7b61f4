//! One actor's in-memory slot: its lifecycle state, behind the actor's own mutex.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use crate::kv::KvStore;
use crate::state::ActorState;

/// An actor's public metadata (from its state file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorInfo {
    /// The actor id.
    pub id: String,
    /// The actor's name.
    pub name: String,
    /// The actor's key.
    pub key: Vec<String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: u64,
}

impl ActorInfo {
    /// The public part of a state file.
    pub(crate) fn from_state(id: &str, state: &ActorState) -> Self {
        ActorInfo {
            id: id.to_owned(),
            name: state.name.clone(),
            key: state.key.clone(),
            created_at: state.created_at,
        }
    }
}

/// A running actor: its state (as last written to its state file) and open KV store.
pub(crate) struct Loaded {
    pub(crate) id: String,
    pub(crate) state: ActorState,
    pub(crate) kv: KvStore,
}

impl Loaded {
    /// The actor's public metadata.
    pub(crate) fn info(&self) -> ActorInfo {
        ActorInfo::from_state(&self.id, &self.state)
    }
}

/// Where an actor is in its lifecycle. Transitions happen under the slot's mutex.
pub(crate) enum Status {
    /// A fresh slot: the disk has not been consulted yet.
    Unloaded,
    /// The database is open; operations run.
    Running(Box<Loaded>),
    /// Sleep or destroy is under way: operations get `ActorStopping`.
    Stopping,
    /// The actor was destroyed through this slot: operations get `ActorStopping`.
    Destroyed,
    /// The slot was dropped from the driver's map (after a sleep, or for a missing
    /// actor): callers holding it retry with the current slot.
    Retired,
}

/// The per-actor mutex. Different actors never share one.
pub(crate) struct Slot {
    status: Mutex<Status>,
    /// When the actor was last used (an epoch of the open-database budget).
    last_used: AtomicU64,
    /// Whether the open-database budget counts this actor's database as open.
    pub(crate) counted: AtomicBool,
}

impl Slot {
    /// A slot that has not looked at the disk yet.
    pub(crate) fn new() -> Self {
        Slot {
            status: Mutex::new(Status::Unloaded),
            last_used: AtomicU64::new(0),
            counted: AtomicBool::new(false),
        }
    }

    /// Records a use at `epoch`.
    pub(crate) fn touch(&self, epoch: u64) {
        self.last_used.store(epoch, Ordering::Relaxed);
    }

    /// The epoch of the last use.
    pub(crate) fn last_used(&self) -> u64 {
        self.last_used.load(Ordering::Relaxed)
    }

    /// Locks the actor if nobody holds it now.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, Status>> {
        match self.status.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Locks the actor. A panic in another holder does not make the actor unusable:
    /// every transition leaves a valid status.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
