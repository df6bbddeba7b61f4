//! Unit tests of the `sqlite` crate backend.

use std::ops::ControlFlow;
use std::time::Duration;

use sqlite_runtime::{
    BackendKind, Capabilities, ConstraintKind, ErrorKind, JournalMode, OpenOptions, Params, Result,
    SqliteDatabase, SqliteRuntime, Target, Value, ValueRef,
};

use sqlite_runtime::raw::{KitDatabase, StatementCache};

use super::{CrateConnection, SqliteCrateRuntime};

fn memory() -> Result<Box<dyn SqliteDatabase>> {
    SqliteCrateRuntime::new().open(&Target::Memory, &OpenOptions::new())
}

fn memory_with_capacity(capacity: usize) -> Result<Box<dyn SqliteDatabase>> {
    SqliteCrateRuntime::new().open(
        &Target::Memory,
        &OpenOptions::new().statement_cache_capacity(capacity),
    )
}

fn scalar(db: &mut dyn SqliteDatabase, sql: &str, params: Params<'_>) -> Result<Value> {
    let row = db.get(sql, params)?;
    Ok(row.map_or(Value::Null, |row| row.values()[0].clone()))
}

#[test]
fn describes_itself() {
    let runtime = SqliteCrateRuntime::new();
    assert_eq!(runtime.backend(), "sqlite");
    assert_eq!(runtime.kind(), BackendKind::Sync);
    assert_eq!(runtime.capabilities(), Capabilities::ALL);
    assert_eq!(format!("{:?}", SqliteCrateRuntime), "SqliteCrateRuntime");
}

#[test]
fn database_is_send_and_usable_from_another_thread() -> Result<()> {
    fn assert_send<T: Send>() {}
    assert_send::<KitDatabase<CrateConnection>>();
    let mut db = memory()?;
    db.exec("CREATE TABLE t (x)")?;
    db.run(
        "INSERT INTO t VALUES (?)",
        Params::from(&[ValueRef::Integer(1)]),
    )?;
    let mut db = std::thread::spawn(move || -> Result<_> {
        db.run(
            "INSERT INTO t VALUES (?)",
            Params::from(&[ValueRef::Integer(2)]),
        )?;
        Ok(db)
    })
    .join()
    .map_err(|_| sqlite_runtime::Error::new(ErrorKind::Other, "thread panicked"))??;
    assert_eq!(
        scalar(&mut *db, "SELECT sum(x) FROM t", Params::NONE)?,
        Value::Integer(3)
    );
    Ok(())
}

#[test]
fn reads_every_value_type_without_loss() -> Result<()> {
    let mut db = memory()?;
    let values = [
        ValueRef::Null,
        ValueRef::Integer(i64::MIN),
        ValueRef::Integer(i64::MAX),
        ValueRef::Real(-0.0),
        ValueRef::Real(f64::MAX),
        ValueRef::Text(""),
        ValueRef::Text("é\u{0}x"),
        ValueRef::Blob(&[]),
        ValueRef::Blob(&[0, 1, 0, 255]),
    ];
    for value in values {
        let row = db.get("SELECT ? AS v", Params::from(&[value]))?;
        let got = row.map(|r| r.values()[0].clone());
        assert_eq!(got, Some(value.to_owned_value()), "{value:?}");
        if let (ValueRef::Real(r), Some(Value::Real(g))) = (value, &got) {
            assert_eq!(r.to_bits(), g.to_bits(), "sign of {r}");
        }
    }
    Ok(())
}

