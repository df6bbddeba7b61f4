//! `sqlrt-node`: one dqlite node in the foreground until SIGINT or SIGTERM, which stop it
//! cleanly (leadership handed over when it leads). `sqlrt node` runs this program.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sqlite_runtime_dqlite_node::{DEFAULT_LATENCY, NodeBuilder, NodeRole};

/// Runs one dqlite node until Ctrl-C or SIGTERM.
///
/// The first node of a cluster starts without --join and bootstraps it; the others join
/// through any member. A restarted node finds its id and cluster in DIR. Once running it
/// prints `ready ID ADDRESS` on standard output.
#[derive(Debug, Parser)]
#[command(name = "sqlrt-node", version)]
struct Args {
    /// The address to serve on, which clients and the other nodes dial. Loopback unless
    /// --expose.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001")]
    address: String,
    /// The node's data directory (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// A member to join through when DIR holds no node yet (repeatable).
    #[arg(long, value_name = "HOST:PORT")]
    join: Vec<String>,
    /// The role to join with: voter, standby or spare.
    #[arg(long, default_value = "voter")]
    role: NodeRole,
    /// One-way network latency between nodes; the heartbeat is 1.5× it and the election
    /// timeout 15× (default 20 ms: elections after 300–600 ms of silence).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_LATENCY.as_millis() as u64)]
    latency_ms: u64,
    /// Allow an address beyond loopback. The dqlite protocol has no authentication:
    /// whoever reaches the port reads and writes every database. Expose a node only on a
    /// network that only the cluster's machines reach.
    #[arg(long)]
    expose: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SQLRT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sqlrt-node: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Blocked before libdqlite starts its threads (they inherit the mask), so that the
    // signals reach the wait below and nothing else.
    let signals = Signals::block()?;
    let node = NodeBuilder::new(args.address, args.dir)
        .join(args.join)
        .role(args.role)
        .latency(std::time::Duration::from_millis(args.latency_ms))
        .expose(args.expose)
        .start()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready {} {}", node.id(), node.address())?;
    stdout.flush()?;
    let signal = signals.wait()?;
    tracing::info!(signal, "stopping");
    node.stop()?;
    Ok(())
}

/// SIGINT and SIGTERM, blocked in every thread and taken synchronously.
struct Signals(libc::sigset_t);

impl Signals {
    fn block() -> std::io::Result<Signals> {
        // SAFETY: a zeroed sigset_t is initialised by sigemptyset before use; the calls
        // only read and write it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let code = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if code != 0 {
                return Err(std::io::Error::from_raw_os_error(code));
            }
            Ok(Signals(set))
        }
    }

    /// Waits for one of the signals; returns its number.
    fn wait(&self) -> std::io::Result<i32> {
        let mut signal = 0;
        // SAFETY: a valid, initialised set and an out-parameter.
        let code = unsafe { libc::sigwait(&self.0, &mut signal) };
        if code != 0 {
            return Err(std::io::Error::from_raw_os_error(code));
        }
        Ok(signal)
    }
}
