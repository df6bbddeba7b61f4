//! `cargo bench -p sqlrt-bench`: the full benchmark (or the quick one with
//! `SQLRT_BENCH_QUICK=1` or `-- --quick`), printed as Markdown; `SQLRT_BENCH_JSON=path`
//! also writes the full result as JSON. Run without `--bench` (`cargo test
//! --all-targets`), it runs only the tiny test configuration.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--list") {
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and then only the tiny configuration runs, as a smoke test.
    let benchmarking = args.iter().any(|arg| arg == "--bench");
    let quick =
        std::env::var_os("SQLRT_BENCH_QUICK").is_some() || args.iter().any(|arg| arg == "--quick");
    let config = if !benchmarking {
        sqlrt_bench::BenchConfig::tiny()
    } else if quick {
        sqlrt_bench::BenchConfig::quick()
    } else {
        sqlrt_bench::BenchConfig::full()
    };
    match sqlrt_bench::run(&config, &mut |line| eprintln!("{line}")) {
        Ok(report) => {
            println!("{}", sqlrt_bench::render(&report));
            if let Some(path) = std::env::var_os("SQLRT_BENCH_JSON") {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => {
                        if let Err(error) = std::fs::write(&path, json) {
                            eprintln!("error: cannot write {}: {error}", path.to_string_lossy());
                            return ExitCode::FAILURE;
                        }
                    }
                    Err(error) => {
                        eprintln!("error: {error}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
