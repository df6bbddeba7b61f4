//! A dqlite node running in this process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlite_runtime_dqlite::NodeRole;

use crate::address::is_loopback;
use crate::error::{NodeError, Result};
use crate::identity::{BOOTSTRAP_ID, Identity};
use crate::{handover, membership, raw};

/// The one-way network latency assumed when none is given: 20 ms, which on a LAN leaves
/// room for a busy host. libdqlite derives its timers from it: a heartbeat every 1.5×
/// (30 ms) and an election after 15× to 30× without one (300–600 ms).
pub const DEFAULT_LATENCY: Duration = Duration::from_millis(20);

/// How long [`NodeBuilder::start`] keeps trying to join through elections.
const JOIN_PATIENCE: Duration = Duration::from_secs(60);

/// How long [`Node::stop`] waits for another voter to take the lead.
const HANDOVER_PATIENCE: Duration = Duration::from_secs(5);

/// How to start a [`Node`]: its address and data directory, then options.
///
/// ```no_run
/// use sqlite_runtime_dqlite_node::NodeBuilder;
///
/// # fn main() -> Result<(), sqlite_runtime_dqlite_node::NodeError> {
/// // The first node bootstraps a cluster; the others join it.
/// let first = NodeBuilder::new("127.0.0.1:9001", "/var/lib/app/n1").start()?;
/// let second = NodeBuilder::new("127.0.0.1:9002", "/var/lib/app/n2")
///     .join(["127.0.0.1:9001"])
///     .start()?;
/// second.stop()?;
/// first.stop()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct NodeBuilder {
    address: String,
    dir: PathBuf,
    latency: Duration,
    snapshot: Option<(u32, u32)>,
    join: Vec<String>,
    role: NodeRole,
    expose: bool,
}

impl NodeBuilder {
    /// A node serving on `address` (`HOST:PORT`, the address other nodes and clients
    /// dial) with its data in `dir` (created if missing). A node keeps its address: the
    /// directory records it, with the node's id.
    pub fn new(address: impl Into<String>, dir: impl Into<PathBuf>) -> NodeBuilder {
        NodeBuilder {
            address: address.into(),
            dir: dir.into(),
            latency: DEFAULT_LATENCY,
            snapshot: None,
            join: Vec::new(),
            role: NodeRole::Voter,
            expose: false,
        }
    }

    /// The one-way network latency between nodes ([`DEFAULT_LATENCY`] unless set), from
    /// which libdqlite derives its heartbeat (1.5×) and election timeout (15×). Rounded
    /// to whole milliseconds, at least 1.
    pub fn latency(mut self, latency: Duration) -> NodeBuilder {
        self.latency = latency;
        self
    }

    /// Take a snapshot every `threshold` log entries and keep `trailing` entries after
    /// it (libdqlite's defaults: 1,024 and 8,192).
    pub fn snapshot(mut self, threshold: u32, trailing: u32) -> NodeBuilder {
        self.snapshot = Some((threshold, trailing));
        self
    }

