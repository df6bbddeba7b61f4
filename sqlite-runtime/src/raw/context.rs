//! What the kit adds to every error of a connection: the backend's name and, for errors
//! about the file itself, the database path.

use std::path::{Path, PathBuf};

use crate::Error;

/// The backend and file a connection belongs to.
#[derive(Clone, Debug)]
pub(crate) struct Context {
    backend: &'static str,
    path: Option<PathBuf>,
}

impl Context {
    /// The context of a connection to `path` (`None` for memory) through `backend`.
    pub(crate) fn new(backend: &'static str, path: Option<&Path>) -> Self {
        Context {
            backend,
            path: path.map(Path::to_path_buf),
        }
    }

    /// The backend's name.
    pub(crate) fn backend(&self) -> &'static str {
        self.backend
    }

    /// `error` with the backend's name and, when it is about the file (cannot open,
    /// read-only, corrupt, I/O), the path.
    pub(crate) fn error(&self, error: Error) -> Error {
        error
            .with_backend(self.backend)
            .with_file_context(self.path.as_deref())
    }

    /// The error for a connection that was closed.
    pub(crate) fn closed(&self) -> Error {
        Error::closed(self.backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn names_the_backend_and_the_file_only_for_file_errors() {
        let context = Context::new("kit", Some(Path::new("/a.db")));
        let io = context.error(Error::new(ErrorKind::Io, "disk"));
        assert_eq!(
            (io.backend().unwrap_or_default(), io.path()),
            ("kit", Some(Path::new("/a.db")))
        );
        let sql = context.error(Error::new(ErrorKind::Sql, "syntax"));
        assert_eq!(
            (sql.backend().unwrap_or_default(), sql.path()),
            ("kit", None)
        );
        assert_eq!(context.closed().kind(), ErrorKind::Closed);
        assert_eq!(context.closed().backend(), Some(context.backend()));
    }
}
