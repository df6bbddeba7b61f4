//! A tiny driver crate, written the way a real one should be: it depends on
//! `sqlite-runtime` only and is handed a runtime, so the application picks the binding.
//!
//! Run `cargo run -p sqlite-runtime-examples --example select_backend` to see an
//! application choose a backend and use this driver.

use std::path::Path;
use std::sync::Arc;

use sqlite_runtime::{
    OpenOptions, Params, Result, SqliteDatabase, SqliteRuntime, Target, ValueRef, params,
};

/// A counter store: named counters in one SQLite file.
pub struct Counters {
    db: Box<dyn SqliteDatabase>,
}

impl Counters {
    /// Opens (or creates) the store at `path` with whatever runtime the application chose.
    pub fn open(runtime: Arc<dyn SqliteRuntime>, path: &Path) -> Result<Self> {
        let mut db = runtime.open(&Target::file(path), &OpenOptions::new())?;
        db.exec(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        )?;
        Ok(Counters { db })
    }

    /// Adds `by` to the counter `name` and returns its new value, atomically.
    pub fn increment(&mut self, name: &str, by: i64) -> Result<i64> {
        let mut tx = self.db.transaction()?; // BEGIN IMMEDIATE: safe with concurrent writers
        let params = [ValueRef::Text(name), ValueRef::Integer(by)];
        let row = tx.get(
            "INSERT INTO counters (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = value + ?2
             RETURNING value",
            Params::from(&params),
        )?;
        tx.commit()?;
        row.map_or(Ok(0), |row| row.get("value"))
    }

    /// The counter's value, 0 when it was never incremented.
    pub fn get(&mut self, name: &str) -> Result<i64> {
        let row = self
            .db
            .get("SELECT value FROM counters WHERE name = ?", params![name])?;
        Ok(row.map(|row| row.get("value")).transpose()?.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_work_on_every_backend() -> Result<()> {
        for backend in sqlite_runtime_backends::configured_backends() {
            let Some(runtime) = backend.runtime() else {
                continue;
            };
            let dir = tempfile::tempdir().map_err(|e| {
                sqlite_runtime::Error::new(sqlite_runtime::ErrorKind::Io, e.to_string())
            })?;
            let mut counters = Counters::open(runtime, &dir.path().join("c.db"))?;
            assert_eq!(counters.get("hits")?, 0);
            assert_eq!(counters.increment("hits", 2)?, 2);
            assert_eq!(counters.increment("hits", 3)?, 5, "{}", backend.name);
            assert_eq!(counters.get("hits")?, 5);
        }
        Ok(())
    }
}
