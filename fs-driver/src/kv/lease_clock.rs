//! Until when this driver's leases are certainly its own (see [`LeaseClock`]): what
//! the lease renewals prove, read by the copies of actors' entries that serve reads.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Until when this driver's leases are certainly its own, on its monotonic clock: the
/// send time of its last acknowledged renewal plus two thirds of the lease timeout (the
/// other third is the margin for the hosts' clocks, which decide expiry elsewhere).
/// Past it (renewals failing, or the process paused) nothing is certain, and a renewal
/// sent after it starts a new *generation*: what was certain before (a lease held, a
/// copy of an actor's entries) may have been taken over in between, so it is never
/// certain again, whatever later renewals say.
#[derive(Clone, Debug)]
pub(crate) struct LeaseClock(Arc<ClockShared>);

#[derive(Debug)]
struct ClockShared {
    base: Instant,
    state: Mutex<ClockState>,
}

#[derive(Debug, Default)]
struct ClockState {
    /// Nanoseconds after `base`; 0: not certain.
    until: u64,
    generation: u64,
}

impl LeaseClock {
    /// A clock certain of nothing yet.
    pub(crate) fn new() -> Self {
        LeaseClock(Arc::new(ClockShared {
            base: Instant::now(),
            state: Mutex::default(),
        }))
    }

    fn state(&self) -> MutexGuard<'_, ClockState> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current generation while the leases are certainly this driver's; `None`
    /// when they are not.
    pub(crate) fn certain(&self) -> Option<u64> {
        let state = self.state();
        (state.until > 0 && self.nanos(Instant::now()) < state.until).then_some(state.generation)
    }

    /// A renewal sent at `sent` was acknowledged: certain for `validity` after `sent`.
    pub(crate) fn renewed(&self, sent: Instant, validity: Duration) {
        let sent = self.nanos(sent);
        let mut state = self.state();
        if sent >= state.until {
            state.generation += 1;
        }
        let validity = u64::try_from(validity.as_nanos()).unwrap_or(u64::MAX);
        let until = sent.saturating_add(validity);
        state.until = state.until.max(until).max(1);
    }

    /// As [`renewed`](Self::renewed), sent now (for tests).
    #[cfg(test)]
    pub(crate) fn renewed_until_in(&self, validity: Duration) {
        self.renewed(Instant::now(), validity);
    }

    /// Certain of nothing from now on (for tests).
    #[cfg(test)]
    pub(crate) fn expire(&self) {
        self.state().until = 0;
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.0.base).as_nanos()).unwrap_or(u64::MAX)
    }
}
