//! Object-safe SQLite traits that let a storage driver run on any SQLite binding.
//!
//! A driver depends on this crate alone and is handed an `Arc<dyn` [`SqliteRuntime`]`>`;
//! the application chooses the binding (rusqlite, the `sqlite` crate, sqlx) through the
//! `sqlite-runtime-backends` crate, which implements these traits and loads one at run
//! time. This crate has no native dependency.
//!
//! - [`SqliteRuntime`] opens [`SqliteDatabase`] connections with [`OpenOptions`].
//! - Parameters are borrowed [`ValueRef`]s in [`Params`]; results are owned [`Row`]s of
//!   [`Value`]s, or borrowed [`RowRef`]s for the row-by-row visitor.
//! - [`Transaction`] guards commit explicitly and roll back on drop; writers use
//!   `BEGIN IMMEDIATE`.
//! - Every failure is an [`Error`] with an [`ErrorKind`] to branch on.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sqlite_runtime::{OpenOptions, Params, Result, SqliteRuntime, Target, ValueRef};
//!
//! fn remember(runtime: Arc<dyn SqliteRuntime>, key: &[u8], value: &[u8]) -> Result<()> {
//!     let mut db = runtime.open(&Target::file("kv.db"), &OpenOptions::new())?;
//!     db.exec("CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL)")?;
//!     let mut tx = db.transaction()?;
//!     tx.run(
//!         "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
//!         Params::from(&[ValueRef::Blob(key), ValueRef::Blob(value)]),
//!     )?;
//!     tx.commit()
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod asynchronous;
mod database;
mod error;
mod guard;
mod options;
mod params;
pub mod raw;
mod row;
mod runtime;
mod transaction;
mod value;
pub mod workers;

pub use asynchronous::{AsyncDatabase, AsyncRuntime, Call, OwnedParams};
pub use database::{
    GuardedStatement, RowVisitor, RunResult, SqliteDatabase, StatementCacheStats, StatementStats,
};
pub use error::{ConstraintKind, Error, ErrorKind, Result};
pub use guard::{Guard, GuardAction, GuardLimits};
pub use options::{JournalMode, OpenOptions, Synchronous, Target};
pub use params::Params;
pub use row::{ColumnIndex, ColumnNames, FromValue, Row, RowRef, TypeMismatch};
pub use runtime::{BackendKind, Capabilities, Capability, SqliteRuntime};
pub use transaction::{Transaction, TransactionBehavior};
pub use value::{Value, ValueRef, ValueType};
