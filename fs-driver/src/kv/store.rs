//! One actor's KV store: its database connection, which may be closed to save
//! descriptors and is reopened on the next use, and the rules every write follows.
//!
//! A write is applied or not, and says which: it runs in one `BEGIN IMMEDIATE`
//! transaction; anything that fails before `COMMIT` rolls it back (not applied). A
//! `COMMIT` that fails with an I/O error other than a full disk (a failed `fsync`, a
//! failed write of the `-wal`) may or may not have reached the disk: that is reported as
//! [`Error::WriteOutcomeUnknown`], the connection is closed, the database is marked for
//! the whole process (see [`crate::unresolved`]), and whoever opens it next (this store,
//! or a store of a later wake) checkpoints it before anything is read: what is served
//! afterwards has been written to the disk since.
//! On a runtime whose databases are not local files (a replicated engine), the engine
//! says when a commit's outcome is unknown ([`ErrorKind::OutcomeUnknown`]); the file
//! checks (identity, write permission, OS error diagnosis, missing file) are for local
//! files only.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use sqlite_runtime::{
    Capability, ErrorKind, OpenOptions, Params, SqliteDatabase, SqliteRuntime, Target, ValueRef,
    params,
};

use super::diagnose::diagnose;
use super::fence::{self, Claim};
use super::files::OpenFiles;
use super::read_cache::{CacheCell, Entries, Snapshot};
use super::{
    ListOptions, Writes, delete_keys, get_value, get_values, put_entries, scan_prefix, scan_range,
    size,
};
use crate::error::{Error, Result};
use crate::limits::{self, KeyRole};
use crate::sql;
use crate::unresolved;

/// SQLite's primary result code for a full disk: a commit that fails with it was not
/// applied (the `-wal` never got its commit frame).
const SQLITE_FULL: i32 = 13;

/// Checkpoints every frame of the `-wal` into the database and syncs it; the first
/// column is 1 when readers kept it from finishing.
const CHECKPOINT_SQL: &str = "PRAGMA wal_checkpoint(FULL)";

/// An open connection and what the store knows about it.
pub(super) struct Connection {
    pub(super) db: Box<dyn SqliteDatabase>,
    /// The database's path (or name, for a remote engine; `:memory:` in memory), for
    /// errors.
    path: std::path::PathBuf,
    /// The local files it writes to (`None` in memory and on a remote engine).
    files: Option<OpenFiles>,
    /// Whether it can write: SQLite silently opens read-only a file it cannot open for
    /// writing (read-only file, directory or file system).
    writable: bool,
    /// Whether the size is kept by triggers; when not (a read-only database that never
    /// got them), it is scanned.
    size_kept: bool,
    /// What the actor's own SQL takes (see [`super::sql_size`]), read and kept on
    /// first need.
    pub(super) sql_pages: super::sql_size::SqlPages,
    /// How batches of writes reach the database.
    pub(super) writes: Writes,
}

/// An actor's KV store.
pub(crate) struct KvStore {
    id: String,
    runtime: Arc<dyn SqliteRuntime>,
    target: Target,
    max_storage: u64,
    /// `None` while parked (closed to save descriptors, or after a write whose outcome
    /// is unknown): the next use reopens it.
    connection: Option<Connection>,
    /// The lease holder's claim that every write checks (see [`fence`]); `None` where
    /// lifecycles are not leased.
    fence: Option<Claim>,
    /// Where the copy of the entries is kept while the lease is certain; `None` where
    /// reads are not served from one.
    copy: Option<Arc<CacheCell>>,
    /// The actor was too large to copy (until it sleeps).
    copy_refused: bool,
}

impl KvStore {
    /// Creates the actor's database (or opens it if it exists) with its table.
    pub(crate) fn create(
        runtime: Arc<dyn SqliteRuntime>,
        id: &str,
        target: Target,
        max_storage: u64,
    ) -> Result<Self> {
        let connection = Connection::open(&*runtime, &target, true)?.resolved()?;
        Ok(Self::with(runtime, id, target, max_storage, connection))
    }

    /// Opens the actor's existing database: a missing file is
    /// [`Error::DatabaseMissing`], never a new empty database.
    pub(crate) fn open(
        runtime: Arc<dyn SqliteRuntime>,
        id: &str,
        target: Target,
        max_storage: u64,
    ) -> Result<Self> {
        let connection = Connection::open(&*runtime, &target, false)
            .map_err(|error| missing_database(id, local_path(&*runtime, &target), error))?
            .resolved()?;
        Ok(Self::with(runtime, id, target, max_storage, connection))
    }

    fn with(
        runtime: Arc<dyn SqliteRuntime>,
        id: &str,
        target: Target,
        max_storage: u64,
        connection: Connection,
    ) -> Self {
        KvStore {
            id: id.to_owned(),
            runtime,
            target,
            max_storage,
            connection: Some(connection),
            fence: None,
            copy: None,
            copy_refused: false,
        }
    }