#[test]
fn borrowed_rows_stream_in_order_and_break_stops() -> Result<()> {
    let mut db = memory()?;
    db.exec("CREATE TABLE t (i INTEGER, s TEXT, b BLOB); INSERT INTO t VALUES (1, 'a', x'01'), (2, 'b', x'02'), (3, 'c', x'03')")?;
    let mut seen = Vec::new();
    db.for_each(
        "SELECT i, s, b FROM t ORDER BY i",
        Params::NONE,
        &mut |row| {
            assert_eq!(row.column_names()?, ["i", "s", "b"]);
            assert_eq!(row.column_name(1)?, "s");
            seen.push((
                row.get::<i64>("i")?,
                row.get::<String>("s")?,
                row.get::<Vec<u8>>("b")?,
            ));
            Ok(if seen.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        },
    )?;
    assert_eq!(seen, [(1, "a".into(), vec![1]), (2, "b".into(), vec![2])]);
    assert_eq!(db.all("SELECT i FROM t", Params::NONE)?.len(), 3);
    assert_eq!(db.get("SELECT i FROM t WHERE i > 9", Params::NONE)?, None);
    Ok(())
}

#[test]
fn visitor_errors_propagate() -> Result<()> {
    let mut db = memory()?;
    let error = db
        .for_each("SELECT 1", Params::NONE, &mut |_| {
            Err(sqlite_runtime::Error::new(ErrorKind::Other, "stop"))
        })
        .err();
    assert_eq!(error.map(|e| e.message().to_owned()), Some("stop".into()));
    // The statement was reset: it runs again.
    assert_eq!(
        scalar(&mut *db, "SELECT 1", Params::NONE)?,
        Value::Integer(1)
    );
    Ok(())
}

#[test]
fn invalid_utf8_text_is_a_type_mismatch() -> Result<()> {
    let mut db = memory()?;
    let error = db.get("SELECT CAST(x'ff' AS TEXT)", Params::NONE).err();
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::TypeMismatch));
    Ok(())
}

#[test]
fn positional_parameter_count_must_match() -> Result<()> {
    let mut db = memory()?;
    for given in [&[][..], &[ValueRef::Integer(1)], &[ValueRef::Integer(1); 3]] {
        let error = db.get("SELECT ? + ?", Params::Positional(given)).err();
        assert_eq!(
            error.map(|e| e.kind()),
            Some(ErrorKind::Misuse),
            "{given:?}"
        );
    }
    let two = [ValueRef::Integer(40), ValueRef::Integer(2)];
    assert_eq!(
        scalar(&mut *db, "SELECT ? + ?", Params::from(&two))?,
        Value::Integer(42)
    );
    Ok(())
}

#[test]
fn named_parameters_bind_by_full_name_and_unbound_ones_are_null() -> Result<()> {
    let mut db = memory()?;
    let sql = "SELECT :a, @b, $c";
    let all = [
        (":a", ValueRef::Integer(1)),
        ("@b", ValueRef::Text("x")),
        ("$c", ValueRef::Blob(b"y")),
    ];
    let row = db.get(sql, Params::from(&all))?.map(|r| r.into_values());
    assert_eq!(
        row,
        Some(vec![
            Value::Integer(1),
            Value::Text("x".into()),
            Value::Blob(b"y".to_vec())
        ])
    );
    // The cached statement forgets the earlier bindings.
    let one = [(":a", ValueRef::Integer(2))];
    let row = db.get(sql, Params::from(&one))?.map(|r| r.into_values());
    assert_eq!(row, Some(vec![Value::Integer(2), Value::Null, Value::Null]));

    for name in ["a", ":zz", ":a\0"] {
        let bad = [(name, ValueRef::Integer(1))];
        let error = db.get(sql, Params::from(&bad)).err();
        assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Misuse), "{name:?}");
    }
    Ok(())
}

#[test]
fn run_reports_changes_and_last_rowid() -> Result<()> {
    let mut db = memory()?;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, x); INSERT INTO t (x) VALUES (1), (2), (3);")?;
    let insert = db.run(
        "INSERT INTO t (x) VALUES (?)",
        Params::from(&[ValueRef::Integer(4)]),
    )?;
    assert_eq!((insert.changes, insert.last_insert_rowid), (1, 4));
    let update = db.run(
        "UPDATE t SET x = x + 1 WHERE x > ?",
        Params::from(&[ValueRef::Integer(1)]),
    )?;
    assert_eq!(update.changes, 3);
    Ok(())
}

#[test]
fn sql_must_hold_exactly_one_statement() -> Result<()> {
    let mut db = memory()?;
    for sql in ["SELECT 1; SELECT 2", "", "  -- nothing"] {
        let error = db.run(sql, Params::NONE).err();
        assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Misuse), "{sql:?}");
    }
    assert_eq!(db.run("SELECT 1; ", Params::NONE)?.changes, 0);
    assert_eq!(
        scalar(&mut *db, " SELECT 7; -- done", Params::NONE)?,
        Value::Integer(7)
    );
    let error = db.run("SELECT 1; nonsense", Params::NONE).err();
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Sql));
    Ok(())
}

