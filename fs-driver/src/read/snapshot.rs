//! Reading an actor database without changing a byte on disk: no checkpoint, no `-wal`
//! or `-shm` created or removed, even while another process has the database open.
//!
//! SQLite has no single open mode for that, so the database's state picks one:
//! - no `-wal`: the file is all there is, and it is read as `immutable` (no locks, no side
//!   files). A writer may open it meanwhile, so the file's identity, size and modification
//!   time are compared after the read, and a `-wal` that appeared sends the read to:
//! - `-wal` and `-shm`: a read-only connection with a read-only `-shm` (`readonly_shm`),
//!   which sees what the other process committed and writes nothing to the index;
//! - anything else (a `-wal` without `-shm`, a rollback journal left by a crash): the files
//!   are copied into a private temporary directory and the copy is read.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sqlite_runtime::{Capability, ErrorKind, OpenOptions, SqliteDatabase, SqliteRuntime, Target};

use crate::error::{Error, Result};
use crate::layout::with_suffix;

/// How often a read from an immutable snapshot is retried when the file changed under it
/// before falling back to a private copy.
const SNAPSHOT_ATTEMPTS: usize = 3;

/// What identifies one version of a file: a writer that changed it changed one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    inode: (u64, u64),
    len: u64,
    modified: Option<SystemTime>,
}

impl Version {
    fn of(path: &Path) -> Result<Option<Self>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Version {
                inode: inode(&meta),
                len: meta.len(),
                modified: meta.modified().ok(),
            })),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Error::io(path, error)),
        }
    }
}

#[cfg(unix)]
fn inode(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn inode(_: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn exists(path: &Path) -> Result<bool> {
    path.try_exists().map_err(|error| Error::io(path, error))
}

/// Runs `read` on the database at `path` without writing anything under its directory;
/// `None` when there is no such file. `read` may run more than once (when a writer
/// changed the file during a read); only the last run's value is returned.
///
/// On a runtime without local files (a remote engine) `path` names a database there:
/// it is opened read-only, and `None` when the engine says there is none.
pub(crate) fn read_database<T>(
    runtime: &dyn SqliteRuntime,
    path: &Path,
    mut read: impl FnMut(&mut dyn SqliteDatabase) -> Result<T>,
) -> Result<Option<T>> {
    if !runtime.capabilities().has(Capability::LocalFiles) {
        let options = OpenOptions::new().read_only(true);
        return match read_with(runtime, path, &options, &mut read) {
            Err(Error::Sqlite(error)) if error.kind() == ErrorKind::CannotOpen => Ok(None),
            other => other.map(Some),
        };
    }
    if crate::unresolved::is_marked(path) {
        // Resolving it takes a write; a read-only reader refuses it instead.
        return Err(crate::unresolved::refused(
            path,
            "it is resolved by the next write or wake of its actor",
        ));
    }
    let wal = with_suffix(path.to_path_buf(), "-wal");
    let shm = with_suffix(path.to_path_buf(), "-shm");
    let journal = with_suffix(path.to_path_buf(), "-journal");
    for _ in 0..SNAPSHOT_ATTEMPTS {
        let Some(before) = Version::of(path)? else {
            return Ok(None);
        };
        if exists(&journal)? {
            break;
        }
        if exists(&wal)? {
            if !exists(&shm)? {
                break;
            }
            let options = OpenOptions::new().read_only(true).read_only_shm(true);
            return read_with(runtime, path, &options, &mut read).map(Some);
        }
        let value = read_with(
            runtime,
            path,
            &OpenOptions::new().immutable(true),
            &mut read,
        )?;
        if Version::of(path)?.as_ref() == Some(&before) && !exists(&wal)? {
            return Ok(Some(value));
        }
        tracing::debug!(path = %path.display(), "database changed during a snapshot read; reading again");
    }
    if !exists(path)? {
        return Ok(None);
    }
    read_copy(runtime, path, &mut read).map(Some)
}

fn read_with<T>(
    runtime: &dyn SqliteRuntime,
    path: &Path,
    options: &OpenOptions,
    read: &mut impl FnMut(&mut dyn SqliteDatabase) -> Result<T>,
) -> Result<T> {
    let mut db = runtime.open(&Target::file(path), &options.clone().keep_journal_mode())?;
    let value = read(&mut *db);
    let closed = db.close();
    let value = value?;
    closed?;
    Ok(value)
}

/// Copies the database and whatever `-wal` and `-journal` it has into a private
/// directory and reads the copy, which SQLite may recover as it likes.
fn read_copy<T>(
    runtime: &dyn SqliteRuntime,
    path: &Path,
    read: &mut impl FnMut(&mut dyn SqliteDatabase) -> Result<T>,
) -> Result<T> {
    let scratch = Scratch::new()?;
    let copy = scratch.0.join("actor.db");
    for suffix in ["", "-wal", "-journal"] {
        let from = with_suffix(path.to_path_buf(), suffix);
        let to = with_suffix(copy.clone(), suffix);
        match fs::copy(&from, &to) {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound && !suffix.is_empty() => {}
            Err(error) => return Err(Error::io(from, error)),
        }
    }
    tracing::debug!(path = %path.display(), "reading a private copy of the database");
    read_with(
        runtime,
        &copy,
        &OpenOptions::new().keep_journal_mode(),
        read,
    )
}

/// A private temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("fs-driver-read-{}", uuid::Uuid::new_v4()));
        fs::create_dir(&dir).map_err(|error| Error::io(&dir, error))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), %error, "cannot remove a scratch directory");
        }
    }
}
