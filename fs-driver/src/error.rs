//! The driver's error type.

use std::io;
use std::path::PathBuf;

use crate::actor_id::InvalidActorId;
use crate::bare::DecodeError;
use crate::limits::LimitError;

/// A boxed error, as returned by caller-supplied stop hooks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the driver can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The actor id breaks the id rules; nothing was read or written.
    #[error("invalid actor id {id:?}: {reason}")]
    InvalidActorId {
        /// The rejected id.
        id: String,
        /// Which rule it breaks.
        reason: InvalidActorId,
    },
    /// `create` was called for an actor that exists.
    #[error("actor {0:?} already exists")]
    ActorExists(String),
    /// No actor has this id.
    #[error("actor {0:?} not found")]
    ActorNotFound(String),
    /// The actor exists (its state file does) but its database does not: its data is
    /// gone, and the actor is not served as an empty one.
    #[error("the database of actor {id:?} is missing: `{}`", path.display())]
    DatabaseMissing {
        /// The actor.
        id: String,
        /// Where its database should be.
        path: PathBuf,
    },
    /// The actor's database file (or its `-wal` or `-shm`) was removed or replaced while
    /// the actor was awake. The write was refused, not applied; the actor reopens its
    /// database at its next operation.
    #[error("`{}` was removed or replaced while open: the write was not applied", path.display())]
    DatabaseReplaced {
        /// The file that is gone or is another file now.
        path: PathBuf,
    },
    /// A write may or may not have been applied: its commit failed with an I/O error
    /// (a failed `fsync`, a failed write of the `-wal`). Callers must not assume either
    /// outcome. The actor's database is closed and, on local files, nothing of the actor
    /// is served until a checkpoint has rewritten and synced it
    /// ([`Error::OutcomeUnresolved`] meanwhile), so that what is read afterwards is on the
    /// disk. A write that was *not* applied is any other error.
    #[error(
        "the outcome of a write to actor {id:?} is unknown (it may or may not be on disk): {source}"
    )]
    WriteOutcomeUnknown {
        /// The actor.
        id: String,
        /// The failure of the commit.
        source: Box<sqlite_runtime::Error>,
    },
    /// A state or alarm file was renamed into place, but syncing its directory failed:
    /// the new file may or may not be on the disk. Until a later sync of that directory
    /// succeeds, the file is not served ([`Error::OutcomeUnresolved`]).
    #[error("the outcome of writing `{}` is unknown (it may or may not be on disk): syncing its directory failed: {source}", path.display())]
    FileOutcomeUnknown {
        /// The file.
        path: PathBuf,
        /// The failure of the sync.
        source: io::Error,
    },
    /// A file of the actor (its database, state or alarm file) had a write of unknown
    /// outcome, and what the OS shows of it may never have reached the disk: nothing of
    /// the actor is served, and nothing written, until that is rewritten and synced
    /// successfully, which the driver retries at each operation on the actor. When the
    /// file system turned read-only after the failure, check it and mount it again (the
    /// actor is then served from what the disk holds); the operation did nothing.
    #[error("`{}` had a write of unknown outcome and is not served until it is written to the disk again: {reason}", path.display())]
    OutcomeUnresolved {
        /// The file.
        path: PathBuf,
        /// Why the latest attempt to write it again failed.
        reason: String,
    },
    /// The actor's database cannot be written (a read-only file, directory or file
    /// system). Reads work; every write first tries to reopen the database for writing,
    /// so writes work again as soon as the cause clears.
    #[error("actor {id:?} is read-only: `{}` cannot be written (read-only file, directory or file system); the write was not applied", path.display())]
    ReadOnly {
        /// The actor.
        id: String,
        /// Its database.
        path: PathBuf,
    },
    /// Another process has the actor awake, so it cannot be destroyed now; nothing was
    /// changed. Retry after that process put it to sleep.
    #[error("actor {0:?} is awake in another process and cannot be destroyed now")]
    ActorInUse(String),
    /// On a runtime whose databases are not local files, another driver holds the
    /// actor's lease (it has the actor awake): an actor there runs in one driver at a
    /// time. Nothing of the actor was changed. Retry after that driver put it to sleep, or after its
    /// lease expired (it stopped renewing). A driver also gets it for an actor it had
    /// awake but lost (its lease expired and another driver took the actor over, or
    /// destroyed it): every write it then tries is refused; put the actor to sleep.
    #[error("actor {id:?} is awake in another driver ({owner}); it runs in one driver at a time")]
    ActorOwnedElsewhere {
        /// The actor.
        id: String,
        /// The driver that holds the actor (`host:pid:uuid`): the lease's holder, or the
        /// last driver that claimed the actor's database (which may have released it
        /// since); `no driver` or `a driver that just released it` when there is none.
        owner: String,
    },
    /// Another process is creating or destroying the actor, for longer than a wake or a
    /// create waits; nothing was changed.
    #[error("actor {0:?} is being created or destroyed by another process")]
    ActorBusy(String),
    /// The actor is sleeping or being destroyed; the operation did nothing.
    #[error("actor {0:?} is stopping")]
    ActorStopping(String),
    /// A KV limit was broken; nothing was changed. Displays exactly the engine's message.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A state or alarm file could not be decoded.
    #[error("cannot decode `{}`: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: DecodeError,
    },
    /// A state file names another actor than the one its file name says (a state file
    /// copied under another name): the actor is not loaded, listed or migrated.
    #[error("`{}` holds the state of actor {actor_id:?}, not of the actor its name says", path.display())]
    StateIdMismatch {
        /// The state file.
        path: PathBuf,
        /// The `actorId` inside it.
        actor_id: String,
    },
    /// A file-system operation failed.
    #[error("I/O error on `{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A directory entry has a name that is not UTF-8 or not a valid actor id.
    #[error("`{}` is not a valid actor file name", path.display())]
    InvalidFileName {
        /// The file.
        path: PathBuf,
    },
    /// The database failed.
    #[error(transparent)]
    Sqlite(#[from] sqlite_runtime::Error),
    /// The caller's closure panicked inside an actor's transaction: nothing it did was
    /// applied, and the actor keeps working.
    #[error("a transaction of actor {id:?} panicked: {message}")]
    Panicked {
        /// The actor.
        id: String,
        /// The panic's message.
        message: String,
    },
    /// The caller's stop hook failed. The actor was stopped (or destroyed) all the same:
    /// its database is closed.
    #[error("stop hook of actor {id:?} failed: {source}")]
    StopHook {
        /// The actor.
        id: String,
        /// The hook's error.
        source: BoxError,
    },
}

