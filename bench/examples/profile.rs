//! One variant, one workload, alone: for `perf` and `valgrind --tool=callgrind`.
//!
//! ```sh
//! cargo build --release -p sqlrt-bench --example profile
//! valgrind --tool=callgrind target/release/examples/profile "driver/rusqlite" get 1000 20000
//! ```
//!
//! Arguments: VARIANT WORKLOAD [ENTRIES=1000] [OPS=10000] [full|normal]. Callgrind counts
//! instructions; the difference between two OPS values divided by their difference is
//! the exact instruction cost of one operation.

use std::process::ExitCode;

use sqlrt_bench::{SyncLevel, Workload};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(variant), Some(workload)) = (args.first(), args.get(1)) else {
        eprintln!("usage: profile VARIANT WORKLOAD [ENTRIES] [OPS] [full|normal]");
        return ExitCode::from(2);
    };
    let Some(workload) = Workload::from_name(workload) else {
        eprintln!("unknown workload `{workload}`");
        return ExitCode::from(2);
    };
    let entries = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let ops = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let level = match args.get(4).map(String::as_str) {
        Some("normal") => SyncLevel::Normal,
        _ => SyncLevel::Full,
    };
    match sqlrt_bench::run_single(variant, workload, entries, ops, level) {
        Ok(total) => {
            println!(
                "{variant} {workload} N={entries}: {ops} ops in {:.3} s ({:.0} ns/op)",
                total.as_secs_f64(),
                total.as_nanos() as f64 / ops.max(1) as f64
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
