//! The actor's storage size (the sum of `length(key) + length(value)` over `kv`, rivetkit's
//! definition) kept in the database itself, so that waking an actor reads it in O(1)
//! instead of scanning the table.
//!
//! Triggers keep it: they see every writer's statements, ours and those of any other
//! process on the same file (another driver, `sqlrt`, rivetkit's TypeScript driver, which
//! knows nothing of them), so the size stays exact whoever writes. The alternative,
//! `PRAGMA data_version`, only says that someone else committed: knowing what they
//! changed would take a scan. rivetkit writes with `INSERT OR REPLACE`, whose implicit
//! delete fires no delete trigger (without `recursive_triggers`, which rivetkit does not
//! set); so a `BEFORE INSERT` trigger notes the size of the row about to be replaced
//! (`pending`) and the `AFTER INSERT` trigger subtracts it. An insert that is ignored or
//! turned into an update leaves `pending` set, and the next `BEFORE` trigger overwrites
//! it, so a stale value is never used.
//!
//! A database without the table (written by rivetkit, or by an older version of ours)
//! gets it once, in one transaction, with one scan. rivetkit opens, reads and writes such
//! a database as before: it only ever touches `kv`.

use sqlite_runtime::{ErrorKind, SqliteDatabase, params};

use crate::error::Result;
use crate::sql;

/// Reads the kept size; `None` when the database has no size table yet.
pub(crate) fn read(db: &mut dyn SqliteDatabase) -> Result<Option<u64>> {
    match scalar(db, sql::USED_SIZE) {
        Ok(used) => Ok(Some(used)),
        Err(error) if error.kind() == ErrorKind::Sql => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The size by a scan.
pub(crate) fn scan(db: &mut dyn SqliteDatabase) -> Result<u64> {
    Ok(scalar(db, sql::SCAN_SIZE)?)
}

/// Adds the size table and its triggers in one transaction (a no-op when present).
pub(crate) fn install(db: &mut dyn SqliteDatabase) -> Result<()> {
    let mut tx = db.transaction()?;
    tx.exec(sql::INSTALL_SIZE)?;
    tx.commit()?;
    Ok(())
}

fn scalar(db: &mut dyn SqliteDatabase, sql: &str) -> sqlite_runtime::Result<u64> {
    let value = db.query_row(sql, params![], |row| row.get::<Option<i64>>(0))?;
    Ok(value
        .flatten()
        .map_or(0, |value| u64::try_from(value).unwrap_or(0)))
}
