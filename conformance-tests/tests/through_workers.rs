//! Every conformance case on every bundled backend with each connection living on a
//! lane of one pool of two worker threads (`sqlite_runtime::workers`): the suites see the
//! same behaviour as when they call the backends directly, however many connections are
//! open at once.

use std::sync::Arc;

use conformance_tests::ThroughWorkers;
use conformance_tests::harness::labelled_trials;
use sqlite_runtime::SqliteRuntime;
use sqlite_runtime::workers::{Workers, WorkersOptions};

fn main() {
    let workers = match Workers::new(WorkersOptions::new().threads(2)) {
        Ok(workers) => workers,
        Err(error) => {
            eprintln!("cannot start worker threads: {error}");
            std::process::exit(1);
        }
    };
    let backends: [(&str, Arc<dyn SqliteRuntime>); 3] = [
        (
            "rusqlite",
            Arc::new(sqlite_runtime_backends::RusqliteRuntime::new()),
        ),
        (
            "sqlite",
            Arc::new(sqlite_runtime_backends::SqliteCrateRuntime::new()),
        ),
        (
            "sqlx",
            Arc::new(sqlite_runtime_backends::SqlxRuntime::new()),
        ),
    ];
    let mut trials = Vec::new();
    for (label, runtime) in backends {
        let runtime = Arc::new(ThroughWorkers::new(runtime, workers.clone()));
        trials.extend(labelled_trials(
            label,
            runtime,
            conformance_tests::skips::WITH_LOCAL_FILES,
        ));
    }
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, trials).exit()
}