/// A file that could not be processed (by the legacy migration, or an inspection of a
/// root), and why; the others were processed all the same.
#[derive(Debug)]
pub struct FileFailure {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub error: Error,
}

impl Error {
    /// An I/O error about `path`.
    /// Whether this is a write whose outcome is unknown: [`Error::WriteOutcomeUnknown`],
    /// [`Error::FileOutcomeUnknown`], or an engine's [`ErrorKind::OutcomeUnknown`](sqlite_runtime::ErrorKind::OutcomeUnknown)
    /// (a state record or alarm written on a remote engine whose commit was cut off).
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            Error::WriteOutcomeUnknown { .. } | Error::FileOutcomeUnknown { .. } => true,
            Error::Sqlite(error) => error.kind() == sqlite_runtime::ErrorKind::OutcomeUnknown,
            _ => false,
        }
    }

    /// The same failure for another caller (errors are not `Clone`: their sources may
    /// not be): every variant and field is kept, a source's message stands for it.
    pub(crate) fn duplicate(&self) -> Self {
        let io = |source: &io::Error| match source.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(source.kind(), source.to_string()),
        };
        match self {
            Error::InvalidActorId { id, reason } => Error::InvalidActorId {
                id: id.clone(),
                reason: *reason,
            },
            Error::ActorExists(id) => Error::ActorExists(id.clone()),
            Error::ActorNotFound(id) => Error::ActorNotFound(id.clone()),
            Error::DatabaseMissing { id, path } => Error::DatabaseMissing {
                id: id.clone(),
                path: path.clone(),
            },
            Error::DatabaseReplaced { path } => Error::DatabaseReplaced { path: path.clone() },
            Error::WriteOutcomeUnknown { id, source } => Error::WriteOutcomeUnknown {
                id: id.clone(),
                source: source.clone(),
            },
            Error::FileOutcomeUnknown { path, source } => Error::FileOutcomeUnknown {
                path: path.clone(),
                source: io(source),
            },
            Error::OutcomeUnresolved { path, reason } => Error::OutcomeUnresolved {
                path: path.clone(),
                reason: reason.clone(),
            },
            Error::ReadOnly { id, path } => Error::ReadOnly {
                id: id.clone(),
                path: path.clone(),
            },
            Error::ActorInUse(id) => Error::ActorInUse(id.clone()),
            Error::ActorOwnedElsewhere { id, owner } => Error::ActorOwnedElsewhere {
                id: id.clone(),
                owner: owner.clone(),
            },
            Error::ActorBusy(id) => Error::ActorBusy(id.clone()),
            Error::ActorStopping(id) => Error::ActorStopping(id.clone()),
            Error::Limit(limit) => Error::Limit(*limit),
            Error::Decode { path, source } => Error::Decode {
                path: path.clone(),
                source: source.clone(),
            },
            Error::StateIdMismatch { path, actor_id } => Error::StateIdMismatch {
                path: path.clone(),
                actor_id: actor_id.clone(),
            },
            Error::Io { path, source } => Error::Io {
                path: path.clone(),
                source: io(source),
            },
            Error::InvalidFileName { path } => Error::InvalidFileName { path: path.clone() },
            Error::Sqlite(error) => Error::Sqlite(error.clone()),
            Error::Panicked { id, message } => Error::Panicked {
                id: id.clone(),
                message: message.clone(),
            },
            Error::StopHook { id, source } => Error::StopHook {
                id: id.clone(),
                source: source.to_string().into(),
            },
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The limit broken, if this is a limit error.
    pub fn as_limit(&self) -> Option<&LimitError> {
        match self {
            Error::Limit(limit) => Some(limit),
            _ => None,
        }
    }

    /// Whether this is [`Error::ActorStopping`].
    pub fn is_stopping(&self) -> bool {
        matches!(self, Error::ActorStopping(_))
    }

    /// Whether this is [`Error::ActorNotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::ActorNotFound(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_errors_display_only_the_engine_message() {
        let error = Error::from(LimitError::ValueTooLarge { len: 1 << 20 });
        assert_eq!(error.to_string(), "value is too large (max 128 KiB)");
        assert!(error.as_limit().is_some());
    }

    #[test]
    fn ids_and_paths_are_named() {
        let error = Error::InvalidActorId {
            id: "a/b".into(),
            reason: InvalidActorId::PathSeparator,
        };
        assert_eq!(
            error.to_string(),
            "invalid actor id \"a/b\": the actor id cannot contain `/` or `\\`"
        );
        let error = Error::Decode {
            path: "state/x".into(),
            source: DecodeError::UnknownVersion(9),
        };
        assert_eq!(
            error.to_string(),
            "cannot decode `state/x`: unknown version 9"
        );
    }
}
