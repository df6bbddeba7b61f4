//! sqlx rows as the kit reads them, each value by its actual storage class.

use sqlite_runtime::raw::{RawRow, RawValue};
use sqlite_runtime::{Error, ErrorKind, Result};
use sqlx::sqlite::{SqliteRow, SqliteValueRef};
use sqlx::{Column, Decode, Row, Sqlite, TypeInfo, ValueRef as _};

use super::errors::to_error;

/// One row delivered by sqlx's worker.
pub(super) struct SqlxRow<'r>(pub(super) &'r SqliteRow);

impl RawRow for SqlxRow<'_> {
    fn column_count(&self) -> usize {
        self.0.columns().len()
    }

    fn column_name(&self, index: usize) -> Option<&[u8]> {
        // Never other than UTF-8: the plan's check refuses such statements before sqlx
        // (whose worker panics on them) sees them.
        self.0.columns().get(index).map(|c| c.name().as_bytes())
    }

    fn column(&self, index: usize) -> Result<RawValue<'_>> {
        value(self.0.try_get_raw(index).map_err(to_error)?)
    }
}

fn value(raw: SqliteValueRef<'_>) -> Result<RawValue<'_>> {
    // For a NULL, sqlx reports the column's declared type; for anything else, the
    // value's own datatype (`sqlite3_value_type`), which is what we need.
    if raw.is_null() {
        return Ok(RawValue::Null);
    }
    // Text is read as its bytes (no UTF-8 check here: the kit does it).
    let decoded = match raw.type_info().name() {
        "INTEGER" => <i64 as Decode<Sqlite>>::decode(raw).map(RawValue::Integer),
        "REAL" => <f64 as Decode<Sqlite>>::decode(raw).map(RawValue::Real),
        "TEXT" => <&[u8] as Decode<Sqlite>>::decode(raw).map(RawValue::Text),
        "BLOB" => <&[u8] as Decode<Sqlite>>::decode(raw).map(RawValue::Blob),
        other => {
            return Err(Error::new(
                ErrorKind::Other,
                format!("unexpected SQLite datatype `{other}`"),
            ));
        }
    };
    decoded.map_err(|e| Error::new(ErrorKind::TypeMismatch, e.to_string()))
}
