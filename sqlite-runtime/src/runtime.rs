//! The runtime trait: one per SQLite binding.

use crate::{OpenOptions, Result, SqliteDatabase, Target};

/// How a backend executes statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
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
    /// Guarded SQL ([`SqliteDatabase::guarded_for_each`](crate::SqliteDatabase::guarded_for_each)):
    /// untrusted statements compiled under a [`Guard`](crate::Guard) that SQLite itself
    /// enforces, within [`GuardLimits`](crate::GuardLimits). A backend that cannot reach
    /// SQLite's authorizer (a remote engine) lacks it.
    GuardedSql,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 6] = [
        Capability::NamedParameters,
        Capability::StatementCacheStats,
        Capability::LocalFiles,
        Capability::Returning,
        Capability::NulInText,
        Capability::GuardedSql,
    ];

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// What a backend can do: a set of [`Capability`], plain data read by the conformance
/// suite.
///
/// ```
/// use sqlite_runtime::{Capabilities, Capability};
///
/// let remote = Capabilities::ALL.without(Capability::LocalFiles);
/// assert!(remote.has(Capability::NamedParameters));
/// assert!(!remote.has(Capability::LocalFiles));
/// assert_eq!(remote.missing().collect::<Vec<_>>(), [Capability::LocalFiles]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    /// Every capability.
    pub const ALL: Capabilities = {
        let mut bits = 0;
        let mut i = 0;
        while i < Capability::ALL.len() {
            bits |= Capability::ALL[i].bit();
            i += 1;
        }
        Capabilities(bits)
    };

    /// No capability.
    pub const NONE: Capabilities = Capabilities(0);

    /// Whether `capability` is present.
    pub const fn has(&self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// This set without `capability` (for backends describing what they lack).
    pub const fn without(self, capability: Capability) -> Self {
        Capabilities(self.0 & !capability.bit())
    }

    /// This set with `capability`.
    pub const fn with(self, capability: Capability) -> Self {
        Capabilities(self.0 | capability.bit())
    }

    /// The capabilities present, in declaration order.
    pub fn present(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.has(*c))
    }

    /// The capabilities missing, in declaration order.
    pub fn missing(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| !self.has(*c))
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.present()).finish()
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
    /// The backend's name, as the loader and `SQLITE_RUNTIME` spell it (`"rusqlite"`);
    /// the same as [`SqliteDatabase::backend`] and [`Error::backend`](crate::Error::backend).
    fn backend(&self) -> &'static str;

    /// Whether calls run synchronously or are bridged to an async binding.
    fn kind(&self) -> BackendKind;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Opens a connection and applies [`OpenOptions::setup_sql`].
    ///
    /// Errors of kind [`CannotOpen`](crate::ErrorKind::CannotOpen) carry the path.
    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>>;
}
