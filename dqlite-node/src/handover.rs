//! Handing leadership over before a node stops, so that the cluster does not wait out an
//! election timeout for a node that is leaving on purpose.

use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime_dqlite::{ConnectOptions, Connection, NodeRole};

use crate::error::{NodeError, Result};

/// When node `id` at `address` leads and another voter exists, asks the node to hand
/// leadership to the most up-to-date voter, then waits until it reports another leader
/// or `patience` has passed. Returns whether leadership moved.
pub fn hand_over(id: u64, address: &str, patience: Duration) -> Result<bool> {
    let error = |action: &str| {
        let action = format!("{action} ({address})");
        move |source| NodeError::Cluster {
            action,
            source: Box::new(source),
        }
    };
    let options = ConnectOptions::new()
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(patience);
    let mut own = Connection::connect(address, &options).map_err(error("connecting to itself"))?;
    if own
        .leader()
        .map_err(error("asking for the leader"))?
        .map(|l| l.id)
        != Some(id)
    {
        return Ok(false);
    }
    let follows_us = |address: &str| {
        let quick = ConnectOptions::new()
            .connect_timeout(Duration::from_millis(500))
            .request_timeout(Duration::from_millis(500));
        Connection::connect(address, &quick)
            .and_then(|mut voter| voter.leader())
            .is_ok_and(|leader| leader.is_some_and(|leader| leader.id == id))
    };
    // Voters that answer and follow this node; raft's own choice (id 0) may pick one
    // that is down, and a transfer to it fails after an election timeout.
    let voters: Vec<u64> = own
        .cluster_nodes()
        .map_err(error("listing the members"))?
        .into_iter()
        .filter(|node| node.id != id && node.role == NodeRole::Voter)
        .filter(|node| follows_us(&node.address))
        .map(|node| node.id)
        .collect();
    let Some(target) = voters.iter().copied().find(|voter| {
        own.transfer_leadership(*voter)
            .map_err(|error| tracing::debug!(voter, %error, "leadership transfer refused"))
            .is_ok()
    }) else {
        return Ok(false);
    };
    tracing::debug!(target, "leadership transfer accepted");
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        match own.leader() {
            Ok(Some(leader)) if leader.id != id => {
                tracing::info!(to = leader.address, "leadership handed over");
                return Ok(true);
            }
            Ok(_) => thread::sleep(Duration::from_millis(20)),
            Err(source) => return Err(error("waiting for the new leader")(source)),
        }
    }
    Ok(false)
}
