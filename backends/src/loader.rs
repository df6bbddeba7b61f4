//! Picks a working backend at run time.

use std::fmt;
use std::sync::Arc;

use sqlite_runtime::{Capability, ErrorKind, OpenOptions, Params, SqliteRuntime, Target};

use crate::version::ParseVersionError;
use crate::{BackendDescriptor, KNOWN_BACKENDS, SqliteVersion, backend};

/// The environment variable that names the one backend to load.
pub const ENV_VAR: &str = "SQLITE_RUNTIME";

/// The order backends are tried in when nothing else is said.
pub const DEFAULT_PREFERENCE: [&str; 3] = ["rusqlite", "sqlite", "sqlx"];

/// The oldest SQLite the probe accepts by default (`RETURNING`, `->>`, `unixepoch` and
/// the WAL fixes the drivers rely on are all older than this).
pub const MIN_SQLITE_VERSION: SqliteVersion = SqliteVersion::new(3, 45, 0);

/// A backend that loaded: its [`probe`] opened a database and reported a recent enough
/// SQLite.
#[derive(Clone)]
pub struct LoadedBackend {
    /// The runtime, ready to open databases.
    pub runtime: Arc<dyn SqliteRuntime>,
    /// Which backend it is.
    pub descriptor: &'static BackendDescriptor,
    /// What `sqlite_version()` returned through it.
    pub sqlite_version: SqliteVersion,
}

impl fmt::Debug for LoadedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedBackend")
            .field("name", &self.descriptor.name)
            .field("sqlite_version", &self.sqlite_version)
            .finish()
    }
}

/// Why a backend failed its [`probe`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The probe database (`:memory:`, or [`PROBE_DATABASE`] on a remote engine) could
    /// not be opened.
    #[error("cannot open a database: {message}")]
    Open {
        /// The error's kind.
        kind: ErrorKind,
        /// The error, as displayed.
        message: String,
    },
    /// `SELECT sqlite_version()` failed, or did not return text.
    #[error("cannot query sqlite_version(): {message}")]
    Query {
        /// The error's kind.
        kind: ErrorKind,
        /// The error, as displayed.
        message: String,
    },
    /// `SELECT sqlite_version()` returned no row.
    #[error("sqlite_version() returned no row")]
    NoRow,
    /// `sqlite_version()` is not a version number.
    #[error(transparent)]
    Version(#[from] ParseVersionError),
    /// The SQLite behind the backend is older than required.
    #[error("SQLite {version} is older than the required {minimum}")]
    TooOld {
        /// The version found.
        version: SqliteVersion,
        /// The oldest accepted.
        minimum: SqliteVersion,
    },
}

impl ProbeError {
    fn open(error: &sqlite_runtime::Error) -> Self {
        ProbeError::Open {
            kind: error.kind(),
            message: error.to_string(),
        }
    }

    fn query(error: &sqlite_runtime::Error) -> Self {
        ProbeError::Query {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// Why one backend did not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendFailure {
    /// The backend's name.
    pub name: &'static str,
    /// What went wrong.
    pub reason: ProbeError,
}

/// A known backend that is not compiled into this build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotCompiled {
    /// The backend's name.
    pub name: &'static str,
    /// The Cargo feature of `sqlite-runtime-backends` that compiles it in.
    pub feature: &'static str,
}

impl From<&BackendDescriptor> for NotCompiled {
    fn from(descriptor: &BackendDescriptor) -> Self {
        NotCompiled {
            name: descriptor.name,
            feature: descriptor.feature,
        }
    }
}

impl fmt::Display for NotCompiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: not compiled in (enable feature `{}`)",
            self.name, self.feature
        )
    }
}

/// The state of one known backend, for listings such as `sqlrt backends`.
#[derive(Clone, Debug)]
pub struct BackendStatus {
    /// The backend.
    pub descriptor: &'static BackendDescriptor,
    /// `None` when not compiled in; otherwise the probe's outcome.
    pub probe: Option<Result<SqliteVersion, ProbeError>>,
}