#[test]
fn errors_carry_extended_codes() -> Result<()> {
    let mut db = memory()?;
    db.exec("CREATE TABLE t (k INTEGER UNIQUE, v NOT NULL)")?;
    db.exec("INSERT INTO t VALUES (1, 1)")?;
    let insert = "INSERT INTO t VALUES (?, ?)";
    let error = db.run(
        insert,
        Params::from(&[ValueRef::Integer(1), ValueRef::Integer(1)]),
    );
    let error = error.err();
    assert_eq!(error.as_ref().and_then(|e| e.extended_code()), Some(2067));
    assert_eq!(
        error.map(|e| e.kind()),
        Some(ErrorKind::Constraint(ConstraintKind::Unique))
    );
    let error = db
        .run(
            insert,
            Params::from(&[ValueRef::Integer(2), ValueRef::Null]),
        )
        .err();
    assert_eq!(error.and_then(|e| e.extended_code()), Some(1299));
    // exec reports extended codes too.
    let error = db.exec("INSERT INTO t VALUES (1, 1)").err();
    assert_eq!(error.and_then(|e| e.extended_code()), Some(2067));
    let error = db.run("SELEC 1", Params::NONE).err();
    assert_eq!(error.as_ref().map(|e| e.kind()), Some(ErrorKind::Sql));
    assert_eq!(error.and_then(|e| e.backend()), Some("sqlite"));
    let error = db.exec("SELECT * FROM missing").err();
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Sql));
    Ok(())
}

#[test]
fn file_errors_carry_the_path() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let runtime = SqliteCrateRuntime::new();

    let missing = dir.path().join("no/such/dir/a.db");
    let error = runtime
        .open(&Target::file(&missing), &OpenOptions::new())
        .err();
    assert_eq!(
        error.as_ref().map(|e| e.kind()),
        Some(ErrorKind::CannotOpen)
    );
    assert_eq!(error.as_ref().and_then(|e| e.extended_code()), Some(14));
    assert_eq!(
        error.as_ref().and_then(|e| e.path()),
        Some(missing.as_path())
    );

    let absent = dir.path().join("absent.db");
    let read_only = OpenOptions::new().read_only(true);
    let error = runtime.open(&Target::file(&absent), &read_only).err();
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::CannotOpen));
    assert!(!absent.exists());

    let path = dir.path().join("a.db");
    runtime
        .open(&Target::file(&path), &OpenOptions::new())?
        .exec("CREATE TABLE t (x)")?;
    let mut db = runtime.open(&Target::file(&path), &read_only)?;
    let error = db.exec("INSERT INTO t VALUES (1)").err();
    assert_eq!(error.as_ref().map(|e| e.kind()), Some(ErrorKind::ReadOnly));
    assert_eq!(error.as_ref().and_then(|e| e.extended_code()), Some(8));
    assert_eq!(error.as_ref().and_then(|e| e.path()), Some(path.as_path()));
    let error = db.run("INSERT INTO t VALUES (1)", Params::NONE).err();
    assert_eq!(
        error.and_then(|e| e.path().map(|p| p.to_owned())),
        Some(path)
    );
    Ok(())
}

#[test]
fn busy_and_read_locks_are_released_after_a_break() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let target = Target::file(dir.path().join("lock.db"));
    let options = OpenOptions::new()
        .journal_mode(JournalMode::Delete)
        .busy_timeout(Duration::ZERO);
    let runtime = SqliteCrateRuntime::new();
    let mut reader = runtime.open(&target, &options)?;
    let mut writer = runtime.open(&target, &options)?;
    reader.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3)")?;

    // Stop after one row: the cached statement must be reset, dropping its read lock,
    // or the writer's commit would be busy (rollback journal, no busy timeout).
    reader.for_each("SELECT x FROM t", Params::NONE, &mut |_| {
        Ok(ControlFlow::Break(()))
    })?;
    writer.exec("INSERT INTO t VALUES (4)")?;

    writer.exec("BEGIN EXCLUSIVE")?;
    let error = reader.get("SELECT count(*) FROM t", Params::NONE).err();
    assert_eq!(error.as_ref().map(|e| e.kind()), Some(ErrorKind::Busy));
    assert_eq!(error.and_then(|e| e.extended_code()), Some(5));
    writer.exec("COMMIT")?;
    assert_eq!(
        scalar(&mut *reader, "SELECT count(*) FROM t", Params::NONE)?,
        Value::Integer(4)
    );
    Ok(())
}

