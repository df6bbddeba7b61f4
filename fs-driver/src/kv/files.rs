//! Which files an open store is writing to, so that a write into a database whose file
//! was removed or replaced underneath is refused instead of acknowledged into an unlinked
//! inode (and lost when the connection closes). SQLite notices this for rollback
//! journals (`SQLITE_READONLY_DBMOVED`) but not in WAL mode, so the store compares the
//! device and inode of the database, its `-wal` and its `-shm` with what it opened.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout::with_suffix;

/// The identity of one file: device and inode.
type Inode = (u64, u64);

/// The database, `-wal` and `-shm` an open connection uses, and their identities.
#[derive(Debug)]
pub(crate) struct OpenFiles {
    paths: [PathBuf; 3],
    inodes: [Option<Inode>; 3],
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
        Ok(OpenFiles { paths, inodes })
    }

    /// The database file.
    pub(crate) fn database(&self) -> &Path {
        &self.paths[0]
    }

    /// Fails naming the first file that is gone or is another file now. A companion
    /// that did not exist at open and exists now is fine (SQLite made it).
    pub(crate) fn verify(&self) -> Result<()> {
        for (path, recorded) in self.paths.iter().zip(&self.inodes) {
            let Some(recorded) = recorded else { continue };
            if inode_of(path)?.as_ref() != Some(recorded) {
                return Err(Error::DatabaseReplaced { path: path.clone() });
            }
        }
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
