//! Actor lifecycle guards across processes: advisory locks on `<root>/locks/`.
//!
//! Every process that has an actor awake holds a shared lock on one byte of one of
//! [`SHARDS`] lock files (the byte and the file follow from a hash of the id); creating
//! or destroying an actor takes that byte exclusively. So, on one machine:
//!
//! - while any process has an actor awake, no other process can destroy it (the destroy
//!   fails at once, naming the actor), and an actor being created or destroyed cannot be
//!   woken until that finishes;
//! - two processes never both create the same id: the second waits for the first's
//!   exclusive lock, then finds the actor (`ActorExists`);
//! - a process that dies releases its locks (the kernel drops them with its
//!   descriptors), so a crash never leaves an actor locked.
//!
//! The locks are open-file-description locks (`F_OFD_SETLK`, Linux 3.15+): they belong
//! to the driver's own descriptors, so two drivers in one process exclude each other too,
//! and closing some other descriptor of a lock file never drops them (the trap of
//! classic POSIX locks). They are advisory: rivetkit's TypeScript driver and other
//! programs do not take them. Not guarded: KV reads and writes, which SQLite's own
//! locking already makes safe between processes; and network file systems, where such
//! locks are not reliable. On platforms without open-file-description locks the guard
//! is off (logged once at open).
//!
//! Why shards: the kernel keeps a file's locks in one list, and every lock operation
//! walks it; with 100,000 awake actors on one file each wake would cost milliseconds.
//! Split over 32 files, a list stays around 3,000 entries (tens of microseconds), for at
//! most 32 descriptors (a lock file is opened when first needed). Every process must
//! agree on the split, so it is a constant.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::LifecycleLocks;
use crate::error::{Error, Result};

/// How many lock files a root has.
pub const SHARDS: usize = 32;

/// How long a wake or a create waits for another process's create or destroy.
const WAIT: Duration = Duration::from_secs(5);

/// The lock files of a root, each opened at its first use and kept open for the
/// driver's lifetime. A lock file that cannot be opened (a read-only root) leaves its
/// actors unguarded, with a warning: such a root cannot be written anyway.
pub(crate) struct ActorLocks {
    dir: PathBuf,
    shards: Vec<OnceLock<Option<File>>>,
}

impl std::fmt::Debug for ActorLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorLocks")
            .field("shards", &self.shards.len())
            .finish()
    }
}

/// What a lock attempt found.
enum Attempt {
    Locked,
    HeldElsewhere,
}

impl ActorLocks {
    /// The lock files under `dir` (opened and created when first needed); `None` where
    /// the platform has no open-file-description locks.
    pub(crate) fn open(dir: &Path) -> Option<Self> {
        if !sys::SUPPORTED {
            tracing::warn!(
                "no open-file-description locks on this platform: actor lifecycle is not guarded across processes"
            );
            return None;
        }
        Some(ActorLocks {
            dir: dir.to_path_buf(),
            shards: (0..SHARDS).map(|_| OnceLock::new()).collect(),
        })
    }

