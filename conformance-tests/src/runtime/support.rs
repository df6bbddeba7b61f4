//! Small helpers shared by the runtime cases.

use std::fmt::Debug;

use sqlite_runtime::{Error, ErrorKind, FromValue, Params, Result, SqliteDatabase, Value};

/// The first column of the first row of `sql`, converted to `T`.
pub(crate) fn scalar<T: FromValue>(
    db: &mut dyn SqliteDatabase,
    sql: &str,
    params: Params<'_>,
) -> Result<T> {
    let row = db
        .get(sql, params)?
        .ok_or_else(|| Error::new(ErrorKind::Other, format!("`{sql}` returned no row")))?;
    row.get(0)
}

/// `SELECT count(*) FROM table`.
pub(crate) fn count(db: &mut dyn SqliteDatabase, table: &str) -> Result<i64> {
    scalar(db, &format!("SELECT count(*) FROM {table}"), Params::NONE)
}

/// The values of the first column of every row of `sql`.
pub(crate) fn column(db: &mut dyn SqliteDatabase, sql: &str) -> Result<Vec<Value>> {
    Ok(db
        .all(sql, Params::NONE)?
        .into_iter()
        .map(|row| row.into_values().into_iter().next().unwrap_or(Value::Null))
        .collect())
}

/// The error of `result`; panics (failing the case) when it is `Ok`.
pub(crate) fn expect_err<T: Debug>(result: Result<T>, what: &str) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected an error, got Ok({value:?})"),
        Err(error) => error,
    }
}

/// Asserts that `error` has `kind`, with the whole error in the failure message.
pub(crate) fn assert_kind(error: &Error, kind: ErrorKind) {
    assert_eq!(error.kind(), kind, "unexpected error kind: {error}");
}
