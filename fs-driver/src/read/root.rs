//! Read-only inspection of a storage root, without running any actor (for CLIs).

use std::path::Path;

use sqlite_runtime::{Capability, ErrorKind, Params, SqliteRuntime};

use crate::actor::ActorInfo;
use crate::actor_id::check_actor_id;
use crate::alarm::decode_alarm;
use crate::error::{Error, FileFailure, Result};
use crate::fsutil;
use crate::layout::Layout;
use crate::read::snapshot::read_database;
use crate::state::{ActorState, decode_state};
use crate::storage::database;

const COUNT_SQL: &str = "SELECT count(*) FROM kv";

/// One actor as found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorSummary {
    /// Metadata from the state file.
    pub info: ActorInfo,
    /// The state file's version (1 to 3).
    pub state_version: u16,
    /// KV entries still kept in the state file (legacy data).
    pub legacy_entries: usize,
    /// Rows in the actor's database; `None` when it has no database file.
    pub entries: Option<u64>,
    /// Size of `databases/<id>.db` in bytes (0 when missing, and on an engine without
    /// local files).
    pub db_size_bytes: u64,
    /// Size of its `-wal` file in bytes (0 when missing, and on an engine without local
    /// files).
    pub wal_size_bytes: u64,
    /// The persisted alarm, if any (milliseconds since the Unix epoch).
    pub alarm: Option<u64>,
    /// When the actor last woke (`startTs`), if it ever did.
    pub started_at: Option<u64>,
    /// When the actor last went to sleep (`sleepTs`); `None` while it is awake or was
    /// never asleep.
    pub slept_at: Option<u64>,
}

/// What [`inspect_root`] found.
#[derive(Debug, Default)]
pub struct InspectReport {
    /// The actors, sorted by id.
    pub actors: Vec<ActorSummary>,
    /// Files that could not be read or decoded.
    pub failures: Vec<FileFailure>,
}

/// Lists the actors of the storage root at `root` with their metadata, entry counts and
/// database sizes. Changes nothing on disk, also while another process has databases
/// open: no file is created, removed or checkpointed. Fails only when `state/` exists but
/// cannot be listed. On an engine without local files the actors are those of the root's
/// index database (see [Actors on a shared engine](crate#actors-on-a-shared-engine)).
pub fn inspect_root(runtime: &dyn SqliteRuntime, root: &Path) -> Result<InspectReport> {
    if !runtime.capabilities().has(Capability::LocalFiles) {
        return inspect_index(runtime, root);
    }
    let layout = Layout::new(root);
    let mut report = InspectReport::default();
    for id in state_ids(&layout, &mut report.failures)? {
        let path = layout.state_path(&id);
        let decoded = std::fs::read(&path)
            .map_err(|error| Error::io(&path, error))
            .and_then(|bytes| {
                decode_state(&bytes).map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })
            });
        let (state_version, state) = match decoded {
            Ok((_, state)) if state.actor_id != id => {
                let error = Error::StateIdMismatch {
                    path: path.clone(),
                    actor_id: state.actor_id,
                };
                report.failures.push(FileFailure { path, error });
                continue;
            }
            Ok(decoded) => decoded,
            Err(error) => {
                report.failures.push(FileFailure { path, error });
                continue;
            }
        };
        let db_path = layout.database_path(&id);
        let entries = entries_or_failure(runtime, &db_path, &mut report.failures);
        let alarm = fsutil::read_optional(&layout.alarm_path(&id))
            .ok()
            .flatten()
            .and_then(|bytes| decode_alarm(&bytes).ok())
            .map(|(_, alarm)| alarm.timestamp);
        report.actors.push(ActorSummary {
            db_size_bytes: fsutil::file_size(&db_path),
            wal_size_bytes: fsutil::file_size(&layout.wal_path(&id)),
            ..summary(id, state_version, state, entries, alarm)
        });
    }
    Ok(report)
}

/// [`inspect_root`] on an engine without local files: the records of the index database
/// (no sizes: there are no files).
fn inspect_index(runtime: &dyn SqliteRuntime, root: &Path) -> Result<InspectReport> {
    let mut report = InspectReport::default();
    let Some(mut index) = database::read_index(runtime, root)? else {
        return Ok(report);
    };
    for id in database::all_actor_ids(&mut *index)? {
        let record = database::read_state_record(&mut *index, root, &id);
        let (state_version, state) = match record {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(error) => {
                let path = database::record_path(root, &id);
                report.failures.push(FileFailure { path, error });
                continue;
            }
        };
        let db_path = Layout::new(root).database_path(&id);
        let entries = entries_or_failure(runtime, &db_path, &mut report.failures);
        let alarm = database::read_alarm(&mut *index, root, &id).ok().flatten();
        report
            .actors
            .push(summary(id, state_version, state, entries, alarm));
    }
    Ok(report)
}

/// The summary of an actor, without file sizes.
fn summary(
    id: String,
    state_version: u16,
    state: ActorState,
    entries: Option<u64>,
    alarm: Option<u64>,
) -> ActorSummary {
    ActorSummary {
        state_version,
        legacy_entries: state.kv_storage.len(),
        entries,
        db_size_bytes: 0,
        wal_size_bytes: 0,
        alarm,
        started_at: state.start_ts,
        slept_at: state.sleep_ts,
        info: ActorInfo {
            id,
            name: state.name,
            key: state.key,
            created_at: state.created_at,
        },
    }
}

/// The rows of the database at `path`; a failure to read them is recorded.
fn entries_or_failure(
    runtime: &dyn SqliteRuntime,
    path: &Path,
    failures: &mut Vec<FileFailure>,
) -> Option<u64> {
    match count_entries(runtime, path) {
        Ok(entries) => entries,
        Err(error) => {
            failures.push(FileFailure {
                path: path.to_path_buf(),
                error,
            });
            None
        }
    }
}

/// The ids of the state files, sorted; files whose names are no actor id are failures.
fn state_ids(layout: &Layout, failures: &mut Vec<FileFailure>) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for name in fsutil::actor_file_names(&layout.state_dir())? {
        let path = match name {
            Ok(id) if check_actor_id(&id).is_ok() => {
                ids.push(id);
                continue;
            }
            Ok(id) => layout.state_path(&id),
            Err(path) => path,
        };
        failures.push(FileFailure {
            error: Error::InvalidFileName { path: path.clone() },
            path,
        });
    }
    ids.sort();
    Ok(ids)
}

/// Rows in the database at `path`, read without changing anything; `None` when the file
/// does not exist, 0 when it has no `kv` table.
fn count_entries(runtime: &dyn SqliteRuntime, path: &Path) -> Result<Option<u64>> {
    read_database(runtime, path, |db| match db.get(COUNT_SQL, Params::NONE) {
        Ok(row) => {
            let count = row.map(|row| row.get::<i64>(0)).transpose()?;
            Ok(u64::try_from(count.unwrap_or(0)).unwrap_or(0))
        }
        Err(error) if error.kind() == ErrorKind::Sql => Ok(0),
        Err(error) => Err(error.into()),
    })
}
