//! Legacy migration: KV entries kept in old state files (`kvStorage`, or version 1's
//! `persistedData`) are copied into the actors' SQLite databases.
//!
//! Non-destructive (state files are only read), idempotent (a database holding any row
//! is left alone: SQLite data always wins), one transaction per actor, and a file that
//! cannot be decoded is reported while the others still migrate.

use std::path::Path;

use sqlite_runtime::{SqliteDatabase, SqliteRuntime, Target, params};

use crate::actor_id::check_actor_id;
use crate::error::{Error, FileFailure, Result};
use crate::fsutil;
use crate::kv::mark::{self, has_rows, is_marked};
use crate::kv::open_database;
use crate::layout::Layout;
use crate::read::snapshot::read_database;
use crate::sql;
use crate::state::{CURRENT_STATE_VERSION, KvEntry, decode_state};

/// How to run the migration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MigrationOptions {
    /// Report what would happen and write nothing, not even an empty database.
    pub dry_run: bool,
}

/// An actor whose legacy entries were (or, in a dry run, would be) copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigratedActor {
    /// The actor id (the state file's name).
    pub id: String,
    /// How many legacy entries were copied.
    pub entries: usize,
}

/// What a migration did.
#[derive(Debug, Default)]
pub struct MigrationReport {
    /// Whether this was a dry run (nothing written).
    pub dry_run: bool,
    /// State files looked at (temporary files excluded).
    pub scanned: usize,
    /// Actors whose legacy entries were copied, in id order.
    pub migrated: Vec<MigratedActor>,
    /// Actors with legacy entries whose database already held data, or had received
    /// them in an earlier migration (even if since deleted), left untouched.
    pub skipped_populated: Vec<String>,
    /// Actors whose state file holds no legacy entry.
    pub without_legacy_data: usize,
    /// Files that could not be decoded or migrated.
    pub failures: Vec<FileFailure>,
}

impl MigrationReport {
    /// The number of entries copied, over all actors.
    pub fn entries_migrated(&self) -> usize {
        self.migrated.iter().map(|actor| actor.entries).sum()
    }
}

enum Outcome {
    NothingToDo,
    Populated,
    Migrated(usize),
}

/// Migrates the storage root at `root`. Fails only when `state/` exists but cannot be
/// listed; problems with single actors are in the report.
pub fn migrate_legacy(
    runtime: &dyn SqliteRuntime,
    root: &Path,
    options: MigrationOptions,
) -> Result<MigrationReport> {
    let layout = Layout::new(root);
    let mut report = MigrationReport {
        dry_run: options.dry_run,
        ..MigrationReport::default()
    };
    let mut names = Vec::new();
    for name in fsutil::actor_file_names(&layout.state_dir())? {
        match name {
            Ok(name) => names.push(name),
            Err(path) => {
                report.scanned += 1;
                report.failures.push(FileFailure {
                    error: Error::InvalidFileName { path: path.clone() },
                    path,
                });
            }
        }
    }
    names.sort();
    for id in names {
        report.scanned += 1;
        let path = layout.state_path(&id);
        match migrate_actor(runtime, &layout, &id, &path, options.dry_run) {
            Ok(Outcome::NothingToDo) => report.without_legacy_data += 1,
            Ok(Outcome::Populated) => {
                tracing::info!(actor = %id, "legacy entries skipped: the database already holds data");
                report.skipped_populated.push(id);
            }
            Ok(Outcome::Migrated(entries)) => {
                tracing::info!(actor = %id, entries, dry_run = options.dry_run, "legacy entries migrated");
                report.migrated.push(MigratedActor { id, entries });
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "legacy state file skipped");
                report.failures.push(FileFailure { path, error });
            }
        }
    }
    Ok(report)
}

fn migrate_actor(
    runtime: &dyn SqliteRuntime,
    layout: &Layout,
    id: &str,
    path: &Path,
    dry_run: bool,
) -> Result<Outcome> {
    check_actor_id(id).map_err(|_| Error::InvalidFileName {
        path: path.to_path_buf(),
    })?;
    let bytes = std::fs::read(path).map_err(|error| Error::io(path, error))?;
    let (version, state) = decode_state(&bytes).map_err(|source| Error::Decode {
        path: path.to_path_buf(),
        source,
    })?;
    if state.actor_id != id {
        // As rivetkit's migration: the entries go to the actor the file name says. The
        // driver refuses to load such an actor (`Error::StateIdMismatch`).
        tracing::warn!(file = %id, actor_id = %state.actor_id, "state file name and actorId differ");
    }
    let db_path = layout.database_path(id);
    if state.kv_storage.is_empty() {
        // A state file older than SQLite (version 1 or 2) without entries is an empty
        // actor, and gets its empty database: waking an actor without one is an error.
        if version < CURRENT_STATE_VERSION && !dry_run && !db_path.exists() {
            fsutil::create_dir_all(&layout.databases_dir())?;
            open_database(runtime, &Target::file(&db_path))?.close()?;
        }
        return Ok(Outcome::NothingToDo);
    }
    if dry_run {
        return if database_has_rows(runtime, &db_path)? {
            Ok(Outcome::Populated)
        } else {
            Ok(Outcome::Migrated(state.kv_storage.len()))
        };
    }
    fsutil::create_dir_all(&layout.databases_dir())?;
    let mut db = open_database(runtime, &Target::file(&db_path))?;
    let outcome = copy_entries(&mut *db, &state.kv_storage);
    let closed = db.close();
    let outcome = outcome?;
    closed?;
    Ok(outcome)
}

/// Copies `entries` in one transaction, and marks the database migrated in the same
/// transaction, unless it already holds a row or carries the mark.
fn copy_entries(db: &mut dyn SqliteDatabase, entries: &[KvEntry]) -> Result<Outcome> {
    let mut tx = db.transaction()?;
    if is_marked(&mut *tx)? {
        return Ok(Outcome::Populated);
    }
    let populated = has_rows(&mut *tx)?;
    if !populated {
        for (key, value) in entries {
            tx.run(sql::PUT, params![key, value])?;
        }
    }
    mark::set(&mut *tx)?;
    tx.commit()?;
    Ok(if populated {
        Outcome::Populated
    } else {
        Outcome::Migrated(entries.len())
    })
}

/// Whether the database at `path` holds any row or the migrated mark, read without
/// changing anything (a missing file or table holds none). Used by the dry run.
fn database_has_rows(runtime: &dyn SqliteRuntime, path: &Path) -> Result<bool> {
    let found = read_database(runtime, path, |db| {
        Ok(is_marked(&mut *db)? || has_rows(db).unwrap_or(false))
    })?;
    Ok(found.unwrap_or(false))
}