/// Loading failed. The message names every backend and why it was not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// No backend feature was enabled at build time.
    #[error(
        "no SQLite backend is compiled in: enable one of the features {}",
        list_features(&KNOWN_BACKENDS.iter().collect::<Vec<_>>())
    )]
    NoneCompiled,
    /// `SQLITE_RUNTIME` (or the preference list) names a backend that does not exist.
    #[error(
        "unknown SQLite backend `{requested}`: valid names are {}",
        valid_names()
    )]
    UnknownBackend {
        /// The name that was asked for.
        requested: String,
    },
    /// `SQLITE_RUNTIME` names a known backend whose feature is off in this build.
    #[error(
        "SQLite backend `{requested}` is not compiled in (enable feature `{feature}`); compiled in: {}",
        compiled_names()
    )]
    NotCompiled {
        /// The name that was asked for.
        requested: String,
        /// The feature that would compile it in.
        feature: &'static str,
    },
    /// Every backend tried failed its probe.
    #[error("no SQLite backend could be loaded: {}", describe_failures(.failures, .not_compiled))]
    AllFailed {
        /// Each backend tried, with its reason.
        failures: Vec<BackendFailure>,
        /// Known backends that were not compiled in, with the feature that enables each.
        not_compiled: Vec<NotCompiled>,
    },
}

fn valid_names() -> String {
    KNOWN_BACKENDS.map(|b| b.name).join(", ")
}

fn compiled_names() -> String {
    let names: Vec<&str> = crate::compiled_backends().iter().map(|b| b.name).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn list_features(backends: &[&BackendDescriptor]) -> String {
    backends
        .iter()
        .map(|b| format!("`{}`", b.feature))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_failures(failures: &[BackendFailure], not_compiled: &[NotCompiled]) -> String {
    let failures = failures.iter().map(|f| format!("{}: {}", f.name, f.reason));
    let not_compiled = not_compiled.iter().map(NotCompiled::to_string);
    failures.chain(not_compiled).collect::<Vec<_>>().join("; ")
}

/// The database a runtime without local files is probed on: a fixed name, so that
/// probing a server leaves one small database there, not one per probe.
pub const PROBE_DATABASE: &str = "sqlite-runtime-probe.db";

/// Opens `:memory:` (on a runtime without local files: [`PROBE_DATABASE`]) through
/// `runtime` and returns the SQLite version it reports, failing when it is older than
/// `minimum`.
pub fn probe(
    runtime: &dyn SqliteRuntime,
    minimum: SqliteVersion,
) -> Result<SqliteVersion, ProbeError> {
    let target = if runtime.capabilities().has(Capability::LocalFiles) {
        Target::Memory
    } else {
        Target::file(PROBE_DATABASE)
    };
    let mut db = runtime
        .open(&target, &OpenOptions::new())
        .map_err(|e| ProbeError::open(&e))?;
    let row = db
        .get("SELECT sqlite_version()", Params::NONE)
        .map_err(|e| ProbeError::query(&e))?
        .ok_or(ProbeError::NoRow)?;
    let text: String = row.get(0).map_err(|e| ProbeError::query(&e))?;
    let _ = db.close();
    let version: SqliteVersion = text.parse()?;
    if version < minimum {
        return Err(ProbeError::TooOld { version, minimum });
    }
    Ok(version)
}

/// Chooses and probes a backend. [`load`] is `Loader::new().load()`.
///
/// ```
/// use sqlite_runtime_backends::{LoadError, Loader};
///
/// let error = Loader::new().selected(Some("postgres")).load().unwrap_err();
/// assert!(matches!(error, LoadError::UnknownBackend { .. }));
/// assert!(error.to_string().contains("valid names are rusqlite, sqlite, sqlx"));
/// ```
#[derive(Clone, Debug)]
pub struct Loader {
    preference: Vec<String>,
    selected: Option<String>,
    /// Set by [`Loader::min_sqlite_version`]; otherwise each backend's own minimum.
    minimum: Option<SqliteVersion>,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    /// The default preference order, the minimum version, and the backend named by
    /// `SQLITE_RUNTIME` if that variable is set and not empty.
    pub fn new() -> Self {
        let selected = std::env::var(ENV_VAR).ok().filter(|v| !v.trim().is_empty());
        Loader {
            preference: DEFAULT_PREFERENCE.map(String::from).to_vec(),
            selected,
            minimum: None,
        }
    }

    /// Tries backends in this order instead of the default; backends left out are not
    /// tried.
    pub fn preference<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.preference = names.into_iter().map(Into::into).collect();
        self
    }

    /// Loads only this backend (`Some`), or follows the preference order (`None`).
    /// Overrides `SQLITE_RUNTIME`.
    pub fn selected(mut self, name: Option<&str>) -> Self {
        self.selected = name.map(|n| n.trim().to_owned());
        self
    }

    /// The oldest SQLite version accepted.
    pub fn min_sqlite_version(mut self, minimum: SqliteVersion) -> Self {
        self.minimum = Some(minimum);
        self
    }

    /// The oldest SQLite accepted from `descriptor`: the one set on this loader, else the
    /// backend's own, else [`MIN_SQLITE_VERSION`].
    fn minimum_for(&self, descriptor: &BackendDescriptor) -> SqliteVersion {
        self.minimum
            .or(descriptor.min_sqlite_version)
            .unwrap_or(MIN_SQLITE_VERSION)
    }

    /// The backends this loader would try, in order.
    fn candidates(&self) -> Result<Vec<&'static BackendDescriptor>, LoadError> {
        let names: Vec<&str> = match &self.selected {
            Some(name) => vec![name.as_str()],
            None => self.preference.iter().map(String::as_str).collect(),
        };
        if self.selected.is_some() {
            return names.into_iter().map(compiled_backend).collect();
        }
        names
            .into_iter()
            .map(|name| {
                backend(name).ok_or_else(|| LoadError::UnknownBackend {
                    requested: name.to_owned(),
                })
            })
            .collect()
    }

    /// Probes the candidates in order and returns the first that works, or one error
    /// naming every backend and why it was not used.
    pub fn load(&self) -> Result<LoadedBackend, LoadError> {
        let candidates = self.candidates()?;
        if crate::compiled_backends().is_empty() {
            return Err(LoadError::NoneCompiled);
        }
        let mut failures = Vec::new();
        let mut not_compiled = Vec::new();
        for descriptor in candidates {
            let Some(runtime) = descriptor.runtime() else {
                not_compiled.push(NotCompiled::from(descriptor));
                continue;
            };
            match probe(runtime.as_ref(), self.minimum_for(descriptor)) {
                Ok(sqlite_version) => {
                    tracing::debug!(backend = descriptor.name, %sqlite_version, "loaded SQLite backend");
                    return Ok(LoadedBackend {
                        runtime,
                        descriptor,
                        sqlite_version,
                    });
                }
                Err(reason) => {
                    tracing::debug!(backend = descriptor.name, %reason, "SQLite backend failed its probe");
                    failures.push(BackendFailure {
                        name: descriptor.name,
                        reason,
                    });
                }
            }
        }
        for descriptor in KNOWN_BACKENDS.iter() {
            let listed = failures.iter().any(|f| f.name == descriptor.name)
                || not_compiled.iter().any(|n| n.name == descriptor.name);
            if !descriptor.is_compiled() && !listed {
                not_compiled.push(NotCompiled::from(descriptor));
            }
        }
        Err(LoadError::AllFailed {
            failures,
            not_compiled,
        })
    }

    /// Every known backend with its probe outcome (not compiled in: `None`).
    pub fn status(&self) -> Vec<BackendStatus> {
        KNOWN_BACKENDS
            .iter()
            .map(|descriptor| BackendStatus {
                descriptor,
                probe: descriptor
                    .runtime()
                    .map(|runtime| probe(runtime.as_ref(), self.minimum_for(descriptor))),
            })
            .collect()
    }
}

