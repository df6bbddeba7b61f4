//! What the operating system says about a database that SQLite could not open or write.
//!
//! SQLite's messages ("unable to open database file", "disk I/O error") do not say
//! whether the disk is full, inodes or descriptors ran out, or permission was denied,
//! and not every binding exposes `sqlite3_system_errno`. So when an open or a write
//! fails with such an error, the store asks the OS itself, the same way: it opens the
//! database and its `-wal` and `-shm` for writing (a database that does not exist is
//! created and removed again, as SQLite would have created it), and looks at the free
//! space and inodes of their file system. The first error found is attached to the
//! SQLite error ([`sqlite_runtime::Error::os_error`]).

use std::io;
use std::path::Path;

use sqlite_runtime::ErrorKind;

use crate::layout::with_suffix;

/// `error`, with the OS error behind it when one can be found. `creating`: the database
/// was to be created (its absence is then not the cause).
pub(crate) fn diagnose(
    error: sqlite_runtime::Error,
    path: &Path,
    creating: bool,
) -> sqlite_runtime::Error {
    if error.os_error().is_some() || !matches!(error.kind(), ErrorKind::Io | ErrorKind::CannotOpen)
    {
        return error;
    }
    match os_cause(path, creating) {
        Some(cause) => error.with_os_error(&cause),
        None => error,
    }
}

fn os_cause(path: &Path, creating: bool) -> Option<io::Error> {
    for file in [
        path.to_path_buf(),
        with_suffix(path.to_path_buf(), "-wal"),
        with_suffix(path.to_path_buf(), "-shm"),
    ] {
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&file)
        {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound && file != path => {}
            // A database that could not be created: try creating it, as SQLite did.
            Err(error) if error.kind() == io::ErrorKind::NotFound && creating => {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&file)
                {
                    Ok(_) => {
                        let _ = std::fs::remove_file(&file);
                    }
                    Err(error) => return Some(error),
                }
            }
            Err(error) => return Some(error),
        }
    }
    full_file_system(path.parent()?)
}

/// `ENOSPC` when the file system holding `dir` has no block or no inode left.
#[cfg(unix)]
fn full_file_system(dir: &Path) -> Option<io::Error> {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` is a plain C struct (all-zero is valid) that outlives the call.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a pointer to the struct; the call only writes it.
    if unsafe { libc::statvfs(dir.as_ptr(), &mut stats) } != 0 {
        return None;
    }
    (stats.f_bavail == 0 || (stats.f_files > 0 && stats.f_favail == 0))
        .then(|| io::Error::from_raw_os_error(libc::ENOSPC))
}

#[cfg(not(unix))]
fn full_file_system(_: &Path) -> Option<io::Error> {
    None
}
