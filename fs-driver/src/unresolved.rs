//! Files with a write of unknown outcome, remembered for the whole process until what
//! the OS shows of them has been written to the disk again.
//!
//! Why rereading proves nothing: when `fsync` fails, Linux may keep the pages it could
//! not write in its cache, marked clean, and serve them to every reader afterwards; a
//! later `fsync` of the file succeeds without writing them, since an error is reported
//! once. So after a failed commit SQLite, reopening the `-wal`, finds the failed commit's
//! frames intact in the cache and serves them, although the disk never held them (and
//! after a remount they are gone).
//!
//! The rule: a marked file is not served (reads and writes of its actor fail with
//! [`Error::OutcomeUnresolved`]) until a write that rewrites what the OS shows of it
//! succeeds, syncs included:
//! - an actor database: a full checkpoint copies every frame of its `-wal` into the
//!   database file (dirtying those pages anew) and syncs the file; once that sync
//!   succeeds, everything SQLite serves from it is on the disk. After each failed
//!   attempt the database file's cached pages are dropped ([`drop_cached_pages`]), so
//!   that the next attempt writes them from scratch;
//! - a state or alarm file whose rename was not made durable (its directory's sync
//!   failed): its directory synced successfully. A rename is file-system metadata,
//!   which journaling file systems (ext4, XFS, btrfs) commit in order and stop
//!   committing after a failed commit, so a later successful sync covers it.
//!
//! A file system that turned read-only after the failure (ext4 aborts its journal) thus
//! keeps the actor refused until it is checked and mounted again; one that accepts
//! writes again resolves it at the actor's next operation.
//!
//! Why not drop the cached pages instead and reread the device: the cache can hold the
//! only good copy. ext4 was seen (in the fault suite) to acknowledge an `fsync` whose
//! blocks stayed "unwritten" on the device after a neighbouring write failed; rereading
//! the device then loses an acknowledged commit, while rewriting what the cache shows
//! makes it durable.
//!
//! The mark lives in this process: every driver in it sees it, across sleeps and wakes.
//! Nothing is marked on disk (a file system that failed a sync cannot be trusted to keep
//! the mark), so another process that opens the actor before it is resolved reads what
//! the kernel shows it; see RELIABILITY.md.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::Error;

/// The marked files, by absolute path.
static MARKED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
/// How many files are marked: the common case (none) costs one atomic load.
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn marked() -> MutexGuard<'static, Option<HashSet<PathBuf>>> {
    MARKED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The key of `path`: absolute, not resolved (a file reached through another spelling
/// of a symbolic link is another key).
fn key(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Marks `path` as holding a write of unknown outcome.
pub(crate) fn mark(path: &Path) {
    let mut marked = marked();
    if marked.get_or_insert_default().insert(key(path)) {
        COUNT.fetch_add(1, Ordering::Release);
        tracing::warn!(path = %path.display(), "a write of unknown outcome: not served until it is written to the disk again");
    }
}

/// Clears the mark of `path`, once what the OS shows of it is on the disk.
pub(crate) fn clear(path: &Path) {
    if COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut marked = marked();
    if marked.as_mut().is_some_and(|set| set.remove(&key(path))) {
        COUNT.fetch_sub(1, Ordering::Release);
        tracing::info!(path = %path.display(), "the write of unknown outcome is resolved: the file is on the disk");
    }
}

/// Whether `path` is marked.
pub(crate) fn is_marked(path: &Path) -> bool {
    COUNT.load(Ordering::Acquire) != 0
        && marked()
            .as_ref()
            .is_some_and(|set| set.contains(&key(path)))
}

/// The error for a marked file whose resolution failed.
pub(crate) fn refused(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::OutcomeUnresolved {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Drops the cached pages of the database file at `path` (best effort; the connection
/// must be closed). A failed checkpoint leaves pages there that never reached the disk,
/// and ext4 was seen to leave their blocks unwritten even after a later rewrite through
/// the same cached pages synced successfully; dropped, they are rewritten from scratch
/// by the next checkpoint (which copies every frame of the `-wal` again). The `-wal`
/// is kept: its cache may hold the only copy of an acknowledged commit.
pub(crate) fn drop_cached_pages(path: &Path) {
    if let Err(error) = fadvise_dont_need(path) {
        tracing::debug!(path = %path.display(), %error, "dropping cached pages failed");
    }
}

#[cfg(target_os = "linux")]
fn fadvise_dont_need(path: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    // SAFETY: the descriptor stays open for the call; the advice only drops clean
    // cached pages of the file and touches no memory of ours.
    match unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) } {
        0 => Ok(()),
        code => Err(std::io::Error::from_raw_os_error(code)),
    }
}

#[cfg(not(target_os = "linux"))]
fn fadvise_dont_need(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_per_file_and_cleared_once() {
        let dir = std::env::temp_dir().join(format!("unresolved-{}", uuid::Uuid::new_v4()));
        let (a, b) = (dir.join("a.db"), dir.join("b.db"));
        assert!(!is_marked(&a));
        mark(&a);
        mark(&a);
        assert!(is_marked(&a));
        assert!(!is_marked(&b));
        clear(&a);
        assert!(!is_marked(&a));
        clear(&a);
        mark(&b);
        assert!(is_marked(&b));
        clear(&b);
    }
}