    /// Serves reads from a copy of the entries kept in `cell` while the lease is
    /// certain (see [`read_cache`](super::read_cache)).
    pub(crate) fn serve_reads_from(&mut self, cell: Arc<CacheCell>) {
        self.copy = Some(cell);
    }

    /// `read` of the copy, loading it first when the lease is certain and the actor
    /// small enough; `None`: read the engine.
    fn read_copy<R>(&mut self, read: impl Fn(&Entries) -> R) -> Option<R> {
        if let Some(value) = self.copy.as_ref()?.read(&read) {
            return Some(value);
        }
        // Loading the copy reads the engine through `self`: the cell is held apart.
        let cell = self.copy.clone()?;
        if self.copy_refused || !cell.wants_copy() {
            return None;
        }
        match self.load_copy(&cell) {
            Ok(Some(snapshot)) => cell.keep(snapshot),
            Ok(None) => self.copy_refused = true,
            // The engine's read that follows reports it.
            Err(_) => return None,
        }
        cell.read(&read)
    }

    /// Every entry, read in one statement, unless the actor is too large to copy.
    fn load_copy(&mut self, cell: &CacheCell) -> Result<Option<Snapshot>> {
        if self.storage_used()? > cell.largest_copied() {
            return Ok(None);
        }
        let mut entries = Entries::new();
        scan_prefix(
            self.db()?,
            b"",
            ListOptions::new().limit(usize::MAX),
            &mut |k, v| {
                entries.insert(k.to_vec(), v.to_vec());
            },
        )?;
        Ok(Some(Snapshot::new(entries)))
    }

    /// Whether writes are single statements that check themselves (an engine without
    /// local files, where each statement is a request); elsewhere a transaction is
    /// faster, and the attempt would only cost a second check of the files.
    fn writes_in_one_statement(&self) -> bool {
        Writes::for_runtime(&*self.runtime) == Writes::Batched
    }

    /// Takes the copy out before a write: put back by the caller once the write is
    /// acknowledged (with the write applied), dropped otherwise.
    fn take_copy(&mut self) -> Option<Snapshot> {
        self.copy.as_ref().and_then(|cell| cell.take())
    }

    /// Puts back a copy taken out before a write that was acknowledged.
    fn put_back(&mut self, snapshot: Option<Snapshot>, apply: impl FnOnce(&mut Snapshot)) {
        if let (Some(cell), Some(mut snapshot)) = (self.copy.as_ref(), snapshot) {
            apply(&mut snapshot);
            cell.keep(snapshot);
        }
    }

    /// Whether the connection is open now.
    pub(crate) fn is_open(&self) -> bool {
        self.connection.is_some()
    }

    /// Claims the database for a lease holder: from now on every write checks that the
    /// claim still holds (a later lease's claim fences it off). A database this holder
    /// claimed before under the same lease is not written again.
    pub(crate) fn claim(&mut self, claim: Claim) -> Result<()> {
        self.fence = None;
        if fence::holder(self.db()?)?.as_ref() != Some(&claim) {
            let id = self.id.clone();
            self.write(|connection| fence::claim(&mut *connection.db, &id, &claim))?;
        }
        self.fence = Some(claim);
        Ok(())
    }

    /// Closes the connection to free its descriptors; the next use reopens it. An
    /// in-memory store stays open (closing it would erase it).
    pub(crate) fn park(&mut self) -> Result<()> {
        if self.target.is_memory() {
            return Ok(());
        }
        match self.connection.take() {
            Some(mut connection) => Ok(connection.db.close()?),
            None => Ok(()),
        }
    }

    /// Closes the store (and drops its copy).
    pub(crate) fn close(mut self) -> Result<()> {
        if let Some(cell) = self.copy.take() {
            cell.clear();
        }
        match self.connection.take() {
            Some(mut connection) => Ok(connection.db.close()?),
            None => Ok(()),
        }
    }

    /// The open connection, reopening a parked one.
    fn connection(&mut self) -> Result<&mut Connection> {
        if self.connection.is_none() {
            let connection =
                Connection::open(&*self.runtime, &self.target, false).map_err(|error| {
                    missing_database(&self.id, local_path(&*self.runtime, &self.target), error)
                })?;
            self.connection = Some(connection.resolved()?);
        }
        match &mut self.connection {
            Some(connection) => Ok(connection),
            None => Err(Error::ActorStopping(self.id.clone())),
        }
    }

    /// The database, for reads.
    fn db(&mut self) -> Result<&mut dyn SqliteDatabase> {
        Ok(&mut *self.connection()?.db)
    }

    /// The storage size: the sum of `key + value` over the table, whoever wrote it.
    pub(crate) fn storage_used(&mut self) -> Result<u64> {
        self.connection()?.kv_used()
    }

    /// What the actor's own SQL takes, in bytes of database pages.
    pub(crate) fn sql_storage_used(&mut self) -> Result<u64> {
        let connection = self.connection()?;
        connection.sql_pages.bytes(&mut *connection.db)
    }

    /// Whether the legacy migration marked this database as dealt with.
    pub(crate) fn is_migrated(&mut self) -> Result<bool> {
        super::mark::is_marked(self.db()?)
    }

