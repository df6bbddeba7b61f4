//! Direct looks into an actor database, bypassing the driver.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;

use sqlite_runtime::{OpenOptions, Params, SqliteRuntime, Target, ValueRef};

/// `PRAGMA integrity_check` of the database at `path` (`"ok"` when sound), opened
/// without creating it.
pub fn integrity_check(runtime: &dyn SqliteRuntime, path: &Path) -> Result<String, String> {
    let mut db = runtime
        .open(&Target::file(path), &OpenOptions::new().create(false))
        .map_err(|error| error.to_string())?;
    let mut lines = Vec::new();
    db.for_each("PRAGMA integrity_check", Params::NONE, &mut |row| {
        lines.push(row.get::<String>(0)?);
        Ok(ControlFlow::Continue(()))
    })
    .map_err(|error| error.to_string())?;
    db.close().map_err(|error| error.to_string())?;
    Ok(lines.join("\n"))
}

/// A `kv` table's rows, by key.
pub type KvTable = BTreeMap<Vec<u8>, Vec<u8>>;

/// The `kv` table of the database at `path`, `None` when the file does not exist. A
/// database without the table reads as empty.
pub fn read_kv(runtime: &dyn SqliteRuntime, path: &Path) -> Result<Option<KvTable>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let mut db = runtime
        .open(&Target::file(path), &OpenOptions::new().create(false))
        .map_err(|error| error.to_string())?;
    let mut has_table = false;
    db.for_each(
        "SELECT 1 FROM sqlite_schema WHERE name = 'kv'",
        Params::NONE,
        &mut |_| {
            has_table = true;
            Ok(ControlFlow::Break(()))
        },
    )
    .map_err(|error| error.to_string())?;
    let mut out = BTreeMap::new();
    if has_table {
        db.for_each("SELECT key, value FROM kv", Params::NONE, &mut |row| {
            let bytes = |index: usize| match row.value(index) {
                Ok(ValueRef::Blob(bytes)) => Ok(bytes.to_vec()),
                Ok(ValueRef::Text(text)) => Ok(text.as_bytes().to_vec()),
                Ok(other) => Err(sqlite_runtime::Error::new(
                    sqlite_runtime::ErrorKind::TypeMismatch,
                    format!("unexpected {}", other.value_type()),
                )),
                Err(error) => Err(error),
            };
            out.insert(bytes(0)?, bytes(1)?);
            Ok(ControlFlow::Continue(()))
        })
        .map_err(|error| error.to_string())?;
    }
    db.close().map_err(|error| error.to_string())?;
    Ok(Some(out))
}
