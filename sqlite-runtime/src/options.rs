//! How a database is opened: target and options, with the defaults every backend applies.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to open: a private in-memory database or a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A new, private in-memory database: two handles never share one.
    Memory,
    /// A database file.
    File(PathBuf),
}

impl Target {
    /// A database file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Target::File(path.into())
    }

    /// The file path, or `None` for memory.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Target::Memory => None,
            Target::File(path) => Some(path),
        }
    }

    /// Whether this is an in-memory database.
    pub fn is_memory(&self) -> bool {
        matches!(self, Target::Memory)
    }
}

impl From<&Path> for Target {
    fn from(path: &Path) -> Self {
        Target::File(path.to_owned())
    }
}

impl From<PathBuf> for Target {
    fn from(path: PathBuf) -> Self {
        Target::File(path)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Memory => f.write_str(":memory:"),
            Target::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// SQLite's `journal_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JournalMode {
    /// Rollback journal, deleted at commit.
    Delete,
    /// Rollback journal, truncated at commit.
    Truncate,
    /// Rollback journal, header zeroed at commit.
    Persist,
    /// Rollback journal in memory.
    Memory,
    /// Write-ahead log: readers do not block the writer.
    Wal,
    /// No journal (unsafe on crash).
    Off,
}

impl JournalMode {
    /// The name SQLite uses in `PRAGMA journal_mode`.
    pub fn as_str(&self) -> &'static str {
        match self {
            JournalMode::Delete => "delete",
            JournalMode::Truncate => "truncate",
            JournalMode::Persist => "persist",
            JournalMode::Memory => "memory",
            JournalMode::Wal => "wal",
            JournalMode::Off => "off",
        }
    }
}

/// SQLite's `synchronous` level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Synchronous {
    /// No syncs: fastest, loses data on power failure.
    Off,
    /// Sync at checkpoints (in WAL mode): a power failure may lose the last commits,
    /// a process crash loses nothing.
    Normal,
    /// Sync at every commit: a committed transaction survives power failure.
    Full,
    /// Like `Full`, and also syncs the directory after deleting a journal.
    Extra,
}

impl Synchronous {
    /// The name SQLite uses in `PRAGMA synchronous`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Synchronous::Off => "off",
            Synchronous::Normal => "normal",
            Synchronous::Full => "full",
            Synchronous::Extra => "extra",
        }
    }

    /// The number `PRAGMA synchronous` reads back.
    pub fn as_pragma_value(&self) -> i64 {
        match self {
            Synchronous::Off => 0,
            Synchronous::Normal => 1,
            Synchronous::Full => 2,
            Synchronous::Extra => 3,
        }
    }
}

/// Options for [`SqliteRuntime::open`](crate::SqliteRuntime::open). Every backend applies
/// them the same way, through [`OpenOptions::setup_sql`].
///
/// ```
/// use std::time::Duration;
/// use sqlite_runtime::{JournalMode, OpenOptions, Synchronous, Target};
///
/// let options = OpenOptions::new()
///     .busy_timeout(Duration::from_millis(250))
///     .synchronous(Synchronous::Normal);
/// assert_eq!(options.effective_journal_mode(&Target::file("a.db")), Some(JournalMode::Wal));
/// assert_eq!(options.effective_journal_mode(&Target::Memory), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Open read-only (see [`read_only`](Self::read_only)).
    pub read_only: bool,
    /// Create the file when missing (see [`create`](Self::create)).
    pub create: bool,
    /// How long a statement waits for a lock (see [`busy_timeout`](Self::busy_timeout)).
    pub busy_timeout: Duration,
    /// The journal mode for files; `None` leaves the file's as it is (see
    /// [`journal_mode`](Self::journal_mode), [`keep_journal_mode`](Self::keep_journal_mode)).
    pub journal_mode: Option<JournalMode>,
    /// The `synchronous` level (see [`synchronous`](Self::synchronous)).
    pub synchronous: Synchronous,
    /// Whether foreign keys are enforced (see [`foreign_keys`](Self::foreign_keys)).
    pub foreign_keys: bool,
    /// Prepared statements kept per connection (see
    /// [`statement_cache_capacity`](Self::statement_cache_capacity)).
    pub statement_cache_capacity: usize,
    /// Open as immutable (see [`immutable`](Self::immutable)).
    pub immutable: bool,
    /// Open the `-shm` read-only (see [`read_only_shm`](Self::read_only_shm)).
    pub read_only_shm: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_only: false,
            create: true,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            journal_mode: Some(JournalMode::Wal),
            synchronous: Synchronous::Full,
            foreign_keys: true,
            statement_cache_capacity: Self::DEFAULT_STATEMENT_CACHE_CAPACITY,
            immutable: false,
            read_only_shm: false,
        }
    }
}