    /// The connection's live prepared statements.
    pub(crate) fn statement_cache_stats(&mut self) -> Result<sqlite_runtime::StatementCacheStats> {
        Ok(self.db()?.statement_cache_stats()?)
    }

    /// Batch get: one result per key, in order.
    pub(crate) fn get<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        if self.copy.is_none() {
            return get_values(self.db()?, keys);
        }
        limits::check_keys(keys)?;
        let copied = self.read_copy(|entries| {
            keys.iter()
                .map(|key| entries.get(key.as_ref()).cloned())
                .collect()
        });
        match copied {
            Some(values) => Ok(values),
            None => get_values(self.db()?, keys),
        }
    }

    /// Point get of a key already checked.
    pub(crate) fn get_one_unchecked(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.read_copy(|entries| entries.get(key).cloned()) {
            Some(value) => Ok(value),
            None => get_value(self.db()?, key),
        }
    }

    /// Entries whose keys start with `prefix`, visited in order.
    pub(crate) fn scan_prefix(
        &mut self,
        prefix: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        if self.copy.is_none() {
            return scan_prefix(self.db()?, prefix, options, visit);
        }
        limits::check_key(KeyRole::Prefix, prefix)?;
        let upper = limits::prefix_upper_bound(prefix);
        let end = upper
            .as_ref()
            .map_or(Bound::Unbounded, |u| Bound::Excluded(&u[..]));
        let copied =
            self.read_copy(|entries| listed(entries, (Bound::Included(prefix), end), options));
        match copied {
            Some(listed) => {
                listed.iter().for_each(|(k, v)| visit(k, v));
                Ok(())
            }
            None => scan_prefix(self.db()?, prefix, options, visit),
        }
    }

    /// Entries with keys in `[start, end)`, visited in order; none when `start >= end`.
    pub(crate) fn scan_range(
        &mut self,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        if self.copy.is_none() {
            return scan_range(self.db()?, start, end, options, visit);
        }
        limits::check_key(KeyRole::Start, start)?;
        limits::check_key(KeyRole::End, end)?;
        if start >= end {
            return Ok(());
        }
        let bounds = (Bound::Included(start), Bound::Excluded(end));
        match self.read_copy(|entries| listed(entries, bounds, options)) {
            Some(listed) => {
                listed.iter().for_each(|(k, v)| visit(k, v));
                Ok(())
            }
            None => scan_range(self.db()?, start, end, options, visit),
        }
    }

    /// Batch put: all or nothing, existing keys replaced, limits checked in rivetkit's
    /// order against the size read inside the write transaction (exact even when another
    /// process writes the same actor).
    pub(crate) fn put<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, entries: &[(K, V)]) -> Result<()> {
        // The limits that need no size come first in rivetkit's order: checked before the
        // database is touched.
        limits::check_put_batch(entries)?;
        if entries.is_empty() {
            return Ok(());
        }
        let copy = self.take_copy();
        self.put_unapplied(entries)?;
        self.put_back(copy, |copy| copy.put(entries));
        Ok(())
    }

    fn put_unapplied<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, entries: &[(K, V)]) -> Result<()> {
        let max_storage = self.max_storage;
        let put = |id: &str, connection: &mut Connection, fence: Option<&Claim>| {
            put_in_one_statement(id, connection, fence, entries, max_storage)
        };
        if self.writes_in_one_statement() && self.write_as(put)?.is_some() {
            return Ok(());
        }
        self.write(|connection| {
            let used = connection.used()?;
            limits::check_put(entries, used, max_storage)?;
            put_entries(&mut *connection.db, entries, connection.writes)
        })
    }

    /// Batch delete: all or nothing, missing keys ignored. Returns the entries removed.
    pub(crate) fn delete<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<u64> {
        limits::check_keys(keys)?;
        if keys.is_empty() {
            return Ok(0);
        }
        let copy = self.take_copy();
        let removed = self.delete_unapplied(keys)?;
        self.put_back(copy, |copy| copy.delete(keys));
        Ok(removed)
    }

    fn delete_unapplied<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<u64> {
        let delete = |id: &str, connection: &mut Connection, fence: Option<&Claim>| {
            let packed: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (k.as_ref(), &[][..])).collect();
            let (blob, layout) = sql::pack_entries(&packed);
            let values = [ValueRef::Blob(&blob), ValueRef::Text(&layout)];
            let statements = (sql::DELETE_PACKED, sql::DELETE_PACKED_FENCED);
            in_one_statement(id, connection, fence, statements, &values, false)
        };
        if self.writes_in_one_statement()
            && let Some(removed) = self.write_as(delete)?
        {
            return Ok(removed);
        }
        self.write(|connection| delete_keys(&mut *connection.db, keys, connection.writes))
    }

    /// Deletes keys in `[start, end)`; `start >= end` does nothing. Returns the entries
    /// removed.
    pub(crate) fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<u64> {
        limits::check_key(KeyRole::Start, start)?;
        limits::check_key(KeyRole::End, end)?;
        if start >= end {
            return Ok(0);
        }
        let copy = self.take_copy();
        let removed = self.delete_range_unapplied(start, end)?;
        self.put_back(copy, |copy| copy.delete_range(start, end));
        Ok(removed)
    }

    fn delete_range_unapplied(&mut self, start: &[u8], end: &[u8]) -> Result<u64> {
        let delete = |id: &str, connection: &mut Connection, fence: Option<&Claim>| {
            let values = [ValueRef::Blob(start), ValueRef::Blob(end)];
            let statements = (sql::DELETE_RANGE, sql::DELETE_RANGE_FENCED);
            in_one_statement(id, connection, fence, statements, &values, false)
        };
        if self.writes_in_one_statement()
            && let Some(removed) = self.write_as(delete)?
        {
            return Ok(removed);
        }
        self.write(|connection| {
            Ok(connection
                .db
                .run(sql::DELETE_RANGE, params![start, end])?
                .changes)
        })
    }

    /// Applies `writes` in one transaction, each inside a savepoint of its own: a write
    /// that breaks its own checks (a limit, the quota, a bad key) fails alone and the
    /// others are committed together. When the transaction itself fails (its `BEGIN`, a
    /// fence, its `COMMIT`), every write gets that failure: not applied, or of unknown
    /// outcome. One result per write, in order, each the entries it removed (0 for a put).
    pub(crate) fn write_group(&mut self, writes: &[KvWrite]) -> Vec<Result<u64>> {
        let mut results: Vec<Option<Result<u64>>> = writes
            .iter()
            .map(|write| match write.check() {
                Err(error) => Some(Err(error)),
                Ok(true) => Some(Ok(0)),
                Ok(false) => None,
            })
            .collect();
        let pending: Vec<usize> = (0..writes.len())
            .filter(|&i| results[i].is_none())
            .collect();
        if pending.is_empty() {
            return results.into_iter().flatten().collect();
        }
        let max_storage = self.max_storage;
        let alone = pending.len() == 1;
        let applied = self.write(|connection| {
            let mut applied = Vec::with_capacity(pending.len());
            for &index in &pending {
                applied.push(apply_in_savepoint(
                    connection,
                    &writes[index],
                    max_storage,
                    alone,
                )?);
            }
            Ok(applied)
        });
        match applied {
            Ok(applied) => {
                for (&index, outcome) in pending.iter().zip(applied) {
                    results[index] = Some(outcome);
                }
            }
            Err(error) => {
                for &index in &pending {
                    results[index] = Some(Err(error.duplicate()));
                }
            }
        }
        results.into_iter().flatten().collect()
    }

    /// The actor's id.
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// The storage limit.
    pub(super) fn max_storage(&self) -> u64 {
        self.max_storage
    }

    /// The open connection, reopening a parked one (for reads).
    pub(super) fn open_connection(&mut self) -> Result<&mut Connection> {
        self.connection()
    }

    /// Runs `work` in one write transaction, following the rules in the module docs.
    pub(super) fn write<R>(
        &mut self,
        work: impl FnOnce(&mut Connection) -> Result<R>,
    ) -> Result<R> {
        self.write_as(|id, connection, fence| {
            run_transaction(id, connection, |connection| {
                if let Some(claim) = fence {
                    fence::check(&mut *connection.db, id, claim)?;
                }
                work(connection)
            })
        })
    }

    /// Runs `run`, a write (in a transaction, or one autocommit statement), on the
    /// writable connection with the actor's fence, and deals with its outcome as the
    /// module docs say.
    fn write_as<R>(
        &mut self,
        run: impl FnOnce(&str, &mut Connection, Option<&Claim>) -> std::result::Result<R, Written>,
    ) -> Result<R> {
        // A write the caller does not apply to the copy makes it stale.
        if let Some(cell) = &self.copy {
            cell.clear();
        }
        let verified = {
            let connection = self.writable_connection()?;
            connection.files.as_mut().map_or(Ok(()), OpenFiles::verify)
        };
        if let Err(error) = verified {
            // Its file is gone or is another file: closed, and reopened (or refused as
            // missing) at the next use.
            self.park_after_error();
            return Err(error);
        }
        let (id, fence) = (&self.id, self.fence.as_ref());
        let outcome = match self.connection.as_mut() {
            Some(connection) => run(id, connection, fence),
            None => return Err(Error::ActorStopping(self.id.clone())),
        };
        match outcome {
            Ok(value) => Ok(value),
            Err(Written::No(error)) => {
                if matches!(error, Error::ReadOnly { .. })
                    && let Some(connection) = self.connection.as_mut()
                {
                    connection.writable = false;
                }
                Err(error)
            }
            Err(Written::Unknown(error)) => {
                tracing::warn!(actor = %self.id, %error, "write outcome unknown; the database will be reopened and checkpointed");
                let local = self.connection.as_ref().filter(|c| c.files.is_some());
                let path = local.map(|connection| connection.path.clone());
                self.park_after_error();
                if let Some(path) = path {
                    unresolved::mark(&path);
                    unresolved::drop_cached_pages(&path);
                }
                Err(error)
            }
        }
    }

    /// The connection, known writable: one that was read-only is reopened first, since
    /// the cause (a read-only file or file system) may have cleared.
    fn writable_connection(&mut self) -> Result<&mut Connection> {
        if self.connection.as_ref().is_some_and(|c| !c.writable) && !self.target.is_memory() {
            self.park_after_error();
        }
        let id = self.id.clone();
        let connection = self.connection()?;
        if !connection.writable {
            return Err(Error::ReadOnly {
                id,
                path: connection.path.clone(),
            });
        }
        Ok(connection)
    }

    /// Drops the connection after an error, without caring how the close goes.
    fn park_after_error(&mut self) {
        if let Some(mut connection) = self.connection.take()
            && let Err(error) = connection.db.close()
        {
            tracing::debug!(actor = %self.id, %error, "closing a connection after an error failed");
        }
    }
}

