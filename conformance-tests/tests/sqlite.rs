//! Every conformance case against the `sqlite` backend, through the test kit exactly as
//! a backend in another crate would run it.

use std::sync::Arc;

fn main() {
    let runtime = Arc::new(sqlite_runtime_backends::SqliteCrateRuntime::new());
    // Cases this backend skips, each for a capability it declares it lacks.
    conformance_tests::harness::run(runtime, &[]);
}