#[test]
fn memory_databases_are_private_and_options_are_applied() -> Result<()> {
    let mut a = memory()?;
    let mut b = memory()?;
    a.exec("CREATE TABLE only_a (x)")?;
    assert_eq!(
        b.exec("SELECT * FROM only_a").err().map(|e| e.kind()),
        Some(ErrorKind::Sql)
    );
    assert_eq!(
        scalar(&mut *a, "PRAGMA busy_timeout", Params::NONE)?,
        Value::Integer(5000)
    );
    assert_eq!(
        scalar(&mut *a, "PRAGMA synchronous", Params::NONE)?,
        Value::Integer(2)
    );

    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let mut file = SqliteCrateRuntime::new()
        .open(&Target::file(dir.path().join("w.db")), &OpenOptions::new())?;
    assert_eq!(
        scalar(&mut *file, "PRAGMA journal_mode", Params::NONE)?,
        Value::Text("wal".into())
    );
    Ok(())
}

#[test]
fn transactions_are_reported() -> Result<()> {
    let mut db = memory()?;
    db.exec("CREATE TABLE t (x)")?;
    assert!(!db.in_transaction()?);
    {
        let mut tx = db.transaction()?;
        assert!(tx.in_transaction()?);
        tx.run("INSERT INTO t VALUES (1)", Params::NONE)?;
    } // rolled back
    assert!(!db.in_transaction()?);
    assert_eq!(
        scalar(&mut *db, "SELECT count(*) FROM t", Params::NONE)?,
        Value::Integer(0)
    );
    let tx = db.transaction()?;
    tx.commit()?;
    Ok(())
}

#[test]
fn a_cached_statement_is_reused() -> Result<()> {
    let mut db = memory()?;
    db.exec("CREATE TABLE t (x)")?;
    let sql = "INSERT INTO t VALUES (?)";
    for i in 0..50 {
        db.run(sql, Params::from(&[ValueRef::Integer(i)]))?;
    }
    let stats = db.statement_cache_stats()?;
    assert_eq!(stats.capacity, 64);
    let live: Vec<_> = stats.statements.iter().filter(|s| s.sql == sql).collect();
    assert_eq!(live.len(), 1, "{stats:?}");
    assert!((49..=51).contains(&live[0].runs), "{stats:?}");
    Ok(())
}

#[test]
fn the_cache_evicts_the_least_recently_used() -> Result<()> {
    let mut db = memory_with_capacity(2)?;
    for sql in ["SELECT 1", "SELECT 2", "SELECT 1", "SELECT 3"] {
        db.get(sql, Params::NONE)?;
    }
    let stats = db.statement_cache_stats()?;
    let mut live: Vec<_> = stats.statements.iter().map(|s| s.sql.as_str()).collect();
    live.sort_unstable();
    assert_eq!(live, ["SELECT 1", "SELECT 3"]);
    // Whitespace around the SQL does not make a new entry.
    db.get("  SELECT 3\n", Params::NONE)?;
    assert_eq!(db.statement_cache_stats()?.statements.len(), 2);
    Ok(())
}

#[test]
fn a_zero_capacity_keeps_no_statement() -> Result<()> {
    let mut db = memory_with_capacity(0)?;
    for _ in 0..3 {
        assert_eq!(
            scalar(&mut *db, "SELECT 5", Params::NONE)?,
            Value::Integer(5)
        );
    }
    let stats = db.statement_cache_stats()?;
    assert_eq!((stats.capacity, stats.statements.len()), (0, 0));
    Ok(())
}

