//! How a failed statement's error is reported: the kinds callers branch on for a
//! replicated engine ([`ErrorKind::Unavailable`], [`ErrorKind::OutcomeUnknown`]), from
//! [`write_outcome`] and [`needs_reconnect`] and from what the statement was.
//!
//! | the failure | the statement | reported as |
//! |---|---|---|
//! | outcome unknown (connection lost after sending, "leadership lost", another I/O error, an abort) | `COMMIT`/`END`, the `RELEASE` that ends a transaction, a write outside a transaction | [`ErrorKind::OutcomeUnknown`] |
//! | outcome unknown | anything else (a read, a statement inside a transaction, `BEGIN`, `ROLLBACK`, ...): nothing was committed | [`ErrorKind::Unavailable`] |
//! | not applied, and the connection must go ("not leader", connection refused or broken before sending, no leader found, "no database opened") | any | [`ErrorKind::Unavailable`] |
//! | anything else (SQL errors, constraints, busy, refusals) | any | unchanged |
//!
//! The code and message are kept ([`Error::with_kind`]). After an outcome-unknown or
//! reconnect error the connection is dropped (the server rolls back whatever
//! transaction it had) and the next statement runs on a new one.

use sqlite_runtime::{Error, ErrorKind};

use crate::classify::{WriteOutcome, needs_reconnect, write_outcome};
use crate::sql_scan::StatementKind;

use super::tracking::TxState;

/// What a failed statement could have done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// It may have committed: a `COMMIT`, the `RELEASE` ending a transaction, or a write
    /// (a pragma setter included) outside a transaction.
    Commit,
    /// It cannot have committed anything: a read, a statement inside a transaction
    /// (which dies with the connection), transaction control that commits nothing, a
    /// request that runs nothing (PREPARE, OPEN).
    NoCommit,
}

impl Role {
    /// The role of `kind` run in transaction state `tx`.
    pub(crate) fn of(kind: &StatementKind, tx: &TxState) -> Role {
        // A COMMIT may commit whatever the client believes of the transaction: trusting
        // the tracking here could turn a lost commit into "not applied".
        if tx.commits(kind) || matches!(kind, StatementKind::Commit) {
            return Role::Commit;
        }
        let writes = match kind {
            StatementKind::Write { .. } => true,
            StatementKind::Pragma {
                assigns, called, ..
            } => *assigns || *called,
            StatementKind::Read
            | StatementKind::Begin
            | StatementKind::Commit
            | StatementKind::Rollback
            | StatementKind::RollbackTo(_)
            | StatementKind::Savepoint(_)
            | StatementKind::Release(_) => false,
        };
        if writes && !tx.certainly_open() {
            Role::Commit
        } else {
            Role::NoCommit
        }
    }
}

/// A failure as reported, and whether the connection must be dropped.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The error, its kind adjusted.
    pub error: Error,
    /// Whether the connection is unusable or its server-side state (transaction,
    /// statements) must be considered gone.
    pub reconnect: bool,
}

