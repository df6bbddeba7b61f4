//! One module per command.

mod actors;
mod backends;
pub mod bench;
mod conformance;
mod kv;
mod migrate;
mod node;
mod root;
mod shell;
mod sql;

use std::process::ExitCode;
use std::sync::Arc;

use sqlite_runtime::SqliteRuntime;
use sqlite_runtime_backends::{BackendDescriptor, Loader};

use crate::args::{Cli, Command, GlobalArgs};

/// A command's failure, reported in one line.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the command and returns the process exit code.
pub fn run(cli: &Cli) -> Result<ExitCode, CliError> {
    match &cli.command {
        Command::Backends => backends::run(&cli.global),
        Command::Conformance(args) => conformance::run(&cli.global, args),
        Command::Migrate(args) => migrate::run(&cli.global, args),
        Command::Actors(args) => actors::run(&cli.global, args),
        Command::Kv(args) => kv::run(&cli.global, args),
        Command::Sql(args) => sql::run(&cli.global, args),
        Command::Shell(args) => shell::run(&cli.global, args),
        Command::Bench(args) => bench::run(&cli.global, args),
        Command::Node { args } => node::run(args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "sqlrt", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The loader `--backend` (or `SQLITE_RUNTIME`) asks for, for commands that use one.
pub fn loader(global: &GlobalArgs) -> Result<Loader, CliError> {
    match global.backends.as_slice() {
        [] => Ok(Loader::new()),
        [name] => Ok(Loader::new().selected(Some(name))),
        _ => Err("this command takes at most one --backend".into()),
    }
}

/// The runtime for commands that need one backend.
pub fn runtime(global: &GlobalArgs) -> Result<Arc<dyn SqliteRuntime>, CliError> {
    Ok(loader(global)?.load()?.runtime)
}

/// The compiled-in backends named by `--backend` (when none is named, all compiled in
/// and configured).
pub fn selected_backends(global: &GlobalArgs) -> Result<Vec<&'static BackendDescriptor>, CliError> {
    if global.backends.is_empty() {
        return Ok(sqlite_runtime_backends::configured_backends());
    }
    Ok(global
        .backends
        .iter()
        .map(|name| sqlite_runtime_backends::compiled_backend(name))
        .collect::<Result<_, _>>()?)
}
