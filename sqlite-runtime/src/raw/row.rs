//! The row a binding's statement is positioned on, and its column names as
//! [`ColumnNames`].

use crate::{ColumnNames, Error, ErrorKind, Result};

use super::RawValue;
use super::context::Context;

/// The row a statement's last step produced, valid for one call of the kit's row visitor.
///
/// The kit reads each column once, in order, with [`column`](RawRow::column), and reads
/// names only when the application asks for one.
pub trait RawRow {
    /// The number of columns of the row. Every row of one statement run has the same
    /// (the kit reads it from the first).
    fn column_count(&self) -> usize;

    /// The name of column `index` (`0`-based) as stored, not checked for UTF-8 (the kit
    /// does that, and reports a name that is not UTF-8 as an
    /// [`ErrorKind::Corrupt`] error); `None` when the binding cannot tell it (SQLite
    /// returns no name only when out of memory).
    fn column_name(&self, index: usize) -> Option<&[u8]>;

    /// The value of column `index` (`0`-based, below [`column_count`](RawRow::column_count)),
    /// borrowed from the row.
    fn column(&self, index: usize) -> Result<RawValue<'_>>;
}

/// The error for a column name that is not UTF-8 (which a hostile database file's
/// schema can hold): [`ErrorKind::Corrupt`], "a column name is not valid UTF-8".
pub fn column_name_not_utf8() -> Error {
    Error::new(ErrorKind::Corrupt, "a column name is not valid UTF-8")
}

/// The names of a [`RawRow`], checked for UTF-8 when read; errors carry the
/// connection's context.
pub(crate) struct RawNames<'r> {
    row: &'r dyn RawRow,
    context: &'r Context,
}

impl<'r> RawNames<'r> {
    /// The names of `row`, for errors in `context`.
    pub(crate) fn new(row: &'r dyn RawRow, context: &'r Context) -> Self {
        RawNames { row, context }
    }
}

impl ColumnNames for RawNames<'_> {
    fn count(&self) -> usize {
        self.row.column_count()
    }

    fn name(&self, index: usize) -> Result<&str> {
        let count = self.count();
        if index >= count {
            return Err(self.context.error(Error::new(
                ErrorKind::Misuse,
                format!("column index {index} out of range (the row has {count} columns)"),
            )));
        }
        let name = self.row.column_name(index).ok_or_else(|| {
            self.context.error(Error::new(
                ErrorKind::Other,
                format!("the backend has no name for column {index} (out of memory?)"),
            ))
        })?;
        std::str::from_utf8(name).map_err(|_| self.context.error(column_name_not_utf8()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two columns; the second's name is not UTF-8 and the third has none.
    struct Hostile;

    impl RawRow for Hostile {
        fn column_count(&self) -> usize {
            3
        }
        fn column_name(&self, index: usize) -> Option<&[u8]> {
            [&b"ok"[..], b"a\xff"].get(index).copied()
        }
        fn column(&self, _: usize) -> Result<RawValue<'_>> {
            Ok(RawValue::Null)
        }
    }

    #[test]
    fn names_are_checked_when_read() {
        let context = Context::new("kit", None);
        let names = RawNames::new(&Hostile, &context);
        assert_eq!(names.name(0).ok(), Some("ok"));
        let error = names.name(1).err();
        assert_eq!(
            error
                .as_ref()
                .map(|e| (e.kind(), e.backend().unwrap_or_default(), e.message())),
            Some((
                ErrorKind::Corrupt,
                "kit",
                "a column name is not valid UTF-8"
            ))
        );
        assert_eq!(
            names.name(2).err().map(|e| e.kind()),
            Some(ErrorKind::Other)
        );
        assert_eq!(
            names.name(3).err().map(|e| e.kind()),
            Some(ErrorKind::Misuse)
        );
    }
}
