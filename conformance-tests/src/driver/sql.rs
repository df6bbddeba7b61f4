//! Each actor's own SQL: statements and transactions beside its KV, fenced off from the
//! driver's tables and settings, bounded, counted in its quota, kept across sleeps and
//! gone with the actor.

use std::time::Duration;

use fs_driver::{DriverOptions, Error, FsDriver};
use sqlite_runtime::{ErrorKind, GuardLimits, Params, Value, named_params, params};

use super::support::{all, create, entries, expect_err, open, open_with};
use crate::{CaseResult, Context};

/// The kind of a database error (`None` for the driver's own errors).
fn kind(error: &Error) -> Option<ErrorKind> {
    match error {
        Error::Sqlite(error) => Some(error.kind()),
        _ => None,
    }
}

fn text(value: &Value) -> &str {
    match value {
        Value::Text(text) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

/// Tables, positional and named parameters, rows as the core's values; the data
/// survives a sleep and a new driver.
pub(crate) fn sql_statements_on_own_tables(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k", "v")]));
    driver.sql_execute(
        "a",
        "CREATE TABLE todo (id INTEGER PRIMARY KEY, text TEXT NOT NULL, done INTEGER DEFAULT 0)",
        Params::NONE,
    )?;
    let run = driver.sql_execute("a", "INSERT INTO todo (text) VALUES (?)", params!["docs"])?;
    assert_eq!((run.changes, run.last_insert_rowid), (1, 1));
    driver.sql_execute(
        "a",
        "INSERT INTO todo (text, done) VALUES (:text, :done)",
        named_params! { ":text": "tests", ":done": 1 },
    )?;
    let rows = driver.sql_query(
        "a",
        "SELECT id, text, done FROM todo ORDER BY id",
        Params::NONE,
    )?;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1].values(),
        [
            Value::Integer(2),
            Value::Text("tests".into()),
            Value::Integer(1)
        ]
    );
    assert_eq!(rows[0].get::<String>("text")?, "docs");
    let updated =
        driver.sql_execute("a", "UPDATE todo SET done = 1 WHERE done = 0", Params::NONE)?;
    assert_eq!(updated.changes, 1);
    let missing = driver.sql_query_row(
        "a",
        "SELECT * FROM todo WHERE id = 9",
        Params::NONE,
        |row| row.get::<i64>(0),
    )?;
    assert!(missing.is_none());
    // A write through RETURNING gives its rows.
    let returned = driver.sql_query(
        "a",
        "DELETE FROM todo WHERE id = 1 RETURNING text",
        Params::NONE,
    );
    if cx
        .runtime()
        .capabilities()
        .has(sqlite_runtime::Capability::Returning)
    {
        assert_eq!(text(&returned?[0].values()[0]), "docs");
    }
    // The KV is untouched, and both outlive a sleep and a new driver.
    driver.sleep_actor("a", None)?;
    let count = driver.sql_query_row("a", "SELECT count(*) FROM todo", Params::NONE, |row| {
        row.get::<i64>(0)
    })?;
    assert_eq!(count, Some(1));
    drop(driver);
    let driver = open(cx);
    assert_eq!(all(&driver, "a"), entries(&[("k", "v")]));
    let texts = driver.sql_query("a", "SELECT text FROM todo ORDER BY id", Params::NONE)?;
    assert_eq!(
        texts.last().map(|row| text(&row.values()[0]).to_owned()),
        Some("tests".into())
    );
    // A batch is all or nothing.
    let failed = driver.sql_batch(
        "a",
        "INSERT INTO todo (text) VALUES ('x'); INSERT INTO todo (id, text) VALUES (2, 'dup');",
    );
    assert_eq!(
        kind(&expect_err(failed, "duplicate id")),
        Some(ErrorKind::Constraint(
            sqlite_runtime::ConstraintKind::PrimaryKey
        ))
    );
    let after = driver.sql_query(
        "a",
        "SELECT count(*) FROM todo WHERE text = 'x'",
        Params::NONE,
    )?;
    assert_eq!(after[0].values(), [Value::Integer(0)]);
    assert_eq!(
        driver.sql_batch("a", "CREATE TABLE t2 (x); INSERT INTO t2 VALUES (1), (2);")?,
        2
    );
    Ok(())
}

