//! The backends compiled into this build: every test runs once per backend.

use std::sync::Arc;

use sqlite_runtime::{Capability, SqliteRuntime};

/// A compiled-in backend: its name and a runtime.
#[derive(Clone)]
pub struct BackendRuntime {
    /// The backend's name (`rusqlite`, `sqlite`, `sqlx`).
    pub name: &'static str,
    /// A runtime of that backend.
    pub runtime: Arc<dyn SqliteRuntime>,
}

impl std::fmt::Debug for BackendRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendRuntime")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Every backend compiled in whose databases are local files, in preference order. A
/// build with none compiled in gets an empty list (the tests then check nothing, and say
/// so).
pub fn compiled_runtimes() -> Vec<BackendRuntime> {
    sqlite_runtime_backends::compiled_backends()
        .into_iter()
        .filter_map(|descriptor| {
            descriptor.runtime().map(|runtime| BackendRuntime {
                name: descriptor.name,
                runtime,
            })
        })
        .filter(|backend| backend.runtime.capabilities().has(Capability::LocalFiles))
        .collect()
}

/// The suffix of a backend name that asks for its runtime seen as an engine without
/// local files ([`conformance_tests::WithoutLocalFiles`]): `rusqlite/no-local-files`.
pub const NO_LOCAL_FILES: &str = "/no-local-files";

/// The runtime of the backend named `name` (optionally followed by [`NO_LOCAL_FILES`]),
/// when it is compiled in.
pub fn runtime_named(name: &str) -> Option<Arc<dyn SqliteRuntime>> {
    let (backend, without_local_files) = match name.strip_suffix(NO_LOCAL_FILES) {
        Some(backend) => (backend, true),
        None => (name, false),
    };
    let runtime = sqlite_runtime_backends::backend(backend)?.runtime()?;
    Some(if without_local_files {
        Arc::new(conformance_tests::WithoutLocalFiles::new(runtime))
    } else {
        runtime
    })
}
