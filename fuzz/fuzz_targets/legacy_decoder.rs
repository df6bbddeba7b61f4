//! Arbitrary bytes as a legacy state file and as an alarm file: an error or a value
//! that round-trips, never a panic, never an allocation the input does not justify
//! (run with `-malloc_limit_mb`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = reliability_tests::fuzz_checks::check_legacy_decoder(data) {
        panic!("{problem}");
    }
});
