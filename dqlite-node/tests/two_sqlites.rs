//! The node process keeps the system's SQLite and the bundled one apart: nothing in this
//! package's dependency graph builds SQLite, `sqlrt-node` defines no SQLite symbol of its
//! own, libdqlite's `sqlite3_*` calls bind to the system's `libsqlite3.so.0`, and a
//! running `sqlrt-node` answers `sqlite_version()` with the system's version.
//!
//! Checks that need a tool (`nm`, `readelf`, `ldd`) print a `SKIPPED` line when it is
//! missing; those that need libdqlite skip in a build without it, unless
//! `SQLRT_REQUIRE_DQLITE=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime::{Params, ValueRef};
use sqlite_runtime_dqlite::{Cluster, ConnectOptions, Connection};
use sqlite_runtime_dqlite_node::{AVAILABLE, BOOTSTRAP_ID};

/// The node binary under test.
const NODE: &str = env!("CARGO_BIN_EXE_sqlrt-node");

/// How long a process may take to do what it must: far above what it needs.
const LIVENESS: Duration = Duration::from_secs(60);

/// Set to `1` to make a build without libdqlite a failure instead of a skip.
const REQUIRE_ENV: &str = "SQLRT_REQUIRE_DQLITE";

/// Crates that build a SQLite of their own.
const SQLITE_BUILDERS: &[&str] = &["libsqlite3-sys", "sqlite3-src", "sqlcipher", "libsql-ffi"];

fn available(test: &str) -> bool {
    if AVAILABLE {
        return true;
    }
    assert!(
        std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
        "{test}: built without libdqlite and {REQUIRE_ENV}=1 (apt-get install libdqlite-dev)"
    );
    println!("SKIPPED {test}: built without libdqlite");
    false
}

/// A child process killed (and reaped) when the test ends, however it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ChildGuard {
    /// Its exit status once it exited, or `None` after `patience`.
    fn wait_for_exit(&mut self, patience: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.0.try_wait().expect("polling the child") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Runs `program` with `args` (from `dir`, if given) with its output in files, killed
/// after [`LIVENESS`]; `None` when the program is not installed.
fn run<I, S>(program: impl AsRef<OsStr>, args: I, dir: Option<&Path>) -> Option<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with(Command::new(program).args(args), dir)
}

fn run_with(command: &mut Command, dir: Option<&Path>) -> Option<Output> {
    let scratch = tempfile::tempdir().unwrap();
    let (out, err) = (scratch.path().join("stdout"), scratch.path().join("stderr"));
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => panic!("running {command:?}: {error}"),
    };
    let mut child = ChildGuard(child);
    let status = child
        .wait_for_exit(LIVENESS)
        .unwrap_or_else(|| panic!("{command:?} still running after {LIVENESS:?}"));
    Some(Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn free_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().unwrap().to_string()
}

#[test]
fn nothing_in_the_dependency_graph_builds_sqlite() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree = |offline: bool| {
        let mut args = vec![
            "tree",
            "-p",
            "sqlite-runtime-dqlite-node",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ];
        if offline {
            args.push("--offline");
        }
        run(&cargo, args, Some(manifest_dir)).expect("cargo is installed")
    };
    // Offline first (the lock file and the local index suffice); online if that fails.
    let mut output = tree(true);
    if !output.status.success() {
        output = tree(false);
    }
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        text(&output.stderr)
    );
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The graph is really there (the check below is not vacuous).
    for expected in ["sqlite-runtime-dqlite-node ", "sqlite-runtime-dqlite "] {
        assert!(
            lines.iter().any(|line| line.starts_with(expected)),
            "no `{expected}` in cargo tree's output:\n{stdout}"
        );
    }
    let builders: Vec<&&str> = lines
        .iter()
        .filter(|line| {
            SQLITE_BUILDERS
                .iter()
                .any(|builder| line.starts_with(&format!("{builder} ")))
        })
        .collect();
    assert!(
        builders.is_empty(),
        "crates building a SQLite in the node's graph: {builders:?}"
    );
}

/// Symbol names `nm` lists as defined (the last field of each line).
fn defined_symbols(nm_output: &str) -> Vec<&str> {
    nm_output
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .collect()
}

