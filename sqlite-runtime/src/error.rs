//! Typed errors: a kind to branch on, plus the backend's message and SQLite's code.

use std::fmt;
use std::path::{Path, PathBuf};

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which constraint a write violated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A `UNIQUE` constraint or unique index.
    Unique,
    /// A `PRIMARY KEY` (on a table that is not a rowid alias).
    PrimaryKey,
    /// A `NOT NULL` column.
    NotNull,
    /// A `CHECK` expression.
    Check,
    /// A `FOREIGN KEY`.
    ForeignKey,
    /// A `RAISE(...)` in a trigger.
    Trigger,
    /// A duplicate or invalid rowid.
    RowId,
    /// A `STRICT` table's column type.
    DataType,
    /// A constraint SQLite reported without saying which (or one not listed here).
    Other,
}

impl ConstraintKind {
    fn from_extended_code(code: i32) -> Self {
        match code {
            2067 => ConstraintKind::Unique,
            1555 => ConstraintKind::PrimaryKey,
            1299 => ConstraintKind::NotNull,
            275 => ConstraintKind::Check,
            787 => ConstraintKind::ForeignKey,
            1811 => ConstraintKind::Trigger,
            2579 => ConstraintKind::RowId,
            3091 => ConstraintKind::DataType,
            _ => ConstraintKind::Other,
        }
    }
}

/// What went wrong, coarse enough to branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The database is busy or a table is locked (`SQLITE_BUSY`, `SQLITE_LOCKED`):
    /// another connection holds a conflicting lock. Retrying later may succeed.
    Busy,
    /// A constraint was violated; nothing was written by the statement.
    Constraint(ConstraintKind),
    /// The SQL is invalid: a syntax error, an unknown table or column, and the like.
    Sql,
    /// A value could not be converted to the requested Rust type.
    TypeMismatch,
    /// The database handle was closed.
    Closed,
    /// The database file could not be opened or created.
    CannotOpen,
    /// A write was attempted on a read-only database.
    ReadOnly,
    /// The API was used incorrectly: wrong parameter count, unknown parameter name, etc.
    Misuse,
    /// The file is not a database or is corrupt.
    Corrupt,
    /// An I/O error or a full disk.
    Io,
    /// The backend does not support what was asked.
    Unsupported,
    /// A remote database is out of reach or not serving: its server is down, the
    /// connection broke before the request was sent, or a replicated engine has no
    /// leader right now. Nothing was applied, and an open transaction is gone (the
    /// next statement runs on a new connection). Retrying later may succeed.
    Unavailable,
    /// A write (usually a `COMMIT`) failed in a way that leaves unknown whether it was
    /// applied: the connection broke after the request was sent, or a replicated
    /// engine lost its leader while committing. Check before retrying.
    OutcomeUnknown,
    /// The operation was refused before it started because its queue is full (see
    /// [`workers`](crate::workers)): nothing was applied. Retrying later may succeed.
    Overloaded,
    /// A guarded statement was refused: it would do what its
    /// [`Guard`](crate::Guard) forbids (`SQLITE_AUTH`). Nothing ran.
    NotAuthorized,
    /// The statement was interrupted (`SQLITE_INTERRUPT`), e.g. for running longer than
    /// its time limit; it changed nothing.
    Interrupted,
    /// A string, blob, row or statement is larger than a limit allows (`SQLITE_TOOBIG`).
    TooBig,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Maps an SQLite (extended or primary) result code to a kind.
    pub fn from_sqlite_code(code: i32) -> Self {
        match code & 0xff {
            5 | 6 => ErrorKind::Busy,
            19 => ErrorKind::Constraint(ConstraintKind::from_extended_code(code)),
            1 => ErrorKind::Sql,
            20 => ErrorKind::TypeMismatch,
            14 => ErrorKind::CannotOpen,
            8 => ErrorKind::ReadOnly,
            21 | 25 => ErrorKind::Misuse,
            11 | 26 => ErrorKind::Corrupt,
            10 | 13 => ErrorKind::Io,
            23 => ErrorKind::NotAuthorized,
            9 => ErrorKind::Interrupted,
            18 => ErrorKind::TooBig,
            _ => ErrorKind::Other,
        }
    }

    /// Whether the same operation may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorKind::Busy | ErrorKind::Unavailable | ErrorKind::Overloaded
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Busy => f.write_str("database busy"),
            ErrorKind::Constraint(kind) => write!(f, "constraint violation ({kind:?})"),
            ErrorKind::Sql => f.write_str("SQL error"),
            ErrorKind::TypeMismatch => f.write_str("type mismatch"),
            ErrorKind::Closed => f.write_str("database closed"),
            ErrorKind::CannotOpen => f.write_str("cannot open database"),
            ErrorKind::ReadOnly => f.write_str("read-only database"),
            ErrorKind::Misuse => f.write_str("misuse"),
            ErrorKind::Corrupt => f.write_str("corrupt database"),
            ErrorKind::Io => f.write_str("I/O error"),
            ErrorKind::Unsupported => f.write_str("unsupported"),
            ErrorKind::Unavailable => f.write_str("database unavailable"),
            ErrorKind::OutcomeUnknown => f.write_str("write outcome unknown"),
            ErrorKind::Overloaded => f.write_str("overloaded"),
            ErrorKind::NotAuthorized => f.write_str("not authorized"),
            ErrorKind::Interrupted => f.write_str("interrupted"),
            ErrorKind::TooBig => f.write_str("too big"),
            ErrorKind::Other => f.write_str("error"),
        }
    }
}

