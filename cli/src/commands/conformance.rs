//! `sqlrt conformance`.

use std::process::ExitCode;

use conformance_tests::{Outcome, run_case, suites};
use serde_json::json;

use super::{CliError, selected_backends};
use crate::args::{ConformanceArgs, GlobalArgs};
use crate::output::{print_json, progress};

struct CaseReport {
    backend: &'static str,
    name: String,
    outcome: Outcome,
}

pub fn run(global: &GlobalArgs, args: &ConformanceArgs) -> Result<ExitCode, CliError> {
    let backends = selected_backends(global)?;
    if backends.is_empty() {
        return Err(sqlite_runtime_backends::LoadError::NoneCompiled.into());
    }
    let cases: Vec<_> = suites()
        .into_iter()
        .flat_map(|suite| suite.cases.iter().map(move |case| (suite.name, case)))
        .filter(|(suite, case)| {
            args.filter
                .as_deref()
                .is_none_or(|f| format!("{suite}::{}", case.name).contains(f))
        })
        .collect();
    if let (true, Some(filter)) = (cases.is_empty(), &args.filter) {
        return Err(format!("no case matches --filter {filter:?} (case names are SUITE::CASE, e.g. runtime::interop_same_sqlite_version)").into());
    }

    // Cases report failed assertions as panics; they are collected, not printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let bar = progress(
        (cases.len() * backends.len()) as u64,
        global.json,
        global.quiet,
    );
    let mut reports = Vec::new();
    for descriptor in &backends {
        let Some(runtime) = descriptor.runtime() else {
            continue;
        };
        for (suite, case) in &cases {
            let name = format!("{suite}::{}", case.name);
            bar.set_message(format!("{} {name}", descriptor.name));
            let outcome = run_case(case, runtime.clone());
            bar.inc(1);
            reports.push(CaseReport {
                backend: descriptor.name,
                name,
                outcome,
            });
        }
    }
    bar.finish_and_clear();
    std::panic::set_hook(default_hook);

    let count = |backend: &str, pick: fn(&Outcome) -> bool| {
        reports
            .iter()
            .filter(|r| r.backend == backend && pick(&r.outcome))
            .count()
    };
    let passed = |o: &Outcome| matches!(o, Outcome::Passed);
    let failed = |o: &Outcome| matches!(o, Outcome::Failed(_));
    let skipped = |o: &Outcome| matches!(o, Outcome::Skipped(_));
    let any_failed = reports.iter().any(|r| failed(&r.outcome));

    if global.json {
        let per_backend: Vec<_> = backends
            .iter()
            .map(|b| {
                let cases: Vec<_> = reports
                    .iter()
                    .filter(|r| r.backend == b.name)
                    .map(|r| match &r.outcome {
                        Outcome::Passed => json!({"name": r.name, "outcome": "passed"}),
                        Outcome::Failed(m) => {
                            json!({"name": r.name, "outcome": "failed", "message": m})
                        }
                        Outcome::Skipped(m) => {
                            json!({"name": r.name, "outcome": "skipped", "reason": m})
                        }
                    })
                    .collect();
                json!({
                    "backend": b.name,
                    "passed": count(b.name, passed),
                    "failed": count(b.name, failed),
                    "skipped": count(b.name, skipped),
                    "cases": cases,
                })
            })
            .collect();
        print_json(&json!({ "ok": !any_failed, "backends": per_backend }));
    } else {
        println!(
            "{:<10} {:>7} {:>7} {:>8}",
            "BACKEND", "PASSED", "FAILED", "SKIPPED"
        );
        for b in &backends {
            println!(
                "{:<10} {:>7} {:>7} {:>8}",
                b.name,
                count(b.name, passed),
                count(b.name, failed),
                count(b.name, skipped)
            );
        }
        for report in &reports {
            match &report.outcome {
                Outcome::Failed(message) => {
                    println!(
                        "FAILED  {} {}: {}",
                        report.backend,
                        report.name,
                        message.replace('\n', " ")
                    )
                }
                Outcome::Skipped(reason) if !global.quiet => {
                    println!("skipped {} {}: {reason}", report.backend, report.name)
                }
                _ => {}
            }
        }
        let total_failed = reports.iter().filter(|r| failed(&r.outcome)).count();
        let total_passed = reports.iter().filter(|r| passed(&r.outcome)).count();
        let total_skipped = reports.iter().filter(|r| skipped(&r.outcome)).count();
        println!(
            "conformance: {total_passed} passed, {total_failed} failed, {total_skipped} skipped"
        );
    }
    Ok(if any_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
