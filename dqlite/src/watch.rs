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
use crate::transport::{AnswerWait, Transport, Waited};
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

impl AnswerWait for LeaderWatch {
    /// Waits up to `timeout` for `stream` (connected to `node`) to have something to
    /// read, checking every [`interval`](Self::interval) whether another node leads.
    fn wait(&self, stream: &TcpStream, node: &str, timeout: Duration) -> Waited {
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
}

impl LeaderWatch {
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread;

    use super::*;
    use crate::classify::{WriteOutcome, fault, write_outcome};
    use crate::error::Fault;

    /// A SERVER response naming `address` as leader.
    fn server(address: &str) -> Vec<u8> {
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend_from_slice(address.as_bytes());
        body.resize(body.len() + 8 - address.len() % 8, 0);
        let mut message = u32::try_from(body.len() / 8)
            .unwrap()
            .to_le_bytes()
            .to_vec();
        message.extend_from_slice(&[1, 0, 0, 0]);
        message.extend_from_slice(&body);
        message
    }

    /// Reads the handshake and one request from `stream`.
    fn read_request(stream: &mut TcpStream) {
        let mut handshake = [0; 8];
        stream.read_exact(&mut handshake).unwrap();
        let mut header = [0; 8];
        stream.read_exact(&mut header).unwrap();
        let words = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let mut body = vec![0; words as usize * 8];
        stream.read_exact(&mut body).unwrap();
    }

    /// A node that answers every LEADER with `names`; `None` names itself.
    fn peer(names: Option<String>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let own = address.clone();
        thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                read_request(&mut stream);
                let _ = stream.write_all(&server(names.as_deref().unwrap_or(&own)));
            }
        });
        address
    }

    /// A leader that reads one request and answers it (LEADER) after `delay`, or never.
    fn leader(delay: Option<Duration>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let own = address.clone();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            read_request(&mut stream);
            match delay {
                Some(delay) => {
                    thread::sleep(delay);
                    let _ = stream.write_all(&server(&own));
                }
                None => thread::sleep(Duration::from_secs(30)),
            }
        });
        address
    }

    fn watched(leader: &str, peers: &[String]) -> (Transport, Arc<Mutex<Option<String>>>) {
        let options = ConnectOptions::new()
            .connect_timeout(Duration::from_secs(1))
            .request_timeout(Duration::from_secs(20));
        let remembered = Arc::new(Mutex::new(Some(leader.to_owned())));
        let mut transport = Transport::connect(leader, &options).unwrap();
        transport.watch(Box::new(LeaderWatch {
            peers: peers.iter().cloned().collect(),
            interval: Duration::from_millis(50),
            probe: options.request_timeout(Duration::from_millis(500)),
            leader: Arc::clone(&remembered),
        }));
        (transport, remembered)
    }

    fn ask(transport: &mut Transport) -> sqlite_runtime::Result<String> {
        transport.call(&Request::Leader, "SERVER", |response| match response {
            Response::Server { address, .. } => Some(address.to_owned()),
            _ => None,
        })
    }

    #[test]
    fn a_slow_leader_the_others_follow_is_waited_for() {
        let slow = leader(Some(Duration::from_millis(600)));
        let peers = [
            slow.clone(),
            peer(Some(slow.clone())),
            peer(Some(slow.clone())),
        ];
        let (mut transport, remembered) = watched(&slow, &peers);
        assert_eq!(ask(&mut transport).unwrap(), slow);
        assert_eq!(*remembered.lock().unwrap(), Some(slow));
    }

    #[test]
    fn a_silent_leader_is_left_once_another_confirms_it_leads() {
        let silent = leader(None);
        let new_leader = peer(None);
        let follower = peer(Some(new_leader.clone()));
        let started = Instant::now();
        let (mut transport, remembered) =
            watched(&silent, &[silent.clone(), follower, new_leader.clone()]);
        let error = ask(&mut transport).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        match fault(&error) {
            Some(Fault::Deposed { node, leader }) => {
                assert_eq!(*node, silent);
                assert_eq!(*leader, new_leader);
            }
            other => panic!("not deposed: {other:?} ({error})"),
        }
        assert_eq!(write_outcome(&error), WriteOutcome::Unknown);
        assert!(transport.is_broken());
        assert_eq!(*remembered.lock().unwrap(), Some(new_leader));
    }

    #[test]
    fn a_named_leader_that_does_not_confirm_is_not_followed() {
        // The peer names a node that names the silent leader back: no other leader.
        let silent = leader(None);
        let stale = peer(Some(silent.clone()));
        let confused = peer(Some(stale.clone()));
        let options = ConnectOptions::new()
            .connect_timeout(Duration::from_secs(1))
            .request_timeout(Duration::from_millis(800));
        let mut transport = Transport::connect(&silent, &options).unwrap();
        transport.watch(Box::new(LeaderWatch {
            peers: [silent.clone(), confused].into_iter().collect(),
            interval: Duration::from_millis(50),
            probe: options.clone().request_timeout(Duration::from_millis(500)),
            leader: Arc::new(Mutex::new(None)),
        }));
        let error = ask(&mut transport).unwrap_err();
        assert!(matches!(fault(&error), Some(Fault::Lost { .. })), "{error}");
    }
}
