//! Every compiled backend shares one SQLite and one file format.

use sqlite_runtime::{OpenOptions, Params, SqliteDatabase, Target, Value, ValueRef, params};

use super::support::{count, scalar};
use crate::{CaseResult, Context};

fn sample_values() -> Vec<Value> {
    vec![
        Value::Null,
        Value::Integer(i64::MIN),
        Value::Integer(i64::MAX),
        Value::Real(-0.0),
        Value::Real(f64::MAX),
        Value::Real(f64::MIN_POSITIVE),
        Value::Text(String::new()),
        Value::Text("héllo 🦀 \0 nul".into()),
        Value::Blob(Vec::new()),
        Value::Blob(vec![0, 255, 0, 1]),
        Value::Blob((0..100_000_u32).map(|i| (i % 251) as u8).collect()),
    ]
}

fn write_samples(db: &mut dyn SqliteDatabase, writer: &str) -> sqlite_runtime::Result<()> {
    db.exec("CREATE TABLE IF NOT EXISTS v (writer TEXT, i INTEGER, v)")?;
    let mut tx = db.transaction()?;
    for (i, value) in sample_values().iter().enumerate() {
        tx.run(
            "INSERT INTO v VALUES (?, ?, ?)",
            Params::from(&[
                ValueRef::Text(writer),
                ValueRef::Integer(i as i64),
                value.as_ref(),
            ]),
        )?;
    }
    tx.commit()
}

fn check_samples(db: &mut dyn SqliteDatabase, writer: &str, reader: &str) -> CaseResult {
    let rows = db.all(
        "SELECT v FROM v WHERE writer = ? ORDER BY i",
        params![writer],
    )?;
    let expected = sample_values();
    assert_eq!(rows.len(), expected.len(), "{writer} -> {reader}");
    for (row, expected) in rows.iter().zip(&expected) {
        let found = row.value(0)?;
        match (found, expected) {
            (Value::Real(a), Value::Real(b)) => {
                assert_eq!(a.to_bits(), b.to_bits(), "{writer} -> {reader}: {b}");
            }
            _ => assert!(
                found == expected,
                "{writer} -> {reader}: {expected:?} read back as {found:?}"
            ),
        }
    }
    Ok(())
}

/// A file written by this backend is read exactly by every backend, and the other way
/// round.
pub(crate) fn interop_files_are_shared_by_all_backends(cx: &Context) -> CaseResult {
    let target = Target::file(cx.path("shared.db"));
    let me = cx.runtime().backend();
    {
        let mut db = cx.runtime().open(&target, &OpenOptions::new())?;
        write_samples(&mut *db, me)?;
        db.close()?;
    }
    for runtime in cx.all_runtimes() {
        let mut db = runtime.open(&target, &OpenOptions::new())?;
        check_samples(&mut *db, me, runtime.backend())?;
        if runtime.backend() != me {
            write_samples(&mut *db, runtime.backend())?;
        }
        db.close()?;
    }
    let mut db = cx.runtime().open(&target, &OpenOptions::new())?;
    for runtime in cx.all_runtimes() {
        check_samples(&mut *db, runtime.backend(), me)?;
    }
    let journal: String = scalar(&mut *db, "PRAGMA journal_mode", Params::NONE)?;
    assert_eq!(journal, "wal");
    let integrity: String = scalar(&mut *db, "PRAGMA integrity_check", Params::NONE)?;
    assert_eq!(integrity, "ok");
    Ok(())
}

/// Handles from different backends open at the same time on one file see each other's
/// commits and respect each other's locks (one SQLite, one set of locks).
pub(crate) fn interop_concurrent_handles_across_backends(cx: &Context) -> CaseResult {
    let target = Target::file(cx.path("live.db"));
    let mut mine = cx.runtime().open(&target, &OpenOptions::new())?;
    mine.exec("CREATE TABLE t (who TEXT)")?;
    for runtime in cx.all_runtimes() {
        let mut theirs = runtime.open(
            &target,
            &OpenOptions::new().busy_timeout(std::time::Duration::from_millis(100)),
        )?;
        theirs.run("INSERT INTO t VALUES (?)", params![runtime.backend()])?;
        let seen: i64 = scalar(
            &mut *mine,
            "SELECT count(*) FROM t WHERE who = ?",
            params![runtime.backend()],
        )?;
        assert_eq!(seen, 1, "a commit through {} is visible", runtime.backend());
        let tx = mine.transaction()?;
        let blocked = theirs.run("INSERT INTO t VALUES ('x')", Params::NONE);
        let error = blocked.err().ok_or_else(|| {
            format!(
                "{} wrote while {} held the write lock",
                runtime.backend(),
                cx.runtime().backend()
            )
        })?;
        assert!(error.is_retryable(), "{error}");
        tx.rollback()?;
    }
    assert_eq!(count(&mut *mine, "t")?, cx.all_runtimes().len() as i64);
    Ok(())
}

/// Every backend reports the same SQLite, at least 3.45.
pub(crate) fn interop_same_sqlite_version(cx: &Context) -> CaseResult {
    let version_of =
        |runtime: &dyn sqlite_runtime::SqliteRuntime| -> sqlite_runtime::Result<String> {
            let mut db = runtime.open(&Target::Memory, &OpenOptions::new())?;
            scalar(&mut *db, "SELECT sqlite_version()", Params::NONE)
        };
    let mine = version_of(cx.runtime().as_ref())?;
    let parsed: sqlite_runtime_backends::SqliteVersion = mine.parse()?;
    assert!(
        parsed >= sqlite_runtime_backends::MIN_SQLITE_VERSION,
        "SQLite {parsed} is older than {}",
        sqlite_runtime_backends::MIN_SQLITE_VERSION
    );
    for runtime in cx.all_runtimes() {
        assert_eq!(
            version_of(runtime.as_ref())?,
            mine,
            "backend {}",
            runtime.backend()
        );
    }
    // Also the same compile options, e.g. what a driver may rely on.
    let mut db = cx.open_memory()?;
    let json: String = scalar(
        &mut *db,
        "SELECT json_extract('{\"a\": [1, 2]}', '$.a[1]') || ''",
        Params::NONE,
    )?;
    assert_eq!(json, "2");
    Ok(())
}
