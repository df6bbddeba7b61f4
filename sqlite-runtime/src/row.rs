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

/// Where a row's column names come from.
///
/// A backend implements it over its current statement, so that a [`RowRef`] reads a
/// name (and copies nothing) only when a visitor asks for one: a visitor that reads by
/// position never touches the names. The names are those of the statement as it runs,
/// i.e. after any re-prepare caused by a schema change.
///
/// ```
/// use sqlite_runtime::{ColumnNames, Error, ErrorKind, Result, RowRef, ValueRef};
///
/// /// Names numbered on demand: `c0`, `c1`, ...
/// struct Numbered(Vec<String>);
///
/// impl ColumnNames for Numbered {
///     fn count(&self) -> usize {
///         self.0.len()
///     }
///     fn name(&self, index: usize) -> Result<&str> {
///         self.0
///             .get(index)
///             .map(String::as_str)
///             .ok_or_else(|| Error::new(ErrorKind::Misuse, "no such column"))
///     }
/// }
///
/// let names = Numbered(vec!["c0".into(), "c1".into()]);
/// let values = [ValueRef::Integer(7), ValueRef::Text("x")];
/// let row = RowRef::with_names(&names, &values);
/// assert_eq!(row.get::<i64>(0).unwrap(), 7);
/// assert_eq!(row.get::<String>("c1").unwrap(), "x");
/// assert_eq!(row.column_names().unwrap(), ["c0", "c1"]);
/// ```
pub trait ColumnNames {
    /// The number of columns.
    fn count(&self) -> usize;

    /// The name of column `index` (`0`-based). An index out of range, or a name that
    /// cannot be read (e.g. one that is not UTF-8), is an error.
    fn name(&self, index: usize) -> Result<&str>;
}

fn out_of_range(index: usize, count: usize) -> Error {
    Error::new(
        ErrorKind::Misuse,
        format!("column index {index} out of range (the row has {count} columns)"),
    )
}

/// A column index: a position (`0`-based) or a column name.
pub trait ColumnIndex {
    /// Resolves to a position below `columns.count()`.
    fn position(&self, columns: &dyn ColumnNames) -> Result<usize>;

    /// The position itself, when the index is one (rows then check it against their
    /// values alone, without asking the column names).
    fn as_position(&self) -> Option<usize> {
        None
    }
}

impl ColumnIndex for usize {
    fn as_position(&self) -> Option<usize> {
        Some(*self)
    }

    fn position(&self, columns: &dyn ColumnNames) -> Result<usize> {
        let count = columns.count();
        if *self < count {
            Ok(*self)
        } else {
            Err(out_of_range(*self, count))
        }
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &dyn ColumnNames) -> Result<usize> {
        for index in 0..columns.count() {
            if columns.name(index)? == *self {
                return Ok(index);
            }
        }
        let names: Vec<&str> = (0..columns.count())
            .map(|index| columns.name(index).unwrap_or("?"))
            .collect();
        Err(Error::new(
            ErrorKind::Misuse,
            format!("no column named `{self}` (columns: {})", names.join(", ")),
        ))
    }
}

/// The names of a row: owned ones, or a backend's lazy source, limited to the row's
/// number of values.
#[derive(Clone, Copy)]
struct Names<'a> {
    source: Source<'a>,
    count: usize,
}

#[derive(Clone, Copy)]
enum Source<'a> {
    Owned(&'a [String]),
    Lazy(&'a dyn ColumnNames),
}

impl<'a> Names<'a> {
    fn get(&self, index: usize) -> Result<&'a str> {
        if index >= self.count {
            return Err(out_of_range(index, self.count));
        }
        match self.source {
            Source::Owned(names) => names
                .get(index)
                .map(String::as_str)
                .ok_or_else(|| out_of_range(index, names.len())),
            Source::Lazy(names) => names.name(index),
        }
    }
}

impl ColumnNames for Names<'_> {
    fn count(&self) -> usize {
        self.count
    }

    fn name(&self, index: usize) -> Result<&str> {
        self.get(index)
    }
}

impl std::fmt::Debug for Names<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries((0..self.count).map(|index| self.get(index).unwrap_or("?")))
            .finish()
    }
}

