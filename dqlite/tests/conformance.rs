//! Every conformance case, the runtime and the driver suites, against [`DqliteRuntime`]
//! on one real 3-node dqlite cluster (`dqlite-demo` processes on loopback, see
//! `support`). Skipped, with a `SKIPPED` line, when `dqlite-demo` is not installed,
//! unless `SQLRT_REQUIRE_DQLITE=1`, which makes that a failure.
//!
//! Cases are skipped in two ways, both declared here as data:
//!
//! - by capability ([`DQLITE_SKIPS`]), checked by the kit's
//!   `capabilities::skipped_set_matches_declared`;
//! - as limits of dqlite itself that no [`Capability`](sqlite_runtime::Capability)
//!   names yet ([`DQLITE_LIMITS`]): shown as ignored with the reason, and checked by
//!   `dqlite::limits_are_known_cases` to name existing cases only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance_tests::libtest_mimic::{self, Arguments, Failed, Trial};
use sqlite_runtime_dqlite::DqliteRuntime;

/// The cases this runtime skips for the capability it lacks,
/// [`LocalFiles`](sqlite_runtime::Capability::LocalFiles): files, journal modes,
/// read-only and immutable opens of files, paths in errors, files and the SQLite
/// library shared by local backends, the driver's file layout.
const DQLITE_SKIPS: &[&str] = conformance_tests::skips::WITHOUT_LOCAL_FILES;

/// Cases that fail on dqlite 1.11 for what dqlite cannot do, with the reason. Each is a
/// capability the core crate does not name yet; once it does, the case moves to
/// [`DQLITE_SKIPS`].
const DQLITE_LIMITS: &[(&str, &str)] = &[
    (
        "runtime::run_returning_clause",
        "dqlite 1.11 aborts the node that runs `… RETURNING` (refused client-side)",
    ),
    (
        "runtime::values_text_round_trip",
        "dqlite's wire protocol carries text NUL-terminated: text holding NUL cannot be sent \
         (refused client-side) nor read back",
    ),
];

fn main() {
    if !support::dqlite_available("conformance") {
        return;
    }
    let started = Instant::now();
    let cluster = support::TestCluster::start();
    let runtime = DqliteRuntime::new(cluster.client()).with_patience(Duration::from_secs(10));
    let mut trials: Vec<Trial> =
        conformance_tests::harness::trials(Arc::new(runtime), DQLITE_SKIPS)
            .into_iter()
            .map(|trial| match limit(trial.name()) {
                Some(reason) => trial
                    .with_ignored_flag(true)
                    .with_kind(format!("dqlite limit: {reason}")),
                None => trial,
            })
            .collect();
    let names: Vec<String> = trials.iter().map(|t| t.name().to_owned()).collect();
    trials.push(Trial::test("dqlite::limits_are_known_cases", move || {
        let unknown: Vec<&str> = DQLITE_LIMITS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| !names.iter().any(|known| known == name))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(Failed::from(format!("no such cases: {unknown:?}")))
        }
    }));
    let conclusion = libtest_mimic::run(&Arguments::from_args(), trials);
    println!(
        "dqlite conformance: {:.1} s, the cluster's start included",
        started.elapsed().as_secs_f64()
    );
    drop(cluster);
    conclusion.exit();
}

fn limit(name: &str) -> Option<&'static str> {
    DQLITE_LIMITS
        .iter()
        .find(|(limited, _)| *limited == name)
        .map(|(_, reason)| *reason)
}
