//! sqlx errors to typed errors, with the same rules as the other backends.

use sqlite_runtime::{Error, ErrorKind};

use super::NAME;

/// Maps an sqlx error (the kit adds the backend's name and the path). sqlx reports
/// SQLite's extended result code (`sqlite3_extended_errcode`) as the database error's
/// code.
pub(super) fn to_error(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::Database(database) => match sqlite_code_of(&*database) {
            Some(code) => Error::from_sqlite(NAME, code, database.message()),
            None => Error::new(ErrorKind::Other, database.message()),
        },
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            Error::new(ErrorKind::TypeMismatch, error.to_string())
        }
        sqlx::Error::ColumnIndexOutOfBounds { .. } | sqlx::Error::ColumnNotFound(_) => {
            Error::new(ErrorKind::Misuse, error.to_string())
        }
        sqlx::Error::WorkerCrashed => Error::new(
            ErrorKind::Other,
            "the sqlx connection worker thread stopped; the connection is unusable",
        ),
        other => Error::new(ErrorKind::Other, other.to_string()),
    }
}

/// The SQLite code of an sqlx error, if it is one.
pub(super) fn sqlite_code(error: &sqlx::Error) -> Option<i32> {
    match error {
        sqlx::Error::Database(database) => sqlite_code_of(&**database),
        _ => None,
    }
}

fn sqlite_code_of(database: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    database.code().and_then(|code| code.parse().ok())
}
