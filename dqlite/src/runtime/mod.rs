//! [`DqliteRuntime`]: sqlite-runtime's [`SqliteRuntime`] on a dqlite cluster, built on
//! the backend kit ([`sqlite_runtime::raw`]).
//!
//! How SQLite's behaviour is kept over dqlite's protocol:
//!
//! - **Requests.** dqlite runs a statement either with EXEC (no rows; the only way to
//!   write, the leader replicating the commit) or QUERY (rows; a write sent so is not
//!   replicated, and 1.11 aborts on some). The client picks by what the statement is
//!   (see the `sql_scan` module): reads (`SELECT`, `VALUES`, `WITH … SELECT`, `EXPLAIN`)
//!   are queried, everything else is executed, and a `PRAGMA` is executed first and
//!   queried when the server answers that it returns rows. `exec` batches are split
//!   client-side and each statement sent as it needs. A batch holding a `CREATE
//!   TRIGGER` (whose body the client may split wrongly, at a `CASE … END;`) and no
//!   statement returning rows goes whole, split by the server; such a trigger in a
//!   batch that also returns rows must run on its own.
//! - **Result columns.** dqlite 1.11 sends a result set's columns before its first
//!   step, where SQLite recompiles a statement whose schema changed; a cached statement
//!   with a `*` in its result columns checks the schema version before it runs (one
//!   more round trip) and is recompiled when it moved. A query failing at run time is
//!   reported with SQLite's code and message, which 1.11 sends garbled (see
//!   [`decode_query_failure`](crate::wire::decode_query_failure)).
//! - **Prepared statements** are cached per connection in the kit's
//!   [`StatementCache`](sqlite_runtime::raw::StatementCache) (server statement ids,
//!   finalized when evicted and at close). [`statement_cache_stats`] reads SQLite's own
//!   counters from the server connection (the `sqlite_stmt` table).
//! - **Named parameters** are numbered client-side the way SQLite numbers them, checked
//!   against the parameter count the server reports, and sent by position.
//! - **Transactions** are followed client-side (dqlite has no request for SQLite's
//!   autocommit flag); after a failure that may have rolled back (or kept) a
//!   transaction, one request asks the server (see the `tracking` module).
//! - **Busy timeout.** dqlite answers "database is locked" at once; the client waits and
//!   retries where SQLite's busy handler would (a statement outside a transaction,
//!   `BEGIN`), up to the connection's busy timeout.
//! - **Failures** are reported with [`ErrorKind::Unavailable`] or
//!   [`ErrorKind::OutcomeUnknown`] where a replicated engine needs them (see the
//!   `errors` module), and the next statement reconnects: leader discovery through the
//!   [`Cluster`], the same database opened again, its settings applied again, the
//!   statement cache emptied, no transaction.
//!
//! [`statement_cache_stats`]: sqlite_runtime::SqliteDatabase::statement_cache_stats
//! [`ErrorKind::Unavailable`]: sqlite_runtime::ErrorKind::Unavailable
//! [`ErrorKind::OutcomeUnknown`]: sqlite_runtime::ErrorKind::OutcomeUnknown

mod busy;
mod connection;
mod errors;
mod settings;
mod statement;
mod tracking;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlite_runtime::raw::KitDatabase;
use sqlite_runtime::{
    BackendKind, Capabilities, Capability, ErrorKind, OpenOptions, Result, SqliteDatabase,
    SqliteRuntime, Target,
};

use crate::cluster::Cluster;
use crate::error::refused;

use self::connection::DqliteConnection;

