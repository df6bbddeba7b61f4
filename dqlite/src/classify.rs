//! Questions a caller asks about an error: was it about leadership, is the connection
//! gone, was the write applied?
//!
//! # The outcome of a write
//!
//! A failed write either was not applied, or may or may not have been ([`WriteOutcome`]).
//! The outcome is unknown when:
//!
//! - the server answered `SQLITE_IOERR_LEADERSHIP_LOST` (10506, legacy 8458): the leader
//!   had appended the commit to its log but lost leadership before it was known to be
//!   committed; the next leader may or may not have it (the dqlite maintainers point to
//!   Raft's dissertation, §6.3). Observed on 1.11.1: such a commit *was* present on the
//!   new leader;
//! - the server answered another I/O error (`SQLITE_IOERR_*`, e.g. raft failing to write
//!   its log) or a bare `SQLITE_ABORT` (the node shutting down during the commit), except
//!   "not leader";
//! - the connection broke, timed out or answered garbage **after** the request was
//!   completely written ([`Fault::Lost`], [`Fault::Malformed`]). Such errors carry extended
//!   code `SQLITE_IOERR` (10) as well, so code that only looks at codes (an I/O error on
//!   `COMMIT` means "unknown") reaches the same answer.
//!
//! Everything else was not applied: SQL errors and constraint violations, "not leader"
//! (10250, legacy 8202: the node refused the request on arrival), a connection that could
//! not be made or broke before the request was completely written, and every refusal of
//! this crate.
//!
//! "Not applied" is about the one statement. After a leadership error or a lost
//! connection the server-side connection is gone: an open transaction was rolled back on
//! the old leader, and the caller must reconnect ([`needs_reconnect`]) and run the whole
//! transaction again (after checking, when the outcome of its `COMMIT` was unknown).

use std::error::Error as _;

use sqlite_runtime::Error;

use crate::error::{
    Fault, LEGACY_SQLITE_IOERR_LEADERSHIP_LOST, LEGACY_SQLITE_IOERR_NOT_LEADER,
    SQLITE_IOERR_LEADERSHIP_LOST, SQLITE_IOERR_NOT_LEADER,
};

/// `SQLITE_IOERR`, the primary code of every I/O error.
const SQLITE_IOERR: i32 = 10;
/// `SQLITE_ABORT`, which 1.11 reports for a commit cut short by the node shutting down.
const SQLITE_ABORT: i32 = 4;
/// `SQLITE_NOTFOUND`: "no database opened" after the server-side connection was closed
/// (leadership loss), or an unknown statement id.
const SQLITE_NOTFOUND: i32 = 12;

/// Whether a failed write was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WriteOutcome {
    /// The write was not applied.
    NotApplied,
    /// The write may or may not have been applied (and replicated): check before
    /// retrying, or make the write idempotent.
    Unknown,
}

/// Whether the write that failed with `error` was applied (see the
/// [module documentation](self) for the rules). Meaningful for writes, and above all
/// for `COMMIT` and autocommit writes.
///
/// ```
/// use sqlite_runtime::Error;
/// use sqlite_runtime_dqlite::{WriteOutcome, write_outcome};
///
/// let lost = Error::from_sqlite("dqlite", 10506, "disk I/O error");
/// assert_eq!(write_outcome(&lost), WriteOutcome::Unknown);
/// let refused = Error::from_sqlite("dqlite", 10250, "not leader");
/// assert_eq!(write_outcome(&refused), WriteOutcome::NotApplied);
/// let constraint = Error::from_sqlite("dqlite", 2067, "UNIQUE constraint failed: t.k");
/// assert_eq!(write_outcome(&constraint), WriteOutcome::NotApplied);
/// ```
pub fn write_outcome(error: &Error) -> WriteOutcome {
    if let Some(fault) = fault(error) {
        return if fault.outcome_unknown() {
            WriteOutcome::Unknown
        } else {
            WriteOutcome::NotApplied
        };
    }
    match error.extended_code() {
        Some(code) if is_not_leader_code(code) => WriteOutcome::NotApplied,
        Some(code) if code & 0xff == SQLITE_IOERR || code == SQLITE_ABORT => WriteOutcome::Unknown,
        _ => WriteOutcome::NotApplied,
    }
}

/// Whether `error` says the node is not (or stopped being) the leader: "not leader" or
/// "leadership lost", current or legacy codes. Reconnect to the new leader.
pub fn is_leadership_error(error: &Error) -> bool {
    error
        .extended_code()
        .is_some_and(|code| is_not_leader_code(code) || is_leadership_lost_code(code))
}

/// Whether `error` is "not leader" (10250 or legacy 8202): the request was refused on
/// arrival and not applied.
pub fn is_not_leader(error: &Error) -> bool {
    error.extended_code().is_some_and(is_not_leader_code)
}

