//! Expands the suites into one libtest test per case for one backend.

use std::collections::BTreeSet;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::case::skip_reason;
use crate::{Outcome, run_case, suites};

/// The `main` of a backend's test binary: every case of every suite becomes the test
/// `<suite>::<case>`; cases needing a capability the backend lacks are ignored (shown as
/// skipped, with the reason as their kind). One more test,
/// `capabilities::skipped_set_matches_declared`, checks that the skipped cases are
/// exactly `expected_skips` (written `<suite>::<case>`), so nothing is skipped silently.
pub fn main(backend: &str, expected_skips: &[&str]) -> ! {
    let args = Arguments::from_args();
    let runtime = match sqlite_runtime_backends::backend(backend).and_then(|b| b.runtime()) {
        Some(runtime) => runtime,
        None => {
            eprintln!("backend `{backend}` is not compiled into this test binary");
            std::process::exit(2);
        }
    };
    let mut trials = Vec::new();
    let mut skipped = BTreeSet::new();
    for suite in suites() {
        for case in suite.cases {
            let name = format!("{}::{}", suite.name, case.name);
            let reason = skip_reason(case, runtime.as_ref());
            let runtime = runtime.clone();
            let case = *case;
            let mut trial = Trial::test(name.clone(), move || match run_case(&case, runtime) {
                Outcome::Passed => Ok(()),
                Outcome::Failed(message) => Err(Failed::from(message)),
                Outcome::Skipped(reason) => {
                    Err(Failed::from(format!("unexpectedly skipped: {reason}")))
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
        "capabilities::skipped_set_matches_declared",
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
    libtest_mimic::run(&args, trials).exit()
}
