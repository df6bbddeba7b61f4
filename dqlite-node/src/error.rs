//! What can go wrong running a node.

use std::path::PathBuf;

/// A node could not be created, started, joined or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// This build has no libdqlite (pkg-config did not find it when the crate was built).
    #[error(
        "this build has no libdqlite: install it (Debian/Ubuntu: apt-get install libdqlite-dev) and rebuild"
    )]
    Unavailable,
    /// The address is not `HOST:PORT`.
    #[error("invalid node address {address:?}: {reason}")]
    InvalidAddress {
        /// The address given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The node would listen beyond loopback without being told it may. dqlite's
    /// protocol has no authentication: anyone who reaches the port can read and write
    /// every database.
    #[error(
        "{address} is not a loopback address: dqlite has no authentication, so a node listens \
         beyond loopback only when told to (NodeBuilder::expose, sqlrt node --expose)"
    )]
    NotLoopback {
        /// The address given.
        address: String,
    },
    /// The node's identity file could not be read or written, or belongs to another
    /// address.
    #[error("node identity in {path}: {reason}")]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A libdqlite call failed.
    #[error("{call} failed (code {code}): {message}")]
    Dqlite {
        /// The C function.
        call: &'static str,
        /// Its return code.
        code: i32,
        /// libdqlite's message for it.
        message: String,
    },
    /// A membership request to the cluster failed.
    #[error("{action}: {source}")]
    Cluster {
        /// What the node was doing.
        action: String,
        /// The client's error.
        #[source]
        source: Box<sqlite_runtime::Error>,
    },
}

/// This crate's results.
pub type Result<T, E = NodeError> = std::result::Result<T, E>;