    /// Members to join through when this directory has no node yet. Without any, a new
    /// node bootstraps a cluster of its own: a node whose directory was lost must be
    /// given members to join, or it would start a second cluster at an address the
    /// first still knows. A member already recorded at this node's address under
    /// another id (its former self) is removed when it joins.
    pub fn join<I, S>(mut self, peers: I) -> NodeBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.join = peers.into_iter().map(Into::into).collect();
        self
    }

    /// The role a joining node asks for (voter unless set).
    pub fn role(mut self, role: NodeRole) -> NodeBuilder {
        self.role = role;
        self
    }

    /// Allows an address beyond loopback. dqlite's protocol has no authentication or
    /// encryption: whoever reaches the port reads and writes every database and can
    /// change the membership. Expose a node only on a network only the cluster's
    /// machines reach (a private interface, a firewall, a VPN).
    pub fn expose(mut self, expose: bool) -> NodeBuilder {
        self.expose = expose;
        self
    }

    /// Starts the node: bootstraps a cluster, rejoins its own, or joins the peers given
    /// (which waits until the leader has added it and, for a voter, caught it up).
    pub fn start(self) -> Result<Node> {
        if !crate::AVAILABLE {
            return Err(NodeError::Unavailable);
        }
        if !is_loopback(&self.address)? && !self.expose {
            return Err(NodeError::NotLoopback {
                address: self.address,
            });
        }
        std::fs::create_dir_all(&self.dir).map_err(|error| NodeError::Identity {
            path: self.dir.clone(),
            reason: format!("creating the data directory: {error}"),
        })?;
        let mut identity = match Identity::load(&self.dir)? {
            Some(identity) if identity.address != self.address => {
                return Err(NodeError::Identity {
                    path: Identity::path(&self.dir),
                    reason: format!(
                        "this directory is the node at {}, not {} (a node keeps its address)",
                        identity.address, self.address
                    ),
                });
            }
            Some(identity) => identity,
            None => {
                let bootstrap = self.join.is_empty();
                let identity = Identity {
                    id: if bootstrap {
                        BOOTSTRAP_ID
                    } else {
                        raw::generate_id(&self.address)?
                    },
                    address: self.address.clone(),
                    member: bootstrap,
                };
                identity.store(&self.dir)?;
                identity
            }
        };
        if !identity.member && self.join.is_empty() {
            return Err(NodeError::Identity {
                path: Identity::path(&self.dir),
                reason: "this node never joined a cluster: give members to join".to_owned(),
            });
        }
        let latency_ms = u32::try_from(self.latency.as_millis().max(1)).unwrap_or(u32::MAX);
        let raw = raw::RawNode::start(
            identity.id,
            &self.address,
            &self.dir,
            latency_ms,
            self.snapshot,
        )?;
        let node = Node {
            raw: Some(raw),
            id: identity.id,
            address: self.address,
            dir: self.dir,
        };
        if !identity.member {
            membership::join(node.id, &node.address, &self.join, self.role, JOIN_PATIENCE)?;
            identity.member = true;
            identity.store(&node.dir)?;
        }
        tracing::info!(id = node.id, address = %node.address, "dqlite node running");
        Ok(node)
    }
}

/// A running dqlite node. Dropping it stops it without handing leadership over;
/// [`stop`](Node::stop) hands it over first.
#[derive(Debug)]
pub struct Node {
    raw: Option<raw::RawNode>,
    id: u64,
    address: String,
    dir: PathBuf,
}

impl Node {
    /// The node's raft id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The address it serves on.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// When this node leads, asks another voter to take over and waits (a few seconds
    /// at most) until one has. Returns whether leadership moved.
    pub fn hand_over(&self) -> Result<bool> {
        handover::hand_over(self.id, &self.address, HANDOVER_PATIENCE)
    }

    /// Stops the node cleanly: leadership handed over when it leads (best effort: a
    /// cluster without quorum cannot elect another leader), then the node stopped.
    pub fn stop(mut self) -> Result<()> {
        if let Err(error) = self.hand_over() {
            tracing::warn!(%error, "stopping without handing leadership over");
        }
        match self.raw.take() {
            Some(raw) => raw.stop(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run by CI with `PKG_CONFIG=false`: a build without libdqlite says so, and
    /// touches nothing.
    #[cfg(not(libdqlite))]
    #[test]
    fn without_libdqlite_a_node_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("n1");
        let error = NodeBuilder::new("127.0.0.1:9", &data).start().unwrap_err();
        assert!(matches!(error, NodeError::Unavailable), "{error}");
        assert!(error.to_string().contains("libdqlite-dev"));
        assert!(!data.exists());
    }

    #[test]
    fn refusals_come_before_the_disk_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("n1");
        let error = NodeBuilder::new("10.255.0.1:9", &data).start().unwrap_err();
        if crate::AVAILABLE {
            assert!(matches!(error, NodeError::NotLoopback { .. }), "{error}");
        }
        let error = NodeBuilder::new("127.0.0.1", &data).start().unwrap_err();
        if crate::AVAILABLE {
            assert!(matches!(error, NodeError::InvalidAddress { .. }), "{error}");
        }
        assert!(!data.exists());
    }
}
