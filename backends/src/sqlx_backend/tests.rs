//! Unit tests of the sqlx backend.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sqlite_runtime::{
    ErrorKind, OpenOptions, Params, Result, SqliteDatabase, SqliteRuntime, Target, Value, ValueRef,
};

use super::SqlxRuntime;

fn open(target: &Target) -> Result<Box<dyn SqliteDatabase>> {
    SqlxRuntime::new().open(target, &OpenOptions::new())
}

/// Open, write, read, transaction, close: what every calling context must support.
fn round_trip(target: &Target) -> Result<()> {
    let mut db = open(target)?;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")?;
    let run = db.run(
        "INSERT INTO t (v) VALUES (?)",
        Params::from(&[ValueRef::Text("a")]),
    )?;
    assert_eq!((run.changes, run.last_insert_rowid), (1, 1));
    {
        let mut tx = db.transaction()?;
        tx.run("INSERT INTO t (v) VALUES ('b')", Params::NONE)?;
        assert!(tx.in_transaction()?);
        tx.commit()?;
    }
    {
        let mut tx = db.transaction()?;
        tx.run("INSERT INTO t (v) VALUES ('c')", Params::NONE)?;
        // Dropped: rolled back.
    }
    assert!(!db.in_transaction()?);
    let rows = db.all("SELECT v FROM t ORDER BY id", Params::NONE)?;
    let values: Vec<String> = rows.iter().map(|r| r.get("v")).collect::<Result<_>>()?;
    assert_eq!(values, ["a", "b"]);
    db.close()?;
    db.close()?;
    Ok(())
}

#[test]
fn plain_thread() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    round_trip(&Target::Memory)?;
    round_trip(&Target::file(dir.path().join("plain.db")))
}

#[tokio::test(flavor = "current_thread")]
async fn inside_current_thread_runtime() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    round_trip(&Target::Memory)?;
    round_trip(&Target::file(dir.path().join("current.db")))?;
    // Dropping an open database inside the runtime must not block forever.
    let db = open(&Target::Memory)?;
    drop(db);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_multi_thread_runtime() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    round_trip(&Target::Memory)?;
    let path = dir.path().join("multi.db");
    let task = tokio::spawn(async move { round_trip(&Target::file(path)) });
    task.await
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Other, e.to_string()))??;
    let db = open(&Target::Memory)?;
    drop(db);
    Ok(())
}

#[test]
fn memory_databases_are_private() -> Result<()> {
    let mut a = open(&Target::Memory)?;
    let mut b = open(&Target::Memory)?;
    a.exec("CREATE TABLE only_a (x)")?;
    let error = b.exec("SELECT * FROM only_a").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Sql);
    Ok(())
}

#[test]
fn settings_match_setup_sql() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let mut db = open(&Target::file(dir.path().join("p.db")))?;
    let pragma = |db: &mut Box<dyn SqliteDatabase>, name: &str| -> Result<Value> {
        let row = db.get(&format!("PRAGMA {name}"), Params::NONE)?;
        Ok(row.map_or(Value::Null, |r| r.values()[0].clone()))
    };
    assert_eq!(pragma(&mut db, "journal_mode")?, Value::Text("wal".into()));
    assert_eq!(pragma(&mut db, "synchronous")?, Value::Integer(2));
    assert_eq!(pragma(&mut db, "busy_timeout")?, Value::Integer(5000));
    assert_eq!(
        pragma(&mut db, "locking_mode")?,
        Value::Text("normal".into())
    );
    assert_eq!(pragma(&mut db, "foreign_keys")?, Value::Integer(1));
    let mut db = SqlxRuntime::new().open(
        &Target::Memory,
        &sqlite_runtime::OpenOptions::new().foreign_keys(false),
    )?;
    assert_eq!(pragma(&mut db, "foreign_keys")?, Value::Integer(0));
    Ok(())
}

