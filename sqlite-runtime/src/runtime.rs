//! The runtime trait: one per SQLite binding.

use crate::{OpenOptions, Result, SqliteDatabase, Target};

/// How the underlying binding executes statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindingKind {
    /// A synchronous binding: calls run on the caller's thread.
    Sync,
    /// An async binding bridged to this synchronous API: calls block the caller until
    /// the binding's worker answers. Safe to call from plain threads and from inside a
    /// tokio runtime.
    AsyncBridged,
}

/// A feature a backend may lack. Conformance cases that need it are skipped, with the
/// reason, on backends whose [`Capabilities`] do not include it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Binding parameters by name ([`Params::Named`](crate::Params::Named)).
    NamedParameters,
    /// Reporting live prepared statements ([`SqliteDatabase::statement_cache_stats`]).
    StatementCacheStats,
    /// File targets are files on this machine: their `-wal` and `-shm` files, journal
    /// modes, read-only and immutable opens, paths in errors, and sharing a file with
    /// other backends apply. A remote backend (its "files" are names on a server) lacks
    /// it; drivers then keep their records in databases rather than in files.
    LocalFiles,
    /// `INSERT`/`UPDATE`/`DELETE … RETURNING` (SQLite 3.35+); a server that cannot run
    /// it safely lacks it.
    Returning,
    /// Text values holding NUL characters, sent and read back whole; a wire protocol
    /// that carries text NUL-terminated lacks it.
    NulInText,
}

/// What a backend can do: plain data, read by the conformance suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Capabilities {
    /// See [`Capability::NamedParameters`].
    pub named_parameters: bool,
    /// See [`Capability::StatementCacheStats`].
    pub statement_cache_stats: bool,
    /// See [`Capability::LocalFiles`].
    pub local_files: bool,
    /// See [`Capability::Returning`].
    pub returning: bool,
    /// See [`Capability::NulInText`].
    pub nul_in_text: bool,
}

impl Capabilities {
    /// Every capability.
    pub const ALL: Capabilities = Capabilities {
        named_parameters: true,
        statement_cache_stats: true,
        local_files: true,
        returning: true,
        nul_in_text: true,
    };

    /// Whether `capability` is present.
    pub fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::NamedParameters => self.named_parameters,
            Capability::StatementCacheStats => self.statement_cache_stats,
            Capability::LocalFiles => self.local_files,
            Capability::Returning => self.returning,
            Capability::NulInText => self.nul_in_text,
        }
    }

    /// Removes a capability (for backends describing what they lack).
    pub const fn without(mut self, capability: Capability) -> Self {
        match capability {
            Capability::NamedParameters => self.named_parameters = false,
            Capability::StatementCacheStats => self.statement_cache_stats = false,
            Capability::LocalFiles => self.local_files = false,
            Capability::Returning => self.returning = false,
            Capability::NulInText => self.nul_in_text = false,
        }
        self
    }
}

/// A SQLite binding behind an object-safe interface. Applications hold an
/// `Arc<dyn SqliteRuntime>` and hand it to drivers, which never name a binding.
///
/// ```no_run
/// use sqlite_runtime::{OpenOptions, Params, Result, SqliteRuntime, Target, ValueRef};
///
/// fn count_rows(runtime: &dyn SqliteRuntime) -> Result<i64> {
///     let mut db = runtime.open(&Target::Memory, &OpenOptions::new())?;
///     db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")?;
///     let row = db.get("SELECT count(*) AS n FROM t WHERE x > ?", Params::from(&[ValueRef::Integer(0)]))?;
///     row.map_or(Ok(0), |row| row.get("n"))
/// }
/// ```
pub trait SqliteRuntime: Send + Sync {
    /// The backend's name, as the loader and `SQLITE_RUNTIME` spell it (`"rusqlite"`).
    fn name(&self) -> &'static str;

    /// Whether calls run synchronously or are bridged to an async binding.
    fn kind(&self) -> BindingKind;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Opens a connection and applies [`OpenOptions::setup_sql`].
    ///
    /// Errors of kind [`CannotOpen`](crate::ErrorKind::CannotOpen) carry the path.
    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>>;
}
