//! Result rows: column names, typed access, type mismatches.

use std::ops::ControlFlow;

use sqlite_runtime::{ErrorKind, Params, Value, ValueRef, params};

use super::support::{assert_kind, expect_err};
use crate::{CaseResult, Context};

/// Column names follow aliases, `SELECT *` order and expression text.
pub(crate) fn rows_column_names(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (zeta INTEGER, alpha TEXT, \"Mixed Case\" REAL); INSERT INTO t VALUES (1, 'a', 1.5);")?;
    let star = db.get("SELECT * FROM t", Params::NONE)?.ok_or("no row")?;
    assert_eq!(star.columns(), ["zeta", "alpha", "Mixed Case"]);
    let aliased = db
        .get(
            "SELECT alpha AS first, zeta AS \"second one\", 1 + 2, upper(alpha), ? AS p FROM t",
            params![9i64],
        )?
        .ok_or("no row")?;
    assert_eq!(
        aliased.columns(),
        ["first", "second one", "1 + 2", "upper(alpha)", "p"]
    );
    assert_eq!(aliased.get::<i64>("1 + 2")?, 3);
    assert_eq!(aliased.get::<String>("upper(alpha)")?, "A");
    // Names are the same through the visitor.
    let mut seen = Vec::new();
    db.for_each("SELECT * FROM t", Params::NONE, &mut |row| {
        seen = row.column_names()?;
        Ok(ControlFlow::Break(()))
    })?;
    assert_eq!(seen, ["zeta", "alpha", "Mixed Case"]);
    // Joined columns keep their own names; duplicates are kept and the first wins by name.
    let dup = db
        .get("SELECT 1 AS a, 2 AS a", Params::NONE)?
        .ok_or("no row")?;
    assert_eq!(dup.columns(), ["a", "a"]);
    assert_eq!(dup.get::<i64>("a")?, 1);
    assert_eq!(dup.get::<i64>(1)?, 2);
    Ok(())
}

/// Typed access by name and by index, through owned rows and the visitor.
pub(crate) fn rows_typed_access_by_name_and_index(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let sql = "SELECT 42 AS i, 2.5 AS r, 'héllo' AS t, x'0102' AS b, NULL AS n, 1 AS yes";
    let row = db.get(sql, Params::NONE)?.ok_or("no row")?;
    assert_eq!(row.len(), 6);
    assert_eq!(row.get::<i64>("i")?, 42);
    assert_eq!(row.get::<i32>(0)?, 42);
    assert_eq!(row.get::<u8>("i")?, 42);
    assert_eq!(row.get::<f64>("r")?, 2.5);
    assert_eq!(row.get::<f64>("i")?, 42.0);
    assert_eq!(row.get::<String>(2)?, "héllo");
    assert_eq!(row.get::<Vec<u8>>("b")?, vec![1, 2]);
    assert_eq!(row.get::<Option<i64>>("n")?, None);
    assert_eq!(row.get::<Option<String>>("t")?, Some("héllo".to_owned()));
    assert!(row.get::<bool>("yes")?);
    assert_eq!(row.get::<Value>("n")?, Value::Null);
    let mut checked = false;
    db.for_each(sql, Params::NONE, &mut |row| {
        assert_eq!(row.get::<i64>("i")?, 42);
        assert_eq!(row.value(2)?, ValueRef::Text("héllo"));
        assert_eq!(row.value("b")?, ValueRef::Blob(&[1, 2]));
        assert_eq!(row.get::<Option<f64>>("n")?, None);
        checked = true;
        Ok(ControlFlow::Continue(()))
    })?;
    assert!(checked);
    Ok(())
}

/// Reading a column as the wrong type is a `TypeMismatch` naming the column.
pub(crate) fn rows_type_mismatch_names_the_column(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "CREATE TABLE people (name TEXT, age INTEGER); INSERT INTO people VALUES ('ann', 300);",
    )?;
    let row = db
        .get("SELECT name, age FROM people", Params::NONE)?
        .ok_or("no row")?;
    let error = expect_err(row.get::<i64>("name"), "text read as an integer");
    assert_kind(&error, ErrorKind::TypeMismatch);
    assert!(
        error.message().contains("name"),
        "message should name the column: {error}"
    );
    let error = expect_err(row.get::<u8>("age"), "300 read as u8");
    assert_kind(&error, ErrorKind::TypeMismatch);
    assert!(error.message().contains("age"), "{error}");
    let error = expect_err(row.get::<String>(1), "integer read as text");
    assert_kind(&error, ErrorKind::TypeMismatch);
    // A visitor's mismatch propagates out of for_each.
    let error = expect_err(
        db.for_each("SELECT name FROM people", Params::NONE, &mut |row| {
            row.get::<Vec<u8>>("name")?;
            Ok(ControlFlow::Continue(()))
        }),
        "text read as a blob in a visitor",
    );
    assert_kind(&error, ErrorKind::TypeMismatch);
    assert!(error.message().contains("name"), "{error}");
    // A NULL is not an integer unless asked for as an Option.
    let row = db
        .get("SELECT NULL AS missing", Params::NONE)?
        .ok_or("no row")?;
    assert_kind(
        &expect_err(row.get::<i64>("missing"), "NULL as i64"),
        ErrorKind::TypeMismatch,
    );
    Ok(())
}

/// An unknown column name or an index out of range is a misuse.
pub(crate) fn rows_unknown_column_is_misuse(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let row = db.get("SELECT 1 AS a", Params::NONE)?.ok_or("no row")?;
    assert_kind(
        &expect_err(row.get::<i64>("b"), "column b"),
        ErrorKind::Misuse,
    );
    assert_kind(
        &expect_err(row.get::<i64>(1), "column 1"),
        ErrorKind::Misuse,
    );
    // Names are matched exactly.
    assert_kind(
        &expect_err(row.get::<i64>("A"), "column A"),
        ErrorKind::Misuse,
    );
    Ok(())
}