/// One write of a group ([`KvStore::write_group`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KvWrite {
    /// A batch put.
    Put(Vec<(Vec<u8>, Vec<u8>)>),
    /// A batch delete.
    Delete(Vec<Vec<u8>>),
    /// A range delete, `[start, end)`.
    DeleteRange(Vec<u8>, Vec<u8>),
}

impl KvWrite {
    /// The checks that need no database; `Ok(true)` when the write does nothing.
    pub(super) fn check(&self) -> Result<bool> {
        match self {
            KvWrite::Put(entries) => {
                limits::check_put_batch(entries)?;
                Ok(entries.is_empty())
            }
            KvWrite::Delete(keys) => {
                limits::check_keys(keys)?;
                Ok(keys.is_empty())
            }
            KvWrite::DeleteRange(start, end) => {
                limits::check_key(KeyRole::Start, start)?;
                limits::check_key(KeyRole::End, end)?;
                Ok(start >= end)
            }
        }
    }

    /// Applies the write inside the caller's transaction; the entries it removed.
    pub(super) fn apply(&self, connection: &mut Connection, max_storage: u64) -> Result<u64> {
        match self {
            KvWrite::Put(entries) => {
                let used = connection.used()?;
                limits::check_put(entries, used, max_storage)?;
                put_entries(&mut *connection.db, entries, connection.writes)?;
                Ok(0)
            }
            KvWrite::Delete(keys) => delete_keys(&mut *connection.db, keys, connection.writes),
            KvWrite::DeleteRange(start, end) => Ok(connection
                .db
                .run(sql::DELETE_RANGE, params![start, end])?
                .changes),
        }
    }
}

