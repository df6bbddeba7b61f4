//! `sqlrt sql`: one statement of an actor's own SQL. A statement that only reads goes
//! through `fs_driver::read_actor` and changes nothing on disk; one that writes runs the
//! driver (which wakes the actor, then sleeps it).

use std::process::ExitCode;

use fs_driver::{DriverOptions, FsDriver};
use serde_json::json;
use sqlite_runtime::{ErrorKind, Row, RunResult};

use super::root::{RootUse, check_root, check_writable};
use super::{CliError, runtime};
use crate::args::{GlobalArgs, SqlArgs};
use crate::output::print_json;
use crate::sql_values::{SqlParams, json_rows, table};

pub fn run(global: &GlobalArgs, args: &SqlArgs) -> Result<ExitCode, CliError> {
    fs_driver::check_actor_id(&args.actor)
        .map_err(|reason| format!("invalid actor id {:?}: {reason}", args.actor))?;
    let params = SqlParams::parse(&args.params)?;
    let runtime = runtime(global)?;
    check_root(&args.root, runtime.as_ref(), RootUse::Existing)?;
    let read = fs_driver::read_actor(runtime.as_ref(), &args.root, &args.actor, |reader| {
        params.with(|params| reader.sql_query(&args.statement, params))
    });
    let (rows, changed) = match read {
        Ok(rows) => (rows, None),
        Err(fs_driver::Error::Sqlite(error)) if error.kind() == ErrorKind::ReadOnly => {
            check_writable(&args.root, &args.actor, runtime.as_ref())?;
            let driver = FsDriver::open(runtime.clone(), &args.root, DriverOptions::new())?;
            let outcome =
                params.with(|params| driver.sql_run(&args.actor, &args.statement, params));
            driver.sleep_actor(&args.actor, None)?;
            let (rows, run) = outcome.map_err(|error| explain(args, runtime.backend(), error))?;
            (rows, Some(run))
        }
        Err(error) => return Err(explain(args, runtime.backend(), error)),
    };
    print(global, &rows, changed);
    Ok(ExitCode::SUCCESS)
}

/// Rows as a table (or JSON), then what a write changed.
fn print(global: &GlobalArgs, rows: &[Row], changed: Option<RunResult>) {
    if global.json {
        let mut document = json!({ "rows": json_rows(rows) });
        if let Some(run) = changed {
            document["changes"] = json!(run.changes);
            document["last_insert_rowid"] = json!(run.last_insert_rowid);
        }
        print_json(&document);
        return;
    }
    print!("{}", table(rows));
    if let Some(run) = changed
        && !global.quiet
    {
        let plural = if run.changes == 1 { "" } else { "s" };
        eprintln!("{} row{plural} changed", run.changes);
    }
}

/// How a person makes an actor to run SQL on.
pub const CREATE_HINT: &str = "`sqlrt kv ROOT ACTOR list --create` creates one";

/// A missing actor names where it was looked for; other errors pass through.
pub fn explain(args: &SqlArgs, backend: &str, error: fs_driver::Error) -> CliError {
    super::kv::not_found(&args.root, &args.actor, backend, CREATE_HINT, error)
}