/// SQL and KV in one transaction: both or neither, whether the closure fails, a
/// statement fails, or the closure panics; the actor keeps working afterwards.
pub(crate) fn sql_transactions_mix_sql_and_kv(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    driver.sql_execute("a", "CREATE TABLE t (x INTEGER UNIQUE)", Params::NONE)?;
    driver.sql_transaction("a", |tx| {
        tx.execute("INSERT INTO t VALUES (1)", Params::NONE)?;
        tx.kv_put(&[(b"one", b"1")])?;
        assert_eq!(tx.kv_get(&[b"one"])?, vec![Some(b"1".to_vec())]);
        assert_eq!(tx.query("SELECT x FROM t", Params::NONE)?.len(), 1);
        Ok(())
    })?;
    // A failed statement inside undoes itself; returning the error undoes everything.
    let failed = driver.sql_transaction("a", |tx| {
        tx.kv_put(&[(b"two", b"2")])?;
        tx.execute("INSERT INTO t VALUES (2)", Params::NONE)?;
        let duplicate = tx.execute("INSERT INTO t VALUES (1)", Params::NONE);
        assert!(duplicate.is_err());
        assert_eq!(tx.query("SELECT x FROM t", Params::NONE)?.len(), 2);
        duplicate.map(drop)
    });
    expect_err(failed, "a duplicate");
    let panicked = driver.sql_transaction("a", |tx| -> fs_driver::Result<()> {
        tx.execute("INSERT INTO t VALUES (3)", Params::NONE)?;
        tx.kv_put(&[(b"three", b"3")])?;
        panic!("the caller's closure panics");
    });
    assert!(matches!(
        expect_err(panicked, "a panic"),
        Error::Panicked { .. }
    ));
    assert_eq!(all(&driver, "a"), entries(&[("one", "1")]));
    let xs = driver.sql_query("a", "SELECT x FROM t ORDER BY x", Params::NONE)?;
    assert_eq!(xs.len(), 1);
    // A limit inside a transaction fails that call alone.
    driver.sql_transaction("a", |tx| {
        let too_long = vec![b'k'; 3000];
        assert!(tx.kv_put(&[(&too_long[..], &b"v"[..])]).is_err());
        tx.kv_put(&[(b"four", b"4")])?;
        tx.kv_delete(&[b"one"]).map(drop)
    })?;
    assert_eq!(all(&driver, "a"), entries(&[("four", "4")]));
    driver.kv_put("a", &[(b"five", b"5")])?;
    Ok(())
}

