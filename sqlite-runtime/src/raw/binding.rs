//! Binding [`Params`] to a [`RawStatement`], with the same checks and messages on every
//! backend.

use crate::{Error, ErrorKind, Params, Result, Value, ValueRef};

use super::RawStatement;

/// Binds `params`. Positional values must match the parameter count (`?NNN` counts as
/// its number, so `?3` alone takes three values); each named value binds the parameter
/// written exactly so in the SQL, prefix included (`":key"` is not `"@key"`), and named
/// parameters left out stay `NULL`.
pub(crate) fn bind_params(statement: &mut dyn RawStatement, params: Params<'_>) -> Result<()> {
    match params {
        Params::Positional(values) => {
            let expected = statement.parameter_count();
            if values.len() != expected {
                return Err(Error::new(
                    ErrorKind::Misuse,
                    format!(
                        "{} parameters given, the statement takes {expected}",
                        values.len()
                    ),
                ));
            }
            for (index, value) in values.iter().enumerate() {
                statement.bind(index + 1, *value)?;
            }
        }
        Params::Named(pairs) => {
            for (name, value) in pairs {
                let index = statement.parameter_index(name).ok_or_else(|| {
                    Error::new(ErrorKind::Misuse, format!("no parameter named `{name}`"))
                })?;
                statement.bind(index, *value)?;
            }
        }
    }
    Ok(())
}

/// Stores `value` as parameter `index` (`1`-based) of `values`, for a binding that
/// sends owned values with the statement (a network protocol, an async driver) rather
/// than binding them into it: what its [`RawStatement::bind`] does.
///
/// ```
/// use sqlite_runtime::raw::bind_owned;
/// use sqlite_runtime::{Value, ValueRef};
///
/// let mut values = vec![Value::Null; 2];
/// bind_owned(&mut values, 2, ValueRef::Text("b")).unwrap();
/// assert_eq!(values, [Value::Null, Value::from("b")]);
/// assert!(bind_owned(&mut values, 3, ValueRef::Null).is_err());
/// ```
pub fn bind_owned(values: &mut [Value], index: usize, value: ValueRef<'_>) -> Result<()> {
    let slot = index.checked_sub(1).and_then(|i| values.get_mut(i));
    let slot = slot.ok_or_else(|| {
        Error::new(
            ErrorKind::Misuse,
            format!("parameter index {index} out of range"),
        )
    })?;
    *slot = value.to_owned_value();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValueRef;
    use crate::raw::RawRowVisitor;

    /// `SELECT :a, ?2`: two parameters, the first named.
    #[derive(Default)]
    struct Two(Vec<(usize, String)>);

    impl RawStatement for Two {
        fn parameter_count(&self) -> usize {
            2
        }
        fn parameter_index(&self, name: &str) -> Option<usize> {
            [":a", "?2"].iter().position(|n| *n == name).map(|i| i + 1)
        }
        fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
            self.0.push((index, format!("{value:?}")));
            Ok(())
        }
        fn rows(&mut self, _: &mut RawRowVisitor<'_>) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn positional_counts_must_match() {
        let mut statement = Two::default();
        let one = [ValueRef::Integer(1)];
        let error = bind_params(&mut statement, Params::from(&one)).err();
        assert_eq!(
            error.as_ref().map(|e| (e.kind(), e.message())),
            Some((
                ErrorKind::Misuse,
                "1 parameters given, the statement takes 2"
            ))
        );
        assert!(statement.0.is_empty());
        let two = [ValueRef::Integer(1), ValueRef::Null];
        assert!(bind_params(&mut statement, Params::from(&two)).is_ok());
        assert_eq!(statement.0.len(), 2);
    }

    #[test]
    fn names_bind_by_their_full_spelling() {
        let mut statement = Two::default();
        let named = [("?2", ValueRef::Integer(2)), (":a", ValueRef::Integer(1))];
        assert!(bind_params(&mut statement, Params::from(&named)).is_ok());
        assert_eq!(
            statement.0.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [2, 1]
        );
        let wrong = [("@a", ValueRef::Null)];
        let error = bind_params(&mut statement, Params::from(&wrong)).err();
        assert_eq!(
            error.as_ref().map(|e| (e.kind(), e.message())),
            Some((ErrorKind::Misuse, "no parameter named `@a`"))
        );
    }
}