#[test]
fn the_binary_defines_no_sqlite() {
    let test = "the_binary_defines_no_sqlite";
    let Some(dynamic) = run("nm", ["-D", "--defined-only", NODE], None) else {
        println!("SKIPPED {test}: nm is not installed");
        return;
    };
    assert!(dynamic.status.success(), "nm -D: {}", text(&dynamic.stderr));
    let dynamic = text(&dynamic.stdout);
    let exported: Vec<&str> = defined_symbols(&dynamic)
        .into_iter()
        .filter(|name| name.starts_with("sqlite3_"))
        .collect();
    assert!(exported.is_empty(), "sqlrt-node exports {exported:?}");

    // The full symbol table too (an executable exports little): a statically linked
    // SQLite would show there. A stripped binary has none; then the check above stands.
    let all = run("nm", ["--defined-only", NODE], None).unwrap();
    if all.status.success() {
        let all = text(&all.stdout);
        let defined: Vec<&str> = defined_symbols(&all)
            .into_iter()
            .filter(|name| name.starts_with("sqlite3_"))
            .collect();
        assert!(defined.is_empty(), "sqlrt-node defines {defined:?}");
    } else {
        println!(
            "{test}: no full symbol table ({}); checked the dynamic one only",
            text(&all.stderr).trim()
        );
    }
}

#[test]
fn libdqlite_binds_to_the_system_sqlite() {
    let test = "libdqlite_binds_to_the_system_sqlite";
    if !available(test) {
        return;
    }
    // The binary needs libdqlite itself...
    let Some(dynamic) = run("readelf", ["-d", NODE], None) else {
        println!("SKIPPED {test}: readelf is not installed");
        return;
    };
    assert!(
        dynamic.status.success(),
        "readelf: {}",
        text(&dynamic.stderr)
    );
    let dynamic = text(&dynamic.stdout);
    let needed: Vec<&str> = dynamic
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| line.split('[').nth(1)?.split(']').next())
        .collect();
    assert!(
        needed.iter().any(|lib| lib.starts_with("libdqlite.so")),
        "sqlrt-node does not need libdqlite: {needed:?}"
    );

    // ...which brings the system's libsqlite3.
    let Some(ldd) = run("ldd", [NODE], None) else {
        println!("SKIPPED {test}: ldd is not installed");
        return;
    };
    assert!(ldd.status.success(), "ldd: {}", text(&ldd.stderr));
    let ldd = text(&ldd.stdout);
    let sqlite = ldd
        .lines()
        .find_map(|line| {
            let (name, path) = line.trim().split_once(" => ")?;
            (name == "libsqlite3.so.0").then(|| path.split(" (").next().unwrap_or(path))
        })
        .unwrap_or_else(|| panic!("ldd lists no libsqlite3.so.0:\n{ldd}"));
    let sqlite = PathBuf::from(sqlite);
    assert!(sqlite.is_file(), "{sqlite:?}");
    assert!(
        !sqlite.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()),
        "libsqlite3 comes from the workspace: {sqlite:?}"
    );

    // And the dynamic linker binds every sqlite3_ call libdqlite makes to it.
    let output = run_with(
        Command::new(NODE)
            .arg("--version")
            .env("LD_BIND_NOW", "1")
            .env("LD_DEBUG", "bindings"),
        None,
    )
    .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let debug = text(&output.stderr);
    // "binding file <from> [0] to <to> [0]: normal symbol `sqlite3_open_v2' [...]"
    let bindings: Vec<(&str, &str, &str)> = debug
        .lines()
        .filter_map(|line| {
            let rest = line.split_once("binding file ")?.1;
            let (from, rest) = rest.split_once(" [")?;
            let rest = rest.split_once("] to ")?.1;
            let (to, rest) = rest.split_once(" [")?;
            let symbol = rest.split_once('`')?.1.split('\'').next()?;
            Some((from, to, symbol))
        })
        .filter(|(from, _, symbol)| from.contains("libdqlite") && symbol.starts_with("sqlite3_"))
        .collect();
    if bindings.is_empty() && !debug.contains("binding file") {
        println!("{test}: the dynamic linker ignores LD_DEBUG; binding check skipped");
        return;
    }
    assert!(
        !bindings.is_empty(),
        "libdqlite binds no sqlite3_ symbol:\n{debug}"
    );
    let elsewhere: Vec<_> = bindings
        .iter()
        .filter(|(_, to, _)| Path::new(to) != sqlite && !to.ends_with("/libsqlite3.so.0"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "libdqlite's sqlite3_ calls bound elsewhere than {sqlite:?}: {elsewhere:?}"
    );
}