impl OpenOptions {
    /// The default busy timeout: 5000 ms, as rivetkit's drivers use.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(5000);
    /// The default number of prepared statements kept per connection.
    pub const DEFAULT_STATEMENT_CACHE_CAPACITY: usize = 64;

    /// The defaults: read-write, create if missing, 5000 ms busy timeout, WAL for files,
    /// `synchronous = FULL`, foreign keys enforced, 64 cached statements.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open read-only (default `false`). A read-only open never creates the file.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Create the file when missing (default `true`).
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// How long a statement waits for another connection's lock before failing with
    /// [`ErrorKind::Busy`](crate::ErrorKind::Busy) (default 5000 ms).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The journal mode for file databases (default WAL). In-memory databases keep
    /// SQLite's own in-memory journal whatever is set here.
    pub fn journal_mode(mut self, mode: JournalMode) -> Self {
        self.journal_mode = Some(mode);
        self
    }

    /// Leaves a file's journal mode as it is, e.g. to inspect a database without
    /// changing anything in it.
    pub fn keep_journal_mode(mut self) -> Self {
        self.journal_mode = None;
        self
    }

    /// The `synchronous` level (default `FULL`).
    pub fn synchronous(mut self, level: Synchronous) -> Self {
        self.synchronous = level;
        self
    }

    /// Whether `FOREIGN KEY` constraints are enforced (default `true`). Set explicitly on
    /// every connection, because SQLite's compile-time default differs between builds.
    pub fn foreign_keys(mut self, enforce: bool) -> Self {
        self.foreign_keys = enforce;
        self
    }

    /// How many prepared statements a connection keeps for reuse (default 64).
    pub fn statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }

    /// Opens a file as SQLite's `immutable=1` (implies read-only): no locks are taken and
    /// no `-wal` or `-shm` file is opened or created; only the database file itself is
    /// read, so pages still in a `-wal` are not seen. Correct only while nobody changes
    /// the file; no effect on memory databases. Default `false`.
    pub fn immutable(mut self, immutable: bool) -> Self {
        self.immutable = immutable;
        self
    }

    /// Opens the `-shm` file of a WAL database read-only (SQLite's `readonly_shm=1`), so
    /// that a read-only connection writes nothing at all: it reads what other processes
    /// committed to the `-wal` without updating the shared index, and without a
    /// process holding the database open it reads the `-wal` directly. The `-wal` and
    /// `-shm` files must exist. Meant with [`read_only`](Self::read_only); default `false`.
    pub fn read_only_shm(mut self, read_only_shm: bool) -> Self {
        self.read_only_shm = read_only_shm;
        self
    }

    /// Whether the database is opened read-only: [`read_only`](Self::read_only), or
    /// [`immutable`](Self::immutable).
    pub fn is_read_only(&self) -> bool {
        self.read_only || self.immutable
    }

    /// The name to hand `sqlite3_open_v2` together with `SQLITE_OPEN_URI`: `:memory:`
    /// for memory, otherwise a `file:` URI of the path (every byte that is not plain
    /// ASCII, and every character URIs reserve, percent-encoded, so that no path is
    /// misread as a URI and a non-UTF-8 path still opens) with `immutable=1` and
    /// `readonly_shm=1` when asked for.
    ///
    /// ```
    /// use sqlite_runtime::{OpenOptions, Target};
    ///
    /// let options = OpenOptions::new().read_only(true).read_only_shm(true);
    /// assert_eq!(
    ///     options.sqlite_filename(&Target::file("/data/a b?.db")),
    ///     "file:/data/a%20b%3F.db?readonly_shm=1"
    /// );
    /// assert_eq!(OpenOptions::new().sqlite_filename(&Target::Memory), ":memory:");
    /// ```
    pub fn sqlite_filename(&self, target: &Target) -> String {
        let Some(path) = target.path() else {
            return ":memory:".to_owned();
        };
        let mut uri = String::from("file:");
        for &byte in path_bytes(path).iter() {
            if byte.is_ascii_alphanumeric() || b"/-_.~".contains(&byte) {
                uri.push(char::from(byte));
            } else {
                uri.push_str(&format!("%{byte:02X}"));
            }
        }
        let mut separator = '?';
        for (on, parameter) in [
            (self.immutable, "immutable=1"),
            (self.read_only_shm, "readonly_shm=1"),
        ] {
            if on {
                uri.push(separator);
                uri.push_str(parameter);
                separator = '&';
            }
        }
        uri
    }

    /// Whether a missing file is created (never when read-only).
    pub fn creates(&self) -> bool {
        self.create && !self.read_only
    }

    /// The journal mode the open will set: `None` for memory databases, for read-only
    /// opens (which cannot change it) and with [`keep_journal_mode`](Self::keep_journal_mode),
    /// the configured mode (WAL by default) otherwise.
    pub fn effective_journal_mode(&self, target: &Target) -> Option<JournalMode> {
        if target.is_memory() || self.is_read_only() {
            None
        } else {
            self.journal_mode
        }
    }

    /// The statements every backend runs right after opening, so that all of them share
    /// the same defaults. The busy timeout comes first: switching to WAL takes a lock.
    pub fn setup_sql(&self, target: &Target) -> String {
        let mut sql = format!("PRAGMA busy_timeout = {};", self.busy_timeout.as_millis());
        if let Some(mode) = self.effective_journal_mode(target) {
            sql.push_str(&format!(" PRAGMA journal_mode = {};", mode.as_str()));
        }
        sql.push_str(&format!(
            " PRAGMA synchronous = {};",
            self.synchronous.as_str()
        ));
        sql.push_str(if self.foreign_keys {
            " PRAGMA foreign_keys = ON;"
        } else {
            " PRAGMA foreign_keys = OFF;"
        });
        sql
    }
}

