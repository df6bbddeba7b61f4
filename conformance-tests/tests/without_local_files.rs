//! Every conformance case against the `rusqlite` backend seen as a remote engine (no
//! [`LocalFiles`](sqlite_runtime::Capability::LocalFiles)): the driver keeps state
//! records, alarms and leases in databases, as it does on dqlite.

use std::sync::Arc;

use conformance_tests::WithoutLocalFiles;

fn main() {
    let runtime = Arc::new(WithoutLocalFiles::new(Arc::new(
        sqlite_runtime_backends::RusqliteRuntime::new(),
    )));
    // The backend underneath guards SQL: the case for backends that cannot is skipped.
    let mut skips = conformance_tests::skips::WITHOUT_LOCAL_FILES.to_vec();
    skips.push("driver::sql_unsupported_without_guard");
    conformance_tests::harness::run(runtime, &skips);
}
