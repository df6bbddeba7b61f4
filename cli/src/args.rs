//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// sqlrt: run storage drivers on any SQLite binding.
#[derive(Debug, Parser)]
#[command(
    name = "sqlrt",
    version,
    about,
    propagate_version = true,
    after_help = "Environment:\n  SQLITE_RUNTIME=NAME          the backend (as --backend NAME)\n  DQLITE_CLUSTER=HOST:PORT,... the dqlite cluster; with it, ROOT is a name on the cluster\n\nA storage ROOT is a directory with the local backends. `kv ... --create` makes one in a new or empty directory."
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print one machine-readable JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// SQLite backend to use: rusqlite, sqlite, sqlx, or dqlite (which needs
    /// DQLITE_CLUSTER=host:port,…); same as SQLITE_RUNTIME=NAME. `conformance` and
    /// `bench` accept it several times.
    #[arg(long = "backend", value_name = "NAME", global = true)]
    pub backends: Vec<String>,
    /// No progress bars or informational lines.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log through tracing on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every known backend: compiled in, loaded or why not, SQLite version.
    #[command(after_help = "Example:\n  sqlrt backends\n  sqlrt backends --json")]
    Backends,
    /// Run the conformance and driver suites against backends (default: all compiled in).
    #[command(
        after_help = "Exit code 1 if any case fails.\n\nExample:\n  sqlrt conformance\n  sqlrt conformance --backend sqlx --backend rusqlite --json"
    )]
    Conformance(ConformanceArgs),
    /// Migrate legacy rivetkit state files of a storage root into SQLite.
    #[command(
        after_help = "Legacy files are never modified. Exit 0 when the root was processed, even if some files failed to decode (they are listed).\n\nExample:\n  sqlrt migrate ./storage --dry-run\n  sqlrt migrate ./storage --json"
    )]
    Migrate(MigrateArgs),
    /// List the actors of a storage root.
    #[command(after_help = "Example:\n  sqlrt actors ./storage")]
    Actors(RootArgs),
    /// Read and write an actor's key-value store.
    #[command(
        after_help = "Keys and values are UTF-8 text, hex written `hex:00ff`, the bytes of a file written `@PATH`, or standard input written `@-` (a key or value that starts with `@` is written in hex). Reads (get, list) change nothing on disk; --create writes KV key 0x01 = 04 00 00 00 01 f7 00, the record rivetkit 2.2.1 writes for a new actor, so that rivetkit can start it.\n\nExample:\n  sqlrt kv ./storage my-actor put greeting hello --create\n  sqlrt kv ./storage my-actor put avatar @avatar.png\n  sqlrt kv ./storage my-actor get greeting hex:00ff\n  sqlrt kv ./storage my-actor list --prefix user: --limit 10 --json"
    )]
    Kv(KvArgs),
    /// Run one SQL statement on an actor's own database.
    #[command(
        after_help = "The actor's SQL shares its database with its KV; the driver's tables (`kv`, `kv_*`) and settings are out of reach. A statement that only reads changes nothing on disk; one that writes runs the driver (which wakes the actor, then sleeps it). Parameters bind in order (`?`, `?N`), or by name when written `:name=VALUE` or `$name=VALUE`. A VALUE is text, `hex:00ff` or `@PATH` (a blob), `@-` (standard input, a blob), `int:42`, `real:1.5`, or `null`.

Example:
  sqlrt sql ./storage my-actor 'CREATE TABLE todo (id INTEGER PRIMARY KEY, text TEXT)'
  sqlrt sql ./storage my-actor 'INSERT INTO todo (text) VALUES (?)' --param 'write docs'
  sqlrt sql ./storage my-actor 'SELECT * FROM todo WHERE id = :id' --param :id=int:1 --json"
    )]
    Sql(SqlArgs),
    /// An interactive SQL prompt on an actor's own database, with KV dot-commands.
    #[command(
        after_help = "Statements end with `;` and may span lines. Dot-commands: .tables, .schema [TABLE], .get KEY, .put KEY VALUE, .delete KEY, .list [PREFIX], .help, .quit. History is kept in ~/.sqlrt_history when the prompt is on a terminal. With piped input it reads commands until the end and exits 1 if any failed.

