//! SQLite values: owned ([`Value`]) for results, borrowed ([`ValueRef`]) for parameters.

use std::fmt;

/// The five SQLite storage classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `NULL`.
    Null,
    /// A 64-bit signed integer.
    Integer,
    /// A 64-bit IEEE float.
    Real,
    /// UTF-8 text.
    Text,
    /// Raw bytes.
    Blob,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Null => "null",
            ValueType::Integer => "integer",
            ValueType::Real => "real",
            ValueType::Text => "text",
            ValueType::Blob => "blob",
        })
    }
}

/// An owned SQLite value, as returned in result rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `NULL`.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit IEEE float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

impl Value {
    /// The storage class of this value.
    pub fn value_type(&self) -> ValueType {
        self.as_ref().value_type()
    }

    /// Borrows this value, e.g. to pass it back as a parameter.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

/// A borrowed SQLite value: parameters are passed this way so that a blob or text
/// parameter is never copied on its way to SQLite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// `NULL`.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit IEEE float.
    Real(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// Raw bytes.
    Blob(&'a [u8]),
}

impl ValueRef<'_> {
    /// The storage class of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            ValueRef::Null => ValueType::Null,
            ValueRef::Integer(_) => ValueType::Integer,
            ValueRef::Real(_) => ValueType::Real,
            ValueRef::Text(_) => ValueType::Text,
            ValueRef::Blob(_) => ValueType::Blob,
        }
    }

    /// Copies the value into an owned [`Value`].
    pub fn to_owned_value(&self) -> Value {
        match *self {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(t.to_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(value: &'a Value) -> Self {
        value.as_ref()
    }
}

macro_rules! integer_into_value_ref {
    ($($t:ty),*) => {$(
        impl From<$t> for ValueRef<'_> {
            fn from(value: $t) -> Self {
                ValueRef::Integer(i64::from(value))
            }
        }
        impl From<$t> for Value {
            fn from(value: $t) -> Self {
                Value::Integer(i64::from(value))
            }
        }
    )*};
}
integer_into_value_ref!(i8, i16, i32, i64, u8, u16, u32, bool);

impl From<f64> for ValueRef<'_> {
    fn from(value: f64) -> Self {
        ValueRef::Real(value)
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Real(value)
    }
}

impl<'a> From<&'a str> for ValueRef<'a> {
    fn from(value: &'a str) -> Self {
        ValueRef::Text(value)
    }
}

impl<'a> From<&'a String> for ValueRef<'a> {
    fn from(value: &'a String) -> Self {
        ValueRef::Text(value)
    }
}

impl<'a> From<&'a [u8]> for ValueRef<'a> {
    fn from(value: &'a [u8]) -> Self {
        ValueRef::Blob(value)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for ValueRef<'a> {
    fn from(value: &'a [u8; N]) -> Self {
        ValueRef::Blob(value)
    }
}

impl<'a> From<&'a Vec<u8>> for ValueRef<'a> {
    fn from(value: &'a Vec<u8>) -> Self {
        ValueRef::Blob(value)
    }
}

impl<'a, T: Into<ValueRef<'a>>> From<Option<T>> for ValueRef<'a> {
    fn from(value: Option<T>) -> Self {
        value.map_or(ValueRef::Null, Into::into)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Blob(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_and_borrowed_round_trip() {
        let values = [
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Real(-0.0),
            Value::Text("é".into()),
            Value::Blob(vec![0, 1, 0]),
        ];
        for value in &values {
            assert_eq!(&value.as_ref().to_owned_value(), value);
            assert_eq!(value.as_ref().value_type(), value.value_type());
        }
    }

    #[test]
    fn options_become_null() {
        assert_eq!(ValueRef::from(None::<i64>), ValueRef::Null);
        assert_eq!(ValueRef::from(Some("x")), ValueRef::Text("x"));
        assert_eq!(Value::from(None::<String>), Value::Null);
    }
}
