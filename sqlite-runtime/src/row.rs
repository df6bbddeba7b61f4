//! Result rows and typed access to their columns.

use std::sync::Arc;

use crate::{Error, ErrorKind, Result, Value, ValueRef, ValueType};

/// Conversion from an SQLite value into a Rust type, as used by [`Row::get`].
///
/// Conversions are strict: an integer column does not read as text, and a real does not
/// read as an integer. `Option<T>` reads `NULL` as `None`.
pub trait FromValue: Sized {
    /// Converts `value`, or explains why it cannot.
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch>;
}

/// Why a value could not be converted: what was wanted and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeMismatch {
    /// The Rust-side expectation, e.g. `"integer"` or `"i32 (value out of range)"`.
    pub expected: &'static str,
    /// The storage class found in the row.
    pub found: ValueType,
}

impl TypeMismatch {
    fn new(expected: &'static str, found: ValueRef<'_>) -> Self {
        TypeMismatch {
            expected,
            found: found.value_type(),
        }
    }
}

impl FromValue for i64 {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        match value {
            ValueRef::Integer(i) => Ok(i),
            other => Err(TypeMismatch::new("integer", other)),
        }
    }
}

macro_rules! narrow_integer_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
                match value {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| {
                        TypeMismatch::new(concat!(stringify!($t), " (value out of range)"), value)
                    }),
                    other => Err(TypeMismatch::new(stringify!($t), other)),
                }
            }
        }
    )*};
}
narrow_integer_from_value!(i8, i16, i32, u8, u16, u32, u64, usize);

impl FromValue for bool {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        match value {
            ValueRef::Integer(i) => Ok(i != 0),
            other => Err(TypeMismatch::new("bool (integer)", other)),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        match value {
            ValueRef::Real(r) => Ok(r),
            // SQLite stores integral REAL values compactly and may hand them back as
            // integers; reading them as f64 is lossless for |i| <= 2^53.
            ValueRef::Integer(i) if i.unsigned_abs() <= 1 << 53 => Ok(i as f64),
            other => Err(TypeMismatch::new("real", other)),
        }
    }
}

impl FromValue for String {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        match value {
            ValueRef::Text(t) => Ok(t.to_owned()),
            other => Err(TypeMismatch::new("text", other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        match value {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            other => Err(TypeMismatch::new("blob", other)),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        Ok(value.to_owned_value())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: ValueRef<'_>) -> std::result::Result<Self, TypeMismatch> {
        match value {
            ValueRef::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A column index: a position (`0`-based) or a column name.
pub trait ColumnIndex {
    /// Resolves to a position in `columns`.
    fn position(&self, columns: &[String]) -> Result<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::new(
                ErrorKind::Misuse,
                format!(
                    "column index {self} out of range (the row has {} columns)",
                    columns.len()
                ),
            ))
        }
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[String]) -> Result<usize> {
        columns.iter().position(|c| c == self).ok_or_else(|| {
            Error::new(
                ErrorKind::Misuse,
                format!("no column named `{self}` (columns: {})", columns.join(", ")),
            )
        })
    }
}

fn convert<T: FromValue>(columns: &[String], position: usize, value: ValueRef<'_>) -> Result<T> {
    T::from_value(value).map_err(|mismatch| {
        Error::new(
            ErrorKind::TypeMismatch,
            format!(
                "column `{}` (index {position}): expected {}, found {}",
                columns[position], mismatch.expected, mismatch.found
            ),
        )
    })
}

/// One result row, owning its values. Rows of one query share their column names.
///
/// ```
/// use sqlite_runtime::{Row, Value};
///
/// let row = Row::new(vec!["id".into(), "name".into()].into(), vec![Value::Integer(1), Value::Null]);
/// assert_eq!(row.get::<i64>("id").unwrap(), 1);
/// assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
/// assert!(row.get::<String>("id").is_err()); // strict: an integer is not text
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row from its column names and values (one value per column).
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        debug_assert_eq!(columns.len(), values.len());
        Row { columns, values }
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Takes the values out of the row.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The raw value of a column.
    pub fn value(&self, index: impl ColumnIndex) -> Result<&Value> {
        Ok(&self.values[index.position(&self.columns)?])
    }

    /// A column converted to `T`; a [`ErrorKind::TypeMismatch`] error names the column.
    pub fn get<T: FromValue>(&self, index: impl ColumnIndex) -> Result<T> {
        let position = index.position(&self.columns)?;
        convert(&self.columns, position, self.values[position].as_ref())
    }
}

/// A borrowed row, handed to a visitor by [`SqliteDatabase::for_each`]: reading it copies
/// nothing until a value is converted to an owned type.
///
/// [`SqliteDatabase::for_each`]: crate::SqliteDatabase::for_each
#[derive(Clone, Copy, Debug)]
pub struct RowRef<'a> {
    columns: &'a [String],
    values: &'a [ValueRef<'a>],
}

