//! The budget of open actor databases: at most `capacity` open at once, the least
//! recently used parked (closed) to make room. Parking keeps the actor awake; its next
//! operation reopens the database.
//!
//! Recency is an epoch, not a clock: every operation stamps its actor with the current
//! epoch (a plain atomic store, nothing shared is written), and each admission that has
//! to make room starts a new one. The victim is an actor with the oldest stamp. Victims
//! are locked with `try_lock` only, so an admission never waits on another actor: a busy
//! actor is simply not chosen (the budget is briefly exceeded if every open actor is
//! busy at once).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::lock;
use crate::actor::{Slot, Status};

pub(crate) struct OpenBudget {
    capacity: usize,
    epoch: AtomicU64,
    open: Mutex<Vec<Arc<Slot>>>,
}

impl OpenBudget {
    pub(crate) fn new(capacity: usize) -> Self {
        OpenBudget {
            capacity: capacity.max(1),
            epoch: AtomicU64::new(0),
            open: Mutex::default(),
        }
    }

    /// The most databases open at once.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many are open.
    pub(crate) fn open_count(&self) -> usize {
        lock(&self.open).len()
    }

    /// Stamps `slot` as used now.
    pub(crate) fn touch(&self, slot: &Slot) {
        slot.touch(self.epoch.load(Ordering::Relaxed));
    }

    /// Counts `slot` (whose lock the caller holds) as open, parking least recently used
    /// others first when the budget is full. A slot already counted is left as is.
    pub(crate) fn admit(&self, slot: &Arc<Slot>) {
        self.touch(slot);
        let mut open = lock(&self.open);
        if open.iter().any(|other| Arc::ptr_eq(other, slot)) {
            return;
        }
        if open.len() >= self.capacity {
            self.epoch.fetch_add(1, Ordering::Relaxed);
            let mut candidates: Vec<usize> = (0..open.len()).collect();
            candidates.sort_by_key(|&index| open[index].last_used());
            let mut parked = Vec::new();
            for index in candidates {
                if open.len() - parked.len() < self.capacity {
                    break;
                }
                if park(&open[index]) {
                    parked.push(index);
                }
            }
            parked.sort_unstable();
            for index in parked.into_iter().rev() {
                open.swap_remove(index);
            }
            if open.len() >= self.capacity {
                tracing::debug!(
                    open = open.len(),
                    capacity = self.capacity,
                    "every open actor is busy: the budget is exceeded for now"
                );
            }
        }
        open.push(slot.clone());
    }

    /// Stops counting `slot` (its database was closed).
    pub(crate) fn release(&self, slot: &Arc<Slot>) {
        let mut open = lock(&self.open);
        if let Some(index) = open.iter().position(|other| Arc::ptr_eq(other, slot)) {
            open.swap_remove(index);
        }
    }
}

/// Parks the database of `slot` if it is free right now; whether it no longer counts.
fn park(slot: &Arc<Slot>) -> bool {
    let Some(mut status) = slot.try_lock() else {
        return false;
    };
    match &mut *status {
        Status::Running(loaded) => {
            if let Err(error) = loaded.kv.park() {
                tracing::warn!(actor = %loaded.id, %error, "closing an idle actor database failed");
            }
            true
        }
        // Stopping actors release themselves; anything else holds no database.
        Status::Stopping => false,
        Status::Unloaded | Status::Destroyed | Status::Retired => true,
    }
}
