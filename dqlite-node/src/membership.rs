//! Joining a cluster, through the client protocol: the leader adds the node, then gives
//! it its role.

use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime_dqlite::{Cluster, ConnectOptions, NodeRole, needs_reconnect};

use crate::error::{NodeError, Result};

/// How long one membership request may take: promoting a voter waits for it to catch up
/// with the log.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Makes node `id` at `address` a member of the cluster reached through `peers`, with
/// `role`, retrying through elections until `patience` has passed.
///
/// A member recorded at the same address under another id is the node's former self
/// (its data directory was wiped): it is removed first, since two members cannot serve
/// one address.
pub fn join(
    id: u64,
    address: &str,
    peers: &[String],
    role: NodeRole,
    patience: Duration,
) -> Result<()> {
    let cluster_error = |action: String| {
        move |source| NodeError::Cluster {
            action,
            source: Box::new(source),
        }
    };
    let cluster = Cluster::new(peers.iter().cloned())
        .map_err(cluster_error(format!("joining through {peers:?}")))?
        .with_options(
            ConnectOptions::new()
                .connect_timeout(Duration::from_secs(1))
                .request_timeout(CHANGE_TIMEOUT),
        );
    let deadline = Instant::now() + patience;
    loop {
        let attempt = (|| {
            let mut leader = cluster.find_leader()?;
            let members = leader.cluster_nodes()?;
            for former in members
                .iter()
                .filter(|m| m.address == address && m.id != id)
            {
                tracing::info!(
                    former = former.id,
                    address,
                    "removing this address's former member"
                );
                leader.remove_node(former.id)?;
            }
            let current = members.iter().find(|m| m.id == id);
            if current.is_none() {
                leader.add_node(id, address)?;
            }
            if current.map(|m| m.role) != Some(role) && role != NodeRole::Spare {
                leader.assign_role(id, role)?;
            }
            Ok(())
        })();
        match attempt {
            Ok(()) => {
                tracing::info!(id, address, %role, "joined the cluster");
                return Ok(());
            }
            // No leader yet, or another node's change in progress (nodes joining at once).
            Err(error)
                if (needs_reconnect(&error) || error.is_retryable())
                    && Instant::now() < deadline =>
            {
                tracing::debug!(%error, "joining: retrying");
                thread::sleep(Duration::from_millis(200));
            }
            Err(error) => {
                return Err(cluster_error(format!(
                    "joining the cluster through {peers:?}"
                ))(error));
            }
        }
    }
}
