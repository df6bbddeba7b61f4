//! sqlx rows to borrowed values, by each value's actual storage class.

use sqlite_runtime::{ColumnNames, Error, ErrorKind, ValueRef};
use sqlx::sqlite::{SqliteRow, SqliteValueRef};
use sqlx::{Column, Decode, Row, Sqlite, TypeInfo, ValueRef as _};

use super::NAME;
use super::errors::to_error;

/// The column names of a row, read on demand.
pub(super) struct RowNames<'r>(pub(super) &'r SqliteRow);

impl ColumnNames for RowNames<'_> {
    fn count(&self) -> usize {
        self.0.columns().len()
    }

    fn name(&self, index: usize) -> Result<&str, Error> {
        self.0
            .columns()
            .get(index)
            .map(|c| c.name())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Misuse,
                    format!("column index {index} out of range"),
                )
                .with_backend(NAME)
            })
    }
}

/// The value of column `index` of `row`, borrowed from the row.
pub(super) fn read_value(row: &SqliteRow, index: usize) -> Result<ValueRef<'_>, Error> {
    value(row.try_get_raw(index).map_err(to_error)?)
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
