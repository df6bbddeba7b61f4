//! The process the reliability tests kill or run beside another one.
//!
//! ```text
//! crash-child BACKEND ROOT puts START       batch puts START, START+1, ... forever;
//!                                           prints `ack N` after batch N is acknowledged
//! crash-child BACKEND ROOT async-puts START the same through the async driver, 64 puts in
//!                                           flight at a time (coalesced into groups)
//! crash-child BACKEND ROOT sql-puts START   the same, each batch one transaction that also
//!                                           inserts row N into the actor's own SQL table
//!                                           `batches` and sets `counters.last` to N
//! crash-child BACKEND ROOT migrate          runs the legacy migration; prints `done M`
//! crash-child BACKEND ROOT probe            open the root, read actor `existing`, create
//!                                           actor `fresh`, write to `existing`; prints
//!                                           `<step> ok` or `<step> error ...` for each
//! crash-child BACKEND ROOT contend W COUNT  COUNT batch puts and COUNT single puts to
//!                                           the contention actor, as writer W
//! crash-child BACKEND ROOT serve            runs one driver command per stdin line
//!                                           (see `serve`), answers one line each
//! crash-child BACKEND ROOT create-many P N  creates actors P0..P(N-1), printing
//!                                           `created ID` or `exists ID` for each
//! crash-child BACKEND ROOT fd-limit N       under a limit of N descriptors: 100 actors
//!                                           with interleaved operations (`budget ok`),
//!                                           then a wake with no descriptor left
//!                                           (`exhausted ...`), then again (`recovered`)
//! ```
//!
//! BACKEND is a backend's name, optionally followed by `/no-local-files` (the driver then
//! keeps everything in databases, as on a replicated engine). Every mode prints `ready`
//! once its driver is open. Lines are flushed as they are
//! written, so the parent knows exactly which writes were acknowledged before a kill.
//! Any error is printed as `error ...` and ends the process with exit code 1.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use fs_driver::{AsyncFsDriver, DriverOptions, Error, FsDriver, MigrationOptions, migrate_legacy};
use reliability_tests::batches::{CRASH_ACTOR, batch_entries};

/// The actor the `contend` mode writes to (created by the parent).
const CONTEND_ACTOR: &str = "contended";

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A driver on `root` with the crash actor created (or found).
fn crash_actor_driver(
    runtime: std::sync::Arc<dyn sqlite_runtime::SqliteRuntime>,
    root: &std::path::Path,
) -> BoxResult<FsDriver> {
    let driver = FsDriver::open(runtime, root, DriverOptions::new())?;
    let none: &[(&[u8], &[u8])] = &[];
    match driver.create_actor(CRASH_ACTOR, "crash", Vec::new(), none) {
        Ok(_) | Err(Error::ActorExists(_)) => Ok(driver),
        Err(error) => Err(error.into()),
    }
}

/// The actor's own tables in `sql-puts`.
const SQL_TABLES: &str = "CREATE TABLE IF NOT EXISTS batches (n INTEGER PRIMARY KEY, payload BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS counters (id INTEGER PRIMARY KEY CHECK (id = 0), last INTEGER NOT NULL);
    INSERT OR IGNORE INTO counters (id, last) VALUES (0, 0);";

/// Puts in flight at once in `async-puts`.
const WRITERS: u64 = 64;

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
            let driver = crash_actor_driver(runtime, &root)?;
            say("ready")?;
            for n in start.. {
                driver.kv_put(CRASH_ACTOR, &batch_entries(n))?;
                say(&format!("ack {n}"))?;
            }
            Ok(())
        }
        ("async-puts", [start]) => {
            let start: u64 = start.parse()?;
            let driver = crash_actor_driver(runtime, &root)?;
            let options = sqlite_runtime::workers::WorkersOptions::new().threads(2);
            let driver = AsyncFsDriver::with_options(driver, options)?;
            say("ready")?;
            for round in 0.. {
                let first = start + round * WRITERS;
                let calls: Vec<_> = (first..first + WRITERS)
                    .map(|n| (n, driver.kv_put(CRASH_ACTOR, batch_entries(n))))
                    .collect();
                for (n, call) in calls {
                    futures_executor::block_on(call)?;
                    say(&format!("ack {n}"))?;
                }
            }
            Ok(())
        }
        ("sql-puts", [start]) => {
            let start: u64 = start.parse()?;
            let driver = crash_actor_driver(runtime, &root)?;
            driver.sql_batch(CRASH_ACTOR, SQL_TABLES)?;
            say("ready")?;
            for n in start.. {
                let number = i64::try_from(n)?;
                driver.sql_transaction(CRASH_ACTOR, |tx| {
                    tx.execute(
                        "INSERT INTO batches (n, payload) VALUES (?, ?)",
                        sqlite_runtime::params![number, &batch_entries(n)[0].1],
                    )?;
                    tx.execute(
                        "UPDATE counters SET last = ?",
                        sqlite_runtime::params![number],
                    )?;
                    tx.kv_put(&batch_entries(n))
                })?;
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
        ("serve", []) => {
            let driver = FsDriver::open(runtime, &root, served_options()?)?;
            say("ready")?;
            for line in std::io::stdin().lines() {
                let line = line?;
                if line == "quit" {
                    break;
                }
                match serve(&driver, &line) {
                    Ok(answer) => say(&format!("ok {answer}"))?,
                    Err(error) => say(&format!("error {}", error_name(&error)))?,
                }
            }
            Ok(())
        }
        ("create-many", [prefix, count]) => {
            let count: usize = count.parse()?;
            let driver = FsDriver::open(runtime, &root, DriverOptions::new())?;
            say("ready")?;
            let none: &[(&[u8], &[u8])] = &[];
            for index in 0..count {
                let id = format!("{prefix}{index}");
                match driver.create_actor(&id, "race", Vec::new(), none) {
                    Ok(_) => say(&format!("created {id}"))?,
                    Err(Error::ActorExists(_)) => say(&format!("exists {id}"))?,
                    Err(error) => return Err(format!("{id}: {error}").into()),
                }
            }
            say("done")
        }
        ("fd-limit", [limit]) => fd_limit(runtime, &root, limit.parse()?),
        _ => Err(format!("unknown mode {mode} {rest:?}").into()),
    }
}