/// Names the savepoint around each write of a group.
const SAVEPOINT_SQL: &str = "SAVEPOINT kv_write";
const RELEASE_SQL: &str = "RELEASE kv_write";
const ROLLBACK_TO_SQL: &str = "ROLLBACK TO kv_write";

/// Applies one write of a group inside its own savepoint (unless it is `alone`, when the
/// transaction is its savepoint): its failure undoes it alone. `Err` only when the
/// savepoint itself fails (the transaction is then unusable).
fn apply_in_savepoint(
    connection: &mut Connection,
    write: &KvWrite,
    max_storage: u64,
    alone: bool,
) -> Result<Result<u64>> {
    if alone {
        return write.apply(connection, max_storage).map(Ok);
    }
    connection.db.run(SAVEPOINT_SQL, Params::NONE)?;
    let outcome = write.apply(connection, max_storage);
    if outcome.is_err() {
        connection.db.run(ROLLBACK_TO_SQL, Params::NONE)?;
    }
    connection.db.run(RELEASE_SQL, Params::NONE)?;
    Ok(outcome)
}

/// Whether a failed write was applied.
enum Written {
    /// It was not: nothing changed.
    No(Error),
    /// It may or may not have reached the disk.
    Unknown(Error),
}

/// `BEGIN IMMEDIATE`, `work`, `COMMIT`; anything but a successful commit rolls back.
fn run_transaction<R>(
    id: &str,
    connection: &mut Connection,
    work: impl FnOnce(&mut Connection) -> Result<R>,
) -> std::result::Result<R, Written> {
    let not_applied = |connection: &Connection, error: Error| not_applied(id, connection, error);
    if let Err(error) = connection.db.run(sql::BEGIN, Params::NONE) {
        return Err(not_applied(connection, error.into()));
    }
    let value = match work(connection) {
        Ok(value) => value,
        Err(error) => {
            rollback(connection);
            return Err(not_applied(connection, error));
        }
    };
    match connection.db.run(sql::COMMIT, Params::NONE) {
        Ok(_) => Ok(value),
        Err(error) => {
            rollback(connection);
            let unknown = commit_outcome_unknown(&error);
            if unknown {
                Err(Written::Unknown(Error::WriteOutcomeUnknown {
                    id: id.to_owned(),
                    source: Box::new(explain_sqlite(connection, error)),
                }))
            } else {
                Err(not_applied(connection, error.into()))
            }
        }
    }
}

