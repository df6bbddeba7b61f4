//! The process the reliability tests kill or run beside another one.
//!
//! ```text
//! crash-child BACKEND ROOT puts START       batch puts START, START+1, ... forever;
//!                                           prints `ack N` after batch N is acknowledged
//! crash-child BACKEND ROOT migrate          runs the legacy migration; prints `done M`
//! crash-child BACKEND ROOT probe            open the root, read actor `existing`, create
//!                                           actor `fresh`, write to `existing`; prints
//!                                           `<step> ok` or `<step> error ...` for each
//! crash-child BACKEND ROOT contend W COUNT  COUNT batch puts and COUNT single puts to
//!                                           the contention actor, as writer W
//! ```
//!
//! Every mode prints `ready` once its driver is open. Lines are flushed as they are
//! written, so the parent knows exactly which writes were acknowledged before a kill.
//! Any error is printed as `error ...` and ends the process with exit code 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use fs_driver::{DriverOptions, Error, FsDriver, MigrationOptions, migrate_legacy};
use reliability_tests::batches::{CRASH_ACTOR, batch_entries};

/// The actor the `contend` mode writes to (created by the parent).
const CONTEND_ACTOR: &str = "contended";

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn say(line: &str) -> BoxResult<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn run(args: &[String]) -> BoxResult<()> {
    let [backend, root, mode, rest @ ..] = args else {
        return Err(
            "usage: crash-child BACKEND ROOT (puts START | migrate | contend W COUNT)".into(),
        );
    };
    let runtime = reliability_tests::runtime_named(backend)
        .ok_or_else(|| format!("backend {backend} is not compiled in"))?;
    let root = PathBuf::from(root);
    match (mode.as_str(), rest) {
        ("puts", [start]) => {
            let start: u64 = start.parse()?;
            let driver = FsDriver::open(runtime, &root, DriverOptions::new())?;
            let none: &[(&[u8], &[u8])] = &[];
            match driver.create_actor(CRASH_ACTOR, "crash", Vec::new(), none) {
                Ok(_) | Err(Error::ActorExists(_)) => {}
                Err(error) => return Err(error.into()),
            }
            say("ready")?;
            for n in start.. {
                driver.kv_put(CRASH_ACTOR, &batch_entries(n))?;
                say(&format!("ack {n}"))?;
            }
            Ok(())
        }
        ("migrate", []) => {
            say("ready")?;
            let report = migrate_legacy(&*runtime, &root, MigrationOptions::default())?;
            if let Some(failure) = report.failures.first() {
                return Err(format!("{}: {}", failure.path.display(), failure.error).into());
            }
            say(&format!("done {}", report.migrated.len()))
        }
        ("contend", [writer, count]) => {
            let count: usize = count.parse()?;
            let options = DriverOptions::new().migrate_legacy(false);
            let driver = FsDriver::open(runtime, &root, options)?;
            say("ready")?;
            for i in 0..count {
                let batch: Vec<(Vec<u8>, Vec<u8>)> = (0..4)
                    .map(|j| {
                        let key = format!("w{writer}/batch/{i:06}/{j}").into_bytes();
                        (key, i.to_be_bytes().to_vec())
                    })
                    .collect();
                driver
                    .kv_put(CONTEND_ACTOR, &batch)
                    .map_err(|error| format!("batch {i}: {error}"))?;
                let single = format!("w{writer}/single/{i:06}").into_bytes();
                driver
                    .kv_put(CONTEND_ACTOR, &[(single, i.to_be_bytes())])
                    .map_err(|error| format!("single {i}: {error}"))?;
            }
            say("done")
        }
        ("probe", []) => {
            let driver = match FsDriver::open(runtime, &root, DriverOptions::new()) {
                Ok(driver) => driver,
                Err(error) => return say(&format!("open error {error}")),
            };
            say("open ok")?;
            let step = |name: &str, result: fs_driver::Result<()>| match result {
                Ok(()) => say(&format!("{name} ok")),
                Err(error) => say(&format!("{name} error {error}")),
            };
            step("read", driver.kv_get("existing", &[b"k"]).map(|_| ()))?;
            let none: &[(&[u8], &[u8])] = &[];
            step(
                "create",
                driver
                    .create_actor("fresh", "n", Vec::new(), none)
                    .map(|_| ()),
            )?;
            step("write", driver.kv_put("existing", &[(b"k", b"w")]))
        }
        _ => Err(format!("unknown mode {mode} {rest:?}").into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = say(&format!("error {error}"));
            eprintln!("crash-child: {error}");
            ExitCode::FAILURE
        }
    }
}
