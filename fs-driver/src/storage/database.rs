//! Actors kept entirely in databases, for runtimes whose databases are not local files
//! (a replicated engine such as dqlite): nothing is written to the local disk, so a
//! driver in another process or on another host that opens the same root on the same
//! engine sees the same actors.
//!
//! Each actor's KV database is `<root>/databases/<id>.db`, as on disk. The state
//! records and alarms, which rivetkit keeps in files, live in the index database
//! `<root>/actors.db` in one table, with the same versioned BARE bytes:
//!
//! ```sql
//! actor (id TEXT PRIMARY KEY, state BLOB, alarm BLOB, alarm_at INTEGER)
//! ```
//!
//! `alarm_at` repeats the alarm's timestamp for the index that finds due alarms; listing
//! walks the primary key. Such engines cannot delete a database, so removing an actor
//! drops its KV tables (the next create of the id starts empty) and deletes its row.
//! Lifecycles are guarded by leases in the same database (see [`super::leases`]): every
//! write to an actor's row (state, alarm, the removal) applies only while this driver
//! holds the actor's lease, checked in the same statement, and removing an actor first
//! claims its KV database with the lease's epoch (see `kv::fence`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sqlite_runtime::{ErrorKind, OpenOptions, SqliteDatabase, SqliteRuntime, Target, params};

use super::leases::Leases;
use super::{LifecycleLocks, Storage};
use crate::alarm::{ActorAlarm, decode_alarm, encode_alarm};
use crate::error::{Error, Result};
use crate::kv::fence;
use crate::state::{ActorState, decode_state, encode_state};

/// The schema of the index database.
const SCHEMA_SQL: &str = "\
CREATE TABLE IF NOT EXISTS actor (
    id TEXT PRIMARY KEY NOT NULL,
    state BLOB,
    alarm BLOB,
    alarm_at INTEGER
);
CREATE INDEX IF NOT EXISTS actor_alarm_at ON actor (alarm_at, id) WHERE alarm_at IS NOT NULL;";

const HAS_ACTOR_TABLE_SQL: &str =
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'actor'";
const READ_STATE_SQL: &str = "SELECT state FROM actor WHERE id = ?1";
// Writes to an actor's row apply only while this driver (the last parameter) holds the
// actor's lease. (The `WHERE` also keeps SQLite from reading `ON CONFLICT` as a join's
// `ON`.)
const WRITE_STATE_SQL: &str = "INSERT INTO actor (id, state) SELECT ?1, ?2 \
     WHERE EXISTS (SELECT 1 FROM lease WHERE lease.id = ?1 AND lease.owner = ?3) \
     ON CONFLICT (id) DO UPDATE SET state = excluded.state";
const DELETE_ACTOR_SQL: &str = "DELETE FROM actor WHERE id = ?1 \
     AND EXISTS (SELECT 1 FROM lease WHERE lease.id = ?1 AND lease.owner = ?2)";
const LIST_SQL: &str = "SELECT id FROM actor WHERE state IS NOT NULL AND id > ?1 \
     ORDER BY id LIMIT ?2";
const SET_ALARM_SQL: &str = "INSERT INTO actor (id, alarm, alarm_at) SELECT ?1, ?2, ?3 \
     WHERE EXISTS (SELECT 1 FROM lease WHERE lease.id = ?1 AND lease.owner = ?4) \
     ON CONFLICT (id) DO UPDATE SET alarm = excluded.alarm, alarm_at = excluded.alarm_at";
const CLEAR_ALARM_SQL: &str = "UPDATE actor SET alarm = NULL, alarm_at = NULL WHERE id = ?1 \
     AND EXISTS (SELECT 1 FROM lease WHERE lease.id = ?1 AND lease.owner = ?2)";
const READ_ALARM_SQL: &str = "SELECT alarm FROM actor WHERE id = ?1 AND alarm IS NOT NULL";
const DUE_ALARMS_SQL: &str = "SELECT id, alarm FROM actor \
     WHERE alarm_at IS NOT NULL AND alarm_at <= ?1 ORDER BY alarm_at, id";

/// The tables and views of an actor's database, views first: its KV, the kept sizes
/// and its own SQL's (indexes and triggers go with their tables), but not the claim
/// (`kv_owner`), which the emptying transaction writes.
const OBJECTS_SQL: &str = "SELECT type, name FROM sqlite_schema \
     WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     AND name <> 'kv_owner' ORDER BY type = 'table'";
/// Resets the migration mark.
const RESET_MARK_SQL: &str = "PRAGMA user_version = 0";

/// Actors in databases.
pub(crate) struct DatabaseStorage {
    root: PathBuf,
    runtime: Arc<dyn SqliteRuntime>,
    index: Arc<Mutex<Box<dyn SqliteDatabase>>>,
    leases: Leases,
}

