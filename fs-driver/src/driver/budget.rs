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

    /// Counts `slot` (whose lock the caller holds) as open. When that exceeds the
    /// budget, the least recently used others are parked: chosen in linear time under
    /// the lock and closed after it is released, so that admissions neither sort the
    /// whole set each time nor wait on each other's closes (a close checkpoints the
    /// database).
    pub(crate) fn admit(&self, slot: &Arc<Slot>) {
        self.touch(slot);
        if slot.counted.swap(true, Ordering::AcqRel) {
            return;
        }
        let victims: Vec<Arc<Slot>> = {
            let mut open = lock(&self.open);
            open.push(slot.clone());
            if open.len() <= self.capacity {
                return;
            }
            self.epoch.fetch_add(1, Ordering::Relaxed);
            // The newest (this slot) stays: at most all the others go.
            let take = (open.len() - self.capacity).min(open.len() - 1);
            let last = open.len() - 1;
            open.swap(0, last);
            let others = &mut open[1..];
            if take < others.len() {
                others.select_nth_unstable_by_key(take, |other| other.last_used());
            }
            open.drain(1..=take).collect()
        };
        // Outside the lock: park each victim that is free now; a busy one stays open
        // and counted.
        let busy: Vec<Arc<Slot>> = victims.into_iter().filter(|victim| !park(victim)).collect();
        if !busy.is_empty() {
            let mut open = lock(&self.open);
            if open.len() > self.capacity {
                tracing::debug!(
                    open = open.len() + busy.len(),
                    capacity = self.capacity,
                    "every open actor is busy: the budget is exceeded for now"
                );
            }
            open.extend(busy);
        }
    }

    /// Stops counting `slot` (its database was closed).
    pub(crate) fn release(&self, slot: &Arc<Slot>) {
        if !slot.counted.swap(false, Ordering::AcqRel) {
            return;
        }
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
    let parked = match &mut *status {
        Status::Running(loaded) => {
            if let Err(error) = loaded.kv.park() {
                tracing::warn!(actor = %loaded.id, %error, "closing an idle actor database failed");
            }
            true
        }
        // Stopping actors release themselves; anything else holds no database.
        Status::Stopping => false,
        Status::Unloaded | Status::Destroyed | Status::Retired => true,
    };
    if parked {
        // Still under the actor's lock: its next operation sees the store closed and
        // is admitted again.
        slot.counted.store(false, Ordering::Release);
    }
    parked
}
