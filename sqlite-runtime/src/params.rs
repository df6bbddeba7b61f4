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
