//! sqlx rows to borrowed values, by each value's actual storage class.

use sqlite_runtime::{Error, ErrorKind, ValueRef};
use sqlx::sqlite::{SqliteRow, SqliteValueRef};
use sqlx::{Column, Decode, Row, Sqlite, TypeInfo, ValueRef as _};

use super::NAME;
use super::errors::to_error;

/// The column names of a row.
pub(super) fn column_names(row: &SqliteRow) -> Vec<String> {
    row.columns().iter().map(|c| c.name().to_owned()).collect()
}

/// Appends the values of `row` to `out`, borrowed from the row.
pub(super) fn read_row<'r>(row: &'r SqliteRow, out: &mut Vec<ValueRef<'r>>) -> Result<(), Error> {
    for index in 0..row.len() {
        let raw = row.try_get_raw(index).map_err(to_error)?;
        out.push(value(raw)?);
    }
    Ok(())
}

enum Class {
    Integer,
    Real,
    Text,
    Blob,
}

fn value(raw: SqliteValueRef<'_>) -> Result<ValueRef<'_>, Error> {
    // For a NULL, sqlx reports the column's declared type; for anything else, the
    // value's own datatype (`sqlite3_value_type`), which is what we need.
    if raw.is_null() {
        return Ok(ValueRef::Null);
    }
    let class = match raw.type_info().name() {
        "INTEGER" => Class::Integer,
        "REAL" => Class::Real,
        "TEXT" => Class::Text,
        "BLOB" => Class::Blob,
        other => {
            return Err(Error::new(
                ErrorKind::Other,
                format!("unexpected SQLite datatype `{other}`"),
            )
            .with_backend(NAME));
        }
    };
    let decoded = match class {
        Class::Integer => <i64 as Decode<Sqlite>>::decode(raw).map(ValueRef::Integer),
        Class::Real => <f64 as Decode<Sqlite>>::decode(raw).map(ValueRef::Real),
        Class::Text => <&str as Decode<Sqlite>>::decode(raw).map(ValueRef::Text),
        Class::Blob => <&[u8] as Decode<Sqlite>>::decode(raw).map(ValueRef::Blob),
    };
    decoded.map_err(|e| {
        let message = match class {
            Class::Text => format!("text is not valid UTF-8: {e}"),
            _ => e.to_string(),
        };
        Error::new(ErrorKind::TypeMismatch, message).with_backend(NAME)
    })
}