/// Every statement of the hostile suite (over 50 attempts to reach or damage the
/// driver's tables and settings) is refused or bounded with a typed error, and
/// afterwards every KV entry, the kept size and the database's integrity are as before.
pub(crate) fn sql_hostile_statements_are_refused(cx: &Context) -> CaseResult {
    let limits = GuardLimits {
        time: Duration::from_millis(300),
        ..GuardLimits::default()
    };
    let driver = open_with(
        cx,
        DriverOptions::new()
            .max_storage_bytes(4 << 20)
            .sql_limits(limits),
    );
    let initial = entries(&[("a", "1"), ("b", "2"), ("c", "3")]);
    create(&driver, "x", &initial);
    let size = driver.kv_storage_used("x")?;
    let outside = cx.dir().join("stolen.db");
    let vacuum_into = format!("VACUUM INTO '{}'", outside.display());
    let attach = format!("ATTACH '{}' AS side", outside.display());
    let many_parameters = format!("SELECT {}", vec!["?"; 101].join(", "));
    let long_statement = format!("SELECT '{}'", "x".repeat(100_001));
    let deep = format!("SELECT 1{}", " + 1".repeat(150));
    let mut attacks: Vec<Vec<&str>> = [
        "SELECT * FROM kv",
        "SELECT value FROM kv WHERE key = x'61'",
        "SELECT count(*) FROM kv",
        "SELECT * FROM main.kv",
        "SELECT * FROM \"KV\"",
        "SELECT * FROM kv_size",
        "SELECT used FROM main.kv_size",
        "SELECT * FROM kv_sql_size",
        "SELECT (SELECT value FROM kv LIMIT 1)",
        "SELECT * FROM sqlite_schema, kv",
        "SELECT * FROM pragma_table_info('kv')",
        "INSERT INTO kv VALUES (x'00', x'00')",
        "INSERT OR REPLACE INTO kv (key, value) VALUES (x'61', x'62')",
        "UPDATE kv SET value = x'00'",
        "DELETE FROM kv",
        "DELETE FROM kv_size",
        "UPDATE kv_size SET used = 0",
        "UPDATE kv_sql_size SET pages = 0",
        "DROP TABLE kv",
        "DROP TABLE kv_size",
        "DROP TRIGGER kv_size_after_insert",
        "ALTER TABLE kv RENAME TO stolen",
        "ALTER TABLE kv ADD COLUMN extra",
        "ALTER TABLE kv_size RENAME COLUMN used TO u",
        "CREATE INDEX steal ON kv (value)",
        "CREATE TRIGGER t AFTER INSERT ON kv BEGIN SELECT 1; END",
        "CREATE TEMP TRIGGER t AFTER DELETE ON kv BEGIN SELECT 1; END",
        "CREATE TEMP TABLE kv (key, value)",
        "CREATE TEMP VIEW kv AS SELECT 1 AS key, 2 AS value",
        "CREATE TABLE kv_shadow (x)",
        "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)",
        "CREATE VIEW kv_view AS SELECT 1",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA journal_mode",
        "PRAGMA synchronous = OFF",
        "PRAGMA writable_schema = ON",
        "PRAGMA page_size = 1024",
        "PRAGMA user_version = 7",
        "PRAGMA foreign_keys = OFF",
        "PRAGMA recursive_triggers = ON",
        "PRAGMA wal_checkpoint(TRUNCATE)",
        "PRAGMA max_page_count = 1",
        "PRAGMA table_info(kv)",
        "ATTACH DATABASE ':memory:' AS side",
        &attach,
        "DETACH DATABASE temp",
        &vacuum_into,
        "VACUUM",
        "SELECT load_extension('libevil')",
        "BEGIN",
        "BEGIN IMMEDIATE",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT s",
        "RELEASE s",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        "SELECT zeroblob(1000000000)",
        "SELECT randomblob(3000000)",
        &deep,
        &many_parameters,
        &long_statement,
        "ANALYZE",
        "ANALYZE kv",
        "REINDEX kv",
        "CREATE VIRTUAL TABLE f USING fts5(x)",
        "SELECT 1; DROP TABLE kv",
    ]
    .into_iter()
    .map(|sql| vec![sql])
    .collect();
    // Attacks in several steps: the last step must fail (the earlier ones may pass).
    attacks.extend([
        vec!["CREATE VIEW peek AS SELECT * FROM kv", "SELECT * FROM peek"],
        vec![
            "CREATE TABLE own (a, b)",
            "CREATE TRIGGER own_t AFTER INSERT ON own BEGIN DELETE FROM kv; END",
            "INSERT INTO own VALUES (1, 2)",
        ],
        vec!["INSERT INTO own SELECT * FROM kv"],
        vec![
            "CREATE TABLE decoy (x)",
            "ALTER TABLE decoy RENAME TO kv_owner",
        ],
        vec![
            "CREATE TABLE decoy2 (x)",
            "ALTER TABLE decoy2 RENAME TO KV_thing",
        ],
        vec![
            "CREATE TEMP TABLE tt (x)",
            "CREATE TEMP TRIGGER tt_t AFTER INSERT ON tt BEGIN UPDATE kv SET value = x'00'; END",
            "INSERT INTO tt VALUES (1)",
        ],
        vec![
            "CREATE TABLE big (b)",
            "INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
             SELECT zeroblob(1000000) FROM c",
        ],
    ]);
    let statements: usize = attacks.iter().map(Vec::len).sum();
    assert!(statements >= 50, "{statements} hostile statements");
    for attack in &attacks {
        let (last, setup) = attack.split_last().expect("a step");
        for step in setup {
            let _ = driver.sql_execute("x", step, Params::NONE);
        }
        let error = expect_err(driver.sql_execute("x", last, Params::NONE), last);
        let typed = match &error {
            Error::Sqlite(error) => matches!(
                error.kind(),
                ErrorKind::NotAuthorized
                    | ErrorKind::Sql
                    | ErrorKind::TooBig
                    | ErrorKind::Interrupted
                    | ErrorKind::Misuse
            ),
            Error::Limit(_) => true,
            _ => false,
        };
        assert!(typed, "{last}: {error:?}");
    }
    assert!(
        !outside.exists(),
        "nothing may be written outside the database"
    );
    assert_eq!(all(&driver, "x"), initial);
    assert_eq!(driver.kv_storage_used("x")?, size);
    let check = driver.sql_query("x", "PRAGMA integrity_check", Params::NONE)?;
    assert_eq!(check[0].values(), [Value::Text("ok".into())]);
    // The driver works as before: its statements, its settings.
    driver.kv_put("x", &[(b"d", b"4")])?;
    assert_eq!(driver.kv_get_one("x", b"a")?, Some(b"1".to_vec()));
    driver.sleep_actor("x", None)?;
    assert_eq!(all(&driver, "x").len(), 4);
    Ok(())
}

