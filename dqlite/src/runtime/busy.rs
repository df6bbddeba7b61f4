//! Waiting out a locked database client-side: dqlite answers "locked" at once, so the
//! client retries for the busy timeout, pausing as SQLite's busy handler does.

use std::time::{Duration, Instant};

/// The pauses between attempts of a statement that found the database locked, as
/// SQLite's busy handler sleeps (but capped lower: each attempt is a round trip, not a
/// lock check), until the busy timeout has passed.
const BUSY_PAUSES_MS: [u64; 7] = [1, 2, 5, 10, 15, 20, 25];

/// Waiting out a locked database, as SQLite's busy handler does.
#[derive(Debug)]
pub(crate) struct BusyWait {
    started: Instant,
    timeout: Duration,
    pauses: usize,
}

impl BusyWait {
    pub(crate) fn new(timeout: Duration) -> Self {
        BusyWait {
            started: Instant::now(),
            timeout,
            pauses: 0,
        }
    }

    /// Sleeps before the next attempt; `false` once the timeout has passed.
    pub(crate) fn pause(&mut self) -> bool {
        let elapsed = self.started.elapsed();
        let Some(left) = self
            .timeout
            .checked_sub(elapsed)
            .filter(|left| !left.is_zero())
        else {
            return false;
        };
        let pause = BUSY_PAUSES_MS
            .get(self.pauses)
            .or(BUSY_PAUSES_MS.last())
            .copied()
            .unwrap_or(1);
        std::thread::sleep(Duration::from_millis(pause).min(left));
        self.pauses += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_waits_last_the_timeout() {
        let mut none = BusyWait::new(Duration::ZERO);
        assert!(!none.pause());
        let started = Instant::now();
        let mut wait = BusyWait::new(Duration::from_millis(60));
        let mut pauses = 0;
        while wait.pause() {
            pauses += 1;
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(60), "{waited:?}");
        assert!(waited < Duration::from_millis(500), "{waited:?}");
        assert!(pauses >= 5, "{pauses}");
    }
}