impl DatabaseStorage {
    /// The root `root` on `runtime`: opens (and creates) its index database and starts
    /// renewing this driver's leases, which expire `lease_timeout` after the last
    /// renewal.
    pub(crate) fn open(
        runtime: Arc<dyn SqliteRuntime>,
        root: PathBuf,
        lease_timeout: Duration,
    ) -> Result<Self> {
        let mut index = open_index(&*runtime, &root, &OpenOptions::new())?;
        index.exec(SCHEMA_SQL)?;
        let index = Arc::new(Mutex::new(index));
        let renewals = open_index(&*runtime, &root, &OpenOptions::new())?;
        let leases = Leases::start(index.clone(), renewals, lease_timeout)?;
        Ok(DatabaseStorage {
            root,
            runtime,
            index,
            leases,
        })
    }

    fn index(&self) -> MutexGuard<'_, Box<dyn SqliteDatabase>> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims actor `id`'s KV database with this driver's lease, then runs `then`, in one
    /// transaction.
    fn in_claimed_database(&self, id: &str, empty: bool) -> Result<()> {
        let Some(claim) = self.leases.fence(id) else {
            return self.leases.held_if(id, false);
        };
        let mut kv = self.runtime.open(&self.database(id), &OpenOptions::new())?;
        let claimed = claim_then(&mut *kv, id, &claim, empty);
        let closed = kv.close();
        claimed?;
        closed?;
        Ok(())
    }

    /// The timestamp of actor `id`'s alarm record.
    fn decode_alarm(&self, id: &str, bytes: &[u8]) -> Result<u64> {
        decode_alarm_record(&self.root, id, bytes)
    }
}

/// Where the index database of `root` is.
fn index_path(root: &Path) -> PathBuf {
    root.join("actors.db")
}

/// Where errors say an actor's record is: its row in the index database.
pub(crate) fn record_path(root: &Path, id: &str) -> PathBuf {
    index_path(root).join(id)
}

/// Opens the index database of `root` with `options`.
fn open_index(
    runtime: &dyn SqliteRuntime,
    root: &Path,
    options: &OpenOptions,
) -> Result<Box<dyn SqliteDatabase>> {
    Ok(runtime.open(&Target::file(index_path(root)), options)?)
}

/// Opens the index database of `root` to read records without a driver (no lease):
/// `None` when no driver ever wrote it. Opened read-only, so that reading creates
/// nothing where the engine allows it (dqlite creates any database it is asked to open,
/// even to read; it then holds no table).
pub(crate) fn read_index(
    runtime: &dyn SqliteRuntime,
    root: &Path,
) -> Result<Option<Box<dyn SqliteDatabase>>> {
    let options = OpenOptions::new().read_only(true);
    let mut index = match open_index(runtime, root, &options) {
        Ok(index) => index,
        Err(Error::Sqlite(error)) if error.kind() == ErrorKind::CannotOpen => return Ok(None),
        Err(error) => return Err(error),
    };
    let has_table = index
        .query_row(HAS_ACTOR_TABLE_SQL, params![], |_| Ok(()))?
        .is_some();
    Ok(has_table.then_some(index))
}

/// Actor `id`'s state record in the index database `index` of `root`; `None` when there
/// is none. A record naming another actor is refused, as a state file would be.
pub(crate) fn read_state(
    index: &mut dyn SqliteDatabase,
    root: &Path,
    id: &str,
) -> Result<Option<ActorState>> {
    Ok(read_state_record(index, root, id)?.map(|(_, state)| state))
}

/// Like [`read_state`], with the record's version.
pub(crate) fn read_state_record(
    index: &mut dyn SqliteDatabase,
    root: &Path,
    id: &str,
) -> Result<Option<(u16, ActorState)>> {
    let bytes = index
        .query_row(READ_STATE_SQL, params![id], |row| {
            row.get::<Option<Vec<u8>>>(0)
        })?
        .flatten();
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let (version, state) = decode_state(&bytes).map_err(|source| Error::Decode {
        path: record_path(root, id),
        source,
    })?;
    if state.actor_id != id {
        return Err(Error::StateIdMismatch {
            path: record_path(root, id),
            actor_id: state.actor_id,
        });
    }
    Ok(Some((version, state)))
}