/// A put as one autocommit statement that checks the quota and the fence itself
/// ([`sql::PUT_PACKED`]): one request to a remote engine instead of five. `Ok(None)`
/// when it does not apply (a size not kept by triggers; actor SQL to count) or a check
/// failed and nothing was written: the caller then writes in a transaction, which says
/// which check failed.
fn put_in_one_statement<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    id: &str,
    connection: &mut Connection,
    fence: Option<&Claim>,
    entries: &[(K, V)],
    max_storage: u64,
) -> std::result::Result<Option<()>, Written> {
    if !connection.size_kept {
        return Ok(None);
    }
    match connection.sql_pages.bytes(&mut *connection.db) {
        Ok(0) => {}
        Ok(_) => return Ok(None),
        Err(error) => return Err(not_applied(id, connection, error)),
    }
    // Every check but the quota's, which the statement makes. A put that breaks one is
    // left to the transaction, which reports the first broken limit in rivetkit's order
    // (the quota comes before the keys there).
    let Ok(payload) = limits::check_put(entries, 0, u64::MAX) else {
        return Ok(None);
    };
    let (blob, layout) = sql::pack_entries(entries);
    let (payload, max) = (
        i64::try_from(payload).unwrap_or(i64::MAX),
        i64::try_from(max_storage).unwrap_or(i64::MAX),
    );
    let values = [
        ValueRef::Blob(&blob),
        ValueRef::Text(&layout),
        ValueRef::Integer(payload),
        ValueRef::Integer(max),
    ];
    let statements = (sql::PUT_PACKED, sql::PUT_PACKED_FENCED);
    let written = in_one_statement(id, connection, fence, statements, &values, true)?;
    Ok(written.map(drop))
}

/// Runs one write as an autocommit statement on an engine without local files (one
/// request): `plain` with `values`, or under a fence `fenced` with the claim's owner and
/// epoch after them (only where [`KvStore::writes_in_one_statement`]). Its changes, or
/// `Ok(None)` when it was not applied: it failed before its commit, or it changed
/// nothing when it checks something (a fence, or `checked`: it writes
/// nothing when a check it makes fails). The caller then writes again in a
/// transaction, which reports exactly what it always did (which check failed, a
/// destroyed actor's fence, a read-only database), or finds there was nothing to write.
/// A failure that may have been applied (as a failed `COMMIT` may) is an unknown
/// outcome, never retried.
fn in_one_statement(
    id: &str,
    connection: &mut Connection,
    fence: Option<&Claim>,
    (plain, fenced): (&str, &str),
    values: &[ValueRef<'_>],
    checked: bool,
) -> std::result::Result<Option<u64>, Written> {
    let mut values = values.to_vec();
    let (sql, checked) = match fence {
        Some(claim) => {
            values.extend([ValueRef::Text(&claim.owner), ValueRef::Integer(claim.epoch)]);
            (fenced, true)
        }
        None => (plain, checked),
    };
    match connection.db.run(sql, Params::Positional(&values)) {
        Ok(ran) if ran.changes == 0 && checked => Ok(None),
        Ok(ran) => Ok(Some(ran.changes)),
        Err(error) if commit_outcome_unknown(&error) => {
            Err(Written::Unknown(Error::WriteOutcomeUnknown {
                id: id.to_owned(),
                source: Box::new(explain_sqlite(connection, error)),
            }))
        }
        Err(error) => {
            tracing::debug!(actor = %id, %error, "a one-statement write was not applied; writing in a transaction");
            Ok(None)
        }
    }
}

/// A write that failed before it was applied, as the caller is told.
fn not_applied(id: &str, connection: &Connection, error: Error) -> Written {
    Written::No(explain(connection, read_only_error(id, connection, error)))
}

/// Whether a failed `COMMIT` may have been applied. Only the failures known to leave
/// nothing written count as "not applied": a lock, a constraint (deferred), a
/// read-only or full disk, a refused or unreachable engine; anything else (an I/O error,
/// a lost connection, an unknown kind) is unknown.
fn commit_outcome_unknown(error: &sqlite_runtime::Error) -> bool {
    match error.kind() {
        ErrorKind::Busy
        | ErrorKind::Constraint(_)
        | ErrorKind::Sql
        | ErrorKind::ReadOnly
        | ErrorKind::Unavailable
        | ErrorKind::Misuse
        | ErrorKind::Closed
        | ErrorKind::TypeMismatch
        | ErrorKind::CannotOpen
        | ErrorKind::Unsupported => false,
        ErrorKind::Io => error
            .extended_code()
            .is_none_or(|code| code & 0xff != SQLITE_FULL),
        _ => true,
    }
}

/// Ends a transaction still open after a failure (a failed `COMMIT` may leave it open).
fn rollback(connection: &mut Connection) {
    if connection.db.in_transaction().unwrap_or(false) {
        let _ = connection.db.run(sql::ROLLBACK, Params::NONE);
    }
}

/// A database error saying the file cannot be written, as [`Error::ReadOnly`].
fn read_only_error(id: &str, connection: &Connection, error: Error) -> Error {
    match &error {
        Error::Sqlite(sqlite) if sqlite.kind() == ErrorKind::ReadOnly => Error::ReadOnly {
            id: id.to_owned(),
            path: connection.path.clone(),
        },
        _ => error,
    }
}

/// A database error of the connection's file, with the OS error behind it.
fn explain(connection: &Connection, error: Error) -> Error {
    match error {
        Error::Sqlite(sqlite) => Error::Sqlite(explain_sqlite(connection, sqlite)),
        other => other,
    }
}

/// A database error of the connection, with the OS error behind it when its database
/// is a local file.
fn explain_sqlite(connection: &Connection, error: sqlite_runtime::Error) -> sqlite_runtime::Error {
    match &connection.files {
        Some(files) => diagnose(error, files.database(), false),
        None => error,
    }
}

/// The database's file, when the runtime keeps its databases in local files.
fn local_path<'a>(runtime: &dyn SqliteRuntime, target: &'a Target) -> Option<&'a Path> {
    target
        .path()
        .filter(|_| runtime.capabilities().has(Capability::LocalFiles))
}

