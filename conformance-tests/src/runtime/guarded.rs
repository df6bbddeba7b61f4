//! Guarded SQL: untrusted statements compiled under a [`Guard`] that SQLite enforces,
//! within its limits, leaving the connection's own statements and settings alone.

use std::ops::ControlFlow;
use std::time::Duration;

use sqlite_runtime::{
    ErrorKind, Guard, GuardLimits, Params, Result, Row, SqliteDatabase, Value, named_params, params,
};

use super::support::{expect_err, scalar};
use crate::{CaseResult, Context};

fn guard() -> Guard {
    Guard::new(["secret"], ["secret_"])
}

fn guarded_rows(
    db: &mut dyn SqliteDatabase,
    guard: &Guard,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    db.guarded_for_each(guard, sql, params, &mut |row| {
        rows.push(row.to_row(row.column_names()?.into()));
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(rows)
}

fn setup(cx: &Context) -> Result<Box<dyn SqliteDatabase>> {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE secret (k, v); INSERT INTO secret VALUES ('a', 1);")?;
    Ok(db)
}

/// Own tables: create, write (positional and named parameters), read; what the
/// statement does is reported before it runs.
pub(crate) fn guarded_sql_runs_on_own_tables(cx: &Context) -> CaseResult {
    let mut db = setup(cx)?;
    let guard = guard();
    let create = "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, qty INTEGER)";
    let found = db.guarded_prepare(&guard, create)?;
    assert!(!found.read_only && found.changes_schema, "{found:?}");
    db.guarded_for_each(&guard, create, Params::NONE, &mut |_| {
        Ok(ControlFlow::Continue(()))
    })?;
    let insert = "INSERT INTO orders (item, qty) VALUES (?, ?)";
    let outcome = db.guarded_for_each(&guard, insert, params!["tea", 2], &mut |_| {
        Ok(ControlFlow::Continue(()))
    })?;
    assert_eq!((outcome.changes, outcome.last_insert_rowid), (1, 1));
    let named = "INSERT INTO orders (item, qty) VALUES (:item, :qty)";
    guarded_rows(
        &mut *db,
        &guard,
        named,
        named_params! { ":item": "cake", ":qty": 3 },
    )?;
    let select = "SELECT item, qty FROM orders WHERE qty >= ? ORDER BY id";
    let found = db.guarded_prepare(&guard, select)?;
    assert!(found.read_only && !found.changes_schema);
    let rows = guarded_rows(&mut *db, &guard, select, params![2])?;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1].values(),
        [Value::Text("cake".into()), Value::Integer(3)]
    );
    assert_eq!(rows[0].columns(), ["item", "qty"]);
    // A read in one call; a write is left for the caller to run, and does not run.
    let mut seen = 0;
    let read = db.guarded_read(&guard, select, params![3], &mut |_| {
        seen += 1;
        Ok(ControlFlow::Continue(()))
    })?;
    assert!(read && seen == 1);
    let delete = "DELETE FROM orders";
    let read = db.guarded_read(&guard, delete, Params::NONE, &mut |_| {
        Ok(ControlFlow::Continue(()))
    })?;
    assert!(!read);
    assert_eq!(
        guarded_rows(&mut *db, &guard, select, params![0])?.len(),
        2,
        "nothing deleted"
    );
    Ok(())
}