/// A path's bytes as the OS stores them (on Unix, any bytes; elsewhere, its UTF-8).
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        match path.to_string_lossy() {
            std::borrow::Cow::Borrowed(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
            std::borrow::Cow::Owned(text) => std::borrow::Cow::Owned(text.into_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let options = OpenOptions::new();
        assert_eq!(options.busy_timeout, Duration::from_millis(5000));
        assert_eq!(options.synchronous, Synchronous::Full);
        assert!(options.creates());
        assert_eq!(
            options.setup_sql(&Target::file("x.db")),
            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = wal; PRAGMA synchronous = full; PRAGMA foreign_keys = ON;"
        );
        assert_eq!(
            options.setup_sql(&Target::Memory),
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = full; PRAGMA foreign_keys = ON;"
        );
    }

    #[test]
    fn read_only_never_creates_or_changes_journal() {
        let options = OpenOptions::new()
            .read_only(true)
            .journal_mode(JournalMode::Delete);
        assert!(!options.creates());
        assert_eq!(options.effective_journal_mode(&Target::file("x.db")), None);
        let keep = OpenOptions::new().keep_journal_mode();
        assert_eq!(keep.effective_journal_mode(&Target::file("x.db")), None);
        assert!(
            !keep
                .setup_sql(&Target::file("x.db"))
                .contains("journal_mode")
        );
    }

    #[test]
    fn filenames_are_uris_that_name_exactly_the_path() {
        let options = OpenOptions::new();
        assert_eq!(
            options.sqlite_filename(&Target::file("rel/x.db")),
            "file:rel/x.db"
        );
        assert_eq!(
            options.sqlite_filename(&Target::file("file:x?y#z%")),
            "file:file%3Ax%3Fy%23z%25"
        );
        assert_eq!(options.sqlite_filename(&Target::file("/é")), "file:/%C3%A9");
        let immutable = OpenOptions::new().immutable(true).read_only_shm(true);
        assert!(immutable.is_read_only());
        assert_eq!(
            immutable.sqlite_filename(&Target::file("/a.db")),
            "file:/a.db?immutable=1&readonly_shm=1"
        );
        assert_eq!(
            immutable.effective_journal_mode(&Target::file("/a.db")),
            None
        );
    }
}
