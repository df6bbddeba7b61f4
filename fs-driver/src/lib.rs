//! A file-system actor driver compatible with rivetkit's TypeScript one: each actor's
//! metadata in `state/<id>` (versioned BARE), its KV store in `databases/<id>.db`
//! (SQLite, through any [`sqlite_runtime::SqliteRuntime`]), its alarm in `alarms/<id>`;
//! or, on a replicated engine, all of it in databases (see
//! [Actors on a shared engine](#actors-on-a-shared-engine)).
//!
//! - [`FsDriver`] runs actors: create, load, list, sleep, destroy; batch KV operations
//!   with the Rivet engine's limits ([`LimitError`]); alarms. It is `Send + Sync`, with
//!   one mutex per actor. [`FsDriver::memory`] keeps everything in memory.
//!   [`AsyncFsDriver`] is the same for async callers (any executor), with per-actor
//!   order, bounded queues and coalesced commits.
//! - Each actor has SQL of its own on its database ([`FsDriver::sql_execute`],
//!   [`FsDriver::sql_query`], [`FsDriver::sql_transaction`] mixing SQL and KV): see
//!   [Actor SQL](#actor-sql).
//! - [`migrate_legacy`] copies KV entries kept in old state files into SQLite (also run
//!   when a root is opened); [`inspect_root`] lists a root's actors without running them.
//! - [`state`], [`alarm`] and [`bare`] are the file formats; [`sql`] is the SQL the driver
//!   runs on each actor's database. [`read_actor`] reads an actor without changing
//!   anything on disk.
//!
//! # Modules, by layer
//!
//! Each layer uses only the layers below it:
//!
//! | layer | modules | what they hold |
//! |---|---|---|
//! | async callers | `asynchronous` | [`AsyncFsDriver`]: every driver operation as a future on a pool of worker threads, one lane per actor, coalesced commits |
//! | the driver | `driver` | [`FsDriver`]: lifecycles (slots, wake, sleep, destroy), KV and alarm operations, the open-database budget |
//! | root-wide work | `migration`, `read` | the legacy migration; reading a root without writing (`read::snapshot` opens, `read::actor` is [`read_actor`], `read::root` is [`inspect_root`]) |
//! | where actors live | `storage`, `actor` | the three storages: `disk` (with its lifecycle `locks`), `database` (with `leases`), `memory`; an awake actor's slot |
//! | one actor's data | `kv`, `fsutil`, [`script`] | one actor's KV store (its statements, write rules, kept size, open files, fence, migration mark) and its own SQL (`kv::actor_sql`); atomic file writes; splitting SQL scripts |
//! | outcomes | `unresolved` | writes of unknown outcome, not served until they are on disk |
//! | records | `error`, [`state`], [`alarm`] | errors; the state and alarm file formats |
//! | ground | [`sql`], [`limits`], `actor_id`, [`Layout`], [`bare`], `clock` | the SQL, the KV limits, id rules, paths, BARE, the clock |
//!
//! # Several processes on one root
//!
//! KV reads and writes from several processes (other drivers, `sqlrt kv`, rivetkit's own
//! driver) are safe: SQLite orders them, and each database keeps its storage size in a
//! `kv_size` table that triggers maintain, so every process's limits stay exact.
//! Lifecycles are guarded by advisory locks (open-file-description locks on the files
//! under `<root>/locks/`, Linux): a process that has an actor awake holds a shared lock on
//! it, and creating or destroying takes it exclusively. Guaranteed, between processes
//! that use this driver on one machine: an actor awake in one process cannot be
//! destroyed by another ([`Error::ActorInUse`], nothing changed); two processes never
//! both create one id (the second gets [`Error::ActorExists`]); a wake waits for a create
//! or destroy in progress elsewhere (up to 5 s, then [`Error::ActorBusy`]); a crashed
//! process holds no lock. Not guaranteed: anything about programs that do not take the
//! locks (rivetkit's driver), and network file systems.
//!
//! # Actors on a shared engine
//!
//! On a runtime without
//! [`Capability::LocalFiles`](sqlite_runtime::Capability::LocalFiles) (a replicated
//! engine such as dqlite, where a "file" is a database name on a server),
//! [`FsDriver::open`] writes nothing locally: the root only names databases. Each actor's
//! KV database is `<root>/databases/<id>.db` as on disk; its state record and alarm, the
//! same versioned BARE bytes as rivetkit's files, are rows of one table in the index
//! database `<root>/actors.db`, which also serves listing and due alarms (the engine
//! cannot enumerate its databases). Limits, ordering, storage accounting and the
//! lifecycle behave as on a local root, with one difference: an actor runs in one driver
//! at a time (alarms, like the actors, are seen by every driver). Each driver registers
//! in the index database and renews its registration ([`DriverOptions::lease_timeout`]);
//! waking, creating or destroying an actor takes its lease, so a second driver's wake is
//! refused ([`Error::ActorOwnedElsewhere`]) and its destroy too ([`Error::ActorInUse`])
//! until the first puts the actor to sleep, closes, or stops renewing (a crash: its
//! leases expire after the timeout). Leases are also fences: a driver cut off from the
//! engine (or paused) for longer than the timeout may find, when it comes back, that
//! another driver took its actors over; every write it then tries on them (KV, alarms,
//! state records) is refused with [`Error::ActorOwnedElsewhere`] and is not applied: each
//! new holder of a lease claims the actor's database with an epoch larger than every
//! earlier one, a claim never replaces a later one, and each KV write checks the claim
//! inside its own transaction (state and alarm writes check the lease in the same
//! statement). Reads are not fenced, but they never serve what another holder may have
//! changed: a lease holder answers reads from a copy of the actor's entries
//! ([`DriverOptions::read_cache_bytes`]) only while its lease is certainly its own (its
//! last acknowledged renewal plus two thirds of the timeout, without a lapse since the
//! lease was taken), and from the engine otherwise. On such an engine each KV write is
//! one statement that checks the fence and the quota itself (one request), falling back
//! to a transaction that reports which check failed. Destroying an actor empties its
//! database (the engine cannot delete one). The legacy migration does not run there:
//! legacy files are local.
//!
//! # Actor SQL
//!
//! An actor's database holds its KV (`kv`, and the driver's bookkeeping: every name
//! `kv` or starting with `kv_`) and whatever tables, views, indexes and triggers its own
//! SQL makes. That SQL runs guarded ([`sqlite_runtime::Guard`], enforced by SQLite's
//! authorizer as each statement compiles, on every backend with
//! [`Capability::GuardedSql`](sqlite_runtime::Capability::GuardedSql); the others refuse
//! actor SQL as unsupported): it cannot read, write, index, trigger on, alter, drop or
//! shadow (temporary tables and views of the same name) the driver's tables, nor run
//! `PRAGMA`s other than schema reads, `ATTACH`, `VACUUM`, extensions or transaction
//! statements; a refusal is an error of kind
//! [`NotAuthorized`](sqlite_runtime::ErrorKind::NotAuthorized) and nothing ran. Each
//! statement is bounded by [`DriverOptions::sql_limits`] (text, parameters, value and
//! row size, expression depth, running time: an endless query is
//! [`Interrupted`](sqlite_runtime::ErrorKind::Interrupted)). What its tables take counts
//! in the actor's quota with its KV ([`FsDriver::sql_storage_used`], kept in O(1) as
//! pages, not by scanning). A statement that writes is one transaction, with the same
//! rules as KV writes (fences, outcome-unknown commits, read-only databases); sleeps,
//! destroys and the legacy migration treat SQL data as KV data. Actors created before
//! this gain SQL with no migration step, and rivetkit's driver still runs them.
//!
//! # What errors say
//!
//! A write is applied or not, and the error says which: a "maybe" is
//! [`Error::is_outcome_unknown`]: [`Error::WriteOutcomeUnknown`] for KV writes (a commit
//! whose `fsync` or write failed, or a remote engine's commit cut off), after which
//! nothing is read until the database was reopened (and, locally, rewritten by a
//! checkpoint that synced: until then [`Error::OutcomeUnresolved`], in every driver of
//! the process, across sleeps and wakes); [`Error::FileOutcomeUnknown`] for a state or
//! alarm file whose directory sync failed after its rename; and, on
//! a remote engine, a state record or alarm written when the connection was lost
//! ([`sqlite_runtime::ErrorKind::OutcomeUnknown`]; a destroy then counts as begun, and
//! a retry finishes it). A missing database is
//! [`Error::DatabaseMissing`], a database removed or replaced while open refuses writes
//! ([`Error::DatabaseReplaced`]), a read-only one reads and refuses writes
//! ([`Error::ReadOnly`]) until the cause clears. SQLite errors carry the OS error behind
//! them ([`sqlite_runtime::Error::os_error`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use fs_driver::{DriverOptions, FsDriver, ListOptions, Result};
//! use sqlite_runtime::SqliteRuntime;
//!
//! fn demo(runtime: Arc<dyn SqliteRuntime>) -> Result<()> {
//!     let driver = FsDriver::open(runtime, "/var/lib/actors", DriverOptions::new())?;
//!     driver.create_actor("a1", "counter", vec!["k".into()], &[(b"count", b"0")])?;
//!     driver.kv_put("a1", &[(b"count", b"1")])?;
//!     assert_eq!(driver.kv_get("a1", &[b"count"])?, vec![Some(b"1".to_vec())]);
//!     let all = driver.kv_list_prefix("a1", b"", ListOptions::new())?;
//!     assert_eq!(all.len(), 1);
//!     driver.sleep_actor("a1", None)?;
//!     driver.destroy_actor("a1", None)
//! }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod actor;
mod actor_id;
pub mod alarm;
mod asynchronous;
pub mod bare;
mod clock;
mod driver;
mod error;
#[cfg(feature = "fault-injection")]
pub mod faults;
mod fsutil;
mod kv;
mod layout;
pub mod limits;
mod migration;
mod read;
pub mod script;
pub mod sql;
pub mod state;
mod storage;
mod unresolved;

pub use actor::ActorInfo;
pub use actor_id::{
    InvalidActorId, MAX_ACTOR_ID_LEN, RESERVED_ID_PART, TEMP_MARKER, check_actor_id,
};
pub use asynchronous::{AsyncFsDriver, DriverCall};
pub use bare::DecodeError;
pub use driver::{DEFAULT_MAX_OPEN_DATABASES, DriverOptions, FsDriver, StopHook};
pub use error::{BoxError, Error, FileFailure, Result};
pub use fsutil::STALE_TEMP_AGE;
pub use kv::ListOptions;
pub use kv::actor_sql::{RESERVED_NAMES, RESERVED_PREFIXES, SqlTransaction};
pub use layout::Layout;
pub use limits::{KeyRole, LimitError};
pub use migration::{MigratedActor, MigrationOptions, MigrationReport, migrate_legacy};
pub use read::{ActorSummary, InspectReport, KvReader, inspect_root, read_actor};
pub use state::KvEntry;
