//! The test kit: every suite as one libtest test per case, for any runtime, from any
//! crate. A backend crate's `tests/conformance.rs` (with `harness = false`) is one call:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! fn main() {
//!     let runtime = Arc::new(sqlite_runtime_backends::RusqliteRuntime::new());
//!     // Cases this backend skips: those for engines without local files.
//!     conformance_tests::harness::run(runtime, conformance_tests::skips::WITH_LOCAL_FILES);
//! }
//! ```
//!
//! [`trials`] returns the tests instead, to run them with others.

use std::collections::BTreeSet;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use sqlite_runtime::SqliteRuntime;

use crate::case::skip_reason;
use crate::{Outcome, run_case, suites};

/// Every case of every suite as the test `<suite>::<case>` against `runtime`. Cases that
/// need a capability the runtime lacks are ignored (shown as skipped, with the reason
/// as their kind). One more test, `capabilities::skipped_set_matches_declared`, checks
/// that the skipped cases are exactly `expected_skips` (written `<suite>::<case>`), so
/// nothing is skipped silently.
pub fn trials(runtime: Arc<dyn SqliteRuntime>, expected_skips: &[&str]) -> Vec<Trial> {
    labelled_trials("", runtime, expected_skips)
}

/// [`trials`] with every test name prefixed by `label::` (unless `label` is empty), to
/// run several runtimes in one binary.
pub fn labelled_trials(
    label: &str,
    runtime: Arc<dyn SqliteRuntime>,
    expected_skips: &[&str],
) -> Vec<Trial> {
    let prefix = if label.is_empty() {
        String::new()
    } else {
        format!("{label}::")
    };
    let mut trials = Vec::new();
    let mut skipped = BTreeSet::new();
    for suite in suites() {
        for case in suite.cases {
            let name = format!("{}::{}", suite.name, case.name);
            let reason = skip_reason(case, runtime.as_ref());
            let runtime = runtime.clone();
            let case = *case;
            let mut trial = Trial::test(format!("{prefix}{name}"), move || {
                match run_case(&case, runtime) {
                    Outcome::Passed => Ok(()),
                    Outcome::Failed(message) => Err(Failed::from(message)),
                    Outcome::Skipped(reason) => {
                        Err(Failed::from(format!("unexpectedly skipped: {reason}")))
                    }
                }
            });
            if let Some(reason) = reason {
                trial = trial
                    .with_ignored_flag(true)
                    .with_kind(format!("skipped: {reason}"));
                skipped.insert(name);
            }
            trials.push(trial);
        }
    }
    let expected: BTreeSet<String> = expected_skips.iter().map(|s| (*s).to_owned()).collect();
    trials.push(Trial::test(
        format!("{prefix}capabilities::skipped_set_matches_declared"),
        move || {
            if skipped == expected {
                Ok(())
            } else {
                Err(Failed::from(format!(
                    "skipped cases {skipped:?} differ from the declared {expected:?}"
                )))
            }
        },
    ));
    trials
}

/// The `main` of a test binary: runs [`trials`] for `runtime` with libtest's command-line
/// arguments (filters, `--list`, `--ignored`, ...) and exits with its status.
pub fn run(runtime: Arc<dyn SqliteRuntime>, expected_skips: &[&str]) -> ! {
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials(runtime, expected_skips)).exit()
}
