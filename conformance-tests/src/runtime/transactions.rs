//! Transaction and savepoint guards.

use sqlite_runtime::{
    ConstraintKind, ErrorKind, Params, SqliteDatabase, TransactionBehavior, Value, params,
};

use super::support::{assert_kind, column, count, expect_err};
use crate::{CaseResult, Context};

fn insert(db: &mut dyn SqliteDatabase, x: i64) -> sqlite_runtime::Result<()> {
    db.run("INSERT INTO t VALUES (?)", params![x]).map(|_| ())
}

fn xs(db: &mut dyn SqliteDatabase) -> sqlite_runtime::Result<Vec<i64>> {
    column(db, "SELECT x FROM t ORDER BY x")?
        .into_iter()
        .map(|v| match v {
            Value::Integer(i) => Ok(i),
            other => Err(sqlite_runtime::Error::new(
                ErrorKind::TypeMismatch,
                format!("unexpected {other:?}"),
            )),
        })
        .collect()
}

/// A committed transaction persists, across handles and reopening.
pub(crate) fn tx_commit_persists(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("commit.db")?;
    db.exec("CREATE TABLE t (x)")?;
    let mut tx = db.transaction()?;
    insert(&mut *tx, 1)?;
    insert(&mut *tx, 2)?;
    tx.commit()?;
    assert!(!db.in_transaction()?);
    let mut other = cx.open_file("commit.db")?;
    assert_eq!(xs(&mut *other)?, [1, 2]);
    db.close()?;
    other.close()?;
    let mut reopened = cx.open_file("commit.db")?;
    assert_eq!(xs(&mut *reopened)?, [1, 2]);
    Ok(())
}

/// An explicit rollback discards the transaction's work.
pub(crate) fn tx_rollback_discards(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("rollback.db")?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    let mut tx = db.transaction()?;
    insert(&mut *tx, 2)?;
    tx.run("DELETE FROM t WHERE x = 1", Params::NONE)?;
    assert_eq!(xs(&mut *tx)?, [2]);
    tx.rollback()?;
    assert!(!db.in_transaction()?);
    assert_eq!(xs(&mut *db)?, [1]);
    Ok(())
}

/// Dropping a transaction without committing rolls it back, also on early return.
pub(crate) fn tx_drop_rolls_back(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("drop.db")?;
    db.exec("CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1);")?;
    {
        let mut tx = db.transaction()?;
        insert(&mut *tx, 2)?;
    }
    assert!(!db.in_transaction()?);
    assert_eq!(xs(&mut *db)?, [1]);
    // The `?` early-return pattern: the failure inside leaves nothing behind.
    let attempt = |db: &mut dyn SqliteDatabase| -> sqlite_runtime::Result<()> {
        let mut tx = db.transaction()?;
        insert(&mut *tx, 3)?;
        insert(&mut *tx, 1)?; // duplicate: returns early
        tx.commit()
    };
    let error = expect_err(attempt(&mut *db), "a transaction with a failing statement");
    assert_kind(&error, ErrorKind::Constraint(ConstraintKind::Unique));
    assert!(!db.in_transaction()?);
    assert_eq!(xs(&mut *db)?, [1]);
    // Another connection can write at once: the lock was released.
    let mut other = cx.open_file_with(
        "drop.db",
        &sqlite_runtime::OpenOptions::new().busy_timeout(std::time::Duration::ZERO),
    )?;
    insert(&mut *other, 4)?;
    Ok(())
}

