//! `sqlrt node`: runs `sqlrt-node`, the program that embeds libdqlite.
//!
//! The node lives in a program of its own because libdqlite links the system's SQLite
//! while sqlrt links the bundled one: in one process, libdqlite's calls would bind to the
//! bundled copy (see the `sqlite-runtime-dqlite-node` crate).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use super::CliError;

/// The node program's name.
const PROGRAM: &str = "sqlrt-node";

/// Names the node program to run instead of looking for it.
const PROGRAM_ENV: &str = "SQLRT_NODE";

/// Replaces this process with `sqlrt-node ARGS` (so that signals reach the node itself).
pub fn run(args: &[OsString]) -> Result<ExitCode, CliError> {
    let program = find_program().ok_or_else(|| {
        format!(
            "sqlrt node runs the program {PROGRAM}, found neither beside sqlrt nor on the PATH \
             (nor named by {PROGRAM_ENV}); install it with `cargo install --path dqlite-node` \
             (needs libdqlite: apt-get install libdqlite-dev)"
        )
    })?;
    let mut command = std::process::Command::new(&program);
    command.args(args);
    exec(command, &program)
}

#[cfg(unix)]
fn exec(
    mut command: std::process::Command,
    program: &std::path::Path,
) -> Result<ExitCode, CliError> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    Err(format!("running {}: {error}", program.display()).into())
}

#[cfg(not(unix))]
fn exec(
    mut command: std::process::Command,
    program: &std::path::Path,
) -> Result<ExitCode, CliError> {
    let status = command
        .status()
        .map_err(|error| format!("running {}: {error}", program.display()))?;
    Ok(ExitCode::from(
        u8::try_from(status.code().unwrap_or(1)).unwrap_or(1),
    ))
}

/// `$SQLRT_NODE`, else `sqlrt-node` beside this executable, else on the `PATH`.
fn find_program() -> Option<PathBuf> {
    if let Some(program) = std::env::var_os(PROGRAM_ENV) {
        return Some(PathBuf::from(program));
    }
    let name = format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
        .filter(|candidate| candidate.is_file());
    beside.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(&name))
            .find(|candidate| candidate.is_file())
    })
}