/// The quota covers KV and SQL together: SQL that would pass it is refused (and undone),
/// and so is a KV put once SQL took the room; dropping SQL data gives room back.
pub(crate) fn sql_quota_covers_sql_and_kv(cx: &Context) -> CaseResult {
    let driver = open_with(cx, DriverOptions::new().max_storage_bytes(256 * 1024));
    create(&driver, "a", &[]);
    driver.sql_execute("a", "CREATE TABLE blobs (b BLOB)", Params::NONE)?;
    let mut stored = 0;
    let full = loop {
        match driver.sql_execute(
            "a",
            "INSERT INTO blobs VALUES (zeroblob(20000))",
            Params::NONE,
        ) {
            Ok(_) => stored += 1,
            Err(error) => break error,
        }
        assert!(stored < 100, "the quota never stopped SQL");
    };
    assert!(full.as_limit().is_some(), "{full:?}");
    assert!(stored >= 8, "only {stored} rows of 20 KB fit in 256 KiB");
    let sql_used = driver.sql_storage_used("a")?;
    assert!(
        sql_used >= stored * 20_000 && sql_used <= 256 * 1024,
        "{sql_used}"
    );
    // The failed insert was undone.
    let count = driver.sql_query("a", "SELECT count(*) FROM blobs", Params::NONE)?;
    assert_eq!(count[0].values(), [Value::Integer(stored as i64)]);
    let value = vec![7u8; 64 * 1024];
    let over = driver.kv_put("a", &[(&b"k"[..], &value[..])]);
    assert!(expect_err(over, "KV past the quota").as_limit().is_some());
    driver.sql_execute("a", "DELETE FROM blobs", Params::NONE)?;
    assert!(driver.sql_storage_used("a")? < sql_used);
    driver.kv_put("a", &[(&b"k"[..], &value[..])])?;
    Ok(())
}

/// A statement past its time is interrupted with a typed error; the actor goes on.
pub(crate) fn sql_time_limit_interrupts(cx: &Context) -> CaseResult {
    let limits = GuardLimits {
        time: Duration::from_millis(200),
        ..GuardLimits::default()
    };
    let driver = open_with(cx, DriverOptions::new().sql_limits(limits));
    create(&driver, "a", &entries(&[("k", "v")]));
    let endless =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c";
    let error = expect_err(driver.sql_query("a", endless, Params::NONE), "endless");
    assert_eq!(kind(&error), Some(ErrorKind::Interrupted), "{error:?}");
    driver.sql_execute("a", "CREATE TABLE t (x)", Params::NONE)?;
    let write = "INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
    let error = expect_err(
        driver.sql_execute("a", write, Params::NONE),
        "endless insert",
    );
    assert!(
        kind(&error) == Some(ErrorKind::Interrupted) || error.as_limit().is_some(),
        "{error:?}"
    );
    let rows = driver.sql_query("a", "SELECT count(*) FROM t", Params::NONE)?;
    assert_eq!(
        rows[0].values(),
        [Value::Integer(0)],
        "the interrupted insert left nothing"
    );
    assert_eq!(driver.kv_get_one("a", b"k")?, Some(b"v".to_vec()));
    Ok(())
}

/// Destroying an actor removes its SQL data with it; a new actor of the same id starts
/// with none.
pub(crate) fn sql_destroy_removes_sql_data(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    driver.sql_batch("a", "CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    driver.destroy_actor("a", None)?;
    create(&driver, "a", &[]);
    let error = expect_err(
        driver.sql_query("a", "SELECT * FROM t", Params::NONE),
        "gone",
    );
    assert_eq!(kind(&error), Some(ErrorKind::Sql), "{error:?}");
    assert_eq!(driver.sql_storage_used("a")?, 0);
    Ok(())
}

/// On a backend that cannot guard SQL, actor SQL is refused as unsupported, and nothing
/// runs.
pub(crate) fn sql_unsupported_without_guard(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k", "v")]));
    let error = expect_err(driver.sql_query("a", "SELECT 1", Params::NONE), "unguarded");
    assert_eq!(kind(&error), Some(ErrorKind::Unsupported), "{error:?}");
    assert_eq!(all(&driver, "a"), entries(&[("k", "v")]));
    Ok(())
}

/// A driver in memory has SQL too.
pub(crate) fn sql_in_memory(cx: &Context) -> CaseResult {
    let driver = FsDriver::memory(cx.runtime().clone(), DriverOptions::new());
    create(&driver, "a", &[]);
    driver.sql_batch("a", "CREATE TABLE t (x); INSERT INTO t VALUES (42);")?;
    let x = driver.sql_query_row("a", "SELECT x FROM t", Params::NONE, |row| {
        row.get::<i64>(0)
    })?;
    assert_eq!(x, Some(42));
    Ok(())
}
