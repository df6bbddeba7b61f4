//! How failures become [`sqlite_runtime::Error`]s.
//!
//! - A FAILURE response becomes [`Error::from_sqlite`] with the code the server sent
//!   (an extended SQLite result code), so the kind follows SQLite's: 1555 is a
//!   primary-key constraint, 1 an SQL error, 10250 ("not leader") an I/O error.
//! - A connection that cannot be made, breaks, times out or answers garbage becomes an
//!   [`ErrorKind::Io`] error whose [source](std::error::Error::source) is a [`Fault`]
//!   saying which, and whether the request had been sent (see
//!   [`write_outcome`](crate::write_outcome)).
//! - What the protocol or the installed server cannot take is refused before anything
//!   is sent, as [`ErrorKind::Unsupported`] or [`ErrorKind::Misuse`].

use std::io;

use sqlite_runtime::{Error, ErrorKind};

use crate::wire::{DecodeError, EncodeError};

/// The backend name every error of this crate carries.
pub const BACKEND: &str = "dqlite";

/// `SQLITE_IOERR_NOT_LEADER`: the node was not the leader when the request arrived;
/// nothing was applied.
pub const SQLITE_IOERR_NOT_LEADER: i32 = 10 | (40 << 8);

/// `SQLITE_IOERR_LEADERSHIP_LOST`: the node lost leadership while a commit was being
/// replicated; the commit may or may not survive.
pub const SQLITE_IOERR_LEADERSHIP_LOST: i32 = 10 | (41 << 8);

/// The value of "not leader" in dqlite releases before 1.11 (`10 | 32 << 8`).
pub const LEGACY_SQLITE_IOERR_NOT_LEADER: i32 = 10 | (32 << 8);

/// The value of "leadership lost" in dqlite releases before 1.11 (`10 | 33 << 8`).
pub const LEGACY_SQLITE_IOERR_LEADERSHIP_LOST: i32 = 10 | (33 << 8);

/// `SQLITE_IOERR`: the code this crate gives a connection failure after which the
/// request's outcome is unknown (see [`Fault::Lost`]).
pub(crate) const SQLITE_IOERR: i32 = 10;

/// What went wrong with a connection: the source of every [`ErrorKind::Io`] error this
/// crate raises itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Fault {
    /// The node could not be reached (refused, unreachable, timed out while connecting).
    #[error("cannot connect to dqlite node {node}")]
    Connect {
        /// The address dialled.
        node: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The connection failed before the request was completely written: the server
    /// cannot have run it.
    #[error("connection to dqlite node {node} lost before the request was sent")]
    NotSent {
        /// The node's address.
        node: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The connection failed, or no answer came in time, after the request was written:
    /// the server may or may not have run it.
    #[error(
        "connection to dqlite node {node} lost after the request was sent; its outcome is unknown"
    )]
    Lost {
        /// The node's address.
        node: String,
        /// The failure (a timeout when the node stopped answering).
        #[source]
        source: io::Error,
    },
    /// The answer could not be decoded, or did not answer the request; the request's
    /// outcome is unknown.
    #[error("malformed response from dqlite node {node}; the outcome of the request is unknown")]
    Malformed {
        /// The node's address.
        node: String,
        /// What was wrong.
        #[source]
        source: DecodeError,
    },
    /// No answer came while another node took the lead: the node this connection was
    /// sent to is stopped, cut off or deposed. The request's outcome is unknown.
    #[error(
        "dqlite node {node} stopped answering and {leader} now leads; the outcome of the request is unknown"
    )]
    Deposed {
        /// The node the request was sent to.
        node: String,
        /// The leader the other nodes follow now.
        leader: String,
    },
    /// The connection failed earlier and was not used again.
    #[error("the connection to dqlite node {node} is unusable after an earlier failure ({reason})")]
    Broken {
        /// The node's address.
        node: String,
        /// The earlier failure.
        reason: String,
    },
    /// No node led to a leader.
    #[error("no dqlite leader found among {nodes:?}: {}", attempts.join("; "))]
    NoLeader {
        /// The addresses tried.
        nodes: Vec<String>,
        /// What each attempt ended with.
        attempts: Vec<String>,
    },
}

impl Fault {
    /// Whether the request may have been run by the server.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            Fault::Lost { .. } | Fault::Malformed { .. } | Fault::Deposed { .. }
        )
    }

    /// The I/O error behind the fault, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Fault::Connect { source, .. }
            | Fault::NotSent { source, .. }
            | Fault::Lost { source, .. } => Some(source),
            Fault::Malformed { .. }
            | Fault::Deposed { .. }
            | Fault::Broken { .. }
            | Fault::NoLeader { .. } => None,
        }
    }
}