/// `in_transaction` follows BEGIN, COMMIT and ROLLBACK, through guards and raw SQL.
pub(crate) fn tx_in_transaction_reflects_state(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x)")?;
    assert!(!db.in_transaction()?);
    {
        let mut tx = db.transaction()?;
        assert!(tx.in_transaction()?);
        {
            let mut sp = tx.savepoint()?;
            assert!(sp.in_transaction()?);
            sp.commit()?;
        }
        assert!(tx.in_transaction()?);
        tx.commit()?;
    }
    assert!(!db.in_transaction()?);
    for behavior in [
        TransactionBehavior::Deferred,
        TransactionBehavior::Immediate,
        TransactionBehavior::Exclusive,
    ] {
        let mut tx = db.transaction_with(behavior)?;
        assert!(tx.in_transaction()?, "{behavior:?}");
        tx.rollback()?;
        assert!(!db.in_transaction()?, "{behavior:?}");
    }
    db.exec("BEGIN")?;
    assert!(db.in_transaction()?);
    db.exec("ROLLBACK")?;
    assert!(!db.in_transaction()?);
    db.exec("SAVEPOINT raw")?;
    assert!(db.in_transaction()?, "a bare SAVEPOINT opens a transaction");
    db.exec("RELEASE raw")?;
    assert!(!db.in_transaction()?);
    Ok(())
}

/// Rolling back an inner savepoint keeps the outer transaction's work.
pub(crate) fn tx_savepoint_inner_rollback_keeps_outer(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x)")?;
    let mut tx = db.transaction()?;
    insert(&mut *tx, 1)?;
    {
        let mut sp = tx.savepoint()?;
        insert(&mut *sp, 2)?;
        assert_eq!(xs(&mut *sp)?, [1, 2]);
        sp.rollback()?;
    }
    assert_eq!(xs(&mut *tx)?, [1]);
    {
        let mut sp = tx.savepoint()?;
        insert(&mut *sp, 3)?;
        // dropped: rolled back
    }
    assert!(tx.in_transaction()?);
    insert(&mut *tx, 4)?;
    tx.commit()?;
    assert_eq!(xs(&mut *db)?, [1, 4]);
    Ok(())
}

/// A released savepoint's work belongs to its parent: rolling the parent back
/// discards both.
pub(crate) fn tx_savepoint_release_then_outer_rollback(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x)")?;
    let mut tx = db.transaction()?;
    insert(&mut *tx, 1)?;
    {
        let mut sp = tx.savepoint()?;
        insert(&mut *sp, 2)?;
        sp.commit()?;
    }
    assert_eq!(xs(&mut *tx)?, [1, 2]);
    tx.rollback()?;
    assert_eq!(xs(&mut *db)?, Vec::<i64>::new());
    Ok(())
}

/// Three levels of savepoints, each ending differently.
pub(crate) fn tx_savepoints_three_levels(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x)")?;
    let mut tx = db.transaction()?;
    insert(&mut *tx, 1)?;
    {
        let mut sp1 = tx.savepoint()?;
        insert(&mut *sp1, 2)?;
        {
            let mut sp2 = sp1.savepoint()?;
            insert(&mut *sp2, 3)?;
            {
                let mut sp3 = sp2.savepoint()?;
                insert(&mut *sp3, 4)?;
                assert_eq!(xs(&mut *sp3)?, [1, 2, 3, 4]);
                sp3.rollback()?;
            }
            assert_eq!(xs(&mut *sp2)?, [1, 2, 3]);
            {
                let mut sp3 = sp2.savepoint()?;
                insert(&mut *sp3, 5)?;
                sp3.commit()?;
            }
            assert_eq!(xs(&mut *sp2)?, [1, 2, 3, 5]);
            sp2.commit()?;
        }
        assert_eq!(xs(&mut *sp1)?, [1, 2, 3, 5]);
        sp1.rollback()?;
    }
    assert_eq!(xs(&mut *tx)?, [1]);
    {
        let mut sp1 = tx.savepoint()?;
        {
            let mut sp2 = sp1.savepoint()?;
            insert(&mut *sp2, 6)?;
            sp2.commit()?;
        }
        sp1.commit()?;
    }
    tx.commit()?;
    assert_eq!(xs(&mut *db)?, [1, 6]);
    Ok(())
}

