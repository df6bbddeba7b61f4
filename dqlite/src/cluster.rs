//! A cluster as a list of node addresses, and finding its leader.
//!
//! Leader discovery follows go-dqlite: for each address in turn (the last leader
//! found first), connect, handshake and ask LEADER.
//!
//! - No leader known: try the next node.
//! - The leader is the dialled address (compared as strings): register with CLIENT, and
//!   this connection is the result.
//! - Another address: dial that one and ask again; it must name itself.
//!
//! A node that is stopped but whose kernel still accepts connections costs one request
//! timeout; a dead one, one refused connect.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime::{Error, ErrorKind, Result};

use crate::classify::needs_reconnect;
use crate::connection::Connection;
use crate::error::{Fault, fault_error, refused};
use crate::options::ConnectOptions;
use crate::watch::LeaderWatch;

/// The client id sent in CLIENT (go-dqlite sends 0 too).
const CLIENT_ID: u64 = 0;
/// The first pause between discovery passes; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between discovery passes: a new leader is found at most this long
/// after its election (a pause of a second cost up to a second of every failover with
/// elections that take 0.3–0.6 s). A pass is a few connections, cheap for the nodes.
const MAX_BACKOFF: Duration = Duration::from_millis(250);

/// The nodes of a dqlite cluster and how to connect to them.
///
/// ```
/// use sqlite_runtime_dqlite::Cluster;
///
/// let cluster: Cluster = "127.0.0.1:9001, 127.0.0.1:9002".parse().unwrap();
/// assert_eq!(cluster.nodes(), ["127.0.0.1:9001", "127.0.0.1:9002"]);
/// assert!("127.0.0.1".parse::<Cluster>().is_err()); // no port
/// ```
pub struct Cluster {
    nodes: Vec<String>,
    options: ConnectOptions,
    last_leader: Arc<Mutex<Option<String>>>,
}

impl Cluster {
    /// The environment variable [`from_env`](Self::from_env) reads: a comma-separated
    /// list of "host:port".
    pub const ENV_VAR: &'static str = "DQLITE_CLUSTER";

    /// A cluster of the nodes at `addresses` ("host:port" each, as the nodes advertise
    /// themselves), with default [`ConnectOptions`].
    pub fn new<I, S>(addresses: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes: Vec<String> = addresses.into_iter().map(Into::into).collect();
        if nodes.is_empty() {
            return Err(refused(
                ErrorKind::Misuse,
                "a dqlite cluster needs at least one node address",
            ));
        }
        for node in &nodes {
            check_address(node)?;
        }
        Ok(Cluster {
            nodes,
            options: ConnectOptions::new(),
            last_leader: Arc::new(Mutex::new(None)),
        })
    }