/// The error for a connection fault: [`ErrorKind::Io`], with the fault as its source.
///
/// When the request's outcome is unknown the error also carries extended code
/// `SQLITE_IOERR` (10), so that code that treats an I/O error on `COMMIT` as "may or
/// may not be written" (as the project's drivers do) treats a lost connection the
/// same way. Faults before anything was sent carry no code.
///
/// The message is the fault's, followed by its cause, except an OS error, which
/// [`Error`]'s `Display` adds itself (from [`Error::os_error`]).
pub(crate) fn fault_error(fault: Fault) -> Error {
    let mut message = fault.to_string();
    let cause = match &fault {
        Fault::Malformed { source, .. } => Some(source.to_string()),
        other => other
            .io_error()
            .filter(|io| io.raw_os_error().is_none())
            .map(io::Error::to_string),
    };
    if let Some(cause) = cause {
        message.push_str(": ");
        message.push_str(&cause);
    }
    let error = if fault.outcome_unknown() {
        Error::from_sqlite(BACKEND, SQLITE_IOERR, message)
    } else {
        Error::new(ErrorKind::Io, message).with_backend(BACKEND)
    };
    let error = match fault.io_error() {
        Some(io) => error.with_os_error(io),
        None => error,
    };
    error.with_source(fault)
}

/// How an error reads inside another message: its message, and its OS error if any.
pub(crate) fn describe(error: &Error) -> String {
    match error.os_error() {
        Some(os) => format!("{}: {os}", error.message()),
        None => error.message().to_owned(),
    }
}

/// The error for a FAILURE response.
pub(crate) fn failure_error(code: u64, message: &str) -> Error {
    match i32::try_from(code) {
        // dqlite 1.11 sends 0 only for "empty statement" (PREPARE or QUERY_SQL of blank
        // SQL): SQLite's prepare would report no error, so this is the caller's misuse.
        Ok(0) => Error::new(ErrorKind::Misuse, message).with_backend(BACKEND),
        Ok(code) => Error::from_sqlite(BACKEND, code, message),
        Err(_) => Error::new(ErrorKind::Other, format!("{message} (dqlite code {code})"))
            .with_backend(BACKEND),
    }
}

/// The error for a request that cannot be encoded (nothing was sent).
pub(crate) fn encode_error(error: EncodeError) -> Error {
    let kind = match error {
        EncodeError::NulInSql | EncodeError::NulInName => ErrorKind::Misuse,
        EncodeError::NulInText { .. }
        | EncodeError::TooManyParams { .. }
        | EncodeError::TooLarge { .. } => ErrorKind::Unsupported,
        EncodeError::Unaligned { .. } => ErrorKind::Other,
    };
    Error::new(kind, error.to_string()).with_backend(BACKEND)
}

/// An error of `kind` raised by this crate before anything was sent.
pub(crate) fn refused(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_backend(BACKEND)
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use sqlite_runtime::ConstraintKind;

    use super::*;

    #[test]
    fn leadership_codes() {
        assert_eq!(SQLITE_IOERR_NOT_LEADER, 10250);
        assert_eq!(SQLITE_IOERR_LEADERSHIP_LOST, 10506);
        assert_eq!(LEGACY_SQLITE_IOERR_NOT_LEADER, 8202);
        assert_eq!(LEGACY_SQLITE_IOERR_LEADERSHIP_LOST, 8458);
    }

    #[test]
    fn failures_keep_the_servers_code_and_message() {
        let error = failure_error(1555, "UNIQUE constraint failed: kv.key");
        assert_eq!(
            error.kind(),
            ErrorKind::Constraint(ConstraintKind::PrimaryKey)
        );
        assert_eq!(error.extended_code(), Some(1555));
        assert_eq!(error.backend(), Some("dqlite"));
        assert_eq!(error.message(), "UNIQUE constraint failed: kv.key");
        assert_eq!(failure_error(1, "syntax").kind(), ErrorKind::Sql);
        let not_leader = failure_error(10250, "not leader");
        assert_eq!(not_leader.kind(), ErrorKind::Io);
        assert_eq!(
            failure_error(5, "database is locked").kind(),
            ErrorKind::Busy
        );
        assert_eq!(
            failure_error(0, "empty statement").kind(),
            ErrorKind::Misuse
        );
        let odd = failure_error(u64::MAX, "odd");
        assert_eq!(odd.kind(), ErrorKind::Other);
        assert!(odd.message().contains("odd"));
    }

    #[test]
    fn faults_are_io_errors_with_a_source() {
        let lost = fault_error(Fault::Lost {
            node: "127.0.0.1:9001".into(),
            source: io::Error::from(io::ErrorKind::ConnectionReset),
        });
        assert_eq!(lost.kind(), ErrorKind::Io);
        assert_eq!(lost.extended_code(), Some(SQLITE_IOERR));
        assert!(lost.message().contains("outcome is unknown"), "{lost}");
        assert!(lost.message().contains("127.0.0.1:9001"), "{lost}");
        let source = lost.source().and_then(|s| s.downcast_ref::<Fault>());
        assert!(matches!(source, Some(Fault::Lost { .. })));

        let not_sent = fault_error(Fault::NotSent {
            node: "n".into(),
            source: io::Error::from_raw_os_error(32),
        });
        assert_eq!(not_sent.kind(), ErrorKind::Io);
        assert_eq!(not_sent.extended_code(), None);
        assert_eq!(not_sent.os_error().and_then(|e| e.raw_os_error()), Some(32));
    }

    #[test]
    fn unencodable_requests() {
        assert_eq!(
            encode_error(EncodeError::NulInText { index: 1 }).kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            encode_error(EncodeError::NulInSql).kind(),
            ErrorKind::Misuse
        );
        assert_eq!(
            encode_error(EncodeError::TooManyParams { count: 300 }).kind(),
            ErrorKind::Unsupported
        );
    }
}