/// The system SQLite's version, from pkg-config.
fn system_sqlite_version() -> Option<String> {
    let output = run("pkg-config", ["--modversion", "sqlite3"], None)?;
    output
        .status
        .success()
        .then(|| text(&output.stdout).trim().to_owned())
}

#[test]
fn sqlrt_node_serves_with_the_system_sqlite_and_stops_on_sigterm() {
    let test = "sqlrt_node_serves_with_the_system_sqlite_and_stops_on_sigterm";
    if !available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let address = free_address();
    let log = dir.path().join("stderr.log");
    let child = Command::new(NODE)
        .args(["--address", &address, "--dir"])
        .arg(dir.path().join("node"))
        .env_remove("SQLRT_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .expect("starting sqlrt-node");
    let mut node = ChildGuard(child);
    let stderr = || std::fs::read_to_string(&log).unwrap_or_default();

    let stdout = node.0.stdout.take().unwrap();
    let (lines, receive) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let ready = receive
        .recv_timeout(LIVENESS)
        .unwrap_or_else(|error| panic!("no ready line ({error}); stderr:\n{}", stderr()))
        .expect("reading sqlrt-node's stdout");
    let fields: Vec<&str> = ready.split(' ').collect();
    assert_eq!(fields.len(), 3, "{ready:?}");
    assert_eq!(fields[0], "ready", "{ready:?}");
    assert_eq!(
        fields[1].parse::<u64>().ok(),
        Some(BOOTSTRAP_ID),
        "{ready:?}"
    );
    assert_eq!(fields[2], address, "{ready:?}");

    let cluster = Cluster::new([address.clone()]).unwrap().with_options(
        ConnectOptions::new()
            .connect_timeout(Duration::from_secs(2))
            .request_timeout(Duration::from_secs(30)),
    );
    let mut db = cluster
        .open("two-sqlites.db", LIVENESS)
        .unwrap_or_else(|error| panic!("opening a database: {error}; stderr:\n{}", stderr()));
    db.exec_sql(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        Params::NONE,
    )
    .unwrap();
    let inserted = db
        .exec_sql(
            "INSERT INTO t (name) VALUES (?)",
            Params::from(&[ValueRef::Text("row")]),
        )
        .unwrap();
    assert_eq!(inserted.changes, 1);
    assert_eq!(
        texts(&mut db, "SELECT id || ':' || name FROM t"),
        [format!("{}:row", inserted.last_insert_rowid)]
    );

    let version = texts(&mut db, "SELECT sqlite_version()");
    assert_eq!(version.len(), 1);
    let version = &version[0];
    match system_sqlite_version() {
        Some(system) => assert_eq!(version, &system, "the node's SQLite is not the system's"),
        None => {
            println!("{test}: no pkg-config; expecting Debian 12's SQLite 3.40");
            assert!(version.starts_with("3.40."), "{version}");
        }
    }
    drop(db);

    let pid = libc::pid_t::try_from(node.0.id()).unwrap();
    // SAFETY: sending a signal to our own child, which has not been reaped yet (the
    // guard reaps it), so the pid is still its.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = node
        .wait_for_exit(LIVENESS)
        .unwrap_or_else(|| panic!("still running {LIVENESS:?} after SIGTERM:\n{}", stderr()));
    assert!(
        status.success(),
        "exit after SIGTERM: {status}; stderr:\n{}",
        stderr()
    );
}

/// The first column of every row, as text.
fn texts(connection: &mut Connection, sql: &str) -> Vec<String> {
    let mut texts = Vec::new();
    connection
        .query_sql(sql, Params::NONE, &mut |row| {
            match row.values().first() {
                Some(ValueRef::Text(text)) => texts.push((*text).to_owned()),
                other => panic!("{sql}: unexpected value {other:?}"),
            }
            Ok(ControlFlow::Continue(()))
        })
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    texts
}

#[test]
fn sqlrt_node_refuses_an_address_beyond_loopback() {
    let test = "sqlrt_node_refuses_an_address_beyond_loopback";
    if !available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("node");
    let output = run_with(
        Command::new(NODE)
            .args(["--address", "10.255.0.1:9", "--dir"])
            .arg(&target)
            .env_remove("SQLRT_LOG"),
        None,
    )
    .unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "exit {}", output.status);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr:\n{stderr}");
    assert!(lines[0].contains("loopback"), "{stderr}");
    assert!(lines[0].contains("10.255.0.1:9"), "{stderr}");
    assert!(output.stdout.is_empty(), "{}", text(&output.stdout));
    assert!(!target.exists(), "the data directory was created");
}
