//! The SQL the driver runs on an actor's database, public so that benchmarks and tools
//! run exactly the same statements (and tests can find them in the statement cache).
//!
//! Every statement is a constant: a connection prepares each once and reuses it.

/// The table every actor database holds (rivetkit's).
pub const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)";
/// Whether the table holds any row (not a count).
pub const HAS_ANY: &str = "SELECT 1 FROM kv LIMIT 1";
/// The value of one key.
pub const GET: &str = "SELECT value FROM kv WHERE key = ?";
/// Inserts or replaces one entry (as rivetkit does).
pub const PUT: &str = "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)";
/// Deletes one key.
pub const DELETE: &str = "DELETE FROM kv WHERE key = ?";
/// Deletes the keys in `[?1, ?2)`.
pub const DELETE_RANGE: &str = "DELETE FROM kv WHERE key >= ? AND key < ?";
// Lists carry no `LIMIT ?`: since SQLite 3.4x a bound LIMIT marks the statement for
// re-preparation on every new binding, which would defeat the statement cache. The scan
// stops after `limit` rows instead; the primary-key order needs no sort, so stopping
// early reads no more rows than a LIMIT would.
/// Entries with keys in `[?1, ?2)`, ascending.
pub const RANGE_ASC: &str = "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key ASC";
/// Entries with keys in `[?1, ?2)`, descending.
pub const RANGE_DESC: &str =
    "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC";
/// Entries with keys from `?1` on, ascending (a prefix with no upper bound).
pub const FROM_ASC: &str = "SELECT key, value FROM kv WHERE key >= ? ORDER BY key ASC";
/// Entries with keys from `?1` on, descending.
pub const FROM_DESC: &str = "SELECT key, value FROM kv WHERE key >= ? ORDER BY key DESC";
/// Every write runs in one transaction that takes the write lock at once.
pub const BEGIN: &str = "BEGIN IMMEDIATE";
/// Ends a write.
pub const COMMIT: &str = "COMMIT";
/// Undoes a write that failed.
pub const ROLLBACK: &str = "ROLLBACK";
pub use crate::kv::size::{
    INSTALL_SQL as INSTALL_SIZE, SCAN_SQL as SCAN_SIZE, USED_SQL as USED_SIZE,
};
