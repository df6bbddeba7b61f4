//! Where an actor's files live under a storage root.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The storage root's layout:
///
/// ```text
/// <root>/state/<actorId>          actor metadata
/// <root>/databases/<actorId>.db   the actor's KV store (plus -wal, -shm)
/// <root>/alarms/<actorId>         the actor's persisted alarm
/// ```
///
/// Paths are built from ids as given: validate ids first
/// ([`check_actor_id`](crate::check_actor_id)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/state`.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    /// `<root>/databases`.
    pub fn databases_dir(&self) -> PathBuf {
        self.root.join("databases")
    }

    /// `<root>/alarms`.
    pub fn alarms_dir(&self) -> PathBuf {
        self.root.join("alarms")
    }

    /// `<root>/locks`: the lock files that guard actor lifecycles across processes.
    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// `<root>/state/<id>`.
    pub fn state_path(&self, id: &str) -> PathBuf {
        self.state_dir().join(id)
    }

    /// `<root>/alarms/<id>`.
    pub fn alarm_path(&self, id: &str) -> PathBuf {
        self.alarms_dir().join(id)
    }

    /// `<root>/databases/<id>.db`.
    pub fn database_path(&self, id: &str) -> PathBuf {
        self.databases_dir().join(format!("{id}.db"))
    }

    /// `<root>/databases/<id>.db-wal`.
    pub fn wal_path(&self, id: &str) -> PathBuf {
        with_suffix(self.database_path(id), "-wal")
    }

    /// `<root>/databases/<id>.db-shm`.
    pub fn shm_path(&self, id: &str) -> PathBuf {
        with_suffix(self.database_path(id), "-shm")
    }

    /// The database and its `-wal` and `-shm` companions.
    pub fn database_files(&self, id: &str) -> [PathBuf; 3] {
        [self.database_path(id), self.wal_path(id), self.shm_path(id)]
    }
}

/// `path` with `suffix` appended to its last component.
pub(crate) fn with_suffix(path: PathBuf, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path);
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_spec() {
        let layout = Layout::new("/r");
        assert_eq!(layout.state_path("a1"), Path::new("/r/state/a1"));
        assert_eq!(layout.alarm_path("a1"), Path::new("/r/alarms/a1"));
        assert_eq!(layout.database_path("a1"), Path::new("/r/databases/a1.db"));
        assert_eq!(layout.wal_path("a1"), Path::new("/r/databases/a1.db-wal"));
        assert_eq!(layout.shm_path("a1"), Path::new("/r/databases/a1.db-shm"));
    }
}