/// The compiled-in backend called `name`, or the error naming the valid names (unknown)
/// or the feature to enable (known but not compiled in).
pub fn compiled_backend(name: &str) -> Result<&'static BackendDescriptor, LoadError> {
    let descriptor = backend(name).ok_or_else(|| LoadError::UnknownBackend {
        requested: name.to_owned(),
    })?;
    if !descriptor.is_compiled() {
        return Err(LoadError::NotCompiled {
            requested: name.to_owned(),
            feature: descriptor.feature,
        });
    }
    Ok(descriptor)
}

/// Loads the backend named by `SQLITE_RUNTIME`, or else the first compiled-in backend
/// that works, in the order rusqlite, sqlite, sqlx.
pub fn load() -> Result<LoadedBackend, LoadError> {
    Loader::new().load()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let error = Loader::new().selected(Some("nope")).load().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown SQLite backend `nope`: valid names are rusqlite, sqlite, sqlx, dqlite"
        );
        let error = Loader::new()
            .selected(None)
            .preference(["rusqlite", "mysql"])
            .load()
            .unwrap_err();
        assert_eq!(
            error,
            LoadError::UnknownBackend {
                requested: "mysql".into()
            }
        );
    }

    #[test]
    fn selecting_a_backend_that_is_not_compiled_in_names_its_feature() {
        for descriptor in KNOWN_BACKENDS.iter().filter(|b| !b.is_compiled()) {
            let error = Loader::new()
                .selected(Some(descriptor.name))
                .load()
                .unwrap_err();
            assert_eq!(
                error,
                LoadError::NotCompiled {
                    requested: descriptor.name.into(),
                    feature: descriptor.feature
                }
            );
            assert!(
                error
                    .to_string()
                    .contains(&format!("enable feature `{}`", descriptor.feature))
            );
        }
    }

    #[test]
    fn probe_errors_and_missing_backends_say_what_happened() {
        let too_old = ProbeError::TooOld {
            version: SqliteVersion::new(3, 40, 1),
            minimum: MIN_SQLITE_VERSION,
        };
        assert_eq!(
            too_old.to_string(),
            "SQLite 3.40.1 is older than the required 3.45.0"
        );
        let bad: Result<SqliteVersion, _> = "3.x".parse();
        let bad = bad.map_err(ProbeError::from).err();
        assert_eq!(
            bad.map(|e| e.to_string()),
            Some("`3.x` is not an SQLite version (expected X.Y.Z)".to_owned())
        );
        let failures = [BackendFailure {
            name: "sqlite",
            reason: ProbeError::NoRow,
        }];
        let missing = [NotCompiled::from(&KNOWN_BACKENDS[2])];
        assert_eq!(
            describe_failures(&failures, &missing),
            "sqlite: sqlite_version() returned no row; sqlx: not compiled in (enable feature `sqlx`)"
        );
    }

    #[cfg(not(any(
        feature = "rusqlite",
        feature = "sqlite",
        feature = "sqlx",
        feature = "dqlite"
    )))]
    #[test]
    fn no_backend_compiled_in_is_an_error() {
        let error = Loader::new().selected(None).load().unwrap_err();
        assert_eq!(error, LoadError::NoneCompiled);
        assert_eq!(
            error.to_string(),
            "no SQLite backend is compiled in: enable one of the features `rusqlite`, `sqlite`, `sqlx`, `dqlite`"
        );
        assert!(Loader::new().status().iter().all(|s| s.probe.is_none()));
    }

    #[cfg(any(feature = "rusqlite", feature = "sqlite", feature = "sqlx"))]
    #[test]
    fn every_failure_is_listed_in_one_error() {
        let error = Loader::new()
            .selected(None)
            .min_sqlite_version(SqliteVersion::new(99, 0, 0))
            .load()
            .unwrap_err();
        let LoadError::AllFailed {
            failures,
            not_compiled,
        } = &error
        else {
            panic!("expected AllFailed, got {error:?}");
        };
        // Tried: the compiled-in backends of the default preference.
        let compiled: Vec<&str> = crate::compiled_backends()
            .iter()
            .map(|b| b.name)
            .filter(|name| DEFAULT_PREFERENCE.contains(name))
            .collect();
        assert_eq!(
            failures.iter().map(|f| f.name).collect::<Vec<_>>(),
            compiled
        );
        for failure in failures {
            assert!(
                matches!(failure.reason, ProbeError::TooOld { minimum, .. } if minimum == SqliteVersion::new(99, 0, 0)),
                "{failure:?}"
            );
            assert!(
                failure
                    .reason
                    .to_string()
                    .contains("older than the required 99.0.0"),
                "{failure:?}"
            );
        }
        let missing: Vec<&str> = KNOWN_BACKENDS
            .iter()
            .filter(|b| !b.is_compiled())
            .map(|b| b.name)
            .collect();
        assert_eq!(
            not_compiled.iter().map(|n| n.name).collect::<Vec<_>>(),
            missing
        );
        let message = error.to_string();
        for name in compiled.iter().chain(&missing) {
            assert!(message.contains(&format!("{name}: ")), "{message}");
        }
    }

    #[cfg(any(feature = "rusqlite", feature = "sqlite", feature = "sqlx"))]
    #[test]
    fn selection_and_preference_pick_the_named_backend() {
        for descriptor in crate::configured_backends() {
            let loaded = Loader::new()
                .selected(Some(descriptor.name))
                .load()
                .unwrap();
            assert_eq!(loaded.descriptor.name, descriptor.name);
            assert_eq!(loaded.runtime.backend(), descriptor.name);
            assert!(loaded.sqlite_version >= Loader::new().minimum_for(descriptor));
            let loaded = Loader::new()
                .selected(None)
                .preference([descriptor.name])
                .load()
                .unwrap();
            assert_eq!(loaded.descriptor.name, descriptor.name);
        }
    }
}
