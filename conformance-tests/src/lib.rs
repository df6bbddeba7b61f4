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

/// Builds a case list: `module::function` entries, each optionally followed by
/// `requires Capability`.
macro_rules! cases {
    ($($module:ident :: $name:ident $(requires $capability:ident)?),* $(,)?) => {
        &[$($crate::Case {
            name: stringify!($name),
            requires: cases!(@requires $($capability)?),
            run: $module::$name,
        }),*]
    };
    (@requires) => { None };
    (@requires $capability:ident) => { Some(sqlite_runtime::Capability::$capability) };
}

mod case;
pub mod driver;
pub mod fixtures;
pub mod harness;
pub mod runtime;

pub use case::{Case, CaseResult, Context, Outcome, Suite, run_case, run_suite, suites};
/// The test harness [`harness::trials`] builds on, re-exported so that a backend crate
/// needs no version of its own.
pub use libtest_mimic;