Example:
  sqlrt shell ./storage my-actor
  echo 'SELECT count(*) FROM todo;' | sqlrt shell ./storage my-actor"
    )]
    Shell(ShellArgs),
    /// Benchmark the driver on every backend against the SQLite C API and the bindings used directly.
    #[command(
        after_help = "Interleaves every variant in one process; prints Markdown tables with ops/s, p50, p99 and ratios to the raw C API.\n\nExample:\n  sqlrt bench --quick\n  sqlrt bench --backend rusqlite --workload get --entries 100000 --json"
    )]
    Bench(crate::commands::bench::BenchArgs),
    /// Run one dqlite node in the foreground (the program sqlrt-node, which links
    /// libdqlite); `sqlrt node --help` lists its options.
    #[command(
        disable_help_flag = true,
        after_help = "Example (a 3-node cluster on this machine):\n  sqlrt node --address 127.0.0.1:9001 --dir n1 &\n  sqlrt node --address 127.0.0.1:9002 --dir n2 --join 127.0.0.1:9001 &\n  sqlrt node --address 127.0.0.1:9003 --dir n3 --join 127.0.0.1:9001 &"
    )]
    Node {
        /// sqlrt-node's arguments: --address HOST:PORT --dir DIR [--join HOST:PORT]…
        /// [--role ROLE] [--latency-ms N] [--expose].
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "ARGS"
        )]
        args: Vec<std::ffi::OsString>,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  sqlrt completions bash > ~/.local/share/bash-completion/completions/sqlrt\n  sqlrt completions zsh > ~/.zfunc/_sqlrt\n  sqlrt completions fish > ~/.config/fish/completions/sqlrt.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Arguments of `conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Run only cases whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

/// A storage root.
#[derive(Debug, Args)]
pub struct RootArgs {
    /// The storage root: a directory with local backends (rusqlite, sqlite, sqlx); a
    /// name on the cluster with dqlite.
    pub root: PathBuf,
}

/// Arguments of `migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The storage root: a directory with local backends (rusqlite, sqlite, sqlx); a
    /// name on the cluster with dqlite.
    pub root: PathBuf,
    /// Report what would be migrated without writing anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `kv`. `--create` may stand anywhere on the line; `list`'s options come
/// after `list`.
#[derive(Debug, Args)]
pub struct KvArgs {
    /// The storage root: a directory with local backends (rusqlite, sqlite, sqlx); a
    /// name on the cluster with dqlite.
    pub root: PathBuf,
    /// The actor id.
    pub actor: String,
    /// Create the actor when it does not exist (named `sqlrt`, with the persisted-actor
    /// record rivetkit writes for a new actor, so that rivetkit can start it).
    #[arg(long, global = true)]
    pub create: bool,
    /// The operation.
    #[command(subcommand)]
    pub op: KvOp,
}

/// A KV operation. Keys and values are UTF-8 text, `hex:` and hex digits, `@PATH` (the
/// bytes of a file) or `@-` (standard input, once per command).
#[derive(Debug, Subcommand)]
pub enum KvOp {
    /// Get values by key: `KEY<tab>VALUE` per key found. A missing key prints
    /// `not found: KEY` on stderr (null in JSON) and the exit status is 1. Reads change
    /// nothing on disk.
    #[command(
        after_help = "Example:\n  sqlrt kv ./storage my-actor get a hex:00ff\n  sqlrt kv ./storage my-actor get avatar --raw > avatar.png"
    )]
    Get {
        /// Keys to read.
        #[arg(required = true)]
        keys: Vec<String>,
        /// Write the value of one key to stdout as raw bytes (binary-safe, no newline).
        #[arg(long, conflicts_with = "json")]
        raw: bool,
    },
    /// Put key/value pairs in one atomic batch.
    #[command(
        after_help = "Example:\n  sqlrt kv ./storage my-actor put a 1 b 2\n  sqlrt kv ./storage my-actor put blob @value.bin --create\n  printf 'x' | sqlrt kv ./storage my-actor put k @-"
    )]
    Put {
        /// KEY VALUE [KEY VALUE]...
        #[arg(required = true, value_name = "KEY VALUE")]
        pairs: Vec<String>,
    },
    /// Delete keys in one atomic batch (missing keys are ignored); prints how many
    /// were removed.
    #[command(after_help = "Example:\n  sqlrt kv ./storage my-actor delete a b")]
    Delete {
        /// Keys to delete.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Delete every key in [START, END); prints how many were removed.
    #[command(
        name = "delete-range",
        after_help = "Example:\n  sqlrt kv ./storage my-actor delete-range a b"
    )]
    DeleteRange {
        /// First key deleted.
        start: String,
        /// First key kept after the range.
        end: String,
    },
    /// List entries by prefix (--prefix), by range (--start, --end), or all. Reads change
    /// nothing on disk.
    #[command(
        after_help = "Example:\n  sqlrt kv ./storage my-actor list --prefix user:\n  sqlrt kv ./storage my-actor list --start a --end m --reverse --limit 5"
    )]
    List(ListArgs),
}

/// Arguments of `sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The storage root: a directory with local backends (rusqlite, sqlite, sqlx); a
    /// name on the cluster with dqlite.
    pub root: PathBuf,
    /// The actor id.
    pub actor: String,
    /// One SQL statement.
    pub statement: String,
    /// A parameter, in order (repeat for each), or `:name=VALUE` by name.
    #[arg(long = "param", value_name = "VALUE", allow_hyphen_values = true)]
    pub params: Vec<String>,
}

/// Arguments of `shell`.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The storage root: a directory with local backends (rusqlite, sqlite, sqlx); a
    /// name on the cluster with dqlite.
    pub root: PathBuf,
    /// The actor id.
    pub actor: String,
}

/// Arguments of `kv … list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Keys starting with this prefix.
    #[arg(long, value_name = "KEY", conflicts_with_all = ["start", "end"])]
    pub prefix: Option<String>,
    /// Range start (inclusive).
    #[arg(long, value_name = "KEY", requires = "end")]
    pub start: Option<String>,
    /// Range end (exclusive).
    #[arg(long, value_name = "KEY", requires = "start")]
    pub end: Option<String>,
    /// Descending order.
    #[arg(long)]
    pub reverse: bool,
    /// At most this many entries (default 16384).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
}
