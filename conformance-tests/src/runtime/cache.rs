//! The per-connection statement cache, as SQLite itself reports it.

use sqlite_runtime::{OpenOptions, Params, Target, Value, params};

use super::support::scalar;
use crate::{CaseResult, Context};

/// The same SQL run 50 times is one live statement, run (about) 50 times.
pub(crate) fn cache_reuses_one_statement_per_sql(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x)")?;
    let sql = "INSERT INTO t VALUES (?)";
    for i in 0..50_i64 {
        db.run(sql, params![i])?;
    }
    let query = "SELECT count(*) FROM t WHERE x >= ?";
    for i in 0..50_i64 {
        let n: i64 = scalar(&mut *db, query, params![i])?;
        assert_eq!(n, 50 - i);
    }
    let stats = db.statement_cache_stats()?;
    assert_eq!(
        stats.capacity,
        OpenOptions::DEFAULT_STATEMENT_CACHE_CAPACITY
    );
    for sql in [sql, query] {
        let live: Vec<_> = stats.statements.iter().filter(|s| s.sql == sql).collect();
        assert_eq!(
            live.len(),
            1,
            "exactly one live statement for `{sql}`: {stats:?}"
        );
        assert!(
            live[0].runs >= 49,
            "`{sql}` ran {} times: {stats:?}",
            live[0].runs
        );
    }
    Ok(())
}

/// No more statements stay alive than the configured capacity.
///
/// Slack of one: a backend may keep the statement of its most recent uncached call
/// (sqlx keeps its last non-persistent statement until the next one replaces it), so
/// the last `exec` before the checks is a single statement.
pub(crate) fn cache_respects_capacity(cx: &Context) -> CaseResult {
    let capacity = 8;
    let mut db = cx.runtime().open(
        &Target::Memory,
        &OpenOptions::new().statement_cache_capacity(capacity),
    )?;
    db.exec("CREATE TABLE t (x)")?;
    let texts: Vec<String> = (0..capacity + 10)
        .map(|i| format!("SELECT {i} + 0"))
        .collect();
    for (i, sql) in texts.iter().enumerate() {
        let n: i64 = scalar(&mut *db, sql, Params::NONE)?;
        assert_eq!(n, i as i64);
    }
    let stats = db.statement_cache_stats()?;
    assert_eq!(stats.capacity, capacity);
    let cached = stats
        .statements
        .iter()
        .filter(|s| texts.contains(&s.sql))
        .count();
    assert!(
        cached <= capacity,
        "{cached} cached for a capacity of {capacity}: {stats:?}"
    );
    assert!(
        stats.statements.len() <= capacity + 1,
        "{} live statements for a capacity of {capacity}: {stats:?}",
        stats.statements.len()
    );
    // The most recent one is still cached and reused.
    let last = &texts[texts.len() - 1];
    scalar::<i64>(&mut *db, last, Params::NONE)?;
    let stats = db.statement_cache_stats()?;
    let entry = stats
        .statement(last)
        .ok_or_else(|| format!("`{last}` is not cached: {stats:?}"))?;
    assert!(entry.runs >= 2, "`{last}` was not reused: {stats:?}");
    Ok(())
}

/// With capacity 0 nothing is cached: every call prepares afresh (no statement is
/// reused), nothing accumulates, and everything still works.
pub(crate) fn cache_capacity_zero_disables_caching(cx: &Context) -> CaseResult {
    let mut db = cx.runtime().open(
        &Target::Memory,
        &OpenOptions::new().statement_cache_capacity(0),
    )?;
    db.exec("CREATE TABLE t (x)")?;
    for i in 0..5_i64 {
        db.run("INSERT INTO t VALUES (?)", params![i])?;
        let n: i64 = scalar(&mut *db, "SELECT count(*) FROM t", Params::NONE)?;
        assert_eq!(n, i + 1);
    }
    for i in 0..10 {
        scalar::<i64>(&mut *db, &format!("SELECT {i}"), Params::NONE)?;
    }
    let stats = db.statement_cache_stats()?;
    assert_eq!(stats.capacity, 0);
    // Slack of one for the most recent statement (see `cache_respects_capacity`).
    assert!(
        stats.statements.len() <= 1,
        "capacity 0 keeps statements: {stats:?}"
    );
    for statement in &stats.statements {
        assert!(
            statement.runs <= 1,
            "capacity 0 reused a statement: {stats:?}"
        );
    }
    Ok(())
}

