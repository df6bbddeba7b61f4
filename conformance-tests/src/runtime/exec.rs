//! `exec`: several `;`-separated statements, no parameters, rows discarded.

use sqlite_runtime::{ErrorKind, Params, Value};

use super::support::{assert_kind, column, count, expect_err};
use crate::{CaseResult, Context};

/// Every statement of a batch runs, including ones that return rows.
pub(crate) fn exec_runs_every_statement(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "CREATE TABLE t (x INTEGER);
         INSERT INTO t VALUES (1);
         SELECT * FROM t;
         INSERT INTO t VALUES (2), (3);
         SELECT x FROM t WHERE x > 1;
         UPDATE t SET x = x * 10 WHERE x = 3;",
    )?;
    assert_eq!(
        column(&mut *db, "SELECT x FROM t ORDER BY x")?,
        vec![Value::Integer(1), Value::Integer(2), Value::Integer(30)]
    );
    Ok(())
}

/// An error in the second statement is reported; the first ran, the third did not.
pub(crate) fn exec_reports_error_in_second_statement(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let error = expect_err(
        db.exec(
            "CREATE TABLE t (x);
             INSERT INTO missing_table VALUES (1);
             INSERT INTO t VALUES (3);",
        ),
        "exec with a failing second statement",
    );
    assert_kind(&error, ErrorKind::Sql);
    assert!(
        error.message().contains("missing_table"),
        "message should name the table: {error}"
    );
    assert_eq!(count(&mut *db, "t")?, 0, "the third statement must not run");
    Ok(())
}

/// A constraint failure in the middle of a batch is reported with its kind.
pub(crate) fn exec_reports_constraint_in_batch(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x UNIQUE)")?;
    let error = expect_err(
        db.exec("INSERT INTO t VALUES (1); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);"),
        "duplicate insert in a batch",
    );
    assert!(matches!(error.kind(), ErrorKind::Constraint(_)), "{error}");
    assert_eq!(error.extended_code(), Some(2067), "{error}");
    assert_eq!(count(&mut *db, "t")?, 1);
    Ok(())
}

/// Empty batches, comments and stray semicolons are accepted and do nothing.
pub(crate) fn exec_accepts_empty_and_comment_only_sql(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("")?;
    db.exec("   \n\t ")?;
    db.exec("-- just a comment\n")?;
    db.exec("/* block */ ;;")?;
    db.exec("CREATE TABLE t (x); -- trailing comment")?;
    assert_eq!(count(&mut *db, "t")?, 0);
    let row = db.get("SELECT 1 AS one", Params::NONE)?;
    assert!(row.is_some());
    Ok(())
}

/// `exec` runs every statement to completion, not just to its first row: an error in a
/// later row of a `SELECT` is reported.
pub(crate) fn exec_runs_each_statement_to_completion(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('{}'), ('not json');")?;
    let error = db
        .exec("SELECT json(x) FROM t ORDER BY rowid")
        .err()
        .ok_or("the malformed second row was never read")?;
    assert_eq!(error.kind(), ErrorKind::Sql, "{error}");
    Ok(())
}
