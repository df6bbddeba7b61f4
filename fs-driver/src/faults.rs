//! Fault injection for tests (feature `fault-injection`): a hook that may fail any file
//! operation the driver makes on its own files (state, alarm, database removal,
//! directories), on the calling thread, before the operation happens. SQLite's own I/O
//! is not covered (faults there are injected with real file systems in the reliability
//! suite).
//!
//! ```ignore
//! fs_driver::faults::inject(|op, path| (op == FileOp::Remove).then(|| io::Error::other("no")));
//! ```

use std::cell::RefCell;
use std::io;
use std::path::Path;

/// A file operation the driver is about to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileOp {
    /// Creating a temporary file for an atomic write.
    CreateTemp,
    /// Writing its bytes.
    WriteTemp,
    /// Syncing it.
    SyncTemp,
    /// Renaming it over the target.
    Rename,
    /// Syncing the directory of a renamed file.
    SyncDir,
    /// Removing a file.
    Remove,
    /// Creating a directory.
    CreateDir,
}

type Hook = Box<dyn Fn(FileOp, &Path) -> Option<io::Error>>;

thread_local! {
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
}

/// Fails the file operations of this thread for which `hook` returns an error, until
/// [`clear`] (or another `inject`).
pub fn inject(hook: impl Fn(FileOp, &Path) -> Option<io::Error> + 'static) {
    HOOK.with(|slot| *slot.borrow_mut() = Some(Box::new(hook)));
}

/// Removes this thread's hook.
pub fn clear() {
    HOOK.with(|slot| *slot.borrow_mut() = None);
}

/// The injected failure of `op` on `path`, if any.
pub(crate) fn check(op: FileOp, path: &Path) -> io::Result<()> {
    HOOK.with(
        |slot| match slot.borrow().as_ref().and_then(|hook| hook(op, path)) {
            Some(error) => Err(error),
            None => Ok(()),
        },
    )
}
