//! Timeouts and limits of a connection.

use std::time::Duration;

use sqlite_runtime::{ErrorKind, Result};

use crate::error::refused;

/// How a [`Connection`](crate::Connection) is made and how long it waits.
///
/// The request timeout bounds every read and every write on the socket. It is what
/// notices a node that stopped (e.g. `SIGSTOP`): the kernel still accepts connections and
/// buffers requests for a stopped process, so only a read timeout ends the wait. After
/// it the connection is unusable and the request's outcome unknown.
///
/// ```
/// use std::time::Duration;
/// use sqlite_runtime_dqlite::ConnectOptions;
///
/// let options = ConnectOptions::new()
///     .connect_timeout(Duration::from_millis(500))
///     .request_timeout(Duration::from_secs(2));
/// assert_eq!(options.request_timeout, Duration::from_secs(2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// How long a TCP connect may take (see [`connect_timeout`](Self::connect_timeout)).
    pub connect_timeout: Duration,
    /// How long one read or write may block (see
    /// [`request_timeout`](Self::request_timeout)).
    pub request_timeout: Duration,
    /// The largest response body accepted (see
    /// [`max_response_size`](Self::max_response_size)).
    pub max_response_size: usize,
    /// How often a connection to the leader that is waiting for an answer asks the other
    /// nodes whether it still leads (see
    /// [`leadership_check`](Self::leadership_check)).
    pub leadership_check: Duration,
}

impl ConnectOptions {
    /// The default connect timeout: 2 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// The default request timeout: 10 s, above the 3–6 s an election takes on
    /// libdqlite's default timers (a commit that loses quorum is answered "leadership
    /// lost" after about one election timeout). A frozen leader is left sooner, by the
    /// [leadership check](Self::leadership_check).
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default largest response accepted: 256 MiB (a ROWS message holds at least
    /// one whole row, so this bounds the largest value that can be read).
    pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 256 << 20;
    /// The default leadership check: every 250 ms of waiting, so that a frozen leader
    /// is left about as soon as the others elected a new one (300–600 ms with
    /// `sqlrt-node`'s defaults), not after the request timeout.
    pub const DEFAULT_LEADERSHIP_CHECK: Duration = Duration::from_millis(250);

    /// The defaults.
    pub fn new() -> Self {
        ConnectOptions {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            max_response_size: Self::DEFAULT_MAX_RESPONSE_SIZE,
            leadership_check: Self::DEFAULT_LEADERSHIP_CHECK,
        }
    }

    /// Sets how long a TCP connect may take (zero is refused when connecting).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long one read or write may block (zero is refused when connecting).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the largest response body accepted; a larger one breaks the connection
    /// before anything is allocated for it.
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Sets how often a connection to the leader ([`Cluster`](crate::Cluster) makes
    /// them) that is still waiting for an answer asks the other nodes who leads. When
    /// another node confirms that it leads now, the request fails at once with
    /// [`Fault::Deposed`](crate::Fault::Deposed) (outcome unknown) and the cluster
    /// remembers the new leader, instead of waiting out the request timeout on a node
    /// that is frozen or cut off. A healthy leader that is merely slow is waited for.
    /// Zero turns the check off. Costs nothing while answers come sooner.
    pub fn leadership_check(mut self, interval: Duration) -> Self {
        self.leadership_check = interval;
        self
    }

    /// Refuses zero timeouts.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err(refused(
                ErrorKind::Misuse,
                "dqlite connect and request timeouts must be above zero",
            ));
        }
        Ok(())
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_timeouts_are_refused() {
        assert!(ConnectOptions::new().validate().is_ok());
        let zero = ConnectOptions::new().request_timeout(Duration::ZERO);
        assert_eq!(zero.validate().unwrap_err().kind(), ErrorKind::Misuse);
        let zero = ConnectOptions::new().connect_timeout(Duration::ZERO);
        assert!(zero.validate().is_err());
    }
}