#[test]
fn values_round_trip() -> Result<()> {
    let mut db = open(&Target::Memory)?;
    let big = vec![7u8; 4 << 20];
    let values = [
        ValueRef::Null,
        ValueRef::Integer(i64::MIN),
        ValueRef::Integer(i64::MAX),
        ValueRef::Real(-0.0),
        ValueRef::Real(1e300),
        ValueRef::Text(""),
        ValueRef::Text("héllo ✓"),
        ValueRef::Blob(b""),
        ValueRef::Blob(b"a\0b"),
        ValueRef::Blob(&big),
    ];
    for value in values {
        let row = db
            .get(
                "SELECT ? AS v, typeof(?) AS t",
                Params::from(&[value, value]),
            )?
            .ok_or_else(|| sqlite_runtime::Error::new(ErrorKind::Other, "no row"))?;
        assert_eq!(row.value("v")?.as_ref(), value);
        if let ValueRef::Real(r) = value {
            let got: f64 = row.get("v")?;
            assert_eq!(got.to_bits(), r.to_bits());
        }
    }
    // Storage class, not declared type.
    db.exec("CREATE TABLE m (x INTEGER); INSERT INTO m VALUES ('text'), (1.5), (NULL), (x'00')")?;
    let rows = db.all("SELECT x FROM m ORDER BY rowid", Params::NONE)?;
    let got: Vec<Value> = rows.iter().map(|r| r.values()[0].clone()).collect();
    assert_eq!(
        got,
        [
            Value::Text("text".into()),
            Value::Real(1.5),
            Value::Null,
            Value::Blob(vec![0])
        ]
    );
    // Invalid UTF-8 text.
    let error = db
        .get("SELECT CAST(x'ff' AS TEXT)", Params::NONE)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TypeMismatch);
    Ok(())
}

#[test]
fn parameters_positional_and_named() -> Result<()> {
    let mut db = open(&Target::Memory)?;
    let wrong = db
        .get("SELECT ?, ?", Params::from(&[ValueRef::Integer(1)]))
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Misuse);
    let wrong = db
        .get(
            "SELECT ?",
            Params::from(&[ValueRef::Integer(1), ValueRef::Integer(2)]),
        )
        .unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Misuse);

    let sql = "SELECT :a AS a, @b AS b, $c AS c, :a AS a2, :unset AS u";
    let named = [
        ("$c", ValueRef::Text("c")),
        (":a", ValueRef::Integer(1)),
        ("@b", ValueRef::Real(2.5)),
    ];
    for _ in 0..3 {
        let row = db.get(sql, Params::from(&named))?;
        let row = row.ok_or_else(|| sqlite_runtime::Error::new(ErrorKind::Other, "no row"))?;
        assert_eq!(
            row.values(),
            [
                Value::Integer(1),
                Value::Real(2.5),
                Value::Text("c".into()),
                Value::Integer(1),
                Value::Null
            ]
        );
    }
    let unknown = db
        .get(sql, Params::from(&[(":nope", ValueRef::Null)]))
        .unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::Misuse);
    // Positional values bind named placeholders in SQLite's order; `$2` is a name.
    let row = db.get(
        "SELECT $2 AS x, $1 AS y",
        Params::from(&[ValueRef::Integer(10), ValueRef::Integer(20)]),
    )?;
    let row = row.ok_or_else(|| sqlite_runtime::Error::new(ErrorKind::Other, "no row"))?;
    assert_eq!(row.values(), [Value::Integer(10), Value::Integer(20)]);
    // The cache reports the caller's SQL.
    let stats = db.statement_cache_stats()?;
    assert!(stats.statement(sql).is_some(), "{stats:?}");
    // One statement per call.
    let many = db.run("SELECT 1; SELECT 2", Params::NONE).unwrap_err();
    assert_eq!(many.kind(), ErrorKind::Misuse);
    Ok(())
}

#[test]
fn statement_cache_is_used() -> Result<()> {
    let mut db = open(&Target::Memory)?;
    db.exec("CREATE TABLE t (x)")?;
    let sql = "INSERT INTO t VALUES (?)";
    for i in 0..50 {
        db.run(sql, Params::from(&[ValueRef::Integer(i)]))?;
    }
    let stats = db.statement_cache_stats()?;
    assert_eq!(
        stats.capacity,
        OpenOptions::DEFAULT_STATEMENT_CACHE_CAPACITY
    );
    let live: Vec<_> = stats.statements.iter().filter(|s| s.sql == sql).collect();
    assert_eq!(live.len(), 1, "{stats:?}");
    assert!((49..=51).contains(&live[0].runs), "{stats:?}");
    Ok(())
}

