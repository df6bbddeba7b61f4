//! The whole runtime and driver suites on this backend (wrapping rusqlite), with one
//! call of the test kit, as any backend crate would run them.

use std::sync::Arc;

use sqlite_runtime_logging::LoggingRuntime;

fn main() {
    let inner = Arc::new(sqlite_runtime_backends::RusqliteRuntime::new());
    // Skipped: the cases for engines without local files (this one has them).
    conformance_tests::harness::run(
        Arc::new(LoggingRuntime::new(inner)),
        conformance_tests::skips::WITH_LOCAL_FILES,
    );
}
