//! Refusals before anything is sent: what dqlite 1.11.1 would crash on, silently
//! mishandle, or what this client does not support.

use sqlite_runtime::{ErrorKind, Params, Result, ValueRef};

use crate::error::refused;
use crate::sql_scan::scan;

/// How SQL text is about to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SqlUse {
    /// PREPARE, or QUERY_SQL: the server compiles the first statement only and, on
    /// 1.11, silently ignores the rest.
    OneStatement,
    /// EXEC_SQL: every statement runs, but parameters bind the first one only.
    Statements {
        /// Whether parameters are sent.
        with_params: bool,
    },
}

/// Refuses database names that crash or confuse the server: `""` and `":memory:"`
/// (1.11.1 segfaults at the first write), and `file:` URIs (the server drops the
/// connection).
pub(crate) fn check_database_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(refused(ErrorKind::Misuse, "the database name is empty"));
    }
    if name == ":memory:" {
        return Err(refused(
            ErrorKind::Unsupported,
            "dqlite has no in-memory databases (`:memory:` crashes dqlite 1.11 nodes); \
             choose a name",
        ));
    }
    if name.starts_with("file:") {
        return Err(refused(
            ErrorKind::Unsupported,
            "dqlite database names are plain names, not `file:` URIs",
        ));
    }
    Ok(())
}

/// Refuses SQL the installed server mishandles.
pub(crate) fn check_sql(sql: &str, usage: SqlUse) -> Result<()> {
    let shape = scan(sql);
    if shape.returning {
        return Err(refused(
            ErrorKind::Unsupported,
            "RETURNING is not supported: dqlite 1.11 aborts the node that runs \
             `INSERT … RETURNING` (go-dqlite issue #192); run the write, then query",
        ));
    }
    match usage {
        SqlUse::OneStatement if shape.statements > 1 => Err(refused(
            ErrorKind::Misuse,
            "multiple statements provided (dqlite 1.11 would silently ignore all but the \
             first; use exec_sql to run several)",
        )),
        SqlUse::Statements { with_params: true } if shape.statements > 1 => Err(refused(
            ErrorKind::Misuse,
            "parameters with multiple statements: dqlite binds them to the first statement \
             only; run the statements one by one",
        )),
        _ => Ok(()),
    }
}

/// The positional values of `params`; named parameters are refused (dqlite binds by
/// position and this client does not map names to positions).
pub(crate) fn positional<'p>(params: Params<'p>) -> Result<&'p [ValueRef<'p>]> {
    match params {
        Params::Positional(values) => Ok(values),
        Params::Named([]) => Ok(&[]),
        Params::Named(_) => Err(refused(
            ErrorKind::Unsupported,
            "named parameters are not supported by the dqlite client: bind by position",
        )),
    }
}

/// Checks the number of parameters against what a prepared statement takes.
pub(crate) fn check_param_count(given: usize, expected: usize) -> Result<()> {
    if given == expected {
        Ok(())
    } else {
        Err(refused(
            ErrorKind::Misuse,
            format!("{given} parameters given, the statement takes {expected}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names() {
        assert!(check_database_name("actor-1.db").is_ok());
        assert!(check_database_name("a/b c é.db").is_ok());
        assert_eq!(
            check_database_name("").unwrap_err().kind(),
            ErrorKind::Misuse
        );
        assert_eq!(
            check_database_name(":memory:").unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            check_database_name("file:x.db?mode=ro").unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn sql() {
        assert!(check_sql("SELECT 1;", SqlUse::OneStatement).is_ok());
        let multi = check_sql("SELECT 1; SELECT 2", SqlUse::OneStatement).unwrap_err();
        assert_eq!(multi.kind(), ErrorKind::Misuse);
        assert_eq!(multi.backend(), Some("dqlite"));
        assert!(
            check_sql(
                "CREATE TABLE t(x); INSERT INTO t VALUES (1)",
                SqlUse::Statements { with_params: false }
            )
            .is_ok()
        );
        assert_eq!(
            check_sql(
                "SELECT ?; SELECT 2",
                SqlUse::Statements { with_params: true }
            )
            .unwrap_err()
            .kind(),
            ErrorKind::Misuse
        );
        assert!(
            check_sql(
                "INSERT INTO t VALUES (?)",
                SqlUse::Statements { with_params: true }
            )
            .is_ok()
        );
        for usage in [
            SqlUse::OneStatement,
            SqlUse::Statements { with_params: false },
        ] {
            let error = check_sql("INSERT INTO t VALUES (1) RETURNING rowid", usage).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Unsupported);
            assert!(error.message().contains("RETURNING"));
        }
    }

    #[test]
    fn params() {
        let values = [ValueRef::Integer(1)];
        assert_eq!(positional(Params::from(&values)).unwrap(), &values);
        assert!(positional(Params::NONE).unwrap().is_empty());
        let named = [(":a", ValueRef::Null)];
        assert_eq!(
            positional(Params::from(&named)).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert!(check_param_count(2, 2).is_ok());
        let error = check_param_count(1, 2).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Misuse);
        assert_eq!(error.message(), "1 parameters given, the statement takes 2");
    }
}