/// Reserved tables cannot be read or written, however reached, and the refusal says so
/// with its own kind; the owner's statements keep working.
pub(crate) fn guarded_sql_refuses_reserved_tables(cx: &Context) -> CaseResult {
    let mut db = setup(cx)?;
    let guard = guard();
    db.guarded_for_each(
        &guard,
        "CREATE VIEW peek AS SELECT * FROM secret",
        Params::NONE,
        &mut |_| Ok(ControlFlow::Continue(())),
    )?;
    for sql in [
        "SELECT * FROM secret",
        "SELECT * FROM SECRET",
        "SELECT * FROM main.secret",
        "SELECT (SELECT v FROM secret)",
        "SELECT * FROM peek",
        "INSERT INTO secret VALUES ('b', 2)",
        "DELETE FROM secret",
        "DROP TABLE secret",
        "ALTER TABLE secret ADD COLUMN x",
        "CREATE TEMP TABLE secret (x)",
        "CREATE TABLE secret_2 (x)",
        "CREATE INDEX i ON secret (k)",
        "CREATE TEMP TRIGGER t AFTER INSERT ON secret BEGIN SELECT 1; END",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA table_info(secret)",
        "ATTACH ':memory:' AS other",
        "BEGIN",
        "SAVEPOINT s",
        "SELECT load_extension('x')",
    ] {
        let error = expect_err(guarded_rows(&mut *db, &guard, sql, Params::NONE), sql);
        assert!(
            matches!(error.kind(), ErrorKind::NotAuthorized | ErrorKind::Sql),
            "{sql}: {error}"
        );
        if error.kind() == ErrorKind::NotAuthorized {
            assert!(
                error.to_string().contains("not authorized"),
                "{sql}: {error}"
            );
            assert!(!error.message().is_empty(), "{sql}: the reason is given");
        }
    }
    // The owner is not guarded, and its statement with the same text still works.
    assert_eq!(
        scalar::<i64>(&mut *db, "SELECT count(*) FROM secret", Params::NONE)?,
        1
    );
    assert!(!db.in_transaction()?);
    Ok(())
}

/// The limits hold while guarded statements run and are lifted afterwards; a statement
/// that runs too long is interrupted and the connection keeps working.
pub(crate) fn guarded_sql_limits_and_time(cx: &Context) -> CaseResult {
    let mut db = setup(cx)?;
    let guard = guard().with_limits(GuardLimits {
        time: Duration::from_millis(200),
        ..GuardLimits::default()
    });
    let too_big = expect_err(
        guarded_rows(&mut *db, &guard, "SELECT zeroblob(3000000)", Params::NONE),
        "zeroblob",
    );
    assert_eq!(too_big.kind(), ErrorKind::TooBig, "{too_big}");
    let long = format!("SELECT {}", "1 + ".repeat(30_000) + "1");
    let error = expect_err(guarded_rows(&mut *db, &guard, &long, Params::NONE), "long");
    assert_eq!(error.kind(), ErrorKind::TooBig, "{error}");
    let deep = format!("SELECT 1{}", " + 1".repeat(200));
    expect_err(guarded_rows(&mut *db, &guard, &deep, Params::NONE), "deep");
    let many: String = (0..101).map(|_| "?").collect::<Vec<_>>().join(", ");
    expect_err(
        guarded_rows(&mut *db, &guard, &format!("SELECT {many}"), Params::NONE),
        "parameters",
    );
    let endless =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    let error = expect_err(
        guarded_rows(&mut *db, &guard, endless, Params::NONE),
        "endless",
    );
    assert_eq!(error.kind(), ErrorKind::Interrupted, "{error}");
    // Lifted: the owner may hold a larger value, and run the same deep expression.
    assert_eq!(
        scalar::<i64>(&mut *db, "SELECT length(zeroblob(3000000))", Params::NONE)?,
        3_000_000
    );
    assert_eq!(scalar::<i64>(&mut *db, &deep, Params::NONE)?, 201);
    let rows = guarded_rows(
        &mut *db,
        &guard,
        "SELECT count(*) FROM (SELECT 1)",
        Params::NONE,
    )?;
    assert_eq!(rows[0].values(), [Value::Integer(1)]);
    Ok(())
}

/// One statement per call: a second one is refused before anything runs.
pub(crate) fn guarded_sql_one_statement_per_call(cx: &Context) -> CaseResult {
    let mut db = setup(cx)?;
    let guard = guard();
    let error = expect_err(
        guarded_rows(
            &mut *db,
            &guard,
            "CREATE TABLE a (x); CREATE TABLE b (x)",
            Params::NONE,
        ),
        "two statements",
    );
    assert_eq!(error.kind(), ErrorKind::Misuse, "{error}");
    let tables = scalar::<i64>(
        &mut *db,
        "SELECT count(*) FROM sqlite_schema WHERE name IN ('a', 'b')",
        Params::NONE,
    )?;
    assert_eq!(tables, 0);
    Ok(())
}
