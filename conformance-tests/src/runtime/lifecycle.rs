//! Closing, dropping and moving connections.

use std::ops::ControlFlow;
use std::time::Duration;

use sqlite_runtime::{ErrorKind, OpenOptions, Params, params};

use super::support::{assert_kind, count, expect_err};
use crate::{CaseResult, Context};

/// After `close`, every method fails with `Closed`; closing again is fine.
pub(crate) fn lifecycle_closed_database_rejects_everything(cx: &Context) -> CaseResult {
    for mut db in [cx.open_memory()?, cx.open_file("closed.db")?] {
        db.exec("CREATE TABLE t (x)")?;
        assert!(!db.is_closed());
        db.close()?;
        assert!(db.is_closed());
        let errors = [
            expect_err(db.exec("SELECT 1"), "exec"),
            expect_err(db.run("INSERT INTO t VALUES (1)", Params::NONE), "run"),
            expect_err(db.get("SELECT 1", Params::NONE), "get"),
            expect_err(db.all("SELECT 1", Params::NONE), "all"),
            expect_err(
                db.for_each("SELECT 1", Params::NONE, &mut |_| {
                    Ok(ControlFlow::Continue(()))
                }),
                "for_each",
            ),
            expect_err(db.in_transaction(), "in_transaction"),
            expect_err(db.statement_cache_stats(), "statement_cache_stats"),
            expect_err(db.transaction().map(|_| ()), "transaction"),
        ];
        for error in &errors {
            assert_kind(error, ErrorKind::Closed);
            assert!(!error.is_retryable());
            assert_eq!(error.backend(), Some(cx.runtime().backend()));
        }
        db.close()?;
        db.close()?;
        assert!(db.is_closed());
        assert_eq!(db.backend(), cx.runtime().backend());
    }
    Ok(())
}

/// Closing with a transaction open rolls it back and releases the lock.
pub(crate) fn lifecycle_close_rolls_back_open_transaction(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("close.db")?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    a.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")?;
    a.close()?;
    let mut b = cx.open_file_with("close.db", &OpenOptions::new().busy_timeout(Duration::ZERO))?;
    assert_eq!(count(&mut *b, "t")?, 1);
    b.run("INSERT INTO t VALUES (3)", Params::NONE)?;
    Ok(())
}

/// Closing with cached statements (some stopped mid-way) succeeds.
pub(crate) fn lifecycle_close_with_cached_statements(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("cached.db")?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")?;
    for i in 0..10_i64 {
        db.run("INSERT INTO t VALUES (?)", params![i])?;
        db.get("SELECT x FROM t ORDER BY x", Params::NONE)?;
    }
    db.close()?;
    // The WAL was checkpointed and removed by the last close.
    assert!(
        !cx.path("cached.db-wal").exists(),
        "-wal left after the last close"
    );
    let mut db = cx.open_file("cached.db")?;
    assert_eq!(count(&mut *db, "t")?, 13);
    Ok(())
}

/// Dropping a connection without `close` keeps committed data and releases locks.
pub(crate) fn lifecycle_drop_without_close(cx: &Context) -> CaseResult {
    {
        let mut db = cx.open_file("drop.db")?;
        db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1); BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")?;
    }
    let mut db = cx.open_file_with("drop.db", &OpenOptions::new().busy_timeout(Duration::ZERO))?;
    assert_eq!(count(&mut *db, "t")?, 1);
    db.run("INSERT INTO t VALUES (3)", Params::NONE)?;
    Ok(())
}

/// A connection can be moved to another thread and used there.
pub(crate) fn lifecycle_connection_moves_between_threads(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("send.db")?;
    db.exec("CREATE TABLE t (x)")?;
    let mut db = std::thread::spawn(move || -> sqlite_runtime::Result<_> {
        db.run("INSERT INTO t VALUES (1)", Params::NONE)?;
        Ok(db)
    })
    .join()
    .map_err(|_| "the thread panicked")??;
    db.run("INSERT INTO t VALUES (2)", Params::NONE)?;
    assert_eq!(count(&mut *db, "t")?, 2);
    db.close()?;
    Ok(())
}

/// Many connections opened and closed in turn leak nothing that stops the next one.
pub(crate) fn lifecycle_open_close_many_times(cx: &Context) -> CaseResult {
    for i in 0..50_i64 {
        let mut db = cx.open_file("many.db")?;
        db.exec("CREATE TABLE IF NOT EXISTS t (x)")?;
        db.run("INSERT INTO t VALUES (?)", params![i])?;
        if i % 2 == 0 {
            db.close()?;
        }
    }
    let mut db = cx.open_file("many.db")?;
    assert_eq!(count(&mut *db, "t")?, 50);
    Ok(())
}
