//! Every conformance case against the `rusqlite` backend seen as a remote engine (no
//! [`LocalFiles`](sqlite_runtime::Capability::LocalFiles)): the driver keeps state
//! records, alarms and leases in databases, as it does on dqlite.

use std::sync::Arc;

use conformance_tests::WithoutLocalFiles;

fn main() {
    let runtime = Arc::new(WithoutLocalFiles::new(Arc::new(
        sqlite_runtime_backends::RusqliteRuntime::new(),
    )));
    conformance_tests::harness::run(runtime, conformance_tests::skips::WITHOUT_LOCAL_FILES);
}