#[test]
fn early_break_leaves_connection_usable() -> Result<()> {
    let mut db = open(&Target::Memory)?;
    db.exec("CREATE TABLE t (x); WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000) INSERT INTO t SELECT n FROM c")?;
    let mut seen = 0;
    db.for_each("SELECT x FROM t", Params::NONE, &mut |_| {
        seen += 1;
        Ok(if seen == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })?;
    assert_eq!(seen, 3);
    db.run("DELETE FROM t WHERE x > 10", Params::NONE)?;
    let count: i64 = db
        .get("SELECT count(*) FROM t", Params::NONE)?
        .map_or(Ok(0), |r| r.get(0))?;
    assert_eq!(count, 10);
    Ok(())
}

#[test]
fn schema_change_refreshes_cached_select_star() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let path = dir.path().join("schema.db");
    let mut db = open(&Target::file(&path))?;
    db.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1)")?;
    let sql = "SELECT * FROM t";
    let columns = |db: &mut Box<dyn SqliteDatabase>| -> Result<Vec<String>> {
        let row = db.get(sql, Params::NONE)?;
        Ok(row.map(|r| r.columns().to_vec()).unwrap_or_default())
    };
    assert_eq!(columns(&mut db)?, ["a"]);
    // Through this connection.
    db.exec("ALTER TABLE t ADD COLUMN b DEFAULT 2")?;
    assert_eq!(columns(&mut db)?, ["a", "b"]);
    let row = db.get(sql, Params::NONE)?;
    assert_eq!(
        row.map(|r| r.into_values()),
        Some(vec![Value::Integer(1), Value::Integer(2)])
    );
    // Through another connection, inside a transaction of this one.
    let mut other = open(&Target::file(&path))?;
    other.exec("ALTER TABLE t ADD COLUMN c DEFAULT 3")?;
    assert_eq!(columns(&mut db)?, ["a", "b", "c"]);
    other.exec("ALTER TABLE t DROP COLUMN a")?;
    {
        let mut tx = db.transaction()?;
        let row = tx.get(sql, Params::NONE)?;
        assert_eq!(
            row.map(|r| r.columns().to_vec()),
            Some(vec!["b".into(), "c".into()])
        );
        tx.run("INSERT INTO t (b, c) VALUES (5, 6)", Params::NONE)?;
        tx.commit()?;
    }
    assert_eq!(db.all(sql, Params::NONE)?.len(), 2);
    // A refused re-prepare inside a transaction keeps the transaction's earlier work.
    let insert = "INSERT INTO t (b) VALUES (?)";
    {
        let mut tx = db.transaction()?;
        tx.run(insert, Params::from(&[ValueRef::Integer(7)]))?;
        tx.exec("ALTER TABLE t ADD COLUMN d")?;
        tx.run(insert, Params::from(&[ValueRef::Integer(8)]))?;
        assert!(tx.in_transaction()?);
        tx.commit()?;
    }
    let rows = db.all("SELECT b FROM t WHERE b IN (7, 8)", Params::NONE)?;
    assert_eq!(rows.len(), 2);
    let stats = db.statement_cache_stats()?;
    assert!(stats.statement(insert).is_some(), "{stats:?}");
    Ok(())
}

#[test]
fn busy_waits_for_the_timeout() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let target = Target::file(dir.path().join("busy.db"));
    let options = OpenOptions::new().busy_timeout(Duration::from_millis(200));
    let runtime = SqlxRuntime::new();
    let mut first = runtime.open(&target, &options)?;
    let mut second = runtime.open(&target, &options)?;
    first.exec("CREATE TABLE t (x)")?;
    let tx = first.transaction()?;
    let started = Instant::now();
    let error = second.exec("BEGIN IMMEDIATE").unwrap_err();
    let waited = started.elapsed();
    assert_eq!(error.kind(), ErrorKind::Busy, "{error}");
    assert_eq!(error.extended_code().map(|c| c & 0xff), Some(5));
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    tx.commit()?;
    second.exec("BEGIN IMMEDIATE; COMMIT")?;
    Ok(())
}

#[test]
fn errors_are_typed() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let missing = dir.path().join("no/such/dir/x.db");
    let error = open(&Target::file(&missing))
        .err()
        .map(|e| (e.kind(), e.path().map(Into::into)));
    assert_eq!(error, Some((ErrorKind::CannotOpen, Some(missing))));

    let mut db = open(&Target::Memory)?;
    db.exec("CREATE TABLE u (k UNIQUE)")?;
    db.run("INSERT INTO u VALUES (1)", Params::NONE)?;
    let error = db
        .run("INSERT INTO u VALUES (1)", Params::NONE)
        .unwrap_err();
    assert_eq!(error.extended_code(), Some(2067));
    assert_eq!(
        error.kind(),
        ErrorKind::Constraint(sqlite_runtime::ConstraintKind::Unique)
    );
    assert_eq!(db.exec("SELEC 1").unwrap_err().kind(), ErrorKind::Sql);

    db.close()?;
    assert!(db.is_closed());
    assert_eq!(db.exec("SELECT 1").unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(
        db.run("SELECT 1", Params::NONE).unwrap_err().kind(),
        ErrorKind::Closed
    );
    assert_eq!(
        db.get("SELECT 1", Params::NONE).unwrap_err().kind(),
        ErrorKind::Closed
    );
    assert_eq!(db.in_transaction().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(
        db.statement_cache_stats().unwrap_err().kind(),
        ErrorKind::Closed
    );
    Ok(())
}
