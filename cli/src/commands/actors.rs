//! `sqlrt actors`.

use std::process::ExitCode;

use fs_driver::inspect_root;
use serde_json::json;

use super::root::{RootUse, check_root, format_ms};
use super::{CliError, runtime};
use crate::args::{GlobalArgs, RootArgs};
use crate::output::{one_line, print_json, table};

pub fn run(global: &GlobalArgs, args: &RootArgs) -> Result<ExitCode, CliError> {
    let runtime = runtime(global)?;
    check_root(&args.root, runtime.as_ref(), RootUse::Existing)?;
    let report = inspect_root(runtime.as_ref(), &args.root)?;
    if global.json {
        let actors: Vec<_> = report
            .actors
            .iter()
            .map(|a| {
                json!({
                    "id": a.info.id,
                    "name": a.info.name,
                    "key": a.info.key,
                    "created_at_ms": a.info.created_at,
                    "created_at": format_ms(a.info.created_at),
                    "entries": a.entries,
                    "legacy_entries": a.legacy_entries,
                    "db_size_bytes": a.db_size_bytes,
                    "wal_size_bytes": a.wal_size_bytes,
                    "state_version": a.state_version,
                    "alarm_ms": a.alarm,
                    "started_at_ms": a.started_at,
                    "slept_at_ms": a.slept_at,
                })
            })
            .collect();
        let failures: Vec<_> = report
            .failures
            .iter()
            .map(|f| json!({"path": f.path.display().to_string(), "error": one_line(&f.error)}))
            .collect();
        print_json(&json!({ "actors": actors, "failures": failures }));
        return Ok(ExitCode::SUCCESS);
    }
    let time = |ms: Option<u64>| ms.map_or_else(|| "-".to_owned(), format_ms);
    let rows: Vec<Vec<String>> = report
        .actors
        .iter()
        .map(|actor| {
            let entries = match actor.entries {
                Some(n) => n.to_string(),
                None if actor.legacy_entries > 0 => format!("{} legacy", actor.legacy_entries),
                None => "-".to_owned(),
            };
            vec![
                actor.info.id.clone(),
                actor.info.name.clone(),
                actor.info.key.join("/"),
                format_ms(actor.info.created_at),
                time(actor.started_at),
                time(actor.slept_at),
                entries,
                (actor.db_size_bytes + actor.wal_size_bytes).to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "ID", "NAME", "KEY", "CREATED", "STARTED", "SLEPT", "ENTRIES", "DB BYTES"
            ],
            &[false, false, false, false, false, false, true, true],
            &rows
        )
    );
    for failure in &report.failures {
        eprintln!(
            "warning: {}: {}",
            failure.path.display(),
            one_line(&failure.error)
        );
    }
    if !global.quiet {
        println!("{} actors", report.actors.len());
    }
    Ok(ExitCode::SUCCESS)
}
