//! The conformance suite: behaviour cases every backend must pass.
//!
//! Cases are plain data ([`Case`]): a name, the [`Capability`] it needs, and a function.
//! The test binaries (`tests/<backend>.rs`) expand every suite for one backend with
//! [`harness::run`] (the test kit: any crate runs it with any runtime), so each case is
//! its own named test, and `sqlrt conformance` runs the same cases through
//! [`run_suite`]. A case whose capability the backend lacks is reported as skipped, with
//! the reason, never as passed.
//!
//! [`Capability`]: sqlite_runtime::Capability
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Builds a case list: `module::function` entries, each optionally followed by
/// `requires Capability` (skipped on backends without it) or `unless Capability` (skipped
/// on backends with it).
macro_rules! cases {
    ($($module:ident :: $name:ident $($condition:ident $capability:ident)?),* $(,)?) => {
        &[$($crate::Case {
            name: stringify!($name),
            requires: cases!(@requires $($condition $capability)?),
            unless: cases!(@unless $($condition $capability)?),
            run: $module::$name,
        }),*]
    };
    (@requires requires $capability:ident) => { Some(sqlite_runtime::Capability::$capability) };
    (@requires $($rest:tt)*) => { None };
    (@unless unless $capability:ident) => { Some(sqlite_runtime::Capability::$capability) };
    (@unless $($rest:tt)*) => { None };
}

pub mod asynchronous;
mod case;
pub mod driver;
pub mod fixtures;
pub mod harness;
pub mod runtime;
pub mod skips;
mod through_workers;
mod without_local_files;

pub use case::{Case, CaseResult, Context, Outcome, Suite, run_case, run_suite, suites};
/// The test harness [`harness::trials`] builds on, re-exported so that a backend crate
/// needs no version of its own.
pub use libtest_mimic;
pub use through_workers::ThroughWorkers;
pub use without_local_files::WithoutLocalFiles;
