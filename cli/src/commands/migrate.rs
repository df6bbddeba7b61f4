//! `sqlrt migrate`.

use std::process::ExitCode;
use std::time::Duration;

use fs_driver::{MigrationOptions, migrate_legacy};
use serde_json::json;
use sqlite_runtime::Capability;

use super::root::{RootUse, check_root};
use super::{CliError, runtime};
use crate::args::{GlobalArgs, MigrateArgs};
use crate::output::{one_line, print_json, spinner};

pub fn run(global: &GlobalArgs, args: &MigrateArgs) -> Result<ExitCode, CliError> {
    let runtime = runtime(global)?;
    if !runtime.capabilities().has(Capability::LocalFiles) {
        return Err(format!(
            "the legacy migration reads a local root's state files; backend `{}` keeps no local files",
            runtime.backend()
        )
        .into());
    }
    check_root(&args.root, runtime.as_ref(), RootUse::Existing)?;
    let spinner = spinner("migrating legacy state files", global.json, global.quiet);
    spinner.enable_steady_tick(Duration::from_millis(100));
    let report = migrate_legacy(
        runtime.as_ref(),
        &args.root,
        MigrationOptions {
            dry_run: args.dry_run,
        },
    );
    spinner.finish_and_clear();
    let report = report?;
    if global.json {
        print_json(&json!({
            "root": args.root.display().to_string(),
            "backend": runtime.backend(),
            "dry_run": report.dry_run,
            "scanned": report.scanned,
            "migrated": report.migrated.iter().map(|a| json!({"id": a.id, "entries": a.entries})).collect::<Vec<_>>(),
            "entries_migrated": report.entries_migrated(),
            "skipped_populated": report.skipped_populated,
            "without_legacy_data": report.without_legacy_data,
            "failures": report.failures.iter().map(|f| json!({
                "path": f.path.display().to_string(),
                "error": one_line(&f.error),
            })).collect::<Vec<_>>(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if report.dry_run {
        "would migrate"
    } else {
        "migrated"
    };
    for actor in &report.migrated {
        println!("{verb} {} ({} entries)", actor.id, actor.entries);
    }
    for id in &report.skipped_populated {
        println!("skipped {id}: its database already holds data");
    }
    for failure in &report.failures {
        println!(
            "failed {}: {}",
            failure.path.display(),
            one_line(&failure.error)
        );
    }
    println!(
        "{}{} actors {verb}, {} entries; {} skipped (already populated); {} without legacy data; {} failed; {} state files scanned",
        if report.dry_run { "dry run: " } else { "" },
        report.migrated.len(),
        report.entries_migrated(),
        report.skipped_populated.len(),
        report.without_legacy_data,
        report.failures.len(),
        report.scanned,
    );
    Ok(ExitCode::SUCCESS)
}