/// The options of the `serve` mode: the defaults, with the lease timeout from
/// `SQLRT_LEASE_TIMEOUT_MS` when set.
fn served_options() -> BoxResult<DriverOptions> {
    let options = DriverOptions::new();
    Ok(match std::env::var("SQLRT_LEASE_TIMEOUT_MS") {
        Ok(ms) => options.lease_timeout(std::time::Duration::from_millis(ms.parse()?)),
        Err(_) => options,
    })
}

/// The `fd-limit` mode.
fn fd_limit(
    runtime: std::sync::Arc<dyn sqlite_runtime::SqliteRuntime>,
    root: &std::path::Path,
    limit: u64,
) -> BoxResult<()> {
    let rlimit = libc::rlimit {
        rlim_cur: limit as libc::rlim_t,
        rlim_max: limit as libc::rlim_t,
    };
    // SAFETY: a plain struct passed by reference for the call's duration.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let driver = FsDriver::open(runtime, root, DriverOptions::new())?;
    say(&format!("ready {}", driver.open_databases().1))?;
    let id = |a: usize| format!("fd-{a:03}");
    for a in 0..100 {
        driver.create_actor(&id(a), "n", Vec::new(), &[(b"k", a.to_be_bytes())])?;
    }
    for step in 0..1_000usize {
        let a = (step * 37) % 100;
        driver.kv_put(&id(a), &[(b"s", step.to_be_bytes())])?;
        if driver.kv_get_one(&id(a), b"k")? != Some(a.to_be_bytes().to_vec()) {
            return Err(format!("actor {a} lost its data").into());
        }
    }
    say(&format!("budget ok {}", driver.open_databases().0))?;
    // With every actor asleep the budget has nothing to close for a wake.
    for a in 0..100 {
        driver.sleep_actor(&id(a), None)?;
    }
    let mut held = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        held.push(file);
    }
    match driver.kv_get_one(&id(0), b"k") {
        Ok(_) => say("exhausted ok")?,
        Err(error) => say(&format!("exhausted error {error}"))?,
    }
    drop(held);
    match driver.kv_get_one(&id(0), b"k")? {
        Some(value) if value == 0usize.to_be_bytes() => say("recovered"),
        other => Err(format!("after recovery: {other:?}").into()),
    }
}

/// One `serve` command: `create ID`, `put ID KEY VALUE [KEY VALUE]...`,
/// `delete ID KEY...`, `delete-range ID START END`, `get ID KEY` (bytes in hex; a value
/// is answered in hex, a missing one as `none`), `used ID`, `alarm ID TIMESTAMP`,
/// `sleep ID`, `destroy ID`. Answers what the command returns.
fn serve(driver: &FsDriver, line: &str) -> fs_driver::Result<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let hex = |word: &str| -> Vec<u8> {
        (0..word.len() / 2)
            .filter_map(|i| u8::from_str_radix(word.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    };
    match words.as_slice() {
        ["create", id] => {
            let none: &[(&[u8], &[u8])] = &[];
            driver
                .create_actor(id, "served", Vec::new(), none)
                .map(|_| String::new())
        }
        ["put", id, pairs @ ..] => {
            let entries: Vec<(Vec<u8>, Vec<u8>)> = pairs
                .chunks(2)
                .map(|pair| (hex(pair[0]), hex(pair.get(1).copied().unwrap_or(""))))
                .collect();
            driver.kv_put(id, &entries).map(|()| String::new())
        }
        ["delete", id, keys @ ..] => {
            let keys: Vec<Vec<u8>> = keys.iter().map(|key| hex(key)).collect();
            driver.kv_delete(id, &keys).map(|_| String::new())
        }
        ["delete-range", id, start, end] => driver
            .kv_delete_range(id, &hex(start), &hex(end))
            .map(|_| String::new()),
        ["get", id, key] => driver.kv_get_one(id, &hex(key)).map(|value| match value {
            Some(value) => value.iter().map(|b| format!("{b:02x}")).collect(),
            None => "none".to_owned(),
        }),
        ["used", id] => driver.kv_storage_used(id).map(|used| used.to_string()),
        ["alarm", id, timestamp] => match timestamp.parse() {
            Ok(timestamp) => driver.set_alarm(id, timestamp).map(|()| String::new()),
            Err(_) => Ok(format!("bad timestamp {timestamp}")),
        },
        ["sleep", id] => driver.sleep_actor(id, None).map(|()| String::new()),
        ["destroy", id] => driver.destroy_actor(id, None).map(|()| String::new()),
        _ => Ok(format!("unknown command {line}")),
    }
}

/// The error's variant, then its message.
fn error_name(error: &Error) -> String {
    let name = match error {
        Error::ActorNotFound(_) => "not-found",
        Error::ActorExists(_) => "exists",
        Error::ActorInUse(_) => "in-use",
        Error::ActorBusy(_) => "busy",
        Error::ActorStopping(_) => "stopping",
        Error::ActorOwnedElsewhere { .. } => "owned-elsewhere",
        _ => "other",
    };
    format!("{name} {error}")
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
