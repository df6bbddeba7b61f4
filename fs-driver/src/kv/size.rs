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

/// Creates the size table and its triggers, and fills it with one scan, unless they
/// exist. Run inside a write transaction.
pub const INSTALL_SQL: &str = "
CREATE TABLE IF NOT EXISTS kv_size (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    used INTEGER NOT NULL,
    pending INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS kv_size_before_insert BEFORE INSERT ON kv BEGIN
    UPDATE kv_size SET pending =
        COALESCE((SELECT length(key) + length(value) FROM kv WHERE key = NEW.key), 0);
END;
CREATE TRIGGER IF NOT EXISTS kv_size_after_insert AFTER INSERT ON kv BEGIN
    UPDATE kv_size SET used = used + length(NEW.key) + length(NEW.value) - pending, pending = 0;
END;
CREATE TRIGGER IF NOT EXISTS kv_size_before_update_key BEFORE UPDATE OF key ON kv
WHEN NEW.key IS NOT OLD.key BEGIN
    UPDATE kv_size SET pending =
        COALESCE((SELECT length(key) + length(value) FROM kv WHERE key = NEW.key), 0);
END;
CREATE TRIGGER IF NOT EXISTS kv_size_after_update AFTER UPDATE ON kv BEGIN
    UPDATE kv_size SET
        used = used - length(OLD.key) - length(OLD.value) + length(NEW.key) + length(NEW.value)
            - CASE WHEN NEW.key IS NOT OLD.key THEN pending ELSE 0 END,
        pending = 0;
END;
CREATE TRIGGER IF NOT EXISTS kv_size_after_delete AFTER DELETE ON kv BEGIN
    UPDATE kv_size SET used = used - length(OLD.key) - length(OLD.value);
END;
INSERT INTO kv_size (id, used, pending)
    SELECT 0, (SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv), 0
    WHERE NOT EXISTS (SELECT 1 FROM kv_size);
";

/// The kept size.
pub const USED_SQL: &str = "SELECT used FROM kv_size";

/// The size by a scan of the table (for databases the size table cannot be added to, e.g.
/// read-only ones, and for checks).
pub const SCAN_SQL: &str = "SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv";

/// Reads the kept size; `None` when the database has no size table yet.
pub(crate) fn read(db: &mut dyn SqliteDatabase) -> Result<Option<u64>> {
    match scalar(db, USED_SQL) {
        Ok(used) => Ok(Some(used)),
        Err(error) if error.kind() == ErrorKind::Sql => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// The size by a scan.
pub(crate) fn scan(db: &mut dyn SqliteDatabase) -> Result<u64> {
    Ok(scalar(db, SCAN_SQL)?)
}

/// Adds the size table and its triggers in one transaction (a no-op when present).
pub(crate) fn install(db: &mut dyn SqliteDatabase) -> Result<()> {
    let mut tx = db.transaction()?;
    tx.exec(INSTALL_SQL)?;
    tx.commit()?;
    Ok(())
}

fn scalar(db: &mut dyn SqliteDatabase, sql: &str) -> sqlite_runtime::Result<u64> {
    let value = db.query_row(sql, params![], |row| row.get::<Option<i64>>(0))?;
    Ok(value
        .flatten()
        .map_or(0, |value| u64::try_from(value).unwrap_or(0)))
}
