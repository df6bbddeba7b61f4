//! Leaving a leader that stopped answering: while a request waits, the other nodes are
//! asked who leads; when another node confirms that it does, the wait ends.
//!
//! Without this a frozen (SIGSTOP), cut-off or deposed leader holds every request for
//! the whole request timeout, which must stay long enough for slow commits. With it the
//! client follows the cluster's own failure detection: once the others have elected a
//! new leader (its election timeout), the request fails as of unknown outcome and the
//! next connection goes straight to the new leader.

use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::options::ConnectOptions;
use crate::transport::Transport;
use crate::wire::{Request, Response};

/// The nodes to ask and where to note the new leader.
#[derive(Clone, Debug)]
pub(crate) struct LeaderWatch {
    /// Every node of the cluster (the watched one is skipped).
    pub peers: Arc<[String]>,
    /// How long to wait for an answer between two checks.
    pub interval: Duration,
    /// Connect and request timeouts of the checks.
    pub probe: ConnectOptions,
    /// The cluster's remembered leader, updated when another one is found.
    pub leader: Arc<Mutex<Option<String>>>,
}

/// How a wait for an answer ended.
pub(crate) enum Waited {
    /// Something arrived (or the socket failed: reading says which).
    Readable,
    /// Nothing arrived within the request timeout.
    TimedOut,
    /// Another node leads now.
    Deposed(String),
}

impl LeaderWatch {
    /// Waits up to `timeout` for `stream` (connected to `node`) to have something to
    /// read, checking every [`interval`](Self::interval) whether another node leads.
    pub fn wait(&self, stream: &TcpStream, node: &str, timeout: Duration) -> Waited {
        let started = Instant::now();
        loop {
            let remaining = timeout.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Waited::TimedOut;
            }
            if readable(stream, self.interval.min(remaining)) {
                return Waited::Readable;
            }
            if let Some(leader) = self.other_leader(node) {
                tracing::info!(
                    node,
                    leader,
                    "dqlite leader stopped answering; another leads"
                );
                if let Ok(mut remembered) = self.leader.lock() {
                    *remembered = Some(leader.clone());
                }
                return Waited::Deposed(leader);
            }
        }
    }

    /// A node other than `node` that another node names as leader and that confirms it.
    fn other_leader(&self, node: &str) -> Option<String> {
        self.peers
            .iter()
            .filter(|peer| peer.as_str() != node)
            .find_map(|peer| {
                let named = self.ask_leader(peer)?;
                if named == node {
                    return None;
                }
                // The named node must name itself (it may be a stale belief).
                (named == *peer || self.ask_leader(&named).as_deref() == Some(named.as_str()))
                    .then_some(named)
            })
    }

    /// The leader `peer` names, if it answers in time and knows one.
    fn ask_leader(&self, peer: &str) -> Option<String> {
        let mut transport = Transport::connect(peer, &self.probe).ok()?;
        transport
            .call(&Request::Leader, "SERVER", |response| match response {
                Response::Server { address, .. } => Some(address.to_owned()),
                _ => None,
            })
            .ok()
            .filter(|address| !address.is_empty())
    }
}

/// Whether `stream` has something to read (or failed) within `timeout`.
#[cfg(target_os = "linux")]
fn readable(stream: &TcpStream, timeout: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&mut poll, 1, millis) };
    // An error (EINTR included) counts as readable: the read that follows reports it or
    // waits with the socket's own timeout.
    ready != 0
}

/// Without `poll` the wait is the read itself.
#[cfg(not(target_os = "linux"))]
fn readable(_stream: &TcpStream, _timeout: Duration) -> bool {
    true
}
