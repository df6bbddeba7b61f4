//! Statement parameters, borrowed for the duration of one call.

use crate::ValueRef;

/// The parameters of one statement execution.
///
/// Positional parameters bind `?`, `?NNN` and, in order, named placeholders. Named
/// parameters are written with their prefix exactly as in the SQL (`":key"`, `"@key"`,
/// `"$key"`). Values are borrowed: a blob parameter is handed to SQLite without a copy.
///
/// ```
/// use sqlite_runtime::{Params, ValueRef};
///
/// let key = b"user/1".to_vec();
/// let positional = [ValueRef::Blob(&key), ValueRef::Integer(7)];
/// let params = Params::from(&positional);
/// assert_eq!(params.len(), 2);
///
/// let named = [(":key", ValueRef::Blob(&key))];
/// assert!(matches!(Params::from(&named), Params::Named(_)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Params<'a> {
    /// Bound by position: the first value binds parameter 1.
    Positional(&'a [ValueRef<'a>]),
    /// Bound by name, the name including its prefix character.
    Named(&'a [(&'a str, ValueRef<'a>)]),
}

/// Positional parameters from values of any type that converts into a
/// [`ValueRef`](crate::ValueRef) (`&[u8]`, `&str`, integers, `f64`, `Option`s of those...).
///
/// ```
/// use sqlite_runtime::{Params, params};
///
/// let key = b"user/1".to_vec();
/// let params = params![&key, 7, "seven", None::<i64>];
/// assert_eq!(params.len(), 4);
/// assert_eq!(params![], Params::NONE);
/// ```
#[macro_export]
macro_rules! params {
    () => {
        $crate::Params::NONE
    };
    ($($value:expr),+ $(,)?) => {
        $crate::Params::Positional(&[$($crate::ValueRef::from($value)),+])
    };
}

/// Named parameters, each written with its prefix exactly as in the SQL.
///
/// ```
/// use sqlite_runtime::{Params, named_params};
///
/// let params = named_params! { ":key": b"k".as_slice(), "@count": 3 };
/// assert!(matches!(params, Params::Named(values) if values.len() == 2));
/// ```
#[macro_export]
macro_rules! named_params {
    () => {
        $crate::Params::NONE
    };
    ($($name:literal : $value:expr),+ $(,)?) => {
        $crate::Params::Named(&[$(($name, $crate::ValueRef::from($value))),+])
    };
}

impl Params<'_> {
    /// No parameters.
    pub const NONE: Params<'static> = Params::Positional(&[]);

    /// How many values are supplied.
    pub fn len(&self) -> usize {
        match self {
            Params::Positional(values) => values.len(),
            Params::Named(values) => values.len(),
        }
    }

    /// Whether no value is supplied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Params<'_> {
    fn default() -> Self {
        Params::NONE
    }
}

impl<'a> From<&'a [ValueRef<'a>]> for Params<'a> {
    fn from(values: &'a [ValueRef<'a>]) -> Self {
        Params::Positional(values)
    }
}

impl<'a, const N: usize> From<&'a [ValueRef<'a>; N]> for Params<'a> {
    fn from(values: &'a [ValueRef<'a>; N]) -> Self {
        Params::Positional(values)
    }
}

impl<'a> From<&'a Vec<ValueRef<'a>>> for Params<'a> {
    fn from(values: &'a Vec<ValueRef<'a>>) -> Self {
        Params::Positional(values)
    }
}

impl<'a> From<&'a [(&'a str, ValueRef<'a>)]> for Params<'a> {
    fn from(values: &'a [(&'a str, ValueRef<'a>)]) -> Self {
        Params::Named(values)
    }
}

impl<'a, const N: usize> From<&'a [(&'a str, ValueRef<'a>); N]> for Params<'a> {
    fn from(values: &'a [(&'a str, ValueRef<'a>); N]) -> Self {
        Params::Named(values)
    }
}

impl From<()> for Params<'_> {
    fn from((): ()) -> Self {
        Params::NONE
    }
}
