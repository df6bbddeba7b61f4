//! `run`, `get` and `all`: what each returns.

use sqlite_runtime::{Params, Value, ValueRef, params};

use super::support::{count, scalar};
use crate::{CaseResult, Context};

/// `run` reports the rows changed and the last inserted rowid.
pub(crate) fn run_reports_changes_and_last_insert_rowid(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")?;
    let first = db.run("INSERT INTO t (v) VALUES (10)", Params::NONE)?;
    assert_eq!(first.changes, 1);
    assert_eq!(first.last_insert_rowid, 1);
    let explicit = db.run("INSERT INTO t (id, v) VALUES (?, 20)", params![41i64])?;
    assert_eq!(explicit.changes, 1);
    assert_eq!(explicit.last_insert_rowid, 41);
    let many = db.run("INSERT INTO t (v) VALUES (30), (40), (50)", Params::NONE)?;
    assert_eq!(many.changes, 3);
    assert_eq!(many.last_insert_rowid, 44);
    let update = db.run("UPDATE t SET v = v + 1 WHERE v >= 30", Params::NONE)?;
    assert_eq!(update.changes, 3);
    // An update does not change the last inserted rowid.
    assert_eq!(update.last_insert_rowid, 44);
    let none = db.run("DELETE FROM t WHERE v < 0", Params::NONE)?;
    assert_eq!(none.changes, 0);
    let delete = db.run("DELETE FROM t WHERE id <= 41", Params::NONE)?;
    assert_eq!(delete.changes, 2);
    assert_eq!(count(&mut *db, "t")?, 3);
    Ok(())
}

/// `run` runs DDL and statements that return rows to completion.
pub(crate) fn run_executes_ddl_and_selects(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.run("CREATE TABLE t (x)", Params::NONE)?;
    db.run("INSERT INTO t VALUES (1), (2)", Params::NONE)?;
    // A SELECT through `run` is stepped to the end and leaves nothing open.
    db.run("SELECT * FROM t", Params::NONE)?;
    db.run("DROP TABLE t", Params::NONE)?;
    let tables: i64 = scalar(
        &mut *db,
        "SELECT count(*) FROM sqlite_schema WHERE name = 't'",
        Params::NONE,
    )?;
    assert_eq!(tables, 0);
    Ok(())
}

/// `INSERT ... RETURNING` returns the new rows and inserts them.
pub(crate) fn run_returning_clause(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")?;
    let rows = db.all(
        "INSERT INTO t (v) VALUES (?), (?) RETURNING id, upper(v) AS up",
        params!["a", "b"],
    )?;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].columns(), ["id", "up"]);
    assert_eq!(
        rows[0].values(),
        &[Value::Integer(1), Value::Text("A".into())]
    );
    assert_eq!(
        rows[1].values(),
        &[Value::Integer(2), Value::Text("B".into())]
    );
    let row = db
        .get("DELETE FROM t WHERE id = 1 RETURNING v", Params::NONE)?
        .ok_or("no row returned")?;
    assert_eq!(row.get::<String>("v")?, "a");
    assert_eq!(count(&mut *db, "t")?, 1);
    Ok(())
}

/// `get` returns the first row, or `None` when there is no row.
pub(crate) fn get_first_row_or_none(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (3), (1), (2);")?;
    assert!(
        db.get("SELECT x FROM t WHERE x > 100", Params::NONE)?
            .is_none()
    );
    assert!(
        db.get(
            "SELECT x FROM t WHERE x = ?",
            Params::from(&[ValueRef::Null])
        )?
        .is_none()
    );
    let row = db
        .get("SELECT x FROM t ORDER BY x DESC", Params::NONE)?
        .ok_or("no row")?;
    assert_eq!(row.get::<i64>("x")?, 3);
    // An aggregate always has one row.
    let row = db
        .get("SELECT max(x) AS m FROM t WHERE x > 100", Params::NONE)?
        .ok_or("an aggregate has a row")?;
    assert_eq!(row.value("m")?, &Value::Null);
    Ok(())
}

/// `all` returns every row in order, and an empty vector when there is none.
pub(crate) fn all_returns_every_row_in_order(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x INTEGER, y TEXT)")?;
    assert!(db.all("SELECT * FROM t", Params::NONE)?.is_empty());
    for i in 0..250_i64 {
        db.run(
            "INSERT INTO t VALUES (?, ?)",
            params![i, &format!("row {i}")],
        )?;
    }
    let rows = db.all("SELECT x, y FROM t ORDER BY x DESC", Params::NONE)?;
    assert_eq!(rows.len(), 250);
    for (i, row) in rows.iter().enumerate() {
        let expected = 249 - i as i64;
        assert_eq!(row.columns(), ["x", "y"]);
        assert_eq!(row.get::<i64>("x")?, expected);
        assert_eq!(row.get::<String>("y")?, format!("row {expected}"));
    }
    Ok(())
}

/// `get` on a many-row query stops early and leaves no statement running: the table
/// can be dropped right after.
pub(crate) fn get_leaves_no_statement_running(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("get.db")?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")?;
    let row = db.get("SELECT x FROM t ORDER BY x", Params::NONE)?;
    assert!(row.is_some());
    assert!(
        !db.in_transaction()?,
        "a finished `get` must not hold a transaction"
    );
    db.exec("DROP TABLE t")?;
    // Another connection can write at once: no read lock is left behind.
    let mut other = cx.open_file_with(
        "get.db",
        &sqlite_runtime::OpenOptions::new().busy_timeout(std::time::Duration::ZERO),
    )?;
    other.exec("CREATE TABLE u (y)")?;
    Ok(())
}

/// `query_row` maps the first row (and reads no further), `None` when there is none;
/// `params!` and `named_params!` bind like the slices they stand for.
pub(crate) fn queries_query_row_and_param_macros(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (k BLOB PRIMARY KEY, n INTEGER, s TEXT)")?;
    for (key, n) in [(b"a", 1i64), (b"b", 2), (b"c", 3)] {
        db.run("INSERT INTO t VALUES (?, ?, ?)", params![key, n, "text"])?;
    }
    let first = db.query_row("SELECT n FROM t ORDER BY k", params![], |row| {
        row.get::<i64>(0)
    })?;
    assert_eq!(first, Some(1));
    let none = db.query_row("SELECT n FROM t WHERE k = ?", params![b"zz"], |row| {
        row.get::<i64>(0)
    })?;
    assert_eq!(none, None);
    let named = db.query_row(
        "SELECT s FROM t WHERE k = :k AND n = @n",
        sqlite_runtime::named_params! { ":k": b"b", "@n": 2 },
        |row| row.get::<String>(0),
    )?;
    assert_eq!(named.as_deref(), Some("text"));
    // An error from the mapping is the call's error.
    let error = db.query_row("SELECT s FROM t", params![], |row| row.get::<i64>(0));
    assert!(error.is_err());
    Ok(())
}
