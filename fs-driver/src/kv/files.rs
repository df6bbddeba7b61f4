//! Which files an open store is writing to, so that a write into a database whose file
//! was removed or replaced underneath is refused instead of acknowledged into an unlinked
//! inode (and lost when the connection closes). SQLite notices this for rollback
//! journals (`SQLITE_READONLY_DBMOVED`) but not in WAL mode, so the store compares the
//! device and inode of the database, its `-wal` and its `-shm` with what it opened.
//!
//! Three `stat` calls per write cost about a tenth of a small write, so the check is
//! skipped while the directory holding the files is unchanged: removing, renaming or
//! creating any of them changes the directory's change time (`ctime`, which no
//! user can set). A directory change time is only trusted once it is older than any
//! timestamp granularity (file systems take times from a clock that ticks every few
//! milliseconds), so that a later change cannot carry the same time; and never on file
//! systems whose times have no sub-second part (every write then checks the files).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::layout::with_suffix;

/// The identity of one file: device and inode.
type Inode = (u64, u64);

/// How old a directory's change time must be before an unchanged one is trusted: far
/// above the kernel's coarse clock tick (1–10 ms).
const SETTLED: Duration = Duration::from_millis(100);

/// A directory's identity and change time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DirStamp {
    inode: Inode,
    changed: SystemTime,
}

/// The database, `-wal` and `-shm` an open connection uses, and their identities.
#[derive(Debug)]
pub(crate) struct OpenFiles {
    paths: [PathBuf; 3],
    inodes: [Option<Inode>; 3],
    /// The directory's stamp when a full check last passed, if it had settled then.
    settled: Option<DirStamp>,
}

impl OpenFiles {
    /// Records the files of the database at `path` as they are now.
    pub(crate) fn record(path: &Path) -> Result<Self> {
        let paths = [
            path.to_path_buf(),
            with_suffix(path.to_path_buf(), "-wal"),
            with_suffix(path.to_path_buf(), "-shm"),
        ];
        let mut inodes = [None; 3];
        for (inode, path) in inodes.iter_mut().zip(&paths) {
            *inode = inode_of(path)?;
        }
        Ok(OpenFiles {
            paths,
            inodes,
            settled: None,
        })
    }

    /// The database file.
    pub(crate) fn database(&self) -> &Path {
        &self.paths[0]
    }

    /// Fails naming the first file that is gone or is another file now. A companion
    /// that did not exist at open and exists now is fine (SQLite made it), and is
    /// checked from then on.
    pub(crate) fn verify(&mut self) -> Result<()> {
        let dir = self.paths[0].parent().unwrap_or(Path::new("."));
        let stamp = dir_stamp(dir)?;
        if stamp.is_some() && stamp == self.settled {
            return Ok(());
        }
        for (path, recorded) in self.paths.iter().zip(self.inodes.iter_mut()) {
            let current = inode_of(path)?;
            match recorded {
                Some(recorded) if current.as_ref() != Some(recorded) => {
                    return Err(Error::DatabaseReplaced { path: path.clone() });
                }
                Some(_) => {}
                None => *recorded = current,
            }
        }
        self.settled = stamp.filter(|stamp| {
            SystemTime::now()
                .duration_since(stamp.changed)
                .is_ok_and(|age| age >= SETTLED)
        });
        Ok(())
    }
}

#[cfg(unix)]
fn inode_of(path: &Path) -> Result<Option<Inode>> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some((meta.dev(), meta.ino()))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(path, error)),
    }
}

#[cfg(not(unix))]
fn inode_of(path: &Path) -> Result<Option<Inode>> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(Some((0, 0))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(path, error)),
    }
}

/// The directory's identity and change time; `None` where there is no change time
/// (then every write checks the files).
#[cfg(unix)]
fn dir_stamp(dir: &Path) -> Result<Option<DirStamp>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir).map_err(|error| Error::io(dir, error))?;
    let (Ok(secs), Ok(nanos)) = (
        u64::try_from(meta.ctime()),
        u32::try_from(meta.ctime_nsec()),
    ) else {
        return Ok(None);
    };
    if nanos == 0 {
        // Whole seconds: a file system whose times are too coarse to tell changes apart.
        return Ok(None);
    }
    Ok(SystemTime::UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos))
        .map(|changed| DirStamp {
            inode: (meta.dev(), meta.ino()),
            changed,
        }))
}

#[cfg(not(unix))]
fn dir_stamp(_dir: &Path) -> Result<Option<DirStamp>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(files: &mut OpenFiles, dir: &Path) {
        // `ctime` cannot be set, but it can be waited for.
        std::thread::sleep(SETTLED + Duration::from_millis(50));
        files.verify().unwrap();
        assert!(files.settled.is_some(), "{dir:?} settled");
    }

    #[test]
    fn a_settled_directory_skips_the_check_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        std::fs::write(&db, b"x").unwrap();
        let mut files = OpenFiles::record(&db).unwrap();
        files.verify().unwrap();
        assert!(files.settled.is_none(), "a fresh directory is not trusted");
        settle(&mut files, dir.path());

        // Replaced: the directory changed, so the full check runs and sees it.
        std::fs::write(dir.path().join("new"), b"y").unwrap();
        std::fs::rename(dir.path().join("new"), &db).unwrap();
        assert!(matches!(
            files.verify(),
            Err(Error::DatabaseReplaced { path }) if path == db
        ));
    }

    #[test]
    fn a_companion_made_after_open_is_checked_from_then_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        std::fs::write(&db, b"x").unwrap();
        let mut files = OpenFiles::record(&db).unwrap();
        let wal = dir.path().join("a.db-wal");
        std::fs::write(&wal, b"w").unwrap();
        files.verify().unwrap();
        std::fs::remove_file(&wal).unwrap();
        assert!(matches!(
            files.verify(),
            Err(Error::DatabaseReplaced { path }) if path == wal
        ));
    }
}