#[test]
fn cache_internals_track_recency() -> Result<()> {
    let connection =
        sqlite::Connection::open(":memory:").map_err(|e| super::error::from_crate(e, None))?;
    let db = super::statement::Db::new(&connection);
    let mut cache = StatementCache::new(2);
    let _ = cache.insert("SELECT 1", db.prepare("SELECT 1")?);
    let _ = cache.insert("SELECT 2", db.prepare("SELECT 2")?);
    assert!(cache.get("SELECT 1").is_some()); // 2 is now the oldest
    let _ = cache.insert("SELECT 3", db.prepare("SELECT 3")?);
    assert_eq!(cache.len(), 2);
    assert!(cache.get("SELECT 2").is_none());
    assert!(cache.get("SELECT 1").is_some() && cache.get("SELECT 3").is_some());
    Ok(())
}

#[test]
fn select_star_sees_columns_added_after_caching() -> Result<()> {
    let mut db = memory()?;
    db.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1)")?;
    let row = db.get("SELECT * FROM t", Params::NONE)?;
    assert_eq!(
        row.map(|r| r.columns().to_vec()),
        Some(vec!["a".to_owned()])
    );
    db.exec("ALTER TABLE t ADD COLUMN b DEFAULT 2")?;
    let row = db.get("SELECT * FROM t", Params::NONE)?;
    assert_eq!(
        row.as_ref().map(|r| r.columns().to_vec()),
        Some(vec!["a".to_owned(), "b".to_owned()])
    );
    assert_eq!(
        row.map(|r| r.into_values()),
        Some(vec![Value::Integer(1), Value::Integer(2)])
    );
    let stats = db.statement_cache_stats()?;
    assert!(
        stats
            .statement("SELECT * FROM t")
            .is_some_and(|s| s.reprepares >= 1),
        "{stats:?}"
    );
    Ok(())
}

#[test]
fn close_releases_the_file() -> Result<()> {
    let dir = tempfile::tempdir()
        .map_err(|e| sqlite_runtime::Error::new(ErrorKind::Io, e.to_string()))?;
    let target = Target::file(dir.path().join("c.db"));
    let options = OpenOptions::new()
        .journal_mode(JournalMode::Delete)
        .busy_timeout(Duration::ZERO);
    let runtime = SqliteCrateRuntime::new();
    let mut first = runtime.open(&target, &options)?;
    first.exec("CREATE TABLE t (x)")?;
    first.get("SELECT * FROM t", Params::NONE)?; // a cached statement
    first.exec("BEGIN EXCLUSIVE")?;
    first.close()?; // rolls back and unlocks
    let mut second = runtime.open(&target, &options)?;
    second.exec("BEGIN EXCLUSIVE; COMMIT")?;
    drop(second); // dropping closes too
    let mut third = runtime.open(&target, &options)?;
    third.exec("BEGIN EXCLUSIVE; COMMIT")?;
    Ok(())
}

#[test]
fn exec_runs_batches_and_stops_at_the_first_error() -> Result<()> {
    let mut db = memory()?;
    db.exec("")?;
    db.exec("-- only a comment\n")?;
    db.exec("/* block */ ;;")?;
    db.exec("CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1); SELECT * FROM t; INSERT INTO t VALUES (2);")?;
    let error = db
        .exec("INSERT INTO t VALUES (3); INSERT INTO missing VALUES (1); INSERT INTO t VALUES (4);")
        .err();
    assert_eq!(error.as_ref().map(|e| e.kind()), Some(ErrorKind::Sql));
    assert!(error.is_some_and(|e| e.message().contains("missing")));
    assert_eq!(
        scalar(&mut *db, "SELECT count(*) FROM t", Params::NONE)?,
        Value::Integer(3)
    );
    Ok(())
}

#[test]
fn step_time_errors_leave_the_connection_usable() -> Result<()> {
    let mut db = memory()?;
    for _ in 0..3 {
        let error = db
            .get("SELECT abs(-9223372036854775807 - 1)", Params::NONE)
            .err();
        assert_eq!(error.as_ref().map(|e| e.kind()), Some(ErrorKind::Sql));
        assert!(error.is_some_and(|e| e.message().contains("integer overflow")));
        assert_eq!(
            scalar(&mut *db, "SELECT 1", Params::NONE)?,
            Value::Integer(1)
        );
    }
    assert!(!db.in_transaction()?);
    Ok(())
}