/// Failed statements, runtime errors and early `Break`s leak no statements: the live
/// set stays within the capacity however many distinct statements went wrong.
pub(crate) fn cache_errors_leak_no_statements(cx: &Context) -> CaseResult {
    let capacity = 4;
    let mut db = cx.runtime().open(
        &Target::Memory,
        &OpenOptions::new().statement_cache_capacity(capacity),
    )?;
    db.exec("CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1), (2), (3);")?;
    for i in 0..20 {
        let _ = db.exec(&format!("SELEC {i}"));
        let _ = db.get(&format!("SELECT * FROM missing_{i}"), Params::NONE);
        let _ = db.get(
            &format!("SELECT abs(-9223372036854775807 - 1) + {i}"),
            Params::NONE,
        );
        let _ = db.run(&format!("INSERT INTO t VALUES (1 + {i} * 0)"), Params::NONE);
        let _ = db.run(&format!("INSERT INTO t VALUES (? + {i})"), Params::NONE);
        db.for_each(&format!("SELECT x + {i} FROM t"), Params::NONE, &mut |_| {
            Ok(std::ops::ControlFlow::Break(()))
        })?;
    }
    db.exec("SELECT 1")?;
    let stats = db.statement_cache_stats()?;
    assert!(
        stats.statements.len() <= capacity + 1,
        "{} live statements for a capacity of {capacity}: {stats:?}",
        stats.statements.len()
    );
    assert_eq!(super::support::count(&mut *db, "t")?, 3);
    Ok(())
}

/// A cached `SELECT *` sees a column added after it was prepared.
pub(crate) fn cache_survives_schema_change(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("schema.db")?;
    db.exec("CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2);")?;
    let sql = "SELECT * FROM t";
    let before = db.get(sql, Params::NONE)?.ok_or("no row")?;
    assert_eq!(before.columns(), ["a", "b"]);
    db.exec("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'new'")?;
    let after = db.get(sql, Params::NONE)?.ok_or("no row")?;
    assert_eq!(after.columns(), ["a", "b", "c"]);
    assert_eq!(
        after.values(),
        &[
            Value::Integer(1),
            Value::Integer(2),
            Value::Text("new".into())
        ]
    );
    let all = db.all(sql, Params::NONE)?;
    assert_eq!(all[0].columns(), ["a", "b", "c"]);
    // Dropped and recreated with other columns.
    db.exec("DROP TABLE t; CREATE TABLE t (z); INSERT INTO t VALUES ('zz');")?;
    let recreated = db.get(sql, Params::NONE)?.ok_or("no row")?;
    assert_eq!(recreated.columns(), ["z"]);
    assert_eq!(recreated.get::<String>("z")?, "zz");
    // A schema change from another connection is seen too.
    let mut other = cx.open_file("schema.db")?;
    other.exec("ALTER TABLE t ADD COLUMN w INTEGER DEFAULT 9")?;
    let seen = db.get(sql, Params::NONE)?.ok_or("no row")?;
    assert_eq!(seen.columns(), ["z", "w"]);
    assert_eq!(seen.get::<i64>("w")?, 9);
    Ok(())
}

/// After a schema change the cached statement is refreshed, not duplicated.
pub(crate) fn cache_refreshed_not_duplicated_after_schema_change(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1);")?;
    let sql = "SELECT * FROM t";
    db.get(sql, Params::NONE)?;
    db.exec("ALTER TABLE t ADD COLUMN b DEFAULT 2")?;
    let row = db.get(sql, Params::NONE)?.ok_or("no row")?;
    assert_eq!(row.len(), 2);
    let stats = db.statement_cache_stats()?;
    let live: Vec<_> = stats.statements.iter().filter(|s| s.sql == sql).collect();
    // Whether SQLite re-prepared it in place (`reprepares`) or the backend prepared a
    // fresh one is the backend's business; a stale duplicate is not.
    assert_eq!(live.len(), 1, "{stats:?}");
    Ok(())
}

/// A bound `LIMIT ?` or `LIKE ?` makes SQLite re-prepare the statement whenever the
/// parameter is bound anew (same columns, same schema). Such statements must keep
/// working, give the right rows, and stay cached.
pub(crate) fn cache_keeps_statements_with_bound_limit_and_like(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("limit.db")?;
    db.exec(
        "CREATE TABLE t (x INTEGER, s TEXT);
         INSERT INTO t VALUES (1, 'apple'), (2, 'apricot'), (3, 'banana'), (4, 'avocado');",
    )?;
    let sql = "SELECT x FROM t WHERE s LIKE ? ORDER BY x LIMIT ?";
    for round in 0..20i64 {
        let (pattern, limit, expected): (&str, i64, &[i64]) = match round % 3 {
            0 => ("a%", 2, &[1, 2]),
            1 => ("a%", 10, &[1, 2, 4]),
            _ => ("b%", 1 + round, &[3]),
        };
        let rows = db.all(sql, params![pattern, limit])?;
        let got: Vec<i64> = rows.iter().map(|r| r.get(0)).collect::<Result<_, _>>()?;
        assert_eq!(got, expected, "round {round}");
    }
    let stats = db.statement_cache_stats()?;
    let statement = stats.statement(sql).ok_or("the statement is not cached")?;
    assert!(statement.runs >= 19, "{statement:?}");
    Ok(())
}
