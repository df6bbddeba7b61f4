//! Whether a transaction is open, followed client-side: dqlite has no request for
//! SQLite's autocommit flag.
//!
//! Each statement that succeeds moves the state as SQLite would: `BEGIN` opens,
//! `COMMIT`/`END` and `ROLLBACK` close, `SAVEPOINT` opens when nothing is open (and then
//! `RELEASE` of that first savepoint closes), `RELEASE`/`ROLLBACK TO` pop savepoints.
//! Failures mostly leave the state alone, but SQLite rolls a transaction back by itself
//! after some of them (`OR ROLLBACK`, `RAISE(ROLLBACK)`, I/O errors, a full disk, ...)
//! and keeps it open after others (a `COMMIT` failing on a deferred foreign key): after
//! a failure that may have done either, the state is *uncertain*, and the next
//! [`in_transaction`](sqlite_runtime::SqliteDatabase::in_transaction) settles it with one
//! request to the server (see [`PROBE_SQL`]).

use sqlite_runtime::Error;

use crate::sql_scan::StatementKind;

/// Asks the server whether a transaction is open, in one request that changes nothing:
/// inside a transaction `BEGIN` fails ("cannot start a transaction within a
/// transaction") and the batch stops there; outside one, the two statements open and
/// end an empty deferred transaction, which takes no lock.
pub(crate) const PROBE_SQL: &str = "BEGIN; ROLLBACK";

/// What SQLite says when `BEGIN` runs inside a transaction.
const WITHIN_A_TRANSACTION: &str = "within a transaction";

/// `SQLITE_ERROR`: the primary code of errors that never end a transaction (syntax,
/// unknown names, run-time errors of a statement).
const SQLITE_ERROR: i32 = 1;

/// A connection's transaction, as far as the client knows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxState {
    /// Whether a transaction is open (if nothing rolled it back behind our back; see
    /// `uncertain`).
    open: bool,
    /// Whether a `SAVEPOINT` opened it (releasing that savepoint then commits).
    by_savepoint: bool,
    /// The savepoints open, oldest first, by their lower-case names.
    savepoints: Vec<String>,
    /// Whether a failure may have ended (or kept) the transaction without our knowing.
    uncertain: bool,
}

/// What the server answered to [`PROBE_SQL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// It ran: no transaction was open.
    Ran,
    /// `BEGIN` failed because a transaction is open.
    InTransaction,
    /// Something else.
    Failed,
}

impl Probe {
    /// Reads the outcome of [`PROBE_SQL`].
    pub(crate) fn from_result<T>(result: &Result<T, Error>) -> Probe {
        match result {
            Ok(_) => Probe::Ran,
            Err(error) if is_within_a_transaction(error) => Probe::InTransaction,
            Err(_) => Probe::Failed,
        }
    }
}

fn is_within_a_transaction(error: &Error) -> bool {
    error.extended_code() == Some(SQLITE_ERROR) && error.message().contains(WITHIN_A_TRANSACTION)
}

impl TxState {
    /// Whether a transaction is open, unless a failure made that uncertain.
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    /// Whether the state needs settling with [`PROBE_SQL`].
    pub(crate) fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// Whether a transaction may be open.
    pub(crate) fn maybe_open(&self) -> bool {
        self.open || self.uncertain
    }

    /// Whether a transaction is certainly open.
    pub(crate) fn certainly_open(&self) -> bool {
        self.open && !self.uncertain
    }

    /// Whether `kind`, if it succeeds now, may commit: `COMMIT`/`END` while a
    /// transaction may be open, or `RELEASE` of the savepoint that opened it.
    pub(crate) fn commits(&self, kind: &StatementKind) -> bool {
        match kind {
            StatementKind::Commit => self.maybe_open(),
            StatementKind::Release(name) => {
                self.uncertain
                    || (self.open
                        && self.by_savepoint
                        && self.savepoints.iter().rposition(|s| s == name) == Some(0))
            }
            _ => false,
        }
    }

    /// No transaction (a new connection).
    pub(crate) fn reset(&mut self) {
        *self = TxState::default();
    }

