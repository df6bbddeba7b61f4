//! How an application chooses the SQLite binding for its drivers.
//!
//! ```text
//! cargo run -p sqlite-runtime-examples --example select_backend
//! SQLITE_RUNTIME=sqlx cargo run -p sqlite-runtime-examples --example select_backend
//! ```

use std::process::ExitCode;

use sqlite_runtime_backends::Loader;
use sqlite_runtime_examples::Counters;

fn main() -> ExitCode {
    // SQLITE_RUNTIME wins when set; otherwise the first backend that works, in this order.
    let loaded = match Loader::new()
        .preference(["sqlite", "rusqlite", "sqlx"])
        .load()
    {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "using {} (SQLite {})",
        loaded.descriptor.name, loaded.sqlite_version
    );

    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("error: cannot create a temporary directory: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The driver never names a binding: it is handed the runtime.
    let result = Counters::open(loaded.runtime, &dir.path().join("counters.db"))
        .and_then(|mut counters| counters.increment("runs", 1));
    match result {
        Ok(value) => {
            println!("runs = {value}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
