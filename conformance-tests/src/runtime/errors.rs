//! SQL errors: kinds, codes, messages, and a usable connection afterwards.

use sqlite_runtime::{ErrorKind, Params};

use super::support::{assert_kind, expect_err, scalar};
use crate::{CaseResult, Context};

/// A syntax error is `ErrorKind::Sql`, code 1, naming the token, from every method.
pub(crate) fn errors_syntax_error(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    let errors = [
        expect_err(db.exec("SELEC 1"), "exec"),
        expect_err(db.run("SELEC 1", Params::NONE), "run"),
        expect_err(db.get("SELEC 1", Params::NONE), "get"),
        expect_err(db.all("SELEC 1", Params::NONE), "all"),
        expect_err(
            db.for_each("SELEC 1", Params::NONE, &mut |_| {
                Ok(std::ops::ControlFlow::Continue(()))
            }),
            "for_each",
        ),
    ];
    for error in &errors {
        assert_kind(error, ErrorKind::Sql);
        assert_eq!(error.extended_code(), Some(1), "{error}");
        assert!(
            error.message().contains("SELEC"),
            "message should quote the token: {error}"
        );
        assert!(error.message().contains("syntax error"), "{error}");
        assert!(!error.is_retryable());
        assert_eq!(
            error.path(),
            None,
            "an SQL error is not about the file: {error}"
        );
    }
    let error = expect_err(db.exec("CREATE TABLE t (x"), "unterminated");
    assert_kind(&error, ErrorKind::Sql);
    Ok(())
}

/// Unknown tables, columns and functions are `ErrorKind::Sql`, named in the message.
pub(crate) fn errors_unknown_names(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x)")?;
    let error = expect_err(
        db.get("SELECT * FROM no_such_tbl", Params::NONE),
        "unknown table",
    );
    assert_kind(&error, ErrorKind::Sql);
    assert_eq!(error.extended_code(), Some(1));
    assert!(
        error.message().contains("no such table: no_such_tbl"),
        "{error}"
    );
    let error = expect_err(
        db.run("UPDATE t SET nope = 1", Params::NONE),
        "unknown column",
    );
    assert_kind(&error, ErrorKind::Sql);
    assert!(error.message().contains("nope"), "{error}");
    let error = expect_err(
        db.get("SELECT no_such_fn(1)", Params::NONE),
        "unknown function",
    );
    assert_kind(&error, ErrorKind::Sql);
    assert!(error.message().contains("no_such_fn"), "{error}");
    let error = expect_err(db.exec("CREATE TABLE t (y)"), "duplicate table");
    assert_kind(&error, ErrorKind::Sql);
    assert!(error.message().contains("already exists"), "{error}");
    Ok(())
}

/// Errors name the backend that reported them.
pub(crate) fn errors_carry_the_backend_name(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    assert_eq!(db.backend(), cx.runtime().backend());
    let error = expect_err(db.exec("SELEC"), "syntax error");
    assert_eq!(error.backend(), Some(cx.runtime().backend()));
    let text = error.to_string();
    assert!(text.contains(cx.runtime().backend()), "display: {text}");
    assert!(text.contains("SQLite code 1"), "display: {text}");
    Ok(())
}

/// Errors at run time (not at prepare time) are reported too, and the connection and
/// the statement cache stay usable after every kind of error.
pub(crate) fn errors_leave_the_connection_usable(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    db.exec("CREATE TABLE t (x INTEGER NOT NULL)")?;
    for _ in 0..3 {
        assert!(db.exec("SELEC").is_err());
        assert!(db.run("INSERT INTO t VALUES (NULL)", Params::NONE).is_err());
        assert!(db.get("SELECT * FROM missing", Params::NONE).is_err());
        // A run-time error inside a query: abs() of the smallest integer overflows.
        let error = expect_err(
            db.get("SELECT abs(-9223372036854775807 - 1)", Params::NONE),
            "integer overflow in abs()",
        );
        assert_kind(&error, ErrorKind::Sql);
        assert!(error.message().contains("integer overflow"), "{error}");
        db.run("INSERT INTO t VALUES (1)", Params::NONE)?;
    }
    let n: i64 = scalar(&mut *db, "SELECT count(*) FROM t", Params::NONE)?;
    assert_eq!(n, 3);
    assert!(!db.in_transaction()?);
    Ok(())
}

/// A hostile file whose schema names a column with bytes that are not UTF-8: reading it
/// is an error (or, where the backend can, a lossy name), never a panic, and the
/// connection stays usable.
pub(crate) fn errors_non_utf8_column_name_is_not_a_panic(cx: &Context) -> CaseResult {
    {
        let mut db = cx.open_file("hostile.db")?;
        db.exec(
            "CREATE TABLE t (ab INTEGER); INSERT INTO t VALUES (7);
             PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = CAST(X'435245415445205441424C452074202861FF20494E544547455229' AS TEXT)
              WHERE name = 't';
             PRAGMA writable_schema = OFF;",
        )?;
        db.close()?;
    }
    let mut db = cx.open_file("hostile.db")?;
    match db.all("SELECT * FROM t", Params::NONE) {
        Ok(rows) => assert_eq!(rows.len(), 1),
        Err(error) => assert!(
            matches!(error.kind(), ErrorKind::Corrupt | ErrorKind::TypeMismatch),
            "{error}"
        ),
    }
    assert_eq!(scalar::<i64>(&mut *db, "SELECT 40 + 2", Params::NONE)?, 42);
    Ok(())
}
