//! `sqlrt`: the sqlite-runtime command-line tool.

mod args;
mod commands;
mod hex;
mod output;
mod sql_values;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    match commands::run(&cli) {
        Ok(code) => code,
        Err(error) => {
            // One line, no backtrace: the chain of causes joined.
            eprintln!("error: {}", output::one_line(error.as_ref()));
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbosity: u8) {
    if verbosity == 0 {
        return;
    }
    let level = match verbosity {
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A reader that goes away (`sqlrt kv … list | head`) ends the process quietly, with
/// the status 141 shells report for SIGPIPE, as `cat` and `ls` do: Rust ignores SIGPIPE,
/// which would turn every later print into a panic.
#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists; restoring
    // the default disposition of one signal touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}
