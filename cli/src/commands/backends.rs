//! `sqlrt backends`.

use std::process::ExitCode;

use serde_json::json;
use sqlite_runtime_backends::BackendDescriptor;

use super::{CliError, loader, selected_backends};
use crate::args::GlobalArgs;
use crate::output::print_json;

pub fn run(global: &GlobalArgs) -> Result<ExitCode, CliError> {
    // A name given on the command line must be valid; SQLITE_RUNTIME's problems are shown.
    selected_backends(global)?;
    let loader = loader(global)?;
    let statuses = loader.status();
    let chosen = loader.load();
    let chosen_name = chosen.as_ref().ok().map(|l| l.descriptor.name);
    if global.json {
        let backends: Vec<_> = statuses
            .iter()
            .map(|status| {
                let (loaded, version, error) = match &status.probe {
                    None => (false, None, None),
                    Some(Ok(version)) => (true, Some(version.to_string()), None),
                    Some(Err(reason)) => (false, None, Some(reason.to_string())),
                };
                json!({
                    "name": status.descriptor.name,
                    "binding": status.descriptor.binding,
                    "feature": status.descriptor.feature,
                    "config": config(status.descriptor).map(|(var, value)| json!({ var: value })),
                    "compiled": status.descriptor.is_compiled(),
                    "loaded": loaded,
                    "sqlite_version": version,
                    "error": error,
                })
            })
            .collect();
        print_json(&json!({
            "backends": backends,
            "selected": chosen_name,
            "selection_error": chosen.as_ref().err().map(|e| e.to_string()),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<10} {:<24} {:<10} STATUS",
        "BACKEND", "BINDING", "SQLITE"
    );
    for status in &statuses {
        let (version, state) = match &status.probe {
            None => (
                "-".to_owned(),
                format!("not compiled in (feature `{}`)", status.descriptor.feature),
            ),
            Some(Ok(version)) => (version.to_string(), "loaded".to_owned()),
            Some(Err(reason)) => ("-".to_owned(), format!("failed: {reason}")),
        };
        let marker = if chosen_name == Some(status.descriptor.name) {
            "  <- load() picks this"
        } else {
            ""
        };
        println!(
            "{:<10} {:<24} {:<10} {state}{marker}",
            status.descriptor.name, status.descriptor.binding, version
        );
    }
    for (var, value) in statuses
        .iter()
        .filter_map(|status| config(status.descriptor))
    {
        match value {
            Some(value) => println!("{var}={value}"),
            None => println!("{var} is not set"),
        }
    }
    if let Err(error) = chosen {
        println!("load() fails: {error}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The variable that configures a backend (dqlite's cluster) and its value, for a
/// compiled-in backend that has one.
fn config(descriptor: &BackendDescriptor) -> Option<(&'static str, Option<String>)> {
    let var = descriptor.config_env.filter(|_| descriptor.is_compiled())?;
    Some((
        var,
        std::env::var(var).ok().filter(|value| !value.is_empty()),
    ))
}
