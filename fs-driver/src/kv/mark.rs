//! The mark of a database whose legacy entries were dealt with (migrated, or found
//! superseded by data already in SQLite), and whether a database holds any row: what
//! the legacy migration and the readers ask of an actor database.

use sqlite_runtime::{SqliteDatabase, params};

use crate::error::Result;
use crate::sql;

/// `PRAGMA user_version` of a database whose legacy entries were dealt with: migrated,
/// or found superseded by data already in SQLite. Legacy files are never changed, so
/// without this mark a restart after the actor deleted all its keys would find an empty
/// table and copy the old entries back.
const MIGRATED_USER_VERSION: i64 = 1;
const READ_MARK_SQL: &str = "PRAGMA user_version";
const SET_MARK_SQL: &str = "PRAGMA user_version = 1";

/// Marks the database migrated (inside the caller's transaction).
pub(crate) fn set(db: &mut dyn SqliteDatabase) -> Result<()> {
    Ok(db.exec(SET_MARK_SQL)?)
}

/// Whether the `kv` table holds any row.
pub(crate) fn has_rows(db: &mut dyn SqliteDatabase) -> Result<bool> {
    Ok(db.query_row(sql::HAS_ANY, params![], |_| Ok(()))?.is_some())
}

/// Whether the database carries the migrated mark.
pub(crate) fn is_marked(db: &mut dyn SqliteDatabase) -> Result<bool> {
    let version = db.query_row(READ_MARK_SQL, params![], |row| row.get::<i64>(0))?;
    Ok(version == Some(MIGRATED_USER_VERSION))
}