/// An open that failed because the file does not exist is [`Error::DatabaseMissing`].
fn missing_database(id: &str, path: Option<&Path>, error: Error) -> Error {
    match (path, &error) {
        (Some(path), Error::Sqlite(sqlite)) if sqlite.kind() == ErrorKind::CannotOpen => {
            if matches!(path.try_exists(), Ok(false)) {
                Error::DatabaseMissing {
                    id: id.to_owned(),
                    path: path.to_path_buf(),
                }
            } else {
                error
            }
        }
        _ => error,
    }
}

impl Connection {
    /// Opens `target` (creating it when `create`), makes sure it has the table and the
    /// kept size when it can be written, and records its files.
    fn open(runtime: &dyn SqliteRuntime, target: &Target, create: bool) -> Result<Self> {
        let opened = Self::open_unexplained(runtime, target, create);
        match (opened, local_path(runtime, target)) {
            (Err(Error::Sqlite(error)), Some(path)) => Err(diagnose(error, path, create).into()),
            (opened, _) => opened,
        }
    }

    fn open_unexplained(
        runtime: &dyn SqliteRuntime,
        target: &Target,
        create: bool,
    ) -> Result<Self> {
        let path = local_path(runtime, target);
        let writable = path.is_none_or(can_write);
        let options = match path {
            Some(path) if !writable && path.exists() => read_only_options(path),
            _ => OpenOptions::new().create(create),
        };
        let mut db = runtime.open(target, &options)?;
        if writable {
            db.exec(sql::CREATE_TABLE)?;
        }
        let size_kept = match size::read(&mut *db)? {
            Some(_) => true,
            None if writable => {
                size::install(&mut *db)?;
                true
            }
            None => false,
        };
        let files = path.map(OpenFiles::record).transpose()?;
        Ok(Connection {
            db,
            path: target.path().unwrap_or(Path::new(":memory:")).to_path_buf(),
            files,
            writable,
            size_kept,
            sql_pages: super::sql_size::SqlPages::default(),
            writes: Writes::for_runtime(runtime),
        })
    }

    /// The storage the actor uses: its KV entries (`key + value`, rivetkit's measure)
    /// and what its own SQL takes.
    pub(super) fn used(&mut self) -> Result<u64> {
        let kv = self.kv_used()?;
        let sql = self.sql_pages.bytes(&mut *self.db)?;
        Ok(kv.saturating_add(sql))
    }

    /// The KV entries' size alone.
    fn kv_used(&mut self) -> Result<u64> {
        if self.size_kept {
            Ok(size::read(&mut *self.db)?.unwrap_or(0))
        } else {
            size::scan(&mut *self.db)
        }
    }

    /// The connection, once its database holds no write of unknown outcome: a marked
    /// database is checkpointed first (see [`crate::unresolved`]); until that succeeds
    /// it is refused.
    fn resolved(mut self) -> Result<Self> {
        if self.files.is_none() || !unresolved::is_marked(&self.path) {
            return Ok(self);
        }
        if !self.writable {
            return Err(unresolved::refused(
                &self.path,
                "the database cannot be written (a read-only file or file system)",
            ));
        }
        match self.checkpoint() {
            Ok(()) => {
                unresolved::clear(&self.path);
                Ok(self)
            }
            Err(error) => {
                if let Err(error) = self.db.close() {
                    tracing::debug!(path = %self.path.display(), %error, "closing after a failed checkpoint failed");
                }
                unresolved::drop_cached_pages(&self.path);
                Err(unresolved::refused(&self.path, error))
            }
        }
    }

    /// Copies every frame of the `-wal` into the database and syncs it.
    fn checkpoint(&mut self) -> Result<()> {
        let row = self.db.get(CHECKPOINT_SQL, Params::NONE)?;
        let busy = row.map(|row| row.get::<i64>(0)).transpose()?.unwrap_or(0);
        if busy != 0 {
            return Err(sqlite_runtime::Error::new(
                ErrorKind::Busy,
                "the checkpoint after a write of unknown outcome could not finish (readers are active)",
            )
            .into());
        }
        Ok(())
    }
}