    /// Settles an uncertain state with the answer to [`PROBE_SQL`]; `false` when the
    /// answer settles nothing.
    pub(crate) fn settle(&mut self, probe: Probe) -> bool {
        match probe {
            Probe::Ran => {
                self.reset();
                true
            }
            Probe::InTransaction => {
                // Still open: whatever failed did not roll it back, so its savepoints
                // are as they were.
                self.open = true;
                self.uncertain = false;
                true
            }
            Probe::Failed => false,
        }
    }

    /// Moves the state after `kind` succeeded.
    pub(crate) fn after_success(&mut self, kind: &StatementKind) {
        match kind {
            StatementKind::Begin => {
                *self = TxState {
                    open: true,
                    ..TxState::default()
                };
            }
            StatementKind::Commit | StatementKind::Rollback => self.reset(),
            StatementKind::Savepoint(name) => {
                if !self.open {
                    // Outside a transaction it opens one; when uncertain, whether it did
                    // stays unknown.
                    self.open = true;
                    self.by_savepoint = true;
                }
                self.savepoints.push(name.clone());
            }
            StatementKind::Release(name) => match self.savepoints.iter().rposition(|s| s == name) {
                Some(index) => {
                    self.savepoints.truncate(index);
                    if index == 0 && self.by_savepoint && !self.uncertain {
                        self.reset();
                    }
                }
                // SQLite knew a savepoint this state does not.
                None => self.uncertain = true,
            },
            StatementKind::RollbackTo(name) => {
                match self.savepoints.iter().rposition(|s| s == name) {
                    Some(index) => self.savepoints.truncate(index + 1),
                    None => self.uncertain = true,
                }
            }
            StatementKind::Read | StatementKind::Pragma { .. } | StatementKind::Write { .. } => {}
        }
    }

    /// Moves the state after `kind` failed with `error` (on a connection that stays).
    pub(crate) fn after_failure(&mut self, kind: &StatementKind, error: &Error) {
        if is_within_a_transaction(error) {
            // `BEGIN` says it: a transaction is open.
            self.open = true;
            self.uncertain = false;
            return;
        }
        let Some(code) = error.extended_code() else {
            // Refused before it reached SQLite: nothing changed.
            return;
        };
        let harmless = code & 0xff == SQLITE_ERROR && !matches!(kind, StatementKind::Commit);
        if !harmless && self.maybe_open() {
            self.uncertain = true;
        }
    }