/// A statement that fails inside a transaction leaves the transaction open and usable.
pub(crate) fn tx_failed_statement_keeps_transaction(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x INTEGER UNIQUE CHECK (x > 0))")?;
    let mut tx = db.transaction()?;
    insert(&mut *tx, 1)?;
    let error = expect_err(insert(&mut *tx, 1), "duplicate");
    assert_kind(&error, ErrorKind::Constraint(ConstraintKind::Unique));
    assert!(tx.in_transaction()?);
    let error = expect_err(insert(&mut *tx, -1), "check");
    assert_kind(&error, ErrorKind::Constraint(ConstraintKind::Check));
    let error = expect_err(tx.exec("SELEC"), "syntax");
    assert_kind(&error, ErrorKind::Sql);
    let error = expect_err(tx.exec("BEGIN"), "nested BEGIN");
    assert_kind(&error, ErrorKind::Sql);
    assert!(error.message().contains("within a transaction"), "{error}");
    assert!(tx.in_transaction()?);
    insert(&mut *tx, 2)?;
    tx.commit()?;
    assert_eq!(xs(&mut *db)?, [1, 2]);
    Ok(())
}

/// A conflict clause that rolls the whole transaction back ends it; the guard then
/// neither fails nor rolls back anything else on drop.
pub(crate) fn tx_or_rollback_ends_transaction(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1);")?;
    {
        let mut tx = db.transaction()?;
        insert(&mut *tx, 2)?;
        let error = expect_err(
            tx.run("INSERT OR ROLLBACK INTO t VALUES (1)", Params::NONE),
            "OR ROLLBACK conflict",
        );
        assert_kind(&error, ErrorKind::Constraint(ConstraintKind::Unique));
        assert!(!tx.in_transaction()?, "OR ROLLBACK ends the transaction");
    }
    assert!(!db.in_transaction()?);
    assert_eq!(xs(&mut *db)?, [1]);
    insert(&mut *db, 3)?;
    assert_eq!(xs(&mut *db)?, [1, 3]);
    Ok(())
}

/// A commit that fails (a deferred foreign key still violated) reports the constraint;
/// SQLite keeps the transaction open so it can be fixed or rolled back.
pub(crate) fn tx_failed_commit_reports_constraint(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
    )?;
    let mut tx = db.transaction()?;
    tx.run("INSERT INTO child VALUES (7)", Params::NONE)?; // not checked yet
    let error = expect_err(tx.commit(), "commit with a dangling deferred reference");
    assert_kind(&error, ErrorKind::Constraint(ConstraintKind::ForeignKey));
    assert_eq!(error.extended_code(), Some(787));
    // SQLite keeps the transaction open after the failed COMMIT; the guard rolled it back.
    assert!(
        !db.in_transaction()?,
        "a failed commit must not leave a transaction open"
    );
    assert_eq!(count(&mut *db, "child")?, 0);
    // With the reference satisfied, the same work commits.
    let mut tx = db.transaction()?;
    tx.run("INSERT INTO child VALUES (7)", Params::NONE)?;
    tx.run("INSERT INTO parent VALUES (7)", Params::NONE)?;
    tx.commit()?;
    assert_eq!(count(&mut *db, "child")?, 1);
    Ok(())
}

/// A deferred transaction takes no write lock until it writes.
pub(crate) fn tx_deferred_takes_no_lock_until_write(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("deferred.db")?;
    a.exec("CREATE TABLE t (x)")?;
    let mut b = cx.open_file_with(
        "deferred.db",
        &sqlite_runtime::OpenOptions::new().busy_timeout(std::time::Duration::ZERO),
    )?;
    let mut tx = a.transaction_with(TransactionBehavior::Deferred)?;
    assert_eq!(count(&mut *tx, "t")?, 0);
    insert(&mut *b, 1)?; // no conflict: A holds no write lock
    tx.commit()?;
    let tx = a.transaction()?; // IMMEDIATE: the write lock is taken at BEGIN
    let error = expect_err(insert(&mut *b, 2), "write against BEGIN IMMEDIATE");
    assert_kind(&error, ErrorKind::Busy);
    tx.rollback()?;
    insert(&mut *b, 2)?;
    Ok(())
}
