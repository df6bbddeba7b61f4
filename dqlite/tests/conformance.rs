//! Every conformance case, the runtime and the driver suites, against [`DqliteRuntime`]
//! on one real 3-node dqlite cluster (`sqlrt-node` processes on loopback, see
//! `support`). Skipped, with a `SKIPPED` line, when `sqlrt-node` is not built, unless
//! `SQLRT_REQUIRE_DQLITE=1`, which makes that a failure.
//!
//! The cases it skips are those of the capabilities it lacks, declared here as data and
//! checked by the kit's `capabilities::skipped_set_matches_declared`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance_tests::libtest_mimic::{self, Arguments};
use sqlite_runtime_dqlite::{Cluster, DqliteRuntime};

/// The cases this runtime skips for the capabilities it lacks: `LocalFiles` (files,
/// journal modes, read-only and immutable opens of files, paths in errors, files and
/// the SQLite library shared by local backends, the driver's file layout) and those
/// below, and `GuardedSql` (actor SQL).
fn dqlite_skips() -> Vec<&'static str> {
    let mut skips = conformance_tests::skips::WITHOUT_LOCAL_FILES.to_vec();
    skips.extend([
        // `Returning`: dqlite 1.11 aborts the node that runs `… RETURNING`.
        "runtime::run_returning_clause",
        // `NulInText`: the wire protocol carries text NUL-terminated.
        "runtime::values_text_with_nul_round_trip",
    ]);
    // `GuardedSql`: SQLite's authorizer runs on the server, out of a client's reach.
    skips.extend(conformance_tests::skips::WITHOUT_GUARDED_SQL);
    skips
}

fn main() {
    let args = Arguments::from_args();
    if args.list {
        // Listing runs nothing: no cluster (and nothing printed but the list).
        let runtime = DqliteRuntime::new(Cluster::parse("127.0.0.1:9").expect("an address"));
        let trials = conformance_tests::harness::trials(Arc::new(runtime), &dqlite_skips());
        libtest_mimic::run(&args, trials).exit();
    }
    if !support::dqlite_available("conformance") {
        return;
    }
    let started = Instant::now();
    let cluster = support::TestCluster::start();
    let runtime = DqliteRuntime::new(cluster.client()).with_patience(Duration::from_secs(10));
    let trials = conformance_tests::harness::trials(Arc::new(runtime), &dqlite_skips());
    let conclusion = libtest_mimic::run(&args, trials);
    println!(
        "dqlite conformance: {:.1} s, the cluster's start included",
        started.elapsed().as_secs_f64()
    );
    drop(cluster);
    conclusion.exit();
}