/// An error from a runtime or a database.
///
/// ```
/// use sqlite_runtime::{ConstraintKind, Error, ErrorKind};
///
/// // SQLITE_CONSTRAINT_UNIQUE, as a backend would report it.
/// let error = Error::from_sqlite("demo", 2067, "UNIQUE constraint failed: t.k");
/// assert_eq!(error.kind(), ErrorKind::Constraint(ConstraintKind::Unique));
/// assert_eq!(error.extended_code(), Some(2067));
/// assert!(!error.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    backend: Option<&'static str>,
    extended_code: Option<i32>,
    message: String,
    path: Option<PathBuf>,
    /// The operating system's error number behind an I/O or open failure, when known.
    os_code: Option<i32>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// A copy whose source is kept as its message: for reporting one failure to several
/// callers (the members of a group of writes committed together).
impl Clone for Error {
    fn clone(&self) -> Self {
        Error {
            kind: self.kind,
            backend: self.backend,
            extended_code: self.extended_code,
            message: self.message.clone(),
            path: self.path.clone(),
            os_code: self.os_code,
            source: self
                .source
                .as_ref()
                .map(|source| Box::new(CopiedSource(source.to_string())) as _),
        }
    }
}

/// The message of a source that could not be cloned.
#[derive(Debug)]
struct CopiedSource(String);

impl fmt::Display for CopiedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CopiedSource {}

