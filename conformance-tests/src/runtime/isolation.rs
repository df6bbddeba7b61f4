//! Several handles: what each sees of the others.

use std::ops::ControlFlow;

use sqlite_runtime::{ErrorKind, Params, TransactionBehavior, params};

use super::support::{assert_kind, count, expect_err};
use crate::{CaseResult, Context};

/// Two handles on one file see each other's commits.
pub(crate) fn isolation_handles_see_commits(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("shared.db")?;
    let mut b = cx.open_file("shared.db")?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    assert_eq!(count(&mut *b, "t")?, 1);
    b.run("INSERT INTO t VALUES (2)", Params::NONE)?;
    assert_eq!(count(&mut *a, "t")?, 2);
    let mut tx = b.transaction()?;
    tx.run("INSERT INTO t VALUES (3)", Params::NONE)?;
    tx.commit()?;
    assert_eq!(count(&mut *a, "t")?, 3);
    Ok(())
}

/// Uncommitted writes stay invisible to other handles, and vanish on rollback.
pub(crate) fn isolation_uncommitted_writes_invisible(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("iso.db")?;
    let mut b = cx.open_file("iso.db")?;
    a.exec("CREATE TABLE t (x)")?;
    {
        let mut tx = a.transaction()?;
        tx.run("INSERT INTO t VALUES (1)", Params::NONE)?;
        assert_eq!(
            count(&mut *tx, "t")?,
            1,
            "a transaction sees its own writes"
        );
        assert_eq!(count(&mut *b, "t")?, 0, "others do not");
        tx.rollback()?;
    }
    assert_eq!(count(&mut *b, "t")?, 0);
    assert_eq!(count(&mut *a, "t")?, 0);
    Ok(())
}

/// A read transaction keeps one snapshot until it ends.
pub(crate) fn isolation_read_transaction_is_a_snapshot(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("snap.db")?;
    let mut b = cx.open_file("snap.db")?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    {
        let mut reader = b.transaction_with(TransactionBehavior::Deferred)?;
        assert_eq!(count(&mut *reader, "t")?, 1);
        a.run("INSERT INTO t VALUES (2)", Params::NONE)?;
        assert_eq!(count(&mut *reader, "t")?, 1, "the snapshot must not move");
        reader.commit()?;
    }
    assert_eq!(count(&mut *b, "t")?, 2);
    Ok(())
}

/// Each `:memory:` handle is a private database.
pub(crate) fn isolation_memory_handles_are_private(cx: &Context) -> CaseResult {
    let mut a = cx.open_memory()?;
    let mut b = cx.open_memory()?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    let error = expect_err(
        b.get("SELECT * FROM t", Params::NONE),
        "another memory db's table",
    );
    assert_kind(&error, ErrorKind::Sql);
    b.exec("CREATE TABLE t (y); INSERT INTO t VALUES (7), (8);")?;
    assert_eq!(count(&mut *a, "t")?, 1);
    assert_eq!(count(&mut *b, "t")?, 2);
    // Nothing was written to the case directory or the working directory.
    let mut entries = std::fs::read_dir(cx.dir())?;
    assert!(entries.next().is_none(), "a memory database created a file");
    assert!(!std::path::Path::new(":memory:").exists());
    Ok(())
}

/// A connection moved to another thread keeps working, and two threads each with their
/// own handle write to one file concurrently without losing rows.
pub(crate) fn isolation_concurrent_writers_on_threads(cx: &Context) -> CaseResult {
    let mut setup = cx.open_file("threads.db")?;
    setup.exec("CREATE TABLE t (thread INTEGER, i INTEGER)")?;
    let mut handles = Vec::new();
    for thread in 0..2_i64 {
        let mut db = cx.open_file("threads.db")?; // 5 s busy timeout
        handles.push(std::thread::spawn(move || -> sqlite_runtime::Result<()> {
            for i in 0..50_i64 {
                let mut tx = db.transaction()?;
                tx.run("INSERT INTO t VALUES (?, ?)", params![thread, i])?;
                tx.commit()?;
            }
            db.close()
        }));
    }
    for handle in handles {
        handle.join().map_err(|_| "a writer thread panicked")??;
    }
    assert_eq!(count(&mut *setup, "t")?, 100);
    let mut per_thread = Vec::new();
    setup.for_each(
        "SELECT thread, count(*) FROM t GROUP BY thread ORDER BY thread",
        Params::NONE,
        &mut |row| {
            per_thread.push((row.get::<i64>(0)?, row.get::<i64>(1)?));
            Ok(ControlFlow::Continue(()))
        },
    )?;
    assert_eq!(per_thread, [(0, 50), (1, 50)]);
    Ok(())
}