/// Whether `error` is "leadership lost" (10506 or legacy 8458): a commit was cut short
/// by a leader change and its outcome is unknown.
pub fn is_leadership_lost(error: &Error) -> bool {
    error.extended_code().is_some_and(is_leadership_lost_code)
}

/// Whether `error` is a connection failure raised by this crate (could not connect,
/// broken, timed out, malformed answer, no leader found): its source is a [`Fault`].
pub fn is_connection_lost(error: &Error) -> bool {
    fault(error).is_some()
}

/// Whether the connection that returned `error` should be dropped and a new one made
/// through leader discovery: leadership errors, connection failures, and "no database
/// opened" (`SQLITE_NOTFOUND`, which is what a connection gets once its node lost
/// leadership and closed the server-side state). This is go-dqlite's rule for
/// discarding a connection.
pub fn needs_reconnect(error: &Error) -> bool {
    is_leadership_error(error)
        || is_connection_lost(error)
        || error.extended_code() == Some(SQLITE_NOTFOUND)
}

/// The [`Fault`] behind `error`, when this crate raised it for a connection failure.
pub fn fault(error: &Error) -> Option<&Fault> {
    error.source()?.downcast_ref::<Fault>()
}

fn is_not_leader_code(code: i32) -> bool {
    code == SQLITE_IOERR_NOT_LEADER || code == LEGACY_SQLITE_IOERR_NOT_LEADER
}

fn is_leadership_lost_code(code: i32) -> bool {
    code == SQLITE_IOERR_LEADERSHIP_LOST || code == LEGACY_SQLITE_IOERR_LEADERSHIP_LOST
}

#[cfg(test)]
mod tests {
    use std::io;

    use sqlite_runtime::ErrorKind;

    use super::*;
    use crate::error::{failure_error, fault_error, refused};

    #[test]
    fn leadership_codes_are_told_apart() {
        for code in [10250u64, 8202] {
            let error = failure_error(code, "not leader");
            assert!(is_leadership_error(&error));
            assert!(is_not_leader(&error));
            assert!(!is_leadership_lost(&error));
            assert!(needs_reconnect(&error));
            assert_eq!(write_outcome(&error), WriteOutcome::NotApplied);
        }
        for code in [10506u64, 8458] {
            let error = failure_error(code, "disk I/O error");
            assert!(is_leadership_error(&error));
            assert!(is_leadership_lost(&error));
            assert!(!is_not_leader(&error));
            assert!(needs_reconnect(&error));
            assert_eq!(write_outcome(&error), WriteOutcome::Unknown);
        }
    }

    #[test]
    fn sql_errors_are_not_applied_and_keep_the_connection() {
        for code in [1u64, 19, 1555, 2067, 5, 25] {
            let error = failure_error(code, "x");
            assert!(!is_leadership_error(&error));
            assert!(!needs_reconnect(&error));
            assert!(!is_connection_lost(&error));
            assert_eq!(write_outcome(&error), WriteOutcome::NotApplied);
        }
        let no_database = failure_error(12, "no database opened");
        assert!(needs_reconnect(&no_database));
    }

    #[test]
    fn other_io_errors_and_abort_leave_the_outcome_unknown() {
        assert_eq!(
            write_outcome(&failure_error(10, "disk I/O error")),
            WriteOutcome::Unknown
        );
        assert_eq!(
            write_outcome(&failure_error(778, "write")),
            WriteOutcome::Unknown
        );
        assert_eq!(
            write_outcome(&failure_error(4, "abort")),
            WriteOutcome::Unknown
        );
        assert_eq!(
            write_outcome(&failure_error(516, "abort rollback")),
            WriteOutcome::NotApplied
        );
    }

    #[test]
    fn connection_faults() {
        let lost = fault_error(Fault::Lost {
            node: "a".into(),
            source: io::Error::from(io::ErrorKind::TimedOut),
        });
        assert!(is_connection_lost(&lost));
        assert!(needs_reconnect(&lost));
        assert_eq!(write_outcome(&lost), WriteOutcome::Unknown);

        let not_sent = fault_error(Fault::NotSent {
            node: "a".into(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        });
        assert!(is_connection_lost(&not_sent));
        assert_eq!(write_outcome(&not_sent), WriteOutcome::NotApplied);

        let broken = fault_error(Fault::Broken {
            node: "a".into(),
            reason: "earlier".into(),
        });
        assert_eq!(write_outcome(&broken), WriteOutcome::NotApplied);
        assert!(needs_reconnect(&broken));

        let refusal = refused(ErrorKind::Unsupported, "no");
        assert!(!is_connection_lost(&refusal));
        assert!(!needs_reconnect(&refusal));
        assert_eq!(write_outcome(&refusal), WriteOutcome::NotApplied);
    }
}
