//! Reading an actor's KV store from a root without running it and without changing
//! anything on disk (for command-line tools and inspection; see `snapshot`).

use std::path::Path;

use sqlite_runtime::{
    Capability, ErrorKind, GuardLimits, Params, Row, SqliteDatabase, SqliteRuntime, Target, params,
};

use crate::actor_id::check_actor_id;
use crate::error::{Error, Result};
use crate::kv::mark::{has_rows, is_marked};
use crate::kv::{self, ListOptions};
use crate::layout::Layout;
use crate::read::snapshot::read_database;
use crate::sql;
use crate::state::KvEntry;
use crate::storage::database;
use crate::storage::disk::read_state;

const HAS_KV_TABLE_SQL: &str = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'kv'";

/// Read access to one actor's KV entries, with the same limits and ordering as
/// [`FsDriver`](crate::FsDriver)'s reads.
pub struct KvReader<'a> {
    db: &'a mut dyn SqliteDatabase,
}

impl std::fmt::Debug for KvReader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvReader").finish_non_exhaustive()
    }
}

impl KvReader<'_> {
    /// Batch get: one result per key, in order; `None` for a missing key.
    pub fn get<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        kv::get_values(&mut *self.db, keys)
    }

    /// Entries whose keys start with `prefix` (all of them for an empty prefix).
    pub fn list_prefix(&mut self, prefix: &[u8], options: ListOptions) -> Result<Vec<KvEntry>> {
        kv::collect(|visit| kv::scan_prefix(&mut *self.db, prefix, options, visit))
    }

    /// Runs one statement of the actor's own SQL that only reads (guarded as
    /// [`FsDriver::sql_query`](crate::FsDriver::sql_query) guards it, with the default
    /// limits) and returns its rows. A statement that would write is refused with an
    /// error of kind [`ReadOnly`](sqlite_runtime::ErrorKind::ReadOnly), before it runs:
    /// a reader changes nothing.
    pub fn sql_query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let guard = crate::kv::actor_sql::guard(GuardLimits::default());
        let mut rows = Vec::new();
        let read = self.db.guarded_read(&guard, sql, params, &mut |row| {
            rows.push(row.to_row(row.column_names()?.into()));
            Ok(std::ops::ControlFlow::Continue(()))
        })?;
        if !read {
            return Err(sqlite_runtime::Error::new(
                ErrorKind::ReadOnly,
                "the statement writes; a reader only reads (run it through the driver)",
            )
            .into());
        }
        Ok(rows)
    }

    /// Entries with keys in `[start, end)`; empty when `start >= end`.
    pub fn list_range(
        &mut self,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
    ) -> Result<Vec<KvEntry>> {
        kv::collect(|visit| kv::scan_range(&mut *self.db, start, end, options, visit))
    }
}

/// Runs `read` on actor `id` of the storage root at `root`, changing nothing on disk: no
/// directory, database, `-wal` or `-shm` is created, no checkpoint runs, also while
/// another process has the actor's database open. `read` may run more than once when a
/// writer changes the database meanwhile.
///
/// An actor whose legacy entries were not migrated yet (a root no driver has opened since
/// an older rivetkit wrote it) reads as the migration would leave it.
///
/// Fails with [`Error::ActorNotFound`] when there is no such actor, and with
/// [`Error::DatabaseMissing`] when its database is gone and it has no legacy entries.
pub fn read_actor<T>(
    runtime: &dyn SqliteRuntime,
    root: &Path,
    id: &str,
    mut read: impl FnMut(&mut KvReader<'_>) -> Result<T>,
) -> Result<T> {
    check_actor_id(id).map_err(|reason| Error::InvalidActorId {
        id: id.to_owned(),
        reason,
    })?;
    let layout = Layout::new(root);
    let state = if runtime.capabilities().has(Capability::LocalFiles) {
        read_state(&layout, id)?
    } else {
        match database::read_index(runtime, root)? {
            Some(mut index) => database::read_state(&mut *index, root, id)?,
            None => None,
        }
    };
    let state = state.ok_or_else(|| Error::ActorNotFound(id.to_owned()))?;
    let legacy = &state.kv_storage;
    let path = layout.database_path(id);
    let from_database = read_database(runtime, &path, |db| {
        if !has_kv_table(&mut *db)? {
            return Ok(None);
        }
        if !legacy.is_empty() && !is_marked(&mut *db)? && !has_rows(&mut *db)? {
            return Ok(None);
        }
        read(&mut KvReader { db }).map(Some)
    })?;
    match from_database {
        Some(Some(value)) => Ok(value),
        Some(None) => read_legacy(runtime, legacy, &mut read),
        None if !legacy.is_empty() => read_legacy(runtime, legacy, &mut read),
        None => Err(Error::DatabaseMissing {
            id: id.to_owned(),
            path,
        }),
    }
}

fn has_kv_table(db: &mut dyn SqliteDatabase) -> Result<bool> {
    Ok(db.get(HAS_KV_TABLE_SQL, Params::NONE)?.is_some())
}

/// Reads `entries` as the legacy migration would store them, from a private in-memory
/// database.
fn read_legacy<T>(
    runtime: &dyn SqliteRuntime,
    entries: &[KvEntry],
    read: &mut impl FnMut(&mut KvReader<'_>) -> Result<T>,
) -> Result<T> {
    let mut db = kv::open_database(runtime, &Target::Memory)?;
    for (key, value) in entries {
        db.run(sql::PUT, params![key, value])?;
    }
    read(&mut KvReader { db: &mut *db })
}
