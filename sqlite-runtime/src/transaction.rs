//! Transactions and savepoints as guards: commit explicitly, roll back on drop.

use std::ops::{Deref, DerefMut};

use crate::{Params, Result, SqliteDatabase};

/// How `BEGIN` acquires locks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TransactionBehavior {
    /// `BEGIN DEFERRED`: locks are taken on first use. A deferred transaction that reads
    /// and then writes must upgrade its lock, and SQLite fails that upgrade at once with
    /// `SQLITE_BUSY` (no busy handler) when another writer got there first. Only for
    /// read transactions.
    Deferred,
    /// `BEGIN IMMEDIATE`: takes the write lock up front, waiting up to the busy timeout.
    /// The right choice for any transaction that may write.
    #[default]
    Immediate,
    /// `BEGIN EXCLUSIVE`: also keeps readers out (in rollback-journal modes).
    Exclusive,
}

impl TransactionBehavior {
    fn begin_sql(self) -> &'static str {
        match self {
            TransactionBehavior::Deferred => "BEGIN DEFERRED",
            TransactionBehavior::Immediate => "BEGIN IMMEDIATE",
            TransactionBehavior::Exclusive => "BEGIN EXCLUSIVE",
        }
    }
}

/// An open transaction or savepoint. It derefs to the database, so statements run
/// through it. [`commit`](Transaction::commit) makes its work durable; dropping it
/// without committing rolls back.
///
/// ```no_run
/// use sqlite_runtime::{OpenOptions, Params, Result, SqliteRuntime, Target};
///
/// fn transfer(runtime: &dyn SqliteRuntime) -> Result<()> {
///     let mut db = runtime.open(&Target::file("bank.db"), &OpenOptions::new())?;
///     let mut tx = db.transaction()?; // BEGIN IMMEDIATE
///     tx.run("UPDATE accounts SET balance = balance - 10 WHERE id = 1", Params::NONE)?;
///     {
///         let mut savepoint = tx.savepoint()?;
///         savepoint.run("UPDATE accounts SET balance = balance + 10 WHERE id = 2", Params::NONE)?;
///         savepoint.commit()?; // RELEASE
///     }
///     tx.commit() // COMMIT; an early return above would have rolled back
/// }
/// ```
#[must_use = "a transaction rolls back when dropped: call commit()"]
pub struct Transaction<'db> {
    db: &'db mut dyn SqliteDatabase,
    /// 0 for the outer transaction, n for the n-th nested savepoint.
    depth: usize,
    finished: bool,
}

impl dyn SqliteDatabase + '_ {
    /// Begins a write transaction (`BEGIN IMMEDIATE`).
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.transaction_with(TransactionBehavior::Immediate)
    }

    /// Begins a transaction with the given locking behaviour.
    pub fn transaction_with(&mut self, behavior: TransactionBehavior) -> Result<Transaction<'_>> {
        control(self, behavior.begin_sql())?;
        Ok(Transaction {
            db: self,
            depth: 0,
            finished: false,
        })
    }
}

/// Runs a transaction-control statement through `run`, so that the backend's statement
/// cache keeps it prepared (`exec` prepares its SQL every time).
fn control(db: &mut dyn SqliteDatabase, sql: &str) -> Result<()> {
    db.run(sql, Params::NONE).map(drop)
}

fn savepoint_name(depth: usize) -> String {
    format!("sqlite_runtime_sp{depth}")
}

impl Transaction<'_> {
    /// Opens a nested savepoint; rolling it back undoes only what ran inside it.
    pub fn savepoint(&mut self) -> Result<Transaction<'_>> {
        let depth = self.depth + 1;
        control(
            &mut *self.db,
            &format!("SAVEPOINT {}", savepoint_name(depth)),
        )?;
        Ok(Transaction {
            db: &mut *self.db,
            depth,
            finished: false,
        })
    }

    /// Commits the transaction, or releases the savepoint into its parent.
    ///
    /// When the commit fails (a deferred constraint, a busy database), SQLite may keep the
    /// transaction open; the guard then rolls it back as it is dropped, so a failed commit
    /// never leaves a transaction open behind the caller's back.
    pub fn commit(mut self) -> Result<()> {
        if self.depth == 0 {
            control(&mut *self.db, "COMMIT")?;
        } else {
            let release = format!("RELEASE {}", savepoint_name(self.depth));
            control(&mut *self.db, &release)?;
        }
        self.finished = true;
        Ok(())
    }

    /// Rolls back everything done in this transaction or savepoint.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        self.rollback_now()
    }

    fn rollback_now(&mut self) -> Result<()> {
        if self.depth == 0 {
            control(&mut *self.db, "ROLLBACK")
        } else {
            let name = savepoint_name(self.depth);
            control(&mut *self.db, &format!("ROLLBACK TO {name}"))?;
            control(&mut *self.db, &format!("RELEASE {name}"))
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.finished || self.db.is_closed() {
            return;
        }
        // A failed statement may already have ended the transaction (SQLite rolls back
        // on some errors); only roll back what is still open.
        if self.depth == 0 && !self.db.in_transaction().unwrap_or(true) {
            return;
        }
        if let Err(error) = self.rollback_now() {
            tracing::warn!(%error, depth = self.depth, "rollback on drop failed");
        }
    }
}

impl<'db> Deref for Transaction<'db> {
    type Target = dyn SqliteDatabase + 'db;

    fn deref(&self) -> &Self::Target {
        &*self.db
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut *self.db
    }
}
