//! A runtime seen as if its databases were not local files, to run the suites through
//! the driver's path for remote engines (state records, alarms and leases in databases)
//! on any local backend.

use std::sync::Arc;

use sqlite_runtime::{
    BackendKind, Capabilities, Capability, OpenOptions, Result, SqliteDatabase, SqliteRuntime,
    Target,
};

/// `inner` without [`Capability::LocalFiles`]: the driver then keeps everything in
/// databases, as it does on a replicated engine, while the databases themselves are
/// still `inner`'s files.
///
/// ```
/// use std::sync::Arc;
/// use conformance_tests::WithoutLocalFiles;
/// use sqlite_runtime::{Capability, SqliteRuntime};
///
/// let runtime = WithoutLocalFiles::new(Arc::new(sqlite_runtime_backends::RusqliteRuntime::new()));
/// assert!(!runtime.capabilities().has(Capability::LocalFiles));
/// ```
pub struct WithoutLocalFiles {
    inner: Arc<dyn SqliteRuntime>,
}

impl std::fmt::Debug for WithoutLocalFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithoutLocalFiles")
            .field("inner", &self.inner.backend())
            .finish()
    }
}

impl WithoutLocalFiles {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn SqliteRuntime>) -> Self {
        WithoutLocalFiles { inner }
    }
}

impl SqliteRuntime for WithoutLocalFiles {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities().without(Capability::LocalFiles)
    }

    /// Opens `target`, making its directory first: on an engine without local files a
    /// database name needs no directory.
    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        if let Some(dir) = target.path().and_then(std::path::Path::parent)
            && options.creates()
        {
            std::fs::create_dir_all(dir).map_err(|error| {
                sqlite_runtime::Error::new(sqlite_runtime::ErrorKind::CannotOpen, error.to_string())
                    .with_path(dir)
            })?;
        }
        self.inner.open(target, options)
    }
}
