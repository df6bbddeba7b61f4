//! File helpers: atomic replace through a temporary file, stale temp cleanup, tolerant
//! reads and removals.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::actor_id::{RESERVED_ID_PART, TEMP_MARKER};
use crate::error::{Error, Result};
use crate::layout::with_suffix;
use crate::unresolved;

/// Checks the injected faults of the `fault-injection` feature; nothing without it.
#[cfg(feature = "fault-injection")]
use crate::faults::{FileOp, check as fault};

#[cfg(not(feature = "fault-injection"))]
#[derive(Clone, Copy)]
enum FileOp {
    CreateTemp,
    WriteTemp,
    SyncTemp,
    Rename,
    SyncDir,
    Remove,
    CreateDir,
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
fn fault(_: FileOp, _: &Path) -> io::Result<()> {
    Ok(())
}

/// How old a temporary file must be before start-up removes it.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// Writes `bytes` to `path` atomically: into `<path>.tmp.<uuid>`, fsynced, then renamed
/// over `path`. On failure the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = with_suffix(
        path.to_path_buf(),
        &format!("{TEMP_MARKER}{}", uuid::Uuid::new_v4()),
    );
    let written = (|| -> io::Result<()> {
        fault(FileOp::CreateTemp, &temp)?;
        let mut file = File::options().write(true).create_new(true).open(&temp)?;
        fault(FileOp::WriteTemp, &temp)?;
        file.write_all(bytes)?;
        fault(FileOp::SyncTemp, &temp)?;
        file.sync_all()
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(Error::io(temp, error));
    }
    if let Err(error) = fault(FileOp::Rename, path).and_then(|()| fs::rename(&temp, path)) {
        let _ = fs::remove_file(&temp);
        return Err(Error::io(path, error));
    }
    // The rename is durable once its directory is synced; when that fails, the new file
    // may or may not be on the disk, and is not served until a sync succeeds.
    if let Err(error) = sync_parent(path) {
        unresolved::mark(path);
        return Err(Error::FileOutcomeUnknown {
            path: path.to_path_buf(),
            source: error,
        });
    }
    unresolved::clear(path);
    Ok(())
}

/// Makes a rename durable by syncing the directory. A directory that cannot be opened
/// (not every platform can) is skipped; a sync that fails is an error.
fn sync_parent(path: &Path) -> io::Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    fault(FileOp::SyncDir, parent)?;
    match File::open(parent) {
        Ok(dir) => dir.sync_all(),
        Err(_) => Ok(()),
    }
}

/// Reads a file, `None` when it does not exist. A file whose write had an unknown
/// outcome is read only once its directory syncs (see [`crate::unresolved`]).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    if unresolved::is_marked(path) {
        sync_parent(path).map_err(|error| unresolved::refused(path, error))?;
        unresolved::clear(path);
    }
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(path, error)),
    }
}

/// Removes a file; a missing file is not an error. Returns whether a file was removed.
pub fn remove_if_exists(path: &Path) -> Result<bool> {
    match fault(FileOp::Remove, path).and_then(|()| fs::remove_file(path)) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(Error::io(path, error)),
    }
}

/// Creates `dir` and its parents.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    fault(FileOp::CreateDir, dir)
        .and_then(|()| fs::create_dir_all(dir))
        .map_err(|error| Error::io(dir, error))
}

/// The names of the files in `dir` that may be actors (names without `.tmp`), unsorted.
/// A missing directory has none. Names that are not UTF-8 are returned as errors.
pub fn actor_file_names(dir: &Path) -> Result<Vec<std::result::Result<String, PathBuf>>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(Error::io(dir, error)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| Error::io(dir, error))?;
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) if name.contains(RESERVED_ID_PART) => {}
            Ok(name) => names.push(Ok(name)),
            Err(_) => names.push(Err(entry.path())),
        }
    }
    Ok(names)
}

/// Removes files in `dir` whose names contain `.tmp.` and whose modification time is
/// more than `max_age` away from now, in the past or in the future (a clock set back
/// makes old files look new forever). Returns how many were removed; failures are
/// logged and skipped.
pub fn remove_stale_temps(dir: &Path, max_age: Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().contains(TEMP_MARKER) {
            continue;
        }
        let path = entry.path();
        let age = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .map(|modified| match now.duration_since(modified) {
                Ok(past) => past,
                Err(future) => future.duration(),
            });
        if age.is_some_and(|age| age > max_age) {
            match fs::remove_file(&path) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "removed stale temporary file");
                    removed += 1;
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot remove stale temporary file");
                }
            }
        }
    }
    removed
}

/// The soft limit on open descriptors of this process, if the platform has one.
#[cfg(unix)]
pub fn descriptor_limit() -> Option<u64> {
    // SAFETY: `rlimit` is a plain C struct (all-zero is valid) that outlives the call.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `getrlimit` only writes into `limit`.
    let result = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (result == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
}

/// The soft limit on open descriptors of this process, if the platform has one.
#[cfg(not(unix))]
pub fn descriptor_limit() -> Option<u64> {
    None
}

/// The size of a file, 0 when it does not exist.
pub fn file_size(path: &Path) -> u64 {
    fs::metadata(path).map(|meta| meta.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let path = dir.path().join("f");
        write_atomic(&path, b"one")?;
        write_atomic(&path, b"two")?;
        assert_eq!(fs::read(&path).ok(), Some(b"two".to_vec()));
        let names: Vec<_> = fs::read_dir(dir.path())
            .map_err(|e| Error::io("dir", e))?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
        Ok(())
    }

    #[test]
    fn stale_temps_are_removed_fresh_ones_kept() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let old = dir.path().join("a.tmp.1");
        let fresh = dir.path().join("b.tmp.2");
        let actor = dir.path().join("c");
        for path in [&old, &fresh, &actor] {
            fs::write(path, b"x").map_err(|e| Error::io(path, e))?;
        }
        let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
        File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(two_hours_ago))
            .map_err(|e| Error::io(&old, e))?;
        File::options()
            .write(true)
            .open(&actor)
            .and_then(|f| f.set_modified(two_hours_ago))
            .map_err(|e| Error::io(&actor, e))?;
        let future = dir.path().join("d.tmp.3");
        fs::write(&future, b"x").map_err(|e| Error::io(&future, e))?;
        File::options()
            .write(true)
            .open(&future)
            .and_then(|f| f.set_modified(SystemTime::now() + Duration::from_secs(3 * 60 * 60)))
            .map_err(|e| Error::io(&future, e))?;
        assert_eq!(remove_stale_temps(dir.path(), STALE_TEMP_AGE), 2);
        assert!(!old.exists());
        assert!(!future.exists(), "a temp file from the future is stale too");
        assert!(fresh.exists());
        assert!(actor.exists());
        let names = actor_file_names(dir.path())?;
        assert_eq!(names, vec![Ok("c".to_owned())]);
        Ok(())
    }
}
