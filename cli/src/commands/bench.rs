//! `sqlrt bench`: the KV workloads on every backend against the raw SQLite C API and the
//! bindings used directly (see `sqlrt_bench` and BENCHMARKS.md).

use std::path::PathBuf;
use std::process::ExitCode;

use sqlrt_bench::{BenchConfig, SyncLevel, Workload};

use super::CliError;
use crate::args::GlobalArgs;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A smoke run that finishes in under a minute (0.75 s per cell instead of 6); with
    /// --scale, a smaller scale run.
    #[arg(long)]
    pub quick: bool,
    /// The scale benchmark instead: wake latency by actor size (1 MB, 100 MB, 1 GB), 10,000
    /// and 100,000 awake actors under a 1024-descriptor limit (random gets and puts, RSS,
    /// descriptors), memory after sleep, sleep/wake churn. Tens of minutes; needs ~3 GB of
    /// disk in --dir.
    #[arg(long)]
    pub scale: bool,
    /// The async benchmark instead: point get, 100-entry list and put through the async
    /// driver and the async runtime layer against tokio-rusqlite and sqlx used directly,
    /// on a 2-thread tokio runtime; 64 writers against one; 10,000 actors at once.
    #[arg(long = "async", conflicts_with = "scale")]
    pub asynchronous: bool,
    /// With --async: the tokio-rusqlite baseline program (built apart, since its rusqlite
    /// links its own SQLite: `tools/tokio-rusqlite/run.sh` builds it and prints its path).
    #[arg(long, value_name = "PATH", requires = "asynchronous")]
    pub tokio_rusqlite: Option<PathBuf>,
    /// Actor size in entries (repeatable; default 1000 and 100000; at least 200).
    #[arg(long = "entries", value_name = "N")]
    pub entries: Vec<u64>,
    /// Run only this workload (repeatable): get, batch_get, put, batch_put, list_prefix,
    /// list_range, delete_range, mixed, sql_get (the actor's own SQL, not KV).
    #[arg(long = "workload", value_name = "NAME")]
    pub workloads: Vec<String>,
    /// Measured seconds per workload cell, shared by its variants.
    #[arg(long, value_name = "SECONDS")]
    pub seconds: Option<f64>,
    /// `synchronous` level for the write workloads (repeatable: full, normal; default
    /// both).
    #[arg(long = "sync", value_name = "LEVEL")]
    pub sync: Vec<String>,
    /// Leave out the bindings-used-directly rows.
    #[arg(long)]
    pub no_direct: bool,
    /// Directory for the benchmark databases (default: the system temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

fn config(global: &GlobalArgs, args: &BenchArgs) -> Result<BenchConfig, CliError> {
    let mut config = if args.quick {
        BenchConfig::quick()
    } else {
        BenchConfig::full()
    };
    if !args.entries.is_empty() {
        config.entries = args.entries.clone();
    }
    if !args.workloads.is_empty() {
        config.workloads = args
            .workloads
            .iter()
            .map(|name| {
                Workload::from_name(name).ok_or_else(|| {
                    let valid: Vec<&str> = Workload::ALL.iter().map(|w| w.name()).collect();
                    format!(
                        "unknown workload `{name}`: valid names are {}",
                        valid.join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(seconds) = args.seconds {
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(format!("--seconds must be a non-negative number, not {seconds}").into());
        }
        config.seconds = seconds;
    }
    if !args.sync.is_empty() {
        config.sync_levels = args
            .sync
            .iter()
            .map(|level| match level.to_ascii_lowercase().as_str() {
                "full" => Ok(SyncLevel::Full),
                "normal" => Ok(SyncLevel::Normal),
                other => Err(format!(
                    "unknown synchronous level `{other}`: use full or normal"
                )),
            })
            .collect::<Result<_, _>>()?;
    }
    if !global.backends.is_empty() {
        config.backends = Some(global.backends.clone());
    }
    config.direct = !args.no_direct;
    config.dir = args.dir.clone();
    Ok(config)
}

/// Progress lines on stderr, unless `--quiet`.
fn progress(global: &GlobalArgs) -> impl FnMut(&str) {
    let quiet = global.quiet;
    move |line| {
        if !quiet {
            eprintln!("{line}");
        }
    }
}

/// The report as JSON (`--json`) or as Markdown tables.
fn print_report<R: serde::Serialize>(
    global: &GlobalArgs,
    report: &R,
    render: fn(&R) -> String,
) -> Result<(), CliError> {
    if global.json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", render(report));
    }
    Ok(())
}

/// Runs the benchmark and prints the tables (or, with `--json`, the full result).
pub fn run(global: &GlobalArgs, args: &BenchArgs) -> Result<ExitCode, CliError> {
    if args.scale {
        return run_scale(global, args);
    }
    if args.asynchronous {
        return run_async(global, args);
    }
    let mut config = config(global, args)?;
    config.stop = Some(interrupt::on_ctrl_c());
    let report = sqlrt_bench::run(&config, &mut progress(global))?;
    print_report(global, &report, sqlrt_bench::render)?;
    // The temporary databases were removed when the run returned. 130: ended by SIGINT.
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// Ctrl-C during a benchmark: the first one stops it (what was measured is printed and
/// its temporary directory removed), a second one ends the process at once.
mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static STOP: AtomicBool = AtomicBool::new(false);

    #[cfg(unix)]
    extern "C" fn on_sigint(_: libc::c_int) {
        if STOP.swap(true, Ordering::Relaxed) {
            // SAFETY: `_exit` is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
    }

    /// Installs the handler; returns the flag it sets.
    pub fn on_ctrl_c() -> &'static AtomicBool {
        #[cfg(unix)]
        // SAFETY: the handler only touches an atomic and calls `_exit`, both
        // async-signal-safe.
        unsafe {
            let handler: extern "C" fn(libc::c_int) = on_sigint;
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        }
        &STOP
    }
}

fn run_async(global: &GlobalArgs, args: &BenchArgs) -> Result<ExitCode, CliError> {
    let mut config = if args.quick {
        sqlrt_bench::AsyncConfig::quick()
    } else {
        sqlrt_bench::AsyncConfig::full()
    };
    if let Some(seconds) = args.seconds {
        config.seconds = seconds;
    }
    config.tokio_rusqlite = args.tokio_rusqlite.clone();
    config.dir = args.dir.clone();
    let report = sqlrt_bench::run_async(&config, &mut progress(global))?;
    print_report(global, &report, sqlrt_bench::render_async)?;
    Ok(ExitCode::SUCCESS)
}

fn run_scale(global: &GlobalArgs, args: &BenchArgs) -> Result<ExitCode, CliError> {
    let mut config = if args.quick {
        sqlrt_bench::ScaleConfig::quick()
    } else {
        sqlrt_bench::ScaleConfig::full()
    };
    config.dir = args.dir.clone();
    config.backend = match global.backends.as_slice() {
        [] => None,
        [name] => Some(name.clone()),
        _ => return Err("--scale takes at most one --backend".into()),
    };
    let report = sqlrt_bench::run_scale(&config, &mut progress(global))?;
    print_report(global, &report, sqlrt_bench::render_scale)?;
    Ok(ExitCode::SUCCESS)
}