impl<'a> RowRef<'a> {
    /// A row view over column names and values (one value per column).
    pub fn new(columns: &'a [String], values: &'a [ValueRef<'a>]) -> Self {
        debug_assert_eq!(columns.len(), values.len());
        RowRef { columns, values }
    }

    /// The column names, in order.
    pub fn columns(&self) -> &'a [String] {
        self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &'a [ValueRef<'a>] {
        self.values
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The borrowed value of a column.
    pub fn value(&self, index: impl ColumnIndex) -> Result<ValueRef<'a>> {
        Ok(self.values[index.position(self.columns)?])
    }

    /// A column converted to `T`; a [`ErrorKind::TypeMismatch`] error names the column.
    pub fn get<T: FromValue>(&self, index: impl ColumnIndex) -> Result<T> {
        let position = index.position(self.columns)?;
        convert(self.columns, position, self.values[position])
    }

    /// Copies the row into an owned [`Row`] sharing `columns`.
    pub fn to_row(&self, columns: Arc<[String]>) -> Row {
        Row::new(
            columns,
            self.values.iter().map(ValueRef::to_owned_value).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row::new(
            vec![
                "i".to_owned(),
                "t".to_owned(),
                "b".to_owned(),
                "n".to_owned(),
            ]
            .into(),
            vec![
                Value::Integer(300),
                Value::Text("é".into()),
                Value::Blob(vec![0]),
                Value::Null,
            ],
        )
    }

    #[test]
    fn typed_access_by_name_and_position() -> Result<()> {
        let row = row();
        assert_eq!(row.get::<i64>("i")?, 300);
        assert_eq!(row.get::<String>(1)?, "é");
        assert_eq!(row.get::<Vec<u8>>("b")?, vec![0]);
        assert_eq!(row.get::<Option<i64>>("n")?, None);
        assert_eq!(row.get::<f64>("i")?, 300.0);
        Ok(())
    }

    #[test]
    fn mismatches_name_the_column() {
        let row = row();
        let error = row.get::<u8>("i").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::TypeMismatch);
        assert!(error.message().contains("column `i`"), "{error}");
        assert!(error.message().contains("out of range"), "{error}");
        assert_eq!(
            row.get::<i64>("t").unwrap_err().kind(),
            ErrorKind::TypeMismatch
        );
        assert_eq!(
            row.get::<i64>("n").unwrap_err().kind(),
            ErrorKind::TypeMismatch
        );
        assert_eq!(row.get::<i64>("zz").unwrap_err().kind(), ErrorKind::Misuse);
        assert_eq!(row.get::<i64>(9).unwrap_err().kind(), ErrorKind::Misuse);
    }

    #[test]
    fn borrowed_rows_convert_like_owned_rows() -> Result<()> {
        let owned = row();
        let values: Vec<ValueRef<'_>> = owned.values().iter().map(Value::as_ref).collect();
        let view = RowRef::new(owned.columns(), &values);
        assert_eq!(view.get::<String>("t")?, "é");
        assert_eq!(view.to_row(owned.columns.clone()), owned);
        Ok(())
    }
}
