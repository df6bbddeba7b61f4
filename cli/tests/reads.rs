#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Read commands (`actors`, `kv get`, `kv list`, `migrate --dry-run`) change no byte on
//! disk: not while another process holds a database open with a non-empty `-wal`, not on
//! `-wal`/`-shm` files left behind by a process that is gone, and not on a missing actor.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};

use assert_cmd::Command;
use serde_json::Value;

fn sqlrt() -> Command {
    let mut command = Command::cargo_bin("sqlrt").unwrap();
    command.env_remove("SQLITE_RUNTIME");
    command
}

/// Every file and directory under `dir`, with the bytes of each file.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
                out.insert(path, None);
            } else {
                out.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Another process (Python's sqlite3) that writes to a database and keeps it open with
/// its frames in the `-wal` (checkpoints off) until dropped.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
}

const HOLDER: &str = r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA wal_autocheckpoint = 0")
db.execute("BEGIN IMMEDIATE")
for i in range(50):
    db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (b"held:%02d" % i, b"x" * 500))
db.execute("COMMIT")
db.execute("SELECT count(*) FROM kv").fetchone()
print("ready", flush=True)
sys.stdin.read()
"#;

impl Holder {
    fn start(database: &Path) -> Self {
        let mut child = Process::new("python3")
            .args(["-c", HOLDER])
            .arg(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs (the CI machine has Python 3.11)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the holder did not start");
        let stdin = child.stdin.take();
        Holder { child, stdin }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // End of input ends the holder, which closes its connection.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs every read command on `root` and asserts that the tree is byte-identical after
/// each. Returns `kv a list --json`.
fn read_everything(root: &Path) -> Value {
    let before = tree(root);
    let commands: Vec<Vec<&str>> = vec![
        vec!["actors"],
        vec!["actors", "--quiet"],
        vec!["kv", "ROOT", "a", "get", "k1", "held:07"],
        vec!["kv", "ROOT", "a", "list"],
        vec!["kv", "ROOT", "a", "list", "--prefix", "held:", "--reverse"],
        vec!["kv", "ROOT", "b", "list", "--start", "a", "--end", "z"],
        vec!["migrate", "ROOT", "--dry-run"],
    ];
    let mut listed = Value::Null;
    for args in commands {
        let mut command = sqlrt();
        for arg in &args {
            if *arg == "ROOT" {
                command.arg(root);
            } else {
                command.arg(arg);
            }
        }
        if args[0] == "actors" {
            command.arg(root);
        }
        let output = command.arg("--json").output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        if args == ["kv", "ROOT", "a", "list"] {
            listed = serde_json::from_slice(&output.stdout).unwrap();
        }
        assert!(
            tree(root) == before,
            "{args:?} changed a file under the root"
        );
    }
    // A missing actor is an error, and creates nothing either.
    let output = sqlrt()
        .arg("kv")
        .arg(root)
        .args(["missing", "get", "k"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        tree(root) == before,
        "a read of a missing actor changed the root"
    );
    listed
}

fn populate(root: &Path) {
    for actor in ["a", "b"] {
        sqlrt()
            .arg("kv")
            .arg(root)
            .args([actor, "put", "k1", "v1", "k2", "v2", "--create"])
            .assert()
            .success();
    }
}

#[test]
fn reads_change_nothing_while_another_process_holds_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    populate(&root);
    let holder = Holder::start(&root.join("databases/a.db"));
    let wal = std::fs::metadata(root.join("databases/a.db-wal")).unwrap();
    assert!(wal.len() > 25_000, "the holder's frames are in the -wal");
    let listed = read_everything(&root);
    // What the holder committed (still only in its -wal) is read.
    let entries = listed["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3 + 50, "{listed}");
    drop(holder);
}

#[test]
fn reads_change_nothing_on_wal_files_left_by_a_gone_process() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    populate(&root);
    let copy = dir.path().join("copy");
    let holder = Holder::start(&root.join("databases/a.db"));
    // A copy of the root taken while the holder ran: its -wal and -shm have no owner.
    copy_tree(&root, &copy);
    drop(holder);
    assert!(copy.join("databases/a.db-wal").exists());
    let listed = read_everything(&copy);
    assert_eq!(listed["entries"].as_array().unwrap().len(), 3 + 50);
}

#[test]
fn reads_of_a_root_without_databases_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    conformance_tests::fixtures::write_rivetkit_legacy_root(&root).unwrap();
    let before = tree(&root);
    for args in [
        vec!["legacy-actor-one", "list"],
        vec!["legacy-actor-two", "get", "beta"],
        vec!["missing-actor", "get", "k"],
    ] {
        let _ = sqlrt().arg("kv").arg(&root).args(&args).output().unwrap();
        assert!(tree(&root) == before, "{args:?} changed the root");
    }
    // Unmigrated legacy entries read as the migration would leave them.
    let output = sqlrt()
        .arg("kv")
        .arg(&root)
        .args(["legacy-actor-one", "list", "--prefix", "prefix:"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "prefix:1\tvalue:1\nprefix:2\tvalue:2\n"
    );
    sqlrt().arg("actors").arg(&root).assert().success();
    sqlrt()
        .arg("migrate")
        .arg(&root)
        .arg("--dry-run")
        .assert()
        .success();
    assert!(
        tree(&root) == before,
        "actors or migrate --dry-run changed the root"
    );
    assert!(!root.join("databases").exists() && !root.join("alarms").exists());
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_missing_database_is_an_error_naming_it_not_an_empty_actor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    populate(&root);
    let database = root.join("databases/a.db");
    std::fs::remove_file(&database).unwrap();
    for args in [vec!["a", "list"], vec!["a", "put", "k", "v"]] {
        let output = sqlrt().arg("kv").arg(&root).args(&args).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("missing") && stderr.contains(&database.display().to_string()),
            "{args:?}: {stderr}"
        );
        assert!(!database.exists(), "{args:?} created the database");
    }
}
