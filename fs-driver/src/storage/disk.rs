//! A storage root on disk, in rivetkit's layout: `state/<id>`, `databases/<id>.db`,
//! `alarms/<id>`, and the lifecycle locks under `locks/`.

use std::collections::HashMap;

use sqlite_runtime::Target;

use super::locks::ActorLocks;
use super::{AlarmTable, LifecycleLocks, Storage};
use crate::actor_id::check_actor_id;
use crate::alarm::{ActorAlarm, decode_alarm, encode_alarm};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::layout::Layout;
use crate::state::{ActorState, decode_state, encode_state};

/// A storage root on disk.
pub(crate) struct DiskStorage {
    layout: Layout,
    locks: Option<ActorLocks>,
    /// The alarm files' contents, read at open and kept in step.
    alarms: AlarmTable,
}

impl DiskStorage {
    /// The root at `layout`, its directories created and its stale temporary files
    /// removed.
    pub(crate) fn open(layout: Layout, stale_temp_age: std::time::Duration) -> Result<Self> {
        for dir in [
            layout.state_dir(),
            layout.databases_dir(),
            layout.alarms_dir(),
        ] {
            fsutil::create_dir_all(&dir)?;
        }
        for dir in [
            layout.root().to_path_buf(),
            layout.state_dir(),
            layout.databases_dir(),
            layout.alarms_dir(),
        ] {
            fsutil::remove_stale_temps(&dir, stale_temp_age);
        }
        let locks = ActorLocks::open(&layout.locks_dir());
        let alarms = AlarmTable::new(load_alarms(&layout)?);
        Ok(DiskStorage {
            layout,
            locks,
            alarms,
        })
    }
}

impl Storage for DiskStorage {
    fn layout(&self) -> Option<&Layout> {
        Some(&self.layout)
    }

    fn persistent(&self) -> bool {
        true
    }

    fn database(&self, id: &str) -> Target {
        Target::file(self.layout.database_path(id))
    }

    fn read_state(&self, id: &str) -> Result<Option<ActorState>> {
        read_state(&self.layout, id)
    }

    fn write_state(&self, id: &str, state: &ActorState) -> Result<()> {
        fsutil::write_atomic(&self.layout.state_path(id), &encode_state(state))
    }

    /// The database's `-wal` first (a stale one could be replayed into a new database
    /// of the same id), its `-shm`, the database, the alarm, the state file last.
    fn remove_actor(&self, id: &str) -> Result<()> {
        // Past the tombstone the actor is gone: its alarm never comes due, whatever
        // removal fails below.
        self.alarms.clear(id);
        let [database, wal, shm] = self.layout.database_files(id);
        for path in [
            wal,
            shm,
            database,
            self.layout.alarm_path(id),
            self.layout.state_path(id),
        ] {
            fsutil::remove_if_exists(&path)?;
        }
        Ok(())
    }

    fn actor_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let mut ids: Vec<String> = fsutil::actor_file_names(&self.layout.state_dir())?
            .into_iter()
            .flatten()
            .filter(|id| check_actor_id(id).is_ok())
            .filter(|id| after.is_none_or(|after| id.as_str() > after))
            .collect();
        ids.sort();
        ids.truncate(limit);
        Ok(ids)
    }

    fn set_alarm(&self, id: &str, timestamp: u64) -> Result<()> {
        let alarm = ActorAlarm {
            actor_id: id.to_owned(),
            timestamp,
        };
        fsutil::write_atomic(&self.layout.alarm_path(id), &encode_alarm(&alarm))?;
        self.alarms.set(id, timestamp);
        Ok(())
    }

    fn clear_alarm(&self, id: &str) -> Result<()> {
        fsutil::remove_if_exists(&self.layout.alarm_path(id))?;
        self.alarms.clear(id);
        Ok(())
    }

    fn alarm(&self, id: &str) -> Result<Option<u64>> {
        Ok(self.alarms.get(id))
    }

    fn due_alarms(&self, now: u64) -> Result<Vec<(String, u64)>> {
        Ok(self.alarms.due(now))
    }

    fn locks(&self) -> Option<&dyn LifecycleLocks> {
        self.locks
            .as_ref()
            .map(|locks| locks as &dyn LifecycleLocks)
    }
}

/// Reads every alarm file of an actor that exists; bad files are logged and skipped.
fn load_alarms(layout: &Layout) -> Result<HashMap<String, u64>> {
    let mut alarms = HashMap::new();
    for name in fsutil::actor_file_names(&layout.alarms_dir())? {
        let Ok(id) = name else { continue };
        if check_actor_id(&id).is_err() {
            continue;
        }
        let path = layout.alarm_path(&id);
        if !layout.state_path(&id).exists() {
            tracing::warn!(path = %path.display(), "alarm of a missing actor ignored");
            continue;
        }
        let loaded = fsutil::read_optional(&path).and_then(|bytes| {
            bytes
                .map(|bytes| decode_alarm(&bytes))
                .transpose()
                .map_err(|source| Error::Decode {
                    path: path.clone(),
                    source,
                })
        });
        match loaded {
            Ok(Some((_, alarm))) => {
                alarms.insert(id, alarm.timestamp);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "alarm file skipped"),
        }
    }
    Ok(alarms)
}

/// Reads and decodes `state/<id>`; `None` when missing. A file whose `actorId` is not its
/// name (a state file copied under another name) is an error: it would make two actors
/// of one.
pub(crate) fn read_state(layout: &Layout, id: &str) -> Result<Option<ActorState>> {
    let path = layout.state_path(id);
    let Some(bytes) = fsutil::read_optional(&path)? else {
        return Ok(None);
    };
    let (_, state) = decode_state(&bytes).map_err(|source| Error::Decode {
        path: path.clone(),
        source,
    })?;
    if state.actor_id != id {
        return Err(Error::StateIdMismatch {
            path,
            actor_id: state.actor_id,
        });
    }
    Ok(Some(state))
}