impl Error {
    /// An error of `kind` with a message, not tied to an SQLite result code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            backend: None,
            extended_code: None,
            message: message.into(),
            path: None,
            os_code: None,
            source: None,
        }
    }

    /// An error reported by SQLite through `backend`; the kind is derived from the
    /// (extended) result code.
    pub fn from_sqlite(
        backend: &'static str,
        extended_code: i32,
        message: impl Into<String>,
    ) -> Self {
        Error {
            kind: ErrorKind::from_sqlite_code(extended_code),
            backend: Some(backend),
            extended_code: Some(extended_code),
            message: message.into(),
            path: None,
            os_code: None,
            source: None,
        }
    }

    /// The error every backend returns for use of a closed database.
    pub fn closed(backend: &'static str) -> Self {
        Error::new(ErrorKind::Closed, "the database is closed").with_backend(backend)
    }

    /// Replaces the kind, keeping the code and message: for backends whose engine says
    /// more than the SQLite code does (a remote engine's lost connection is an I/O code
    /// that means [`ErrorKind::Unavailable`] or [`ErrorKind::OutcomeUnknown`]).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the backend that produced the error.
    pub fn with_backend(mut self, backend: &'static str) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Sets the database path the error concerns.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the path when the error is about the file itself (cannot open, read-only,
    /// corrupt, I/O) and leaves other errors alone. Backends call this on every error.
    pub fn with_file_context(self, path: Option<&Path>) -> Self {
        match (path, self.kind) {
            (
                Some(path),
                ErrorKind::CannotOpen | ErrorKind::ReadOnly | ErrorKind::Corrupt | ErrorKind::Io,
            ) if self.path.is_none() => self.with_path(path),
            _ => self,
        }
    }

    /// Sets the operating system's error behind the failure (SQLite's own messages, such
    /// as "unable to open database file" or "disk I/O error", do not say whether the
    /// disk is full, descriptors ran out or permission was denied). Only errors that
    /// carry an OS error number are recorded.
    pub fn with_os_error(mut self, error: &std::io::Error) -> Self {
        if let Some(code) = error.raw_os_error() {
            self.os_code = Some(code);
        }
        self
    }

    /// The operating system's error behind the failure, when known.
    pub fn os_error(&self) -> Option<std::io::Error> {
        self.os_code.map(std::io::Error::from_raw_os_error)
    }

    /// Sets the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the same operation may succeed if retried later (busy or locked).
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// The backend that reported the error; `None` when it came from this crate.
    pub fn backend(&self) -> Option<&'static str> {
        self.backend
    }

    /// SQLite's extended result code, when SQLite reported the error.
    pub fn extended_code(&self) -> Option<i32> {
        self.extended_code
    }

    /// The message as the backend (or SQLite) worded it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The database file the error concerns, if known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(backend) = self.backend {
            write!(f, "{backend}: ")?;
        }
        write!(f, "{}", self.kind)?;
        if let Some(path) = &self.path {
            write!(f, " `{}`", path.display())?;
        }
        write!(f, ": {}", self.message)?;
        match (self.extended_code, self.os_error()) {
            (Some(code), Some(os)) => write!(f, " (SQLite code {code}; {os})")?,
            (Some(code), None) => write!(f, " (SQLite code {code})")?,
            (None, Some(os)) => write!(f, " ({os})")?,
            (None, None) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(ErrorKind::from_sqlite_code(5), ErrorKind::Busy);
        assert_eq!(ErrorKind::from_sqlite_code(517), ErrorKind::Busy); // BUSY_SNAPSHOT
        assert_eq!(ErrorKind::from_sqlite_code(262), ErrorKind::Busy); // LOCKED_SHAREDCACHE
        assert_eq!(
            ErrorKind::from_sqlite_code(1299),
            ErrorKind::Constraint(ConstraintKind::NotNull)
        );
        assert_eq!(
            ErrorKind::from_sqlite_code(19),
            ErrorKind::Constraint(ConstraintKind::Other)
        );
        assert_eq!(ErrorKind::from_sqlite_code(1), ErrorKind::Sql);
        assert_eq!(ErrorKind::from_sqlite_code(14), ErrorKind::CannotOpen);
        assert_eq!(ErrorKind::from_sqlite_code(1032), ErrorKind::ReadOnly); // READONLY_DBMOVED
        assert_eq!(ErrorKind::from_sqlite_code(26), ErrorKind::Corrupt);
        assert!(ErrorKind::Busy.is_retryable());
        assert!(!ErrorKind::Sql.is_retryable());
    }

    #[test]
    fn display_names_backend_path_and_code() {
        let error = Error::from_sqlite("rusqlite", 14, "unable to open database file")
            .with_file_context(Some(Path::new("/missing/a.db")));
        assert_eq!(
            error.to_string(),
            "rusqlite: cannot open database `/missing/a.db`: unable to open database file (SQLite code 14)"
        );
        let sql = Error::from_sqlite("x", 1, "syntax").with_file_context(Some(Path::new("/a")));
        assert_eq!(sql.path(), None);
        let full = Error::from_sqlite("x", 4874, "disk I/O error")
            .with_os_error(&std::io::Error::from_raw_os_error(28));
        assert_eq!(full.os_error().and_then(|e| e.raw_os_error()), Some(28));
        assert!(
            full.to_string()
                .starts_with("x: I/O error: disk I/O error (SQLite code 4874; "),
            "{full}"
        );
        assert!(full.to_string().contains("os error 28"), "{full}");
    }
}