/// sqlite-runtime's [`SqliteRuntime`] on a [dqlite](https://dqlite.io) cluster:
/// Raft-replicated SQLite, reached over dqlite's wire protocol.
///
/// A database is a name on the cluster:
///
/// - [`Target::File`] names the database by its path, as given (`"/srv/app/kv.db"`,
///   `"actors/a b.db"`); nothing is created on the local disk. A path that is not UTF-8
///   cannot be a name.
/// - [`Target::Memory`] opens a database of a fresh unique name (starting with
///   [`MEMORY_PREFIX`](Self::MEMORY_PREFIX)) on every open, private to the handle as a
///   `:memory:` database is. dqlite cannot delete databases: it is **not erased** when
///   closed, and stays on the cluster, empty of anything but what was written to it.
///
/// [`OpenOptions`] apply as far as dqlite gives them meaning: the busy timeout (waited
/// out client-side, since dqlite never waits for a lock), foreign keys, the statement
/// cache capacity; read-only (and immutable) opens set `PRAGMA query_only`; and an open
/// that must not create (`create(false)`, read-only) refuses a database that was never
/// written, since dqlite creates databases on OPEN and cannot tell a missing one from
/// an empty one. Journal mode, `synchronous` and `readonly_shm` belong to dqlite
/// (write-ahead log, replicated) and are ignored.
///
/// Capabilities: every one but [`Capability::LocalFiles`]. The server's SQLite must
/// have the `sqlite_stmt` table (`SQLITE_ENABLE_STMTVTAB`, as Debian's and Ubuntu's
/// have) for [`statement_cache_stats`](SqliteDatabase::statement_cache_stats).
///
/// Failures of the cluster are reported as
/// [`ErrorKind::Unavailable`] (nothing was applied: no leader, "not leader", a
/// connection refused or broken before the request went out, a statement cut off
/// inside a transaction) or [`ErrorKind::OutcomeUnknown`] (a `COMMIT` or a write
/// outside a transaction cut off after it was sent: it may or may not have been
/// applied). Either way the server-side connection is dropped, and with it any open
/// transaction ([`in_transaction`](SqliteDatabase::in_transaction) says `false`); the
/// next statement reconnects (finding the leader, patiently: see
/// [`with_patience`](Self::with_patience)), opens the same database, applies the
/// connection's settings again and runs outside any transaction.
///
/// Known limits of dqlite 1.11 (refused before anything is sent, see
/// [`Connection`](crate::Connection)): no `RETURNING`, no text containing NUL, at most
/// 255 parameters per statement. Values read from the server are otherwise exactly as
/// SQLite stores them.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sqlite_runtime::{OpenOptions, SqliteRuntime, Target};
/// use sqlite_runtime_dqlite::{Cluster, DqliteRuntime};
///
/// # fn main() -> sqlite_runtime::Result<()> {
/// let cluster = Cluster::parse("10.0.0.1:9001,10.0.0.2:9001,10.0.0.3:9001")?;
/// let runtime: Arc<dyn SqliteRuntime> =
///     Arc::new(DqliteRuntime::new(cluster).with_patience(Duration::from_secs(10)));
/// let mut db = runtime.open(&Target::file("/app/kv.db"), &OpenOptions::new())?;
/// db.exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB)")?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DqliteRuntime {
    /// The cluster, or why there is none (every open then fails saying so).
    cluster: std::result::Result<Arc<Cluster>, Arc<str>>,
    patience: Duration,
}

impl DqliteRuntime {
    /// The runtime's name, as the loader and `SQLITE_RUNTIME` spell it.
    pub const NAME: &'static str = "dqlite";

    /// How long an open (or a reconnection after a failure) keeps looking for a leader
    /// by default: 5 s. A leader is normally found at once; an election after a leader
    /// died takes 0.3–0.6 s on `sqlrt-node`'s defaults, 3–6 s on libdqlite's own.
    pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(5);

    /// The start of the names of the databases opened for [`Target::Memory`].
    pub const MEMORY_PREFIX: &'static str = "sqlite-runtime-memory-";

    /// A runtime on `cluster` (its [`ConnectOptions`](crate::ConnectOptions) are those of
    /// every connection).
    pub fn new(cluster: Cluster) -> Self {
        DqliteRuntime {
            cluster: Ok(Arc::new(cluster)),
            patience: Self::DEFAULT_PATIENCE,
        }
    }

    /// A runtime on the cluster named by the environment variable `DQLITE_CLUSTER`
    /// (`host:port,host:port,...`; see [`Cluster::from_env`]). It is made whatever the
    /// variable holds: when it is unset or invalid, every open fails with an error of
    /// kind [`ErrorKind::CannotOpen`] that says so.
    pub fn from_env() -> Self {
        Self::from_env_value(std::env::var_os(Cluster::ENV_VAR))
    }

    /// [`from_env`](Self::from_env) with the variable's value.
    fn from_env_value(value: Option<std::ffi::OsString>) -> Self {
        let var = Cluster::ENV_VAR;
        let cluster = match value.as_deref().map(|value| value.to_str()) {
            None => Err(format!(
                "no dqlite cluster: {var} is not set (set it to the nodes' addresses, \
                 e.g. {var}=127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003)"
            )),
            Some(None) => Err(format!("no dqlite cluster: {var} is not valid UTF-8")),
            Some(Some(list)) => Cluster::parse(list).map_err(|error| {
                format!("no dqlite cluster: {var} is invalid: {}", error.message())
            }),
        };
        DqliteRuntime {
            cluster: cluster.map(Arc::new).map_err(Arc::from),
            patience: Self::DEFAULT_PATIENCE,
        }
    }

    /// Sets how long an open, or the reconnection after a failure, keeps looking for a
    /// leader (default [`DEFAULT_PATIENCE`](Self::DEFAULT_PATIENCE)). One pass over the
    /// nodes is never cut short: with nodes that accept connections but do not answer,
    /// it can last a request timeout per node.
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// How long an open keeps looking for a leader.
    pub fn patience(&self) -> Duration {
        self.patience
    }

