//! SQLite bindings behind the [`sqlite_runtime`] traits, and a loader that picks one at
//! run time.
//!
//! Each binding is a Cargo feature: `rusqlite` (default), `sqlite` and `sqlx`. All of
//! them link the one SQLite that `libsqlite3-sys` builds (feature `bundled`, default),
//! so any combination builds into one binary. Feature `dqlite` adds
//! [`sqlite-runtime-dqlite`](https://docs.rs/sqlite-runtime-dqlite), Raft-replicated
//! SQLite on a cluster named by `DQLITE_CLUSTER` (no native library; loaded only when
//! named, as `dqlite`).
//!
//! Each backend implements only what is specific to its binding (opening, its statement
//! type, its error conversion) on the backend kit, [`sqlite_runtime::raw`], which does
//! the rest the same way for all of them; a backend in another crate uses the same kit.
//!
//! ```
//! use sqlite_runtime::{OpenOptions, Params, Target, ValueRef};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use sqlite_runtime_backends::{DEFAULT_PREFERENCE, compiled_backends};
//! # if !compiled_backends().iter().any(|b| DEFAULT_PREFERENCE.contains(&b.name)) {
//! #     return Ok(()); // no local backend compiled in
//! # }
//! // The first compiled-in backend that works, or the one named by SQLITE_RUNTIME.
//! let loaded = sqlite_runtime_backends::load()?;
//! let mut db = loaded.runtime.open(&Target::Memory, &OpenOptions::new())?;
//! let row = db.get("SELECT ? + 1 AS n", Params::from(&[ValueRef::Integer(41)]))?;
//! assert_eq!(row.map(|r| r.get::<i64>("n")).transpose()?, Some(42));
//! println!("{} on SQLite {}", loaded.descriptor.name, loaded.sqlite_version);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod descriptor;
mod loader;
mod version;

#[cfg(any(feature = "rusqlite", feature = "sqlite", feature = "sqlx"))]
mod c_api;
#[cfg(any(feature = "rusqlite", feature = "sqlite", feature = "sqlx"))]
mod guard;

cfg_if::cfg_if! {
    if #[cfg(feature = "rusqlite")] {
        mod rusqlite_backend;
        pub use rusqlite_backend::RusqliteRuntime;
    }
}
cfg_if::cfg_if! {
    if #[cfg(feature = "sqlite")] {
        mod sqlite_backend;
        pub use sqlite_backend::SqliteCrateRuntime;
    }
}
cfg_if::cfg_if! {
    if #[cfg(feature = "sqlx")] {
        mod sqlx_backend;
        pub use sqlx_backend::SqlxRuntime;
    }
}

pub use descriptor::{
    BackendDescriptor, KNOWN_BACKENDS, backend, compiled_backends, configured_backends,
};
pub use loader::{
    BackendFailure, BackendStatus, DEFAULT_PREFERENCE, ENV_VAR, LoadError, LoadedBackend, Loader,
    MIN_SQLITE_VERSION, NotCompiled, PROBE_DATABASE, ProbeError, compiled_backend, load, probe,
};
pub use version::{ParseVersionError, SqliteVersion};