fn convert<T: FromValue>(
    columns: &dyn ColumnNames,
    position: usize,
    value: ValueRef<'_>,
) -> Result<T> {
    T::from_value(value).map_err(|mismatch| {
        Error::new(
            ErrorKind::TypeMismatch,
            format!(
                "column `{}` (index {position}): expected {}, found {}",
                columns.name(position).unwrap_or("?"),
                mismatch.expected,
                mismatch.found
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

    fn names(&self) -> Names<'_> {
        Names {
            source: Source::Owned(&self.columns),
            count: self.values.len(),
        }
    }

    /// The raw value of a column.
    pub fn value(&self, index: impl ColumnIndex) -> Result<&Value> {
        let names = self.names();
        let position = index.position(&names)?;
        self.values
            .get(position)
            .ok_or_else(|| out_of_range(position, self.values.len()))
    }

    /// A column converted to `T`; a [`ErrorKind::TypeMismatch`] error names the column.
    pub fn get<T: FromValue>(&self, index: impl ColumnIndex) -> Result<T> {
        let names = self.names();
        let position = index.position(&names)?;
        let value = self
            .values
            .get(position)
            .ok_or_else(|| out_of_range(position, self.values.len()))?;
        convert(&names, position, value.as_ref())
    }
}

/// A borrowed row, handed to a visitor by [`SqliteDatabase::for_each`]: reading it copies
/// nothing until a value is converted to an owned type.
///
/// Column names are read from the backend only when asked for (by name access,
/// [`column_name`](RowRef::column_name) or [`column_names`](RowRef::column_names)), so
/// a visitor that reads by position pays nothing for them.
///
/// [`SqliteDatabase::for_each`]: crate::SqliteDatabase::for_each
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    names: Names<'a>,
    values: &'a [ValueRef<'a>],
}

impl<'a> RowRef<'a> {
    /// A row view over column names and values (one value per column).
    pub fn new(columns: &'a [String], values: &'a [ValueRef<'a>]) -> Self {
        debug_assert_eq!(columns.len(), values.len());
        RowRef {
            names: Names {
                source: Source::Owned(columns),
                count: values.len(),
            },
            values,
        }
    }

    /// A row view over values whose names are read from `names` on demand (one name per
    /// value); this is how backends hand out rows.
    pub fn with_names(names: &'a dyn ColumnNames, values: &'a [ValueRef<'a>]) -> Self {
        RowRef {
            names: Names {
                source: Source::Lazy(names),
                count: values.len(),
            },
            values,
        }
    }

    /// The name of column `index`.
    pub fn column_name(&self, index: usize) -> Result<&'a str> {
        self.names.get(index)
    }

    /// The column names, in order, copied.
    pub fn column_names(&self) -> Result<Vec<String>> {
        (0..self.len())
            .map(|index| self.names.get(index).map(str::to_owned))
            .collect()
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
        let position = match index.as_position() {
            Some(position) => position,
            None => index.position(&self.names)?,
        };
        self.values
            .get(position)
            .copied()
            .ok_or_else(|| out_of_range(position, self.values.len()))
    }

    /// A column converted to `T`; a [`ErrorKind::TypeMismatch`] error names the column.
    pub fn get<T: FromValue>(&self, index: impl ColumnIndex) -> Result<T> {
        let position = match index.as_position() {
            Some(position) => position,
            None => index.position(&self.names)?,
        };
        let value = self
            .values
            .get(position)
            .copied()
            .ok_or_else(|| out_of_range(position, self.values.len()))?;
        convert(&self.names, position, value)
    }

    /// Copies the row into an owned [`Row`] sharing `columns` (e.g. the
    /// [`column_names`](RowRef::column_names) of the query's first row).
    pub fn to_row(&self, columns: Arc<[String]>) -> Row {
        Row::new(
            columns,
            self.values.iter().map(ValueRef::to_owned_value).collect(),
        )
    }
}

impl std::fmt::Debug for RowRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowRef")
            .field("columns", &self.names)
            .field("values", &self.values)
            .finish()
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
        assert_eq!(view.column_names()?, owned.columns());
        assert_eq!(view.column_name(3)?, "n");
        assert_eq!(view.column_name(4).unwrap_err().kind(), ErrorKind::Misuse);
        Ok(())
    }

    /// Names from a source that fails for one column: position access never asks.
    struct Broken;

    impl ColumnNames for Broken {
        fn count(&self) -> usize {
            2
        }
        fn name(&self, index: usize) -> Result<&str> {
            match index {
                0 => Ok("ok"),
                _ => Err(Error::new(ErrorKind::Corrupt, "bad name")),
            }
        }
    }

    #[test]
    fn lazy_names_are_read_only_when_asked() {
        let values = [ValueRef::Integer(1), ValueRef::Text("x")];
        let view = RowRef::with_names(&Broken, &values);
        assert_eq!(view.get::<i64>(0).ok(), Some(1));
        assert_eq!(view.value(1).ok(), Some(ValueRef::Text("x")));
        assert_eq!(view.get::<i64>("ok").ok(), Some(1));
        assert_eq!(
            view.get::<i64>("missing").unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(view.column_names().unwrap_err().kind(), ErrorKind::Corrupt);
        let mismatch = view.get::<i64>(1).unwrap_err();
        assert_eq!(mismatch.kind(), ErrorKind::TypeMismatch);
        assert!(
            mismatch.message().contains("column `?` (index 1)"),
            "{mismatch}"
        );
        assert!(format!("{view:?}").contains("\"ok\""));
    }
}