    /// The cluster, or `None` when [`from_env`](Self::from_env) found none.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_deref().ok()
    }

    /// The name of the database `target` opens: a file's path as is, a fresh unique
    /// name for memory (a new one on each call).
    ///
    /// ```
    /// use sqlite_runtime::Target;
    /// use sqlite_runtime_dqlite::DqliteRuntime;
    ///
    /// let name = DqliteRuntime::database_name(&Target::file("/data/a b.db")).unwrap();
    /// assert_eq!(name, "/data/a b.db");
    /// let memory = DqliteRuntime::database_name(&Target::Memory).unwrap();
    /// assert!(memory.starts_with(DqliteRuntime::MEMORY_PREFIX));
    /// assert_ne!(memory, DqliteRuntime::database_name(&Target::Memory).unwrap());
    /// ```
    pub fn database_name(target: &Target) -> Result<String> {
        match target {
            Target::Memory => Ok(format!(
                "{}{}",
                Self::MEMORY_PREFIX,
                uuid::Uuid::new_v4().simple()
            )),
            Target::File(path) => path.to_str().map(str::to_owned).ok_or_else(|| {
                refused(
                    ErrorKind::CannotOpen,
                    format!(
                        "the path `{}` is not UTF-8, and dqlite database names are text",
                        path.display()
                    ),
                )
            }),
        }
    }
}

impl fmt::Debug for DqliteRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("DqliteRuntime");
        match &self.cluster {
            Ok(cluster) => debug.field("nodes", &cluster.nodes()),
            Err(why) => debug.field("cluster", why),
        };
        debug.field("patience", &self.patience).finish()
    }
}

impl SqliteRuntime for DqliteRuntime {
    fn backend(&self) -> &'static str {
        Self::NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Sync
    }

    /// Every capability but [`Capability::LocalFiles`] (databases are names on the
    /// cluster, not files here), [`Capability::Returning`] (dqlite 1.11 aborts the node
    /// that runs `… RETURNING`: refused client-side) and [`Capability::NulInText`] (the
    /// wire protocol carries text NUL-terminated: refused client-side).
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
            .without(Capability::LocalFiles)
            .without(Capability::Returning)
            .without(Capability::NulInText)
            .without(Capability::GuardedSql)
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let database = KitDatabase::open(Self::NAME, target, options, || {
            let cluster = match &self.cluster {
                Ok(cluster) => Arc::clone(cluster),
                Err(why) => return Err(refused(ErrorKind::CannotOpen, why.to_string())),
            };
            let name = Self::database_name(target)?;
            DqliteConnection::connect(cluster, self.patience, name, target, options)
        })?;
        Ok(Box::new(database))
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::path::PathBuf;

    use super::*;
    use crate::ConnectOptions;

    #[test]
    fn describes_itself() {
        let runtime = DqliteRuntime::new(Cluster::parse("127.0.0.1:9001").unwrap());
        assert_eq!(runtime.backend(), "dqlite");
        assert_eq!(runtime.kind(), BackendKind::Sync);
        let capabilities = runtime.capabilities();
        assert!(!capabilities.has(Capability::LocalFiles));
        assert!(capabilities.has(Capability::NamedParameters));
        assert!(capabilities.has(Capability::StatementCacheStats));
        assert_eq!(runtime.patience(), DqliteRuntime::DEFAULT_PATIENCE);
        let runtime = runtime.with_patience(Duration::from_millis(10));
        assert_eq!(runtime.patience(), Duration::from_millis(10));
        assert!(format!("{runtime:?}").contains("127.0.0.1:9001"));
        let _: Arc<dyn SqliteRuntime> = Arc::new(runtime);
    }

    #[cfg(unix)]
    #[test]
    fn names_must_be_text() {
        use std::os::unix::ffi::OsStringExt;
        let path = PathBuf::from(std::ffi::OsString::from_vec(b"/a\xff.db".to_vec()));
        let error = DqliteRuntime::database_name(&Target::File(path)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::CannotOpen);
        assert!(error.message().contains("not UTF-8"), "{error}");
    }

    #[test]
    fn without_a_cluster_every_open_says_why() {
        for (value, says) in [
            (None, "DQLITE_CLUSTER is not set"),
            (Some("127.0.0.1"), "DQLITE_CLUSTER is invalid"),
            (Some(""), "DQLITE_CLUSTER is invalid"),
        ] {
            let runtime = DqliteRuntime::from_env_value(value.map(Into::into));
            assert!(runtime.cluster().is_none());
            for target in [Target::Memory, Target::file("kv.db")] {
                let error = runtime.open(&target, &OpenOptions::new()).err().unwrap();
                assert_eq!(error.kind(), ErrorKind::CannotOpen);
                assert_eq!(error.backend(), Some("dqlite"));
                assert!(error.to_string().contains(says), "{error}");
            }
        }
        let runtime = DqliteRuntime::from_env_value(Some("127.0.0.1:1, 127.0.0.1:2".into()));
        assert_eq!(
            runtime.cluster().map(Cluster::nodes),
            Some(&["127.0.0.1:1".to_owned(), "127.0.0.1:2".to_owned()][..])
        );
    }

    #[test]
    fn unreachable_nodes_fail_the_open_naming_them() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let cluster = Cluster::new([address.clone()])
            .unwrap()
            .with_options(ConnectOptions::new().connect_timeout(Duration::from_millis(200)));
        let runtime = DqliteRuntime::new(cluster).with_patience(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let error = runtime
            .open(&Target::Memory, &OpenOptions::new())
            .err()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert!(error.is_retryable());
        assert!(error.to_string().contains(&address), "{error}");
        assert_eq!(error.backend(), Some("dqlite"));
    }
}
