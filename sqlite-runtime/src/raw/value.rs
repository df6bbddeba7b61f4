//! Column values as a binding reads them.

use crate::{Error, ErrorKind, Result, ValueRef};

/// A column value borrowed from the current row, as a binding reads it.
///
/// Text comes as bytes: the kit checks that it is UTF-8 once, when it hands the row to a
/// visitor, so a binding never validates it itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawValue<'r> {
    /// `NULL`.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit IEEE float.
    Real(f64),
    /// Text, as SQLite stores it (UTF-8 unless the file is hostile).
    Text(&'r [u8]),
    /// Raw bytes.
    Blob(&'r [u8]),
}

impl<'r> RawValue<'r> {
    /// The value as a [`ValueRef`]; text that is not UTF-8 is an
    /// [`ErrorKind::TypeMismatch`] error.
    ///
    /// ```
    /// use sqlite_runtime::{ErrorKind, ValueRef, raw::RawValue};
    ///
    /// assert_eq!(RawValue::Text(b"hi").to_value_ref().ok(), Some(ValueRef::Text("hi")));
    /// let error = RawValue::Text(&[0xff]).to_value_ref().unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::TypeMismatch);
    /// ```
    #[inline]
    pub fn to_value_ref(self) -> Result<ValueRef<'r>> {
        Ok(match self {
            RawValue::Null => ValueRef::Null,
            RawValue::Integer(i) => ValueRef::Integer(i),
            RawValue::Real(r) => ValueRef::Real(r),
            RawValue::Blob(bytes) => ValueRef::Blob(bytes),
            RawValue::Text(bytes) => ValueRef::Text(std::str::from_utf8(bytes).map_err(|e| {
                Error::new(
                    ErrorKind::TypeMismatch,
                    format!("text is not valid UTF-8: {e}"),
                )
            })?),
        })
    }
}

impl<'r> From<ValueRef<'r>> for RawValue<'r> {
    fn from(value: ValueRef<'r>) -> Self {
        match value {
            ValueRef::Null => RawValue::Null,
            ValueRef::Integer(i) => RawValue::Integer(i),
            ValueRef::Real(r) => RawValue::Real(r),
            ValueRef::Text(text) => RawValue::Text(text.as_bytes()),
            ValueRef::Blob(bytes) => RawValue::Blob(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_converts_back() -> Result<()> {
        for value in [
            ValueRef::Null,
            ValueRef::Integer(-7),
            ValueRef::Real(-0.0),
            ValueRef::Text("é"),
            ValueRef::Blob(&[0, 255]),
        ] {
            assert_eq!(RawValue::from(value).to_value_ref()?, value);
        }
        let error = RawValue::Text(b"a\xffb").to_value_ref().err();
        assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::TypeMismatch));
        Ok(())
    }
}
