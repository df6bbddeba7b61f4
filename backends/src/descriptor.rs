//! The table of known backends: name, enabling feature, constructor when compiled in.

use std::sync::Arc;

use sqlite_runtime::SqliteRuntime;

use crate::SqliteVersion;

/// One known backend. Its constructor is present only when its feature is compiled in.
#[derive(Clone, Copy)]
pub struct BackendDescriptor {
    /// The name the loader, `SQLITE_RUNTIME` and the CLI use.
    pub name: &'static str,
    /// The Cargo feature of `sqlite-runtime-backends` that compiles it in.
    pub feature: &'static str,
    /// The binding crate behind it.
    pub binding: &'static str,
    /// The environment variable that tells it where its databases are, for a backend
    /// that needs one (dqlite's `DQLITE_CLUSTER`); `None` for local backends.
    pub config_env: Option<&'static str>,
    /// The oldest SQLite it accepts when that is not the loader's default: a server's
    /// SQLite, which the application does not build (dqlite on Debian 12 runs 3.40).
    pub min_sqlite_version: Option<SqliteVersion>,
    constructor: Option<fn() -> Arc<dyn SqliteRuntime>>,
}

impl BackendDescriptor {
    /// Whether the backend's feature was enabled at build time.
    pub fn is_compiled(&self) -> bool {
        self.constructor.is_some()
    }

    /// Whether it needs no configuration, or its [`config_env`](Self::config_env) is set
    /// (to something not empty).
    pub fn is_configured(&self) -> bool {
        self.config_env
            .is_none_or(|var| std::env::var_os(var).is_some_and(|value| !value.is_empty()))
    }

    /// A new runtime for this backend, or `None` when it is not compiled in. This does
    /// not check that it works: see [`probe`](crate::probe).
    pub fn runtime(&self) -> Option<Arc<dyn SqliteRuntime>> {
        self.constructor.map(|construct| construct())
    }
}

impl std::fmt::Debug for BackendDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendDescriptor")
            .field("name", &self.name)
            .field("feature", &self.feature)
            .field("compiled", &self.is_compiled())
            .finish()
    }
}

cfg_if::cfg_if! {
    if #[cfg(feature = "rusqlite")] {
        const RUSQLITE: Option<fn() -> Arc<dyn SqliteRuntime>> =
            Some(|| Arc::new(crate::RusqliteRuntime::new()));
    } else {
        const RUSQLITE: Option<fn() -> Arc<dyn SqliteRuntime>> = None;
    }
}
cfg_if::cfg_if! {
    if #[cfg(feature = "sqlite")] {
        const SQLITE: Option<fn() -> Arc<dyn SqliteRuntime>> =
            Some(|| Arc::new(crate::SqliteCrateRuntime::new()));
    } else {
        const SQLITE: Option<fn() -> Arc<dyn SqliteRuntime>> = None;
    }
}
cfg_if::cfg_if! {
    if #[cfg(feature = "sqlx")] {
        const SQLX: Option<fn() -> Arc<dyn SqliteRuntime>> =
            Some(|| Arc::new(crate::SqlxRuntime::new()));
    } else {
        const SQLX: Option<fn() -> Arc<dyn SqliteRuntime>> = None;
    }
}

cfg_if::cfg_if! {
    if #[cfg(feature = "dqlite")] {
        const DQLITE: Option<fn() -> Arc<dyn SqliteRuntime>> =
            Some(|| Arc::new(sqlite_runtime_dqlite::DqliteRuntime::from_env()));
    } else {
        const DQLITE: Option<fn() -> Arc<dyn SqliteRuntime>> = None;
    }
}

/// Every backend this crate knows, compiled in or not: the local ones in default
/// preference order, then dqlite (tried only when named: it needs a cluster).
pub const KNOWN_BACKENDS: [BackendDescriptor; 4] = [
    BackendDescriptor {
        name: "rusqlite",
        feature: "rusqlite",
        binding: "rusqlite 0.39",
        config_env: None,
        min_sqlite_version: None,
        constructor: RUSQLITE,
    },
    BackendDescriptor {
        name: "sqlite",
        feature: "sqlite",
        binding: "sqlite 0.37",
        config_env: None,
        min_sqlite_version: None,
        constructor: SQLITE,
    },
    BackendDescriptor {
        name: "sqlx",
        feature: "sqlx",
        binding: "sqlx 0.9 (sqlx-sqlite)",
        config_env: None,
        min_sqlite_version: None,
        constructor: SQLX,
    },
    BackendDescriptor {
        name: "dqlite",
        feature: "dqlite",
        binding: "dqlite wire protocol",
        config_env: Some("DQLITE_CLUSTER"),
        min_sqlite_version: Some(SqliteVersion::new(3, 40, 0)),
        constructor: DQLITE,
    },
];

/// The known backend called `name`.
pub fn backend(name: &str) -> Option<&'static BackendDescriptor> {
    KNOWN_BACKENDS.iter().find(|b| b.name == name)
}

/// The backends compiled into this build.
pub fn compiled_backends() -> Vec<&'static BackendDescriptor> {
    KNOWN_BACKENDS.iter().filter(|b| b.is_compiled()).collect()
}

/// The backends compiled into this build and configured: what tools run when no
/// backend is named (a dqlite backend without `DQLITE_CLUSTER` is left out).
pub fn configured_backends() -> Vec<&'static BackendDescriptor> {
    KNOWN_BACKENDS
        .iter()
        .filter(|b| b.is_compiled() && b.is_configured())
        .collect()
}