/// Every actor id with a state record, sorted.
pub(crate) fn all_actor_ids(index: &mut dyn SqliteDatabase) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    index.for_each(LIST_SQL, params!["", i64::MAX], &mut |row| {
        ids.push(row.get::<String>(0)?);
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    Ok(ids)
}

/// Actor `id`'s alarm in the index database `index`, if set.
pub(crate) fn read_alarm(
    index: &mut dyn SqliteDatabase,
    root: &Path,
    id: &str,
) -> Result<Option<u64>> {
    let alarm = index.query_row(READ_ALARM_SQL, params![id], |row| row.get::<Vec<u8>>(0))?;
    alarm
        .map(|bytes| decode_alarm_record(root, id, &bytes))
        .transpose()
}

fn decode_alarm_record(root: &Path, id: &str, bytes: &[u8]) -> Result<u64> {
    let (_, alarm) = decode_alarm(bytes).map_err(|source| Error::Decode {
        path: record_path(root, id),
        source,
    })?;
    Ok(alarm.timestamp)
}

impl Storage for DatabaseStorage {
    fn root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn persistent(&self) -> bool {
        true
    }

    fn database(&self, id: &str) -> Target {
        Target::file(self.root.join("databases").join(format!("{id}.db")))
    }

    fn read_state(&self, id: &str) -> Result<Option<ActorState>> {
        read_state(&mut **self.index(), &self.root, id)
    }

    fn write_state(&self, id: &str, state: &ActorState) -> Result<()> {
        let owner = self.leases.owner();
        let written = self
            .index()
            .run(WRITE_STATE_SQL, params![id, &encode_state(state), owner])?;
        self.leases.held_if(id, written.changes > 0)
    }

    fn claim_database(&self, id: &str) -> Result<()> {
        self.in_claimed_database(id, false)
    }

    /// The KV tables first (claiming the database in the same transaction, so that a
    /// driver that lost the actor is told who has it), the row (state and alarm) last.
    fn remove_actor(&self, id: &str) -> Result<()> {
        self.in_claimed_database(id, true)?;
        let deleted = self
            .index()
            .run(DELETE_ACTOR_SQL, params![id, self.leases.owner()])?;
        if deleted.changes == 0 {
            // No row (leftovers of a create that never wrote one), or not ours.
            self.leases.ensure_held(id)?;
        }
        Ok(())
    }

    fn actor_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut ids = Vec::new();
        self.index()
            .for_each(LIST_SQL, params![after.unwrap_or(""), limit], &mut |row| {
                ids.push(row.get::<String>(0)?);
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
        Ok(ids)
    }

    fn set_alarm(&self, id: &str, timestamp: u64) -> Result<()> {
        let alarm = encode_alarm(&ActorAlarm {
            actor_id: id.to_owned(),
            timestamp,
        });
        let owner = self.leases.owner();
        let written = self.index().run(
            SET_ALARM_SQL,
            params![id, &alarm, sql_timestamp(timestamp), owner],
        )?;
        self.leases.held_if(id, written.changes > 0)
    }

    fn clear_alarm(&self, id: &str) -> Result<()> {
        let owner = self.leases.owner();
        let written = self.index().run(CLEAR_ALARM_SQL, params![id, owner])?;
        self.leases.held_if(id, written.changes > 0)
    }

    fn alarm(&self, id: &str) -> Result<Option<u64>> {
        read_alarm(&mut **self.index(), &self.root, id)
    }

    fn due_alarms(&self, now: u64) -> Result<Vec<(String, u64)>> {
        let mut rows = Vec::new();
        self.index()
            .for_each(DUE_ALARMS_SQL, params![sql_timestamp(now)], &mut |row| {
                rows.push((row.get::<String>(0)?, row.get::<Vec<u8>>(1)?));
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
        let mut due = Vec::with_capacity(rows.len());
        for (id, bytes) in rows {
            // The index saturates past `i64::MAX`; the record is exact.
            let timestamp = self.decode_alarm(&id, &bytes)?;
            if timestamp <= now {
                due.push((id, timestamp));
            }
        }
        Ok(due)
    }

    fn locks(&self) -> Option<&dyn LifecycleLocks> {
        Some(&self.leases)
    }
}

/// Claims actor `id`'s KV database `kv`, then runs `then`, in one transaction.
fn claim_then(
    kv: &mut dyn SqliteDatabase,
    id: &str,
    claim: &fence::Claim,
    empty: bool,
) -> Result<()> {
    let mut tx = kv.transaction()?;
    fence::claim(&mut *tx, id, claim)?;
    if empty {
        empty_database(&mut *tx)?;
    }
    tx.commit()?;
    Ok(())
}

/// Drops everything of the actor in its database (inside the caller's transaction), so
/// that a destroyed actor leaves neither KV nor SQL data behind.
fn empty_database(db: &mut dyn SqliteDatabase) -> Result<()> {
    let mut objects = Vec::new();
    db.for_each(OBJECTS_SQL, params![], &mut |row| {
        objects.push((row.get::<String>(0)?, row.get::<String>(1)?));
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    for (kind, name) in objects {
        let kind = if kind == "view" { "VIEW" } else { "TABLE" };
        db.exec(&format!(
            "DROP {kind} IF EXISTS \"{}\"",
            name.replace('"', "\"\"")
        ))?;
    }
    db.exec(RESET_MARK_SQL)?;
    Ok(())
}

/// A timestamp as an SQLite integer, for the index: values past `i64::MAX` (no real
/// time) saturate; the record keeps the exact value.
fn sql_timestamp(timestamp: u64) -> i64 {
    i64::try_from(timestamp).unwrap_or(i64::MAX)
}
