//! Alarms: one per actor, persisted in `alarms/<id>`, kept in memory for `due_alarms`.

use std::collections::HashMap;

use super::{FsDriver, check_id, lock};
use crate::actor_id::check_actor_id;
use crate::alarm::{ActorAlarm, decode_alarm, encode_alarm};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::layout::Layout;

impl FsDriver {
    /// Sets (or replaces) the actor's alarm, persisted in `alarms/<id>`.
    pub fn set_alarm(&self, id: &str, timestamp_ms: u64) -> Result<()> {
        self.with_actor(id, |_| {
            if let Some(layout) = &self.layout {
                let alarm = ActorAlarm {
                    actor_id: id.to_owned(),
                    timestamp: timestamp_ms,
                };
                fsutil::write_atomic(&layout.alarm_path(id), &encode_alarm(&alarm))?;
            }
            lock(&self.alarms).insert(id.to_owned(), timestamp_ms);
            Ok(())
        })
    }

    /// The actor's alarm, if one is set.
    pub fn get_alarm(&self, id: &str) -> Result<Option<u64>> {
        check_id(id)?;
        Ok(lock(&self.alarms).get(id).copied())
    }

    /// Clears the actor's alarm (no error when none is set).
    pub fn clear_alarm(&self, id: &str) -> Result<()> {
        self.with_actor(id, |_| {
            if let Some(layout) = &self.layout {
                fsutil::remove_if_exists(&layout.alarm_path(id))?;
            }
            lock(&self.alarms).remove(id);
            Ok(())
        })
    }

    /// Alarms due at `now_ms` (timestamp `<= now_ms`), as `(actor id, timestamp)`,
    /// earliest first (ties by id).
    pub fn due_alarms(&self, now_ms: u64) -> Vec<(String, u64)> {
        let mut due: Vec<(String, u64)> = lock(&self.alarms)
            .iter()
            .filter(|(_, timestamp)| **timestamp <= now_ms)
            .map(|(id, timestamp)| (id.clone(), *timestamp))
            .collect();
        due.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        due
    }
}

/// Reads every alarm file of an actor that exists; bad files are logged and skipped.
pub(super) fn load_alarms(layout: &Layout) -> Result<HashMap<String, u64>> {
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
