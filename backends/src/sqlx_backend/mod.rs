//! The sqlx backend: sqlx 0.9's SQLite driver (one `SqliteConnection` per database, each
//! with its own worker thread) bridged to the synchronous traits.
//!
//! - [`bridge`]: how async calls are driven to completion from synchronous code.
//! - [`open`]: connect options that leave every setting to [`OpenOptions::setup_sql`].
//! - [`plan`]: per-SQL parameter metadata (count, names) read from SQLite itself, and
//!   the rewrite of named parameters into `?NNN` that sqlx can bind.
//! - [`stale`]: the guard against statements whose column set changed after a schema
//!   change.
//! - [`errors`]: sqlx errors to typed errors.
//! - [`connection`], [`statement`], [`values`]: the kit's connection, statement and row
//!   over sqlx; the kit ([`sqlite_runtime::raw`]) does everything else.

mod bridge;
mod connection;
mod errors;
mod open;
mod plan;
mod stale;
mod statement;
mod values;

#[cfg(test)]
mod tests;

use sqlite_runtime::raw::KitDatabase;
use sqlite_runtime::{
    BackendKind, Capabilities, OpenOptions, Result, SqliteDatabase, SqliteRuntime, Target,
};

const NAME: &str = "sqlx";

/// The sqlx binding (`sqlx-sqlite` 0.9), bridged from async to the synchronous traits.
///
/// Every call blocks the caller until the connection's worker thread answers; it works
/// from plain threads and from inside a tokio runtime (current-thread or multi-thread).
#[derive(Clone, Copy, Debug, Default)]
pub struct SqlxRuntime;

impl SqlxRuntime {
    /// A runtime for the sqlx binding.
    pub fn new() -> Self {
        SqlxRuntime
    }
}

impl SqliteRuntime for SqlxRuntime {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::AsyncBridged
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let database = KitDatabase::open(NAME, target, options, || {
            connection::SqlxConnection::open(target, options)
        })?;
        Ok(Box::new(database))
    }
}
