//! Every conformance case against the `sqlite` backend, through the test kit exactly as
//! a backend in another crate would run it.

use std::sync::Arc;

fn main() {
    let runtime = Arc::new(sqlite_runtime_backends::SqliteCrateRuntime::new());
    // Cases this backend skips: those for engines without local files.
    conformance_tests::harness::run(runtime, conformance_tests::skips::WITH_LOCAL_FILES);
}
