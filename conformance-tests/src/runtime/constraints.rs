//! Constraint violations: kind, extended code, and nothing written.

use sqlite_runtime::{ConstraintKind, ErrorKind, Params, SqliteDatabase, ValueRef, params};

use super::support::{count, expect_err};
use crate::{CaseResult, Context};

/// Runs `sql`, which must fail with `kind` and `code`, and checks that `table` kept
/// its row count.
fn violates(
    db: &mut dyn SqliteDatabase,
    sql: &str,
    table: &str,
    kind: ConstraintKind,
    code: i32,
) -> CaseResult {
    let before = count(db, table)?;
    let error = expect_err(db.run(sql, Params::NONE), sql);
    assert_eq!(error.kind(), ErrorKind::Constraint(kind), "{sql}: {error}");
    assert_eq!(error.extended_code(), Some(code), "{sql}: {error}");
    assert!(!error.is_retryable());
    assert_eq!(count(db, table)?, before, "`{sql}` must write nothing");
    assert!(
        !db.in_transaction()?,
        "an autocommit statement leaves no transaction"
    );
    Ok(())
}

/// UNIQUE → 2067, naming the column.
pub(crate) fn constraint_unique(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE); INSERT INTO t (email) VALUES ('a@x');")?;
    violates(
        &mut *db,
        "INSERT INTO t (email) VALUES ('a@x')",
        "t",
        ConstraintKind::Unique,
        2067,
    )?;
    let error = expect_err(
        db.run("INSERT INTO t (email) VALUES (?)", params!["a@x"]),
        "bound duplicate",
    );
    assert!(error.message().contains("t.email"), "{error}");
    // A unique index behaves the same.
    db.exec(
        "CREATE TABLE u (a, b); CREATE UNIQUE INDEX u_ab ON u (a, b); INSERT INTO u VALUES (1, 2);",
    )?;
    violates(
        &mut *db,
        "INSERT INTO u VALUES (1, 2)",
        "u",
        ConstraintKind::Unique,
        2067,
    )?;
    Ok(())
}

/// PRIMARY KEY on a WITHOUT ROWID table or a non-integer key → 1555.
pub(crate) fn constraint_primary_key(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "CREATE TABLE w (k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO w VALUES ('a', 1);
         CREATE TABLE p (k TEXT PRIMARY KEY, v); INSERT INTO p VALUES ('a', 1);",
    )?;
    violates(
        &mut *db,
        "INSERT INTO w VALUES ('a', 2)",
        "w",
        ConstraintKind::PrimaryKey,
        1555,
    )?;
    violates(
        &mut *db,
        "INSERT INTO p VALUES ('a', 2)",
        "p",
        ConstraintKind::PrimaryKey,
        1555,
    )?;
    Ok(())
}

/// A duplicate rowid: through an INTEGER PRIMARY KEY alias SQLite reports the primary
/// key (1555); through the bare `rowid` of a table without one, ROWID (2579).
pub(crate) fn constraint_rowid(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v); INSERT INTO a VALUES (1, 'x');
         CREATE TABLE b (v); INSERT INTO b (rowid, v) VALUES (1, 'x');",
    )?;
    violates(
        &mut *db,
        "INSERT INTO a VALUES (1, 'y')",
        "a",
        ConstraintKind::PrimaryKey,
        1555,
    )?;
    violates(
        &mut *db,
        "INSERT INTO b (rowid, v) VALUES (1, 'y')",
        "b",
        ConstraintKind::RowId,
        2579,
    )?;
    Ok(())
}

/// NOT NULL → 1299.
pub(crate) fn constraint_not_null(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (v TEXT NOT NULL)")?;
    violates(
        &mut *db,
        "INSERT INTO t VALUES (NULL)",
        "t",
        ConstraintKind::NotNull,
        1299,
    )?;
    let error = expect_err(
        db.run("INSERT INTO t VALUES (?)", Params::from(&[ValueRef::Null])),
        "bound NULL",
    );
    assert_eq!(error.kind(), ErrorKind::Constraint(ConstraintKind::NotNull));
    assert!(error.message().contains("t.v"), "{error}");
    Ok(())
}

/// CHECK → 275.
pub(crate) fn constraint_check(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (age INTEGER CONSTRAINT adult CHECK (age >= 18)); INSERT INTO t VALUES (30);")?;
    violates(
        &mut *db,
        "INSERT INTO t VALUES (3)",
        "t",
        ConstraintKind::Check,
        275,
    )?;
    violates(
        &mut *db,
        "UPDATE t SET age = 1",
        "t",
        ConstraintKind::Check,
        275,
    )?;
    let error = expect_err(db.run("INSERT INTO t VALUES (1)", Params::NONE), "check");
    assert!(error.message().contains("adult"), "{error}");
    Ok(())
}