    /// A batch ran in one request without the client seeing each statement: the state
    /// after `kinds` succeeded, made uncertain when `trust` is false (its statements may
    /// have been split differently by the server).
    pub(crate) fn after_batch(&mut self, kinds: &[&StatementKind], trust: bool) {
        for kind in kinds {
            self.after_success(kind);
        }
        if !trust {
            self.uncertain = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlite_runtime::ErrorKind;

    use super::*;
    use crate::sql_scan::classify;

    fn run(state: &mut TxState, sql: &str) {
        state.after_success(&classify(sql));
    }

    fn failure(code: i32, message: &str) -> Error {
        Error::from_sqlite("dqlite", code, message)
    }

    #[test]
    fn begin_commit_rollback() {
        let mut state = TxState::default();
        assert!(!state.is_open());
        run(&mut state, "BEGIN IMMEDIATE");
        assert!(state.certainly_open());
        run(&mut state, "INSERT INTO t VALUES (1)");
        assert!(state.is_open());
        assert!(state.commits(&classify("COMMIT")));
        run(&mut state, "COMMIT");
        assert!(!state.maybe_open());
        run(&mut state, "BEGIN");
        run(&mut state, "ROLLBACK TRANSACTION");
        assert!(!state.is_open());
        run(&mut state, "begin deferred");
        run(&mut state, "END");
        assert_eq!(state, TxState::default());
    }

    #[test]
    fn savepoints_nest_and_a_bare_savepoint_opens_a_transaction() {
        let mut state = TxState::default();
        run(&mut state, "SAVEPOINT raw");
        assert!(state.is_open());
        assert!(state.commits(&classify("RELEASE raw")));
        run(&mut state, "SAVEPOINT inner");
        assert!(!state.commits(&classify("RELEASE inner")));
        run(&mut state, "ROLLBACK TO inner");
        assert!(state.is_open());
        run(&mut state, "RELEASE inner");
        assert!(state.is_open());
        run(&mut state, "RELEASE SAVEPOINT RAW");
        assert!(!state.is_open());

        // Inside BEGIN, releasing every savepoint keeps the transaction.
        run(&mut state, "BEGIN");
        run(&mut state, "SAVEPOINT sqlite_runtime_sp1");
        run(&mut state, "SAVEPOINT sqlite_runtime_sp2");
        assert!(!state.commits(&classify("RELEASE sqlite_runtime_sp1")));
        run(&mut state, "RELEASE sqlite_runtime_sp1"); // releases both
        assert!(state.certainly_open());
        run(&mut state, "ROLLBACK");
        assert!(!state.is_open());

        // RELEASE of the outermost of two same-named savepoints releases the inner one.
        run(&mut state, "SAVEPOINT a");
        run(&mut state, "SAVEPOINT a");
        run(&mut state, "RELEASE a");
        assert!(state.is_open());
        run(&mut state, "RELEASE a");
        assert!(!state.is_open());
    }

    #[test]
    fn unknown_savepoints_make_the_state_uncertain() {
        let mut state = TxState::default();
        run(&mut state, "BEGIN");
        run(&mut state, "RELEASE never_seen");
        assert!(state.is_uncertain());
        assert!(state.settle(Probe::InTransaction));
        assert!(state.certainly_open());
        assert!(!state.settle(Probe::Failed));
        assert!(state.settle(Probe::Ran));
        assert!(!state.maybe_open());
    }

    #[test]
    fn failures_that_may_roll_back_make_the_state_uncertain() {
        let mut state = TxState::default();
        let insert = classify("INSERT OR ROLLBACK INTO t VALUES (1)");
        // Outside a transaction nothing can be open afterwards.
        state.after_failure(&insert, &failure(2067, "UNIQUE constraint failed: t.x"));
        assert!(!state.maybe_open());
        run(&mut state, "BEGIN");
        // Syntax and run-time errors keep the transaction.
        state.after_failure(&insert, &failure(1, "near \"SELEC\": syntax error"));
        assert!(state.certainly_open());
        // A refusal before sending changes nothing.
        state.after_failure(
            &insert,
            &Error::new(ErrorKind::Misuse, "1 parameters given"),
        );
        assert!(state.certainly_open());
        // A constraint may come with OR ROLLBACK.
        state.after_failure(&insert, &failure(2067, "UNIQUE constraint failed: t.x"));
        assert!(state.is_uncertain());
        assert!(state.maybe_open());
        assert!(state.commits(&classify("COMMIT")));
        state.settle(Probe::Ran);
        assert!(!state.maybe_open());

        // A failed COMMIT (deferred foreign key) may keep the transaction open.
        run(&mut state, "BEGIN");
        state.after_failure(
            &classify("COMMIT"),
            &failure(787, "FOREIGN KEY constraint failed"),
        );
        assert!(state.is_uncertain());
        // So may a COMMIT that fails with SQLITE_ERROR.
        state.settle(Probe::InTransaction);
        state.after_failure(&classify("COMMIT"), &failure(1, "cannot commit"));
        assert!(state.is_uncertain());
    }

    #[test]
    fn a_nested_begin_proves_a_transaction() {
        let mut state = TxState::default();
        let error = failure(1, "cannot start a transaction within a transaction");
        state.after_failure(&classify("BEGIN"), &error);
        assert!(state.certainly_open());
        assert_eq!(Probe::from_result::<()>(&Err(error)), Probe::InTransaction);
        assert_eq!(Probe::from_result(&Ok(())), Probe::Ran);
        assert_eq!(
            Probe::from_result::<()>(&Err(failure(5, "database is locked"))),
            Probe::Failed
        );
    }

    #[test]
    fn batches_apply_each_statement_and_may_distrust_the_split() {
        let mut state = TxState::default();
        let kinds = [classify("BEGIN"), classify("INSERT INTO t VALUES (1)")];
        state.after_batch(&kinds.iter().collect::<Vec<_>>(), true);
        assert!(state.certainly_open());
        state.after_batch(&[&classify("COMMIT")], false);
        assert!(state.is_uncertain());
        assert!(!state.is_open());
        assert!(state.maybe_open());
    }
}