/// How to open a database this process cannot write, so that SQLite need not create
/// anything either (on a read-only file system it could not): the file alone when it
/// has no `-wal` (nobody can be writing it), the `-wal` through a read-only `-shm` when
/// both exist.
fn read_only_options(path: &Path) -> OpenOptions {
    let wal = crate::layout::with_suffix(path.to_path_buf(), "-wal");
    let shm = crate::layout::with_suffix(path.to_path_buf(), "-shm");
    match (wal.exists(), shm.exists()) {
        (false, _) => OpenOptions::new().immutable(true),
        (true, true) => OpenOptions::new().read_only(true).read_only_shm(true),
        (true, false) => OpenOptions::new().read_only(true),
    }
}

/// Whether this process can open the file for writing, as SQLite will try to: when it
/// cannot, SQLite opens it read-only without saying so. A file that does not exist yet
/// counts as writable: SQLite creates it (or fails to).
fn can_write(path: &Path) -> bool {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => true,
        Err(error) => error.kind() == std::io::ErrorKind::NotFound,
    }
}

/// At most the options' limit of `entries` within `bounds`, in the options' order.
fn listed(
    entries: &Entries,
    bounds: (Bound<&[u8]>, Bound<&[u8]>),
    options: ListOptions,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let limit = options.effective_limit();
    let range = entries.range::<[u8], _>(bounds);
    let pick = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
    if options.reverse {
        range.rev().take(limit).map(pick).collect()
    } else {
        range.take(limit).map(pick).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::lease_clock::LeaseClock;
    use crate::kv::read_cache::ReadCache;
    use sqlite_runtime_backends::RusqliteRuntime;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn all(store: &mut KvStore) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut listed = Vec::new();
        store
            .scan_range(
                b"\x00",
                b"\xff",
                ListOptions::new().limit(1_000),
                &mut |k, v| {
                    listed.push((k.to_vec(), v.to_vec()));
                },
            )
            .unwrap();
        listed
    }

    /// A model of reads by the lease holder with leases lapsing at random: the holder
    /// (`ours`, reading through its copy) reads and writes while its lease is certain;
    /// while it is not (as if paused), only another writer changes the database (a
    /// takeover); renewals come back at random, and sometimes the holder wakes the actor
    /// again (a new copy in the clock's current generation). Every read of the holder
    /// agrees with the database.
    #[test]
    fn reads_through_the_copy_agree_with_the_database_as_leases_lapse() {
        let dir = tempfile::tempdir().unwrap();
        let runtime: Arc<dyn SqliteRuntime> = Arc::new(RusqliteRuntime::new());
        let target = Target::file(dir.path().join("a.db"));
        let mut ours = KvStore::create(runtime.clone(), "a", target.clone(), u64::MAX).unwrap();
        let mut theirs = KvStore::open(runtime, "a", target, u64::MAX).unwrap();
        let cache = ReadCache::new(1 << 20);
        let clock = LeaseClock::new();
        clock.renewed_until_in(std::time::Duration::from_secs(3600));
        ours.serve_reads_from(cache.cell(clock.clone(), clock.certain().unwrap()));
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let key = |rng: &mut Rng| vec![b'k', rng.below(8) as u8];
        let (mut served_from_copy, mut lapses) = (0, 0);
        for step in 0..3_000 {
            let certain = clock.certain().is_some();
            match rng.below(20) {
                0 => {
                    clock.expire();
                    lapses += 1;
                }
                1 => clock.renewed_until_in(std::time::Duration::from_secs(3600)),
                2 => {
                    // A wake: a new lease, in the clock's current generation.
                    if let Some(generation) = clock.certain() {
                        ours.serve_reads_from(cache.cell(clock.clone(), generation));
                    }
                }
                3..=6 => {
                    let writer = if certain { &mut ours } else { &mut theirs };
                    let value = format!("{step}").into_bytes();
                    match rng.below(3) {
                        0 => writer.put(&[(key(&mut rng), value)]).unwrap(),
                        1 => {
                            writer.delete(&[key(&mut rng)]).unwrap();
                        }
                        _ => {
                            let mut bounds = [key(&mut rng), key(&mut rng)];
                            bounds.sort();
                            writer.delete_range(&bounds[0], &bounds[1]).unwrap();
                        }
                    }
                }
                _ if !certain => {}
                _ => {
                    let k = key(&mut rng);
                    let before = cache.usage().0;
                    let read = ours.get_one_unchecked(&k).unwrap();
                    served_from_copy += u32::from(before > 0 && cache.usage().0 > 0);
                    assert_eq!(read, theirs.get_one_unchecked(&k).unwrap(), "step {step}");
                    assert_eq!(all(&mut ours), all(&mut theirs), "step {step}");
                }
            }
        }
        assert!(
            served_from_copy > 100 && lapses > 50,
            "{served_from_copy} {lapses}"
        );
    }
}
