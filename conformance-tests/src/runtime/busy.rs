//! Lock contention between two connections on one file.

use std::time::{Duration, Instant};

use sqlite_runtime::{ErrorKind, OpenOptions, Params, TransactionBehavior};

use super::support::{assert_kind, count, expect_err};
use crate::{CaseResult, Context};

fn short_timeout(ms: u64) -> OpenOptions {
    OpenOptions::new().busy_timeout(Duration::from_millis(ms))
}

/// A writer blocked by `BEGIN IMMEDIATE` waits out its busy timeout, then fails with a
/// retryable `Busy`; once the holder commits, the retry succeeds.
pub(crate) fn busy_writer_waits_for_timeout_then_fails(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("busy.db")?;
    a.exec("CREATE TABLE t (x)")?;
    let mut b = cx.open_file_with("busy.db", &short_timeout(300))?;
    let mut tx = a.transaction()?;
    tx.run("INSERT INTO t VALUES ('a')", Params::NONE)?;

    let started = Instant::now();
    let error = expect_err(
        b.run("INSERT INTO t VALUES ('b')", Params::NONE),
        "write while locked",
    );
    let waited = started.elapsed();
    assert_kind(&error, ErrorKind::Busy);
    assert!(error.is_retryable());
    assert_eq!(error.extended_code().map(|c| c & 0xff), Some(5), "{error}");
    assert!(
        waited >= Duration::from_millis(250),
        "the busy timeout of 300 ms was not honoured: failed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(30), "waited {waited:?}");
    // An IMMEDIATE transaction waits the same way.
    let started = Instant::now();
    let error = expect_err(
        b.transaction().map(|_| ()),
        "BEGIN IMMEDIATE while another writer holds the lock",
    );
    assert_kind(&error, ErrorKind::Busy);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(!b.in_transaction()?, "a failed BEGIN leaves no transaction");

    tx.commit()?;
    b.run("INSERT INTO t VALUES ('b')", Params::NONE)?;
    assert_eq!(count(&mut *a, "t")?, 2);
    Ok(())
}

/// A writer waiting within its busy timeout succeeds as soon as the lock is released,
/// and not before.
pub(crate) fn busy_writer_succeeds_when_lock_released_in_time(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("wait.db")?;
    a.exec("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")?;
    let mut b = cx.open_file_with("wait.db", &short_timeout(30_000))?;
    let (ready, wait_for_ready) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || -> sqlite_runtime::Result<Duration> {
        let started = Instant::now();
        let _ = ready.send(());
        b.run("INSERT INTO t VALUES (2)", Params::NONE)?;
        Ok(started.elapsed())
    });
    wait_for_ready.recv()?;
    std::thread::sleep(Duration::from_millis(300));
    a.exec("COMMIT")?;
    let waited = waiter.join().map_err(|_| "the waiting thread panicked")??;
    assert!(
        waited >= Duration::from_millis(250),
        "B wrote while A held the lock: {waited:?}"
    );
    assert_eq!(count(&mut *a, "t")?, 2);
    Ok(())
}

/// A deferred transaction that read before another connection committed cannot
/// upgrade to a writer: `SQLITE_BUSY_SNAPSHOT` (517) in WAL, at once, and only a
/// rollback and a new transaction help.
pub(crate) fn busy_deferred_upgrade_conflict(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("snap.db")?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    let mut b = cx.open_file_with("snap.db", &short_timeout(2_000))?;
    {
        let mut tx = b.transaction_with(TransactionBehavior::Deferred)?;
        assert_eq!(count(&mut *tx, "t")?, 1); // starts the read snapshot
        a.run("INSERT INTO t VALUES (2)", Params::NONE)?; // commits past it
        let error = expect_err(
            tx.run("INSERT INTO t VALUES (3)", Params::NONE),
            "stale upgrade",
        );
        assert_kind(&error, ErrorKind::Busy);
        assert_eq!(error.extended_code(), Some(517), "{error}");
        assert!(error.is_retryable());
        // The guard rolls back on drop.
    }
    assert!(!b.in_transaction()?);
    let mut tx = b.transaction()?;
    tx.run("INSERT INTO t VALUES (3)", Params::NONE)?;
    tx.commit()?;
    assert_eq!(count(&mut *a, "t")?, 3);
    Ok(())
}

/// A deferred reader that tries to write while another connection holds the write
/// lock fails with `Busy` (no waiting can help it); `BEGIN IMMEDIATE` instead waits.
pub(crate) fn busy_deferred_upgrade_while_locked(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("upgrade.db")?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    let mut b = cx.open_file_with("upgrade.db", &short_timeout(300))?;
    let mut holder = a.transaction()?;
    holder.run("INSERT INTO t VALUES (2)", Params::NONE)?;
    {
        let mut tx = b.transaction_with(TransactionBehavior::Deferred)?;
        assert_eq!(
            count(&mut *tx, "t")?,
            1,
            "the reader sees only committed rows"
        );
        let error = expect_err(tx.run("INSERT INTO t VALUES (3)", Params::NONE), "upgrade");
        assert_kind(&error, ErrorKind::Busy);
        assert!(error.is_retryable());
    }
    let started = Instant::now();
    let error = expect_err(b.transaction().map(|_| ()), "BEGIN IMMEDIATE");
    assert_kind(&error, ErrorKind::Busy);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "IMMEDIATE must wait"
    );
    holder.commit()?;
    let mut tx = b.transaction()?;
    tx.run("INSERT INTO t VALUES (3)", Params::NONE)?;
    tx.commit()?;
    assert_eq!(count(&mut *b, "t")?, 3);
    Ok(())
}

/// With a zero busy timeout a locked write fails with `Busy` without waiting.
pub(crate) fn busy_zero_timeout_fails_fast(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("zero.db")?;
    a.exec("CREATE TABLE t (x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")?;
    let mut b = cx.open_file_with("zero.db", &OpenOptions::new().busy_timeout(Duration::ZERO))?;
    let busy: i64 = super::support::scalar(&mut *b, "PRAGMA busy_timeout", Params::NONE)?;
    assert_eq!(busy, 0);
    let error = expect_err(
        b.run("INSERT INTO t VALUES (2)", Params::NONE),
        "locked write",
    );
    assert_kind(&error, ErrorKind::Busy);
    a.exec("COMMIT")?;
    b.run("INSERT INTO t VALUES (2)", Params::NONE)?;
    Ok(())
}

/// In WAL mode readers are not blocked by a writer and see the last committed state.
pub(crate) fn busy_readers_not_blocked_by_writer(cx: &Context) -> CaseResult {
    let mut a = cx.open_file("wal.db")?;
    a.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    let mut b = cx.open_file_with("wal.db", &OpenOptions::new().busy_timeout(Duration::ZERO))?;
    let mut tx = a.transaction()?;
    tx.run("INSERT INTO t VALUES (2)", Params::NONE)?;
    assert_eq!(count(&mut *b, "t")?, 1);
    assert_eq!(count(&mut *tx, "t")?, 2);
    tx.commit()?;
    assert_eq!(count(&mut *b, "t")?, 2);
    Ok(())
}