    /// Opens a lock file: for writing (exclusive locks need it), else for reading.
    fn open_shard(&self, shard: usize) -> Option<File> {
        let path = shard_path(&self.dir, shard);
        let writable = std::fs::create_dir_all(&self.dir).and_then(|()| {
            File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        });
        match writable.or_else(|_| File::open(&path)) {
            Ok(file) => Some(file),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot open a lock file: its actors are not guarded across processes");
                None
            }
        }
    }

    fn wait_for(
        &self,
        id: &str,
        mut attempt: impl FnMut() -> std::io::Result<Attempt>,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            match attempt().map_err(|e| lock_error(id, e))? {
                Attempt::Locked => return Ok(()),
                Attempt::HeldElsewhere if started.elapsed() >= WAIT => {
                    return Err(Error::ActorBusy(id.to_owned()));
                }
                Attempt::HeldElsewhere => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    /// The lock file and byte of `id`; `None` when its lock file cannot be opened.
    fn slot(&self, id: &str) -> Option<(&File, u64)> {
        let hash = fnv1a(id.as_bytes());
        let shard = (hash % SHARDS as u64) as usize;
        let file = self.shards[shard]
            .get_or_init(|| self.open_shard(shard))
            .as_ref()?;
        // Any byte offset works (locks need no file content); 62 bits keep it a positive
        // `off_t` and make two ids sharing a byte unlikely enough to ignore.
        Some((file, (hash >> 2) & ((1 << 62) - 1)))
    }
}

impl LifecycleLocks for ActorLocks {
    /// Takes the shared (awake) lock, waiting while another process creates or destroys
    /// the actor. Returns whether another process has it awake too.
    fn wake(&self, id: &str) -> Result<bool> {
        let Some((file, byte)) = self.slot(id) else {
            return Ok(false);
        };
        let elsewhere = sys::held_elsewhere(file, byte).map_err(|e| lock_error(id, e))?;
        self.wait_for(id, || sys::try_lock(file, byte, sys::Kind::Shared))?;
        Ok(elsewhere)
    }

    /// Takes the exclusive lock for a create, waiting while another process holds it
    /// (`exists` tells whether the actor appeared meanwhile).
    fn create(&self, id: &str, exists: &dyn Fn() -> Result<bool>) -> Result<()> {
        let Some((file, byte)) = self.slot(id) else {
            return Ok(());
        };
        let started = Instant::now();
        loop {
            match sys::try_lock(file, byte, sys::Kind::Exclusive).map_err(|e| lock_error(id, e))? {
                Attempt::Locked => return Ok(()),
                Attempt::HeldElsewhere if exists()? => {
                    return Err(Error::ActorExists(id.to_owned()));
                }
                Attempt::HeldElsewhere if started.elapsed() >= WAIT => {
                    return Err(Error::ActorBusy(id.to_owned()));
                }
                Attempt::HeldElsewhere => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }

    /// Takes the exclusive lock for a destroy; fails at once when another process has
    /// the actor awake (or is creating or destroying it).
    fn destroy(&self, id: &str) -> Result<()> {
        let Some((file, byte)) = self.slot(id) else {
            return Ok(());
        };
        match sys::try_lock(file, byte, sys::Kind::Exclusive).map_err(|e| lock_error(id, e))? {
            Attempt::Locked => Ok(()),
            Attempt::HeldElsewhere => Err(Error::ActorInUse(id.to_owned())),
        }
    }

    /// Turns an exclusive lock back into the shared one (a create that leaves the actor
    /// awake, a destroy that failed before its point of no return).
    fn share(&self, id: &str) -> Result<()> {
        let Some((file, byte)) = self.slot(id) else {
            return Ok(());
        };
        match sys::try_lock(file, byte, sys::Kind::Shared).map_err(|e| lock_error(id, e))? {
            Attempt::Locked => Ok(()),
            Attempt::HeldElsewhere => Err(Error::ActorBusy(id.to_owned())),
        }
    }

    /// Whether another process (or driver) has the actor awake too.
    fn others_awake(&self, id: &str) -> bool {
        self.slot(id)
            .is_some_and(|(file, byte)| sys::held_elsewhere(file, byte).unwrap_or(false))
    }

    /// Releases the actor's lock.
    fn release(&self, id: &str) {
        let Some((file, byte)) = self.slot(id) else {
            return;
        };
        if let Err(error) = sys::unlock(file, byte) {
            tracing::warn!(actor = %id, %error, "cannot release the actor's lock");
        }
    }
}

fn shard_path(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("{shard:02x}"))
}

fn lock_error(id: &str, error: std::io::Error) -> Error {
    Error::io(format!("lock of actor {id:?}"), error)
}

/// FNV-1a, 64 bits: stable across runs and processes (every process must agree).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(target_os = "linux")]
mod sys {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    use super::Attempt;

    pub(super) const SUPPORTED: bool = true;

    #[derive(Clone, Copy)]
    pub(super) enum Kind {
        Shared,
        Exclusive,
    }

    fn flock(kind: libc::c_short, byte: u64) -> libc::flock {
        // SAFETY: `flock` is a plain C struct; all-zero is a valid value of it.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = kind;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        lock.l_start = byte as libc::off_t;
        lock.l_len = 1;
        lock
    }

    fn fcntl(file: &File, command: libc::c_int, lock: &mut libc::flock) -> io::Result<()> {
        // SAFETY: the descriptor is open for the life of `file`, and `lock` is a valid
        // `flock` that outlives the call (F_OFD_* require `l_pid` = 0, which it is).
        let result = unsafe { libc::fcntl(file.as_raw_fd(), command, lock as *mut libc::flock) };
        if result == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    pub(super) fn try_lock(file: &File, byte: u64, kind: Kind) -> io::Result<Attempt> {
        let kind = match kind {
            Kind::Shared => libc::F_RDLCK,
            Kind::Exclusive => libc::F_WRLCK,
        };
        let mut lock = flock(kind as libc::c_short, byte);
        match fcntl(file, libc::F_OFD_SETLK, &mut lock) {
            Ok(()) => Ok(Attempt::Locked),
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::EAGAIN) | Some(libc::EACCES)
                ) =>
            {
                Ok(Attempt::HeldElsewhere)
            }
            Err(error) => Err(error),
        }
    }

    pub(super) fn unlock(file: &File, byte: u64) -> io::Result<()> {
        let mut lock = flock(libc::F_UNLCK as libc::c_short, byte);
        fcntl(file, libc::F_OFD_SETLK, &mut lock)
    }

    /// Whether a lock held through another open file description (another process,
    /// or another driver) covers the byte.
    pub(super) fn held_elsewhere(file: &File, byte: u64) -> io::Result<bool> {
        let mut lock = flock(libc::F_WRLCK as libc::c_short, byte);
        fcntl(file, libc::F_OFD_GETLK, &mut lock)?;
        Ok(lock.l_type != libc::F_UNLCK as libc::c_short)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::fs::File;
    use std::io;

    use super::Attempt;

    pub(super) const SUPPORTED: bool = false;

    #[derive(Clone, Copy)]
    pub(super) enum Kind {
        Shared,
        Exclusive,
    }

    pub(super) fn try_lock(_: &File, _: u64, _: Kind) -> io::Result<Attempt> {
        Ok(Attempt::Locked)
    }

    pub(super) fn unlock(_: &File, _: u64) -> io::Result<()> {
        Ok(())
    }

    pub(super) fn held_elsewhere(_: &File, _: u64) -> io::Result<bool> {
        Ok(false)
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::storage::LifecycleLocks;

    #[test]
    fn two_lock_sets_exclude_each_other_like_two_processes() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let first = ActorLocks::open(dir.path()).unwrap();
        let second = ActorLocks::open(dir.path()).unwrap();
        assert!(!first.wake("a")?, "nobody else had it");
        assert!(second.wake("a")?, "the first has it awake");
        assert!(matches!(second.destroy("a"), Err(Error::ActorInUse(_))));
        assert!(first.others_awake("a"), "the second has it too");
        first.release("a");
        second.release("a");
        assert!(!first.others_awake("a"));
        first.destroy("a")?;
        assert!(matches!(
            second.create("a", &|| Ok(true)),
            Err(Error::ActorExists(_))
        ));
        first.share("a")?;
        assert!(second.others_awake("a"));
        first.release("a");
        second.create("a", &|| Ok(false))?;
        second.share("a")?;
        Ok(())
    }
}
