//! Parameter binding: positional, numbered and named, and mismatches.

use sqlite_runtime::{ErrorKind, Params, Value, ValueRef, params};

use super::support::{assert_kind, expect_err, scalar};
use crate::{CaseResult, Context};

/// `?` placeholders bind in order through `run`, `get` and `all`.
pub(crate) fn params_positional_run_get_all(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (k TEXT, v INTEGER)")?;
    for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
        db.run("INSERT INTO t (k, v) VALUES (?, ?)", params![k, v])?;
    }
    let row = db
        .get("SELECT v FROM t WHERE k = ?", params!["b"])?
        .ok_or("no row for b")?;
    assert_eq!(row.get::<i64>(0)?, 2);
    let rows = db.all(
        "SELECT k FROM t WHERE v >= ? AND v <= ? ORDER BY v",
        params![2i64, 3i64],
    )?;
    let keys: Vec<String> = rows.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
    assert_eq!(keys, ["b", "c"]);
    Ok(())
}

fn named_round_trip(cx: &Context, prefix: char) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (k TEXT, v INTEGER)")?;
    let k = format!("{prefix}key");
    let v = format!("{prefix}value");
    let insert = format!("INSERT INTO t (k, v) VALUES ({k}, {v})");
    // Names bind by name, whatever order they are given in.
    db.run(
        &insert,
        Params::from(&[
            (v.as_str(), ValueRef::Integer(7)),
            (k.as_str(), ValueRef::Text("seven")),
        ]),
    )?;
    db.run(
        &insert,
        Params::from(&[
            (k.as_str(), ValueRef::Text("eight")),
            (v.as_str(), ValueRef::Integer(8)),
        ]),
    )?;
    let row = db
        .get(
            &format!("SELECT v FROM t WHERE k = {k}"),
            Params::from(&[(k.as_str(), ValueRef::Text("seven"))]),
        )?
        .ok_or("no row for seven")?;
    assert_eq!(row.get::<i64>("v")?, 7);
    let rows = db.all(
        &format!("SELECT k FROM t WHERE v > {v} ORDER BY v"),
        Params::from(&[(v.as_str(), ValueRef::Integer(0))]),
    )?;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].get::<String>("k")?, "eight");
    Ok(())
}

/// `:name` parameters bind by name.
pub(crate) fn params_named_colon(cx: &Context) -> CaseResult {
    named_round_trip(cx, ':')
}

/// `@name` parameters bind by name.
pub(crate) fn params_named_at(cx: &Context) -> CaseResult {
    named_round_trip(cx, '@')
}

/// `$name` parameters bind by name.
pub(crate) fn params_named_dollar(cx: &Context) -> CaseResult {
    named_round_trip(cx, '$')
}

/// A name used twice in one statement is one parameter.
pub(crate) fn params_named_used_twice(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let n: i64 = scalar(
        &mut *db,
        "SELECT :x * 10 + :x",
        Params::from(&[(":x", ValueRef::Integer(4))]),
    )?;
    assert_eq!(n, 44);
    Ok(())
}

/// `?NNN` placeholders bind by number: positional value `i` binds `?i`.
pub(crate) fn params_numbered(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let row = db
        .get("SELECT ?2 AS b, ?1 AS a, ?2 || ?1 AS ba", params!["x", "y"])?
        .ok_or("no row")?;
    assert_eq!(
        row.values(),
        &[
            Value::Text("y".into()),
            Value::Text("x".into()),
            Value::Text("yx".into())
        ]
    );
    // `?` and `?NNN` mixed: `?` takes the number after the largest seen so far, so
    // `? , ?1` is one parameter and `?2, ?` are parameters 2 and 3.
    let row = db
        .get("SELECT ? AS a, typeof(?1) AS t", params![5i64])?
        .ok_or("no row")?;
    assert_eq!(
        row.values(),
        &[Value::Integer(5), Value::Text("integer".into())]
    );
    let row = db
        .get("SELECT ?2, ?", params![1i64, 2i64, 3i64])?
        .ok_or("no row")?;
    assert_eq!(row.values(), &[Value::Integer(2), Value::Integer(3)]);
    // `?3` alone makes a statement of three parameters.
    let row = db
        .get(
            "SELECT ?3",
            Params::from(&[ValueRef::Null, ValueRef::Null, ValueRef::Integer(3)]),
        )?
        .ok_or("no row")?;
    assert_eq!(row.get::<i64>(0)?, 3);
    Ok(())
}

/// Too few or too many positional values is a misuse, not a silent NULL or truncation.
pub(crate) fn params_count_mismatch_is_misuse(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (a, b)")?;
    let too_few = expect_err(
        db.run("INSERT INTO t VALUES (?, ?)", params![1i64]),
        "one value for two parameters",
    );
    assert_kind(&too_few, ErrorKind::Misuse);
    let too_many = expect_err(
        db.get("SELECT ?", params![1i64, 2i64]),
        "two values for one parameter",
    );
    assert_kind(&too_many, ErrorKind::Misuse);
    let none_given = expect_err(
        db.all("SELECT ? + ?", Params::NONE),
        "no values for two parameters",
    );
    assert_kind(&none_given, ErrorKind::Misuse);
    let for_none = expect_err(
        db.all("SELECT 1", params![1i64]),
        "a value for a statement without parameters",
    );
    assert_kind(&for_none, ErrorKind::Misuse);
    assert_eq!(
        super::support::count(&mut *db, "t")?,
        0,
        "nothing may be written"
    );
    // The connection (and the cached statement) still work with the right count.
    db.run("INSERT INTO t VALUES (?, ?)", params![1i64, 2i64])?;
    assert_eq!(super::support::count(&mut *db, "t")?, 1);
    Ok(())
}

/// A name the statement does not have is a misuse.
pub(crate) fn params_unknown_name_is_misuse(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (a)")?;
    let error = expect_err(
        db.run(
            "INSERT INTO t VALUES (:a)",
            Params::from(&[(":nope", ValueRef::Integer(1))]),
        ),
        "an unknown parameter name",
    );
    assert_kind(&error, ErrorKind::Misuse);
    assert!(
        error.message().contains("nope"),
        "message should name it: {error}"
    );
    // The prefix is part of the name: `@a` is not `:a`.
    let error = expect_err(
        db.run(
            "INSERT INTO t VALUES (:a)",
            Params::from(&[("@a", ValueRef::Integer(1))]),
        ),
        "a parameter name with the wrong prefix",
    );
    assert_kind(&error, ErrorKind::Misuse);
    assert_eq!(super::support::count(&mut *db, "t")?, 0);
    Ok(())
}

/// A cached statement run again binds the new values, not the previous ones.
pub(crate) fn params_rebinding_a_cached_statement(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    for i in 0..5_i64 {
        let doubled: i64 = scalar(&mut *db, "SELECT ? * 2", params![i])?;
        assert_eq!(doubled, i * 2);
    }
    let text: String = scalar(
        &mut *db,
        "SELECT typeof(?)",
        Params::from(&[ValueRef::Null]),
    )?;
    assert_eq!(text, "null");
    let text: String = scalar(&mut *db, "SELECT typeof(?)", params![1.5f64])?;
    assert_eq!(text, "real");
    Ok(())
}
