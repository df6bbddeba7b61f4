//! A [dqlite](https://dqlite.io) backend for sqlite-runtime: Raft-replicated SQLite
//! reached over dqlite's wire protocol, on plain blocking TCP.
//!
//! - [`DqliteRuntime`] is the backend: a [`sqlite_runtime::SqliteRuntime`] whose
//!   databases are names on a dqlite cluster, handed to drivers as
//!   `Arc<dyn SqliteRuntime>` like any other binding. It lacks only
//!   [`Capability::LocalFiles`](sqlite_runtime::Capability::LocalFiles), so drivers
//!   keep their records in databases. Failures a replicated engine adds are
//!   [`ErrorKind::Unavailable`](sqlite_runtime::ErrorKind::Unavailable) (nothing
//!   applied, retry) and [`ErrorKind::OutcomeUnknown`](sqlite_runtime::ErrorKind::OutcomeUnknown)
//!   (a commit that may or may not have happened); the next statement reconnects to
//!   the leader.
//! - [`Cluster`] holds the node addresses (e.g. from `DQLITE_CLUSTER`) and finds the
//!   leader; [`Cluster::open`] returns a [`Connection`] to the leader with a database
//!   open.
//! - [`Connection`] speaks to one node: OPEN one database, PREPARE/EXEC/QUERY/FINALIZE,
//!   EXEC_SQL/QUERY_SQL. Parameters are [`sqlite_runtime::Params`] (positional); rows go to a
//!   [`sqlite_runtime::RowVisitor`] as borrowed [`sqlite_runtime::RowRef`]s.
//! - Every error is a [`sqlite_runtime::Error`] with backend `"dqlite"`: FAILURE
//!   responses keep the server's extended SQLite code; connection failures are
//!   [`ErrorKind::Io`](sqlite_runtime::ErrorKind::Io) with a [`Fault`] as source (the
//!   runtime reports them as `Unavailable` or `OutcomeUnknown`).
//!   [`is_leadership_error`], [`needs_reconnect`] and [`write_outcome`] answer what a
//!   caller must decide (see [`classify`] for the rules, notably when a `COMMIT`'s
//!   outcome is unknown).
//! - [`wire`] is the protocol itself, without I/O.
//!
//! Written against dqlite 1.11.1 (Debian 12's `libdqlite0`), whose hazards it refuses
//! client-side (see [`Connection`]).
//!
//! A driver written against `Arc<dyn SqliteRuntime>` runs on dqlite unchanged; the
//! application picks the runtime (here from `DQLITE_CLUSTER=host:port,...`):
//!
//! ```no_run
//! use std::sync::Arc;
//! use sqlite_runtime::{ErrorKind, OpenOptions, Result, SqliteRuntime, Target, params};
//! use sqlite_runtime_dqlite::DqliteRuntime;
//!
//! /// Driver code: knows nothing of the binding.
//! fn remember(runtime: &Arc<dyn SqliteRuntime>, key: &[u8], value: &[u8]) -> Result<()> {
//!     let mut db = runtime.open(&Target::file("/app/kv.db"), &OpenOptions::new())?;
//!     db.exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)")?;
//!     let mut tx = db.transaction()?;
//!     tx.run("INSERT OR REPLACE INTO kv VALUES (?, ?)", params![key, value])?;
//!     tx.commit()
//! }
//!
//! # fn main() -> Result<()> {
//! let runtime: Arc<dyn SqliteRuntime> = Arc::new(DqliteRuntime::from_env());
//! match remember(&runtime, b"k", b"v") {
//!     // No leader right now, or the connection broke before anything was applied: the
//!     // write did not happen and may run again (on a new connection to the leader).
//!     Err(error) if error.kind() == ErrorKind::Unavailable => remember(&runtime, b"k", b"v"),
//!     // Otherwise, `OutcomeUnknown` says the commit may or may not have happened:
//!     // check before writing again.
//!     other => other,
//! }
//! # }
//! ```
//!
//! The protocol client alone:
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use std::time::Duration;
//! use sqlite_runtime::{Params, ValueRef};
//! use sqlite_runtime_dqlite::Cluster;
//!
//! # fn main() -> sqlite_runtime::Result<()> {
//! let cluster = Cluster::parse("127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003")?;
//! let mut db = cluster.open("actor-1.db", Duration::from_secs(10))?;
//! db.exec_sql("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)", Params::NONE)?;
//! let insert = db.prepare("INSERT INTO kv VALUES (?, ?)")?;
//! db.exec(&insert, Params::from(&[ValueRef::Text("a"), ValueRef::Blob(b"1")]))?;
//! db.query_sql("SELECT k, v FROM kv", Params::NONE, &mut |row| {
//!     println!("{:?}", row.values());
//!     Ok(ControlFlow::Continue(()))
//! })?;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod classify;
mod cluster;
mod connection;
mod error;
mod guard;
mod node;
mod options;
mod query;
mod runtime;
mod sql_scan;
mod statement;
mod transport;
mod watch;
pub mod wire;

pub use classify::{
    WriteOutcome, fault, is_connection_lost, is_leadership_error, is_leadership_lost,
    is_not_leader, needs_reconnect, write_outcome,
};
pub use cluster::Cluster;
pub use connection::Connection;
pub use error::{
    BACKEND, Fault, LEGACY_SQLITE_IOERR_LEADERSHIP_LOST, LEGACY_SQLITE_IOERR_NOT_LEADER,
    SQLITE_IOERR_LEADERSHIP_LOST, SQLITE_IOERR_NOT_LEADER,
};
pub use node::{Leader, NodeInfo, NodeRole};
pub use options::ConnectOptions;
pub use query::QuerySummary;
pub use runtime::DqliteRuntime;
pub use statement::Statement;

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>() {}
    fn send_and_sync<T: Send + Sync>() {}

    /// A connection moves between threads (sqlite-runtime's databases are `Send`); a
    /// cluster is shared by them.
    #[test]
    fn thread_safety() {
        send_and_sync::<DqliteRuntime>();
        send::<Connection>();
        send::<Statement>();
        send_and_sync::<Cluster>();
        send_and_sync::<Fault>();
    }
}