/// Classifies `error`, the failure of a statement playing `role` (see the module
/// documentation).
pub(crate) fn classify_failure(error: Error, role: Role) -> Failure {
    let unknown = write_outcome(&error) == WriteOutcome::Unknown;
    if unknown {
        let kind = match role {
            Role::Commit => ErrorKind::OutcomeUnknown,
            Role::NoCommit => ErrorKind::Unavailable,
        };
        return Failure {
            error: error.with_kind(kind),
            reconnect: true,
        };
    }
    if needs_reconnect(&error) {
        return Failure {
            error: error.with_kind(ErrorKind::Unavailable),
            reconnect: true,
        };
    }
    Failure {
        error,
        reconnect: false,
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::error::{Fault, failure_error, fault_error, refused};
    use crate::sql_scan::classify;

    fn lost() -> Error {
        fault_error(Fault::Lost {
            node: "127.0.0.1:9001".into(),
            source: io::Error::from(io::ErrorKind::ConnectionReset),
        })
    }

    fn not_sent() -> Error {
        fault_error(Fault::NotSent {
            node: "127.0.0.1:9001".into(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        })
    }

    fn in_transaction() -> TxState {
        let mut tx = TxState::default();
        tx.after_success(&classify("BEGIN"));
        tx
    }

    #[test]
    fn roles_follow_the_statement_and_the_transaction() {
        let none = TxState::default();
        let open = in_transaction();
        for (sql, outside, inside) in [
            // Whatever the client believes: a lost COMMIT is never "not applied".
            ("COMMIT", Role::Commit, Role::Commit),
            ("END", Role::Commit, Role::Commit),
            ("INSERT INTO t VALUES (1)", Role::Commit, Role::NoCommit),
            ("CREATE TABLE t (x)", Role::Commit, Role::NoCommit),
            ("PRAGMA user_version = 1", Role::Commit, Role::NoCommit),
            ("PRAGMA user_version", Role::NoCommit, Role::NoCommit),
            ("SELECT 1", Role::NoCommit, Role::NoCommit),
            ("BEGIN IMMEDIATE", Role::NoCommit, Role::NoCommit),
            ("ROLLBACK", Role::NoCommit, Role::NoCommit),
            ("SAVEPOINT a", Role::NoCommit, Role::NoCommit),
        ] {
            assert_eq!(Role::of(&classify(sql), &none), outside, "{sql} outside");
            assert_eq!(Role::of(&classify(sql), &open), inside, "{sql} inside");
        }
        // The RELEASE of the savepoint that opened the transaction commits it.
        let mut savepoint = TxState::default();
        savepoint.after_success(&classify("SAVEPOINT a"));
        assert_eq!(Role::of(&classify("RELEASE a"), &savepoint), Role::Commit);
        savepoint.after_success(&classify("SAVEPOINT b"));
        assert_eq!(Role::of(&classify("RELEASE b"), &savepoint), Role::NoCommit);
        // When a failure left the state uncertain, a write may be in autocommit mode.
        let mut uncertain = in_transaction();
        uncertain.after_failure(
            &classify("INSERT OR ROLLBACK INTO t VALUES (1)"),
            &Error::from_sqlite("dqlite", 2067, "UNIQUE"),
        );
        assert_eq!(
            Role::of(&classify("INSERT INTO t VALUES (2)"), &uncertain),
            Role::Commit
        );
    }

    #[test]
    fn unknown_outcomes_are_outcome_unknown_only_where_something_may_commit() {
        for error in [
            lost(),
            failure_error(10506, "disk I/O error"),
            failure_error(4, "abort"),
        ] {
            let code = error.extended_code();
            let commit = classify_failure(error, Role::Commit);
            assert_eq!(commit.error.kind(), ErrorKind::OutcomeUnknown);
            assert_eq!(commit.error.extended_code(), code, "the code is kept");
            assert_eq!(commit.error.backend(), Some("dqlite"));
            assert!(commit.reconnect);
        }
        let inside = classify_failure(lost(), Role::NoCommit);
        assert_eq!(inside.error.kind(), ErrorKind::Unavailable);
        assert!(inside.error.is_retryable());
        assert!(inside.reconnect);
        assert!(
            crate::classify::fault(&inside.error).is_some(),
            "the fault stays the source"
        );
    }

    #[test]
    fn refusals_before_anything_ran_are_unavailable() {
        let errors: [fn() -> Error; 5] = [
            not_sent,
            || failure_error(10250, "not leader"),
            || failure_error(8202, "not leader"),
            || failure_error(12, "no database opened"),
            || {
                fault_error(Fault::NoLeader {
                    nodes: vec!["127.0.0.1:1".into()],
                    attempts: vec!["127.0.0.1:1: refused".into()],
                })
            },
        ];
        for make in errors {
            for role in [Role::Commit, Role::NoCommit] {
                let failure = classify_failure(make(), role);
                assert_eq!(
                    failure.error.kind(),
                    ErrorKind::Unavailable,
                    "{}",
                    failure.error
                );
                assert!(failure.reconnect);
            }
        }
    }

    #[test]
    fn ordinary_errors_are_unchanged() {
        for error in [
            failure_error(2067, "UNIQUE constraint failed: t.x"),
            failure_error(1, "no such table: t"),
            failure_error(5, "database is locked"),
            failure_error(517, "database is locked"),
            refused(ErrorKind::Unsupported, "RETURNING is not supported"),
        ] {
            let kind = error.kind();
            let failure = classify_failure(error, Role::Commit);
            assert_eq!(failure.error.kind(), kind);
            assert!(!failure.reconnect);
        }
    }
}