/// FOREIGN KEY (with `PRAGMA foreign_keys = ON`) → 787.
pub(crate) fn constraint_foreign_key(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (parent_id INTEGER REFERENCES parent (id));
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1);",
    )?;
    violates(
        &mut *db,
        "INSERT INTO child VALUES (2)",
        "child",
        ConstraintKind::ForeignKey,
        787,
    )?;
    violates(
        &mut *db,
        "DELETE FROM parent",
        "parent",
        ConstraintKind::ForeignKey,
        787,
    )?;
    Ok(())
}

/// A STRICT table's column type → 3091.
pub(crate) fn constraint_datatype_strict(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE s (n INTEGER, t TEXT) STRICT")?;
    violates(
        &mut *db,
        "INSERT INTO s VALUES ('not a number', 'x')",
        "s",
        ConstraintKind::DataType,
        3091,
    )?;
    let error = expect_err(
        db.run("INSERT INTO s VALUES (?, ?)", params![1i64, b"blob"]),
        "a blob in a STRICT TEXT column",
    );
    assert_eq!(
        error.kind(),
        ErrorKind::Constraint(ConstraintKind::DataType),
        "{error}"
    );
    assert_eq!(error.extended_code(), Some(3091));
    db.run("INSERT INTO s VALUES ('12', 'ok')", Params::NONE)?; // losslessly convertible
    assert_eq!(count(&mut *db, "s")?, 1);
    Ok(())
}

/// `RAISE(ABORT, ...)` in a trigger → 1811 with the trigger's message.
pub(crate) fn constraint_trigger_raise(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec(
        "CREATE TABLE t (v INTEGER);
         CREATE TABLE audit (v INTEGER);
         CREATE TRIGGER t_guard BEFORE INSERT ON t WHEN NEW.v < 0
         BEGIN SELECT RAISE(ABORT, 'negative values are refused'); END;
         CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (NEW.v); END;",
    )?;
    db.run("INSERT INTO t VALUES (1)", Params::NONE)?;
    violates(
        &mut *db,
        "INSERT INTO t VALUES (-1)",
        "t",
        ConstraintKind::Trigger,
        1811,
    )?;
    let error = expect_err(db.run("INSERT INTO t VALUES (-2)", Params::NONE), "trigger");
    assert_eq!(error.message(), "negative values are refused");
    assert_eq!(count(&mut *db, "audit")?, 1);
    Ok(())
}

/// A statement that fails part-way writes nothing at all (statement atomicity), and
/// conflict clauses behave as documented.
pub(crate) fn constraint_failed_statement_writes_nothing(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (k INTEGER UNIQUE, v); INSERT INTO t VALUES (5, 'five');")?;
    // The third row conflicts: the first two must not be kept.
    violates(
        &mut *db,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (5, 'c'), (6, 'd')",
        "t",
        ConstraintKind::Unique,
        2067,
    )?;
    db.exec("INSERT INTO t VALUES (1, 'one'), (2, 'two');")?;
    // Shifting every key onto the next one collides half-way: no row may change.
    let error = expect_err(
        db.run("UPDATE t SET k = k + 1", Params::NONE),
        "colliding update",
    );
    assert_eq!(error.kind(), ErrorKind::Constraint(ConstraintKind::Unique));
    let keys: Vec<i64> = db
        .all("SELECT k FROM t ORDER BY k", Params::NONE)?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<_, _>>()?;
    assert_eq!(keys, [1, 2, 5]);
    // OR IGNORE skips the conflicting row and keeps the others.
    let ignored = db.run(
        "INSERT OR IGNORE INTO t VALUES (5, 'x'), (7, 'seven')",
        Params::NONE,
    )?;
    assert_eq!(ignored.changes, 1);
    // OR REPLACE replaces.
    db.run("INSERT OR REPLACE INTO t VALUES (5, 'FIVE')", Params::NONE)?;
    let v: String = super::support::scalar(&mut *db, "SELECT v FROM t WHERE k = 5", Params::NONE)?;
    assert_eq!(v, "FIVE");
    // An upsert turns the conflict into an update.
    db.run(
        "INSERT INTO t VALUES (7, 'new') ON CONFLICT (k) DO UPDATE SET v = excluded.v || '!'",
        Params::NONE,
    )?;
    let v: String = super::support::scalar(&mut *db, "SELECT v FROM t WHERE k = 7", Params::NONE)?;
    assert_eq!(v, "new!");
    Ok(())
}
