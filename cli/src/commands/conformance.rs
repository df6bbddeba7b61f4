//! `sqlrt conformance`.

use std::process::ExitCode;

use conformance_tests::{Case, Outcome, run_case, suites};
use serde_json::json;

use sqlite_runtime_backends::BackendDescriptor;

use super::{CliError, selected_backends};
use crate::args::{ConformanceArgs, GlobalArgs};
use crate::output::{print_json, progress, table};

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
    let cases = selected_cases(args.filter.as_deref())?;
    let reports = run_cases(global, &backends, &cases);
    if global.json {
        print_json(&json_report(&backends, &reports));
    } else {
        print_text(global, &backends, &reports);
    }
    Ok(if reports.iter().any(|r| failed(&r.outcome)) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The cases whose `SUITE::CASE` name contains `filter` (all without one); none is an
/// error.
fn selected_cases(filter: Option<&str>) -> Result<Vec<(&'static str, &'static Case)>, CliError> {
    let cases: Vec<_> = suites()
        .into_iter()
        .flat_map(|suite| suite.cases.iter().map(move |case| (suite.name, case)))
        .filter(|(suite, case)| {
            filter.is_none_or(|f| format!("{suite}::{}", case.name).contains(f))
        })
        .collect();
    match (cases.is_empty(), filter) {
        (true, Some(filter)) => Err(format!(
            "no case matches --filter {filter:?} (case names are SUITE::CASE, e.g. runtime::interop_same_sqlite_version)"
        )
        .into()),
        _ => Ok(cases),
    }
}

/// Runs every case on every backend that loads, with a progress bar on a terminal.
fn run_cases(
    global: &GlobalArgs,
    backends: &[&'static BackendDescriptor],
    cases: &[(&'static str, &'static Case)],
) -> Vec<CaseReport> {
    // Cases report failed assertions as panics; they are collected, not printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let bar = progress(
        (cases.len() * backends.len()) as u64,
        global.json,
        global.quiet,
    );
    let mut reports = Vec::new();
    for descriptor in backends {
        let Some(runtime) = descriptor.runtime() else {
            continue;
        };
        for (suite, case) in cases {
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
    reports
}

fn passed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Passed)
}

fn failed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Failed(_))
}

fn skipped(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Skipped(_))
}

/// How many of `backend`'s reports (of every backend's, with `None`) `pick` accepts.
fn count(reports: &[CaseReport], backend: Option<&str>, pick: fn(&Outcome) -> bool) -> usize {
    reports
        .iter()
        .filter(|r| backend.is_none_or(|b| r.backend == b) && pick(&r.outcome))
        .count()
}

fn json_report(
    backends: &[&'static BackendDescriptor],
    reports: &[CaseReport],
) -> serde_json::Value {
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
                "passed": count(reports, Some(b.name), passed),
                "failed": count(reports, Some(b.name), failed),
                "skipped": count(reports, Some(b.name), skipped),
                "cases": cases,
            })
        })
        .collect();
    let ok = !reports.iter().any(|r| failed(&r.outcome));
    json!({ "ok": ok, "backends": per_backend })
}

fn print_text(
    global: &GlobalArgs,
    backends: &[&'static BackendDescriptor],
    reports: &[CaseReport],
) {
    let rows: Vec<Vec<String>> = backends
        .iter()
        .map(|b| {
            vec![
                b.name.to_owned(),
                count(reports, Some(b.name), passed).to_string(),
                count(reports, Some(b.name), failed).to_string(),
                count(reports, Some(b.name), skipped).to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["BACKEND", "PASSED", "FAILED", "SKIPPED"],
            &[false, true, true, true],
            &rows
        )
    );
    for report in reports {
        match &report.outcome {
            Outcome::Failed(message) => println!(
                "FAILED  {} {}: {}",
                report.backend,
                report.name,
                message.replace('\n', " ")
            ),
            Outcome::Skipped(reason) if !global.quiet => {
                println!("skipped {} {}: {reason}", report.backend, report.name)
            }
            _ => {}
        }
    }
    println!(
        "conformance: {} passed, {} failed, {} skipped",
        count(reports, None, passed),
        count(reports, None, failed),
        count(reports, None, skipped)
    );
}
