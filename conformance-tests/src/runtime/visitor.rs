//! `for_each`: rows visited in order, without collecting, stopping at `Break`.

use std::ops::ControlFlow;

use sqlite_runtime::{Error, ErrorKind, Params, params};

use super::support::{assert_kind, count, expect_err};
use crate::{CaseResult, Context};

/// Rows arrive in order, with their values.
pub(crate) fn for_each_visits_rows_in_order(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x INTEGER, y TEXT)")?;
    for i in (0..100_i64).rev() {
        db.run("INSERT INTO t VALUES (?, ?)", params![i, &i.to_string()])?;
    }
    let mut seen = Vec::new();
    db.for_each(
        "SELECT x, y FROM t WHERE x >= ? ORDER BY x",
        params![10i64],
        &mut |row| {
            let x: i64 = row.get("x")?;
            assert_eq!(row.get::<String>("y")?, x.to_string());
            seen.push(x);
            Ok(ControlFlow::Continue(()))
        },
    )?;
    assert_eq!(seen, (10..100).collect::<Vec<_>>());
    // No rows: the visitor is never called.
    let mut calls = 0;
    db.for_each("SELECT x FROM t WHERE x < 0", Params::NONE, &mut |_| {
        calls += 1;
        Ok(ControlFlow::Continue(()))
    })?;
    assert_eq!(calls, 0);
    Ok(())
}

/// `Break` stops the visit at once.
pub(crate) fn for_each_stops_at_break(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let mut seen = Vec::new();
    db.for_each(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) SELECT i FROM n",
        Params::NONE,
        &mut |row| {
            seen.push(row.get::<i64>(0)?);
            Ok(if seen.len() == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        },
    )?;
    assert_eq!(seen, [1, 2, 3]);
    Ok(())
}

/// An error returned by the visitor stops the visit and comes back unchanged.
pub(crate) fn for_each_propagates_visitor_error(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);")?;
    let mut calls = 0;
    let error = expect_err(
        db.for_each("SELECT x FROM t ORDER BY x", Params::NONE, &mut |_| {
            calls += 1;
            Err(Error::new(ErrorKind::Unsupported, "visitor says stop"))
        }),
        "a failing visitor",
    );
    assert_eq!(calls, 1);
    assert_kind(&error, ErrorKind::Unsupported);
    assert_eq!(error.message(), "visitor says stop");
    // The statement was reset: the connection is fully usable, even for DDL.
    db.exec("DROP TABLE t")?;
    Ok(())
}

/// A huge result visited with an early `Break` is not collected and leaves the
/// connection usable: a following write and `DROP TABLE` work.
pub(crate) fn for_each_early_break_on_huge_query(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("huge.db")?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
               SELECT i, (SELECT max(x) FROM t) FROM n";
    let mut visited = 0;
    db.for_each(sql, Params::NONE, &mut |row| {
        visited += 1;
        assert_eq!(row.get::<i64>(0)?, visited);
        Ok(if visited == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })?;
    assert_eq!(visited, 10);
    assert!(
        !db.in_transaction()?,
        "no read transaction may be left open"
    );
    db.run("INSERT INTO t VALUES (2)", Params::NONE)?;
    assert_eq!(count(&mut *db, "t")?, 2);
    db.exec("DROP TABLE t")?;
    // The same SQL (maybe cached) runs again from the start.
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (5);")?;
    let mut first = None;
    db.for_each(sql, Params::NONE, &mut |row| {
        first = Some((row.get::<i64>(0)?, row.get::<i64>(1)?));
        Ok(ControlFlow::Break(()))
    })?;
    assert_eq!(first, Some((1, 5)));
    Ok(())
}

/// A 100k-row query visited to the end sees every row exactly once.
pub(crate) fn for_each_streams_many_rows(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let mut visited = 0_i64;
    let mut sum = 0_i64;
    db.for_each(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT i, 'row ' || i FROM n",
        Params::NONE,
        &mut |row| {
            visited += 1;
            sum += row.get::<i64>(0)?;
            Ok(ControlFlow::Continue(()))
        },
    )?;
    assert_eq!(visited, 100_000);
    assert_eq!(sum, 100_000 * 100_001 / 2);
    Ok(())
}