    /// A cluster from a comma-separated list, e.g. `"127.0.0.1:9001,127.0.0.1:9002"`
    /// (spaces around entries and empty entries are ignored).
    pub fn parse(list: &str) -> Result<Self> {
        Cluster::new(
            list.split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty()),
        )
    }

    /// The cluster named by [`ENV_VAR`](Self::ENV_VAR), or `None` when it is unset.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(Self::ENV_VAR) {
            Ok(list) => Cluster::parse(&list).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(refused(
                ErrorKind::Misuse,
                format!("{} is not valid UTF-8", Self::ENV_VAR),
            )),
        }
    }

    /// Sets the options of every connection made.
    pub fn with_options(mut self, options: ConnectOptions) -> Self {
        self.options = options;
        self
    }

    /// The node addresses, in the order given.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The options of every connection made.
    pub fn options(&self) -> &ConnectOptions {
        &self.options
    }

    /// One pass of leader discovery: a registered connection to the leader, or an
    /// [`ErrorKind::Io`] error whose source is [`Fault::NoLeader`], saying what each node
    /// answered.
    pub fn find_leader(&self) -> Result<Connection> {
        self.options.validate()?;
        let cached = self.cached_leader();
        let candidates = cached.iter().chain(
            self.nodes
                .iter()
                .filter(|node| Some(*node) != cached.as_ref()),
        );
        let mut attempts = Vec::new();
        for node in candidates {
            match self.probe(node) {
                Ok(connection) => {
                    tracing::debug!(leader = connection.address(), "dqlite leader found");
                    self.remember(Some(connection.address()));
                    return Ok(connection);
                }
                Err(attempt) => attempts.push(format!("{node}: {attempt}")),
            }
        }
        self.remember(None);
        Err(fault_error(Fault::NoLeader {
            nodes: self.nodes.clone(),
            attempts,
        }))
    }

    /// Leader discovery, repeated with a growing pause (50 ms doubling up to 250 ms) until
    /// a leader is found or `patience` has passed. An election takes 15 to 30 times the
    /// nodes' configured network latency after a leader dies (0.3–0.6 s on
    /// `sqlrt-node`'s defaults, 3–6 s on libdqlite's own), so a patience of ten times
    /// that is sensible. A pass is not cut short by the deadline: with stopped nodes,
    /// one pass can last a request timeout per node.
    pub fn connect_leader(&self, patience: Duration) -> Result<Connection> {
        self.retry(patience, || self.find_leader())
    }

    /// [`connect_leader`](Self::connect_leader), then OPEN `database`, retrying both
    /// while the error calls for a new connection (see
    /// [`needs_reconnect`](crate::needs_reconnect)) and `patience` lasts.
    pub fn open(&self, database: &str, patience: Duration) -> Result<Connection> {
        self.retry(patience, || {
            let mut connection = self.find_leader()?;
            connection.open(database)?;
            Ok(connection)
        })
    }

    fn retry(
        &self,
        patience: Duration,
        mut attempt: impl FnMut() -> Result<Connection>,
    ) -> Result<Connection> {
        let deadline = Instant::now() + patience;
        let mut pause = FIRST_BACKOFF;
        loop {
            let error = match attempt() {
                Ok(connection) => return Ok(connection),
                Err(error) => error,
            };
            if !needs_reconnect(&error) || Instant::now() + pause > deadline {
                return Err(error);
            }
            tracing::debug!(%error, ?pause, "no dqlite leader yet; retrying");
            thread::sleep(pause);
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }

    /// A registered connection to the leader reached through `node`, or why not.
    ///
    /// Discovery waits for an answer no longer than the connect timeout: a healthy node
    /// answers LEADER and CLIENT at once, while a stopped one (whose kernel still accepts
    /// connections) would otherwise hold each attempt for a whole request timeout.
    fn probe(&self, node: &str) -> std::result::Result<Connection, String> {
        let request_timeout = self.options.request_timeout;
        let discovery = self
            .options
            .clone()
            .request_timeout(request_timeout.min(self.options.connect_timeout));
        let mut connection = self.probe_with(node, &discovery)?;
        connection
            .set_request_timeout(request_timeout)
            .map_err(describe)?;
        let interval = self.options.leadership_check;
        if !interval.is_zero() && self.nodes.len() > 1 {
            connection.watch_leadership(LeaderWatch {
                peers: self.nodes.iter().cloned().collect(),
                interval,
                probe: discovery.request_timeout(self.options.connect_timeout.min(interval)),
                leader: Arc::clone(&self.last_leader),
            });
        }
        Ok(connection)
    }

    fn probe_with(
        &self,
        node: &str,
        options: &ConnectOptions,
    ) -> std::result::Result<Connection, String> {
        let mut connection = Connection::connect(node, options).map_err(describe)?;
        let leader = match connection.leader().map_err(describe)? {
            None => return Err("knows of no leader".to_owned()),
            Some(leader) if leader.address == node => return register(connection),
            Some(leader) => leader,
        };
        drop(connection);
        let mut connection = Connection::connect(&leader.address, options)
            .map_err(|error| format!("names leader {}: {}", leader.address, describe(error)))?;
        match connection.leader().map_err(describe)? {
            Some(confirmed) if confirmed.address == leader.address => register(connection),
            other => Err(format!(
                "names leader {}, which names {}",
                leader.address,
                other.map_or_else(|| "no leader".to_owned(), |other| other.address)
            )),
        }
    }

    fn cached_leader(&self) -> Option<String> {
        self.last_leader
            .lock()
            .ok()
            .and_then(|cached| cached.clone())
    }

    fn remember(&self, leader: Option<&str>) {
        if let Ok(mut cached) = self.last_leader.lock() {
            *cached = leader.map(str::to_owned);
        }
    }
}

fn register(mut connection: Connection) -> std::result::Result<Connection, String> {
    connection.register_client(CLIENT_ID).map_err(describe)?;
    Ok(connection)
}

fn describe(error: Error) -> String {
    crate::error::describe(&error)
}

/// Checks "host:port".
fn check_address(address: &str) -> Result<()> {
    let valid = address
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if valid {
        Ok(())
    } else {
        Err(refused(
            ErrorKind::Misuse,
            format!("`{address}` is not a dqlite node address (expected host:port)"),
        ))
    }
}

impl FromStr for Cluster {
    type Err = Error;

    fn from_str(list: &str) -> Result<Self> {
        Cluster::parse(list)
    }
}

impl Clone for Cluster {
    fn clone(&self) -> Self {
        Cluster {
            nodes: self.nodes.clone(),
            options: self.options.clone(),
            last_leader: Arc::new(Mutex::new(self.cached_leader())),
        }
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.nodes)
            .field("options", &self.options)
            .field("last_leader", &self.cached_leader())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;
    use crate::classify::fault;

    #[test]
    fn parses_lists() {
        let cluster = Cluster::parse(" 127.0.0.1:9001 ,127.0.0.1:9002,, [::1]:9003 ").unwrap();
        assert_eq!(
            cluster.nodes(),
            ["127.0.0.1:9001", "127.0.0.1:9002", "[::1]:9003"]
        );
        for bad in ["", " , ", "127.0.0.1", ":9001", "host:port", "h:70000"] {
            let error = Cluster::parse(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Misuse, "{bad}");
        }
    }

    #[test]
    fn no_reachable_node_is_a_no_leader_fault() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let cluster = Cluster::new([address.clone()]).unwrap();
        let error = cluster.find_leader().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io);
        assert!(
            matches!(fault(&error), Some(Fault::NoLeader { .. })),
            "{error}"
        );
        assert!(error.message().contains(&address), "{error}");
        let started = Instant::now();
        assert!(cluster.connect_leader(Duration::from_millis(400)).is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
