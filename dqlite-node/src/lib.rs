//! dqlite nodes run from Rust: libdqlite embedded in the process, as applications that
//! use dqlite in production do (rather than a demonstration server).
//!
//! - [`NodeBuilder`] creates and starts a node: id, address, data directory, network
//!   latency; the first node bootstraps a cluster, the others join through it (the
//!   leader adds them and gives them their role).
//! - [`Node::stop`] hands leadership over when the node leads, then stops it.
//! - Membership after that goes through the client protocol:
//!   [`Connection::add_node`](sqlite_runtime_dqlite::Connection::add_node),
//!   [`assign_role`](sqlite_runtime_dqlite::Connection::assign_role),
//!   [`remove_node`](sqlite_runtime_dqlite::Connection::remove_node) and
//!   [`cluster_nodes`](sqlite_runtime_dqlite::Connection::cluster_nodes).
//!
//! The binary `sqlrt-node` (`sqlrt node`) runs one node in the foreground.
//!
//! # Two SQLites, kept apart
//!
//! libdqlite links the system's `libsqlite3`; the sqlite-runtime backends link the SQLite
//! bundled by `libsqlite3-sys`. In one executable the dynamic linker would bind
//! libdqlite's `sqlite3_*` calls to the bundled copy, built with other options, for a
//! node whose VFS and WAL replication depend on the SQLite it was built against. So this
//! crate depends on nothing that builds SQLite (only on the pure-Rust client), and a
//! node runs in a process of its own (`sqlrt-node`) or in an application that does not
//! link the bundled SQLite. `tests/two_sqlites.rs` checks both.
//!
//! # Exposure
//!
//! The dqlite protocol has no authentication and no encryption. A node refuses an
//! address beyond loopback unless told otherwise ([`NodeBuilder::expose`],
//! `sqlrt node --expose`): whoever reaches its port can read and write every database
//! and change the cluster's membership.
//!
//! # Without libdqlite
//!
//! The crate builds without libdqlite (pkg-config does not find it), so that a workspace
//! build never needs it; every node then fails to start with
//! [`NodeError::Unavailable`].

mod address;
mod error;
#[cfg(libdqlite)]
#[allow(missing_docs, non_camel_case_types)]
mod ffi;
mod handover;
mod identity;
mod membership;
mod node;
mod raw;

pub use error::{NodeError, Result};
pub use identity::BOOTSTRAP_ID;
pub use node::{DEFAULT_LATENCY, Node, NodeBuilder};
pub use sqlite_runtime_dqlite::NodeRole;

/// Whether this build has libdqlite (nodes can start).
pub const AVAILABLE: bool = cfg!(libdqlite);
