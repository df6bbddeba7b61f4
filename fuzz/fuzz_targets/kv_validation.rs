//! Arbitrary bytes as a sequence of KV requests around every limit, on an in-memory
//! driver (rusqlite) and a model of the spec: a request breaking a limit fails with one
//! of the limits it breaks and changes nothing; any other request succeeds and agrees
//! with the model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(runtime) = reliability_tests::runtime_named("rusqlite") else {
        return;
    };
    if let Err(problem) = reliability_tests::fuzz_checks::check_kv_requests(runtime, data) {
        panic!("{problem}");
    }
});
