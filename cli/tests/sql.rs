#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `sqlrt sql` and `sqlrt shell`: an actor's own SQL from the command line; reads change
//! nothing on disk, the driver's tables stay out of reach, errors are one line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sqlrt() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("sqlrt"));
    command
        .env_remove("SQLITE_RUNTIME")
        .env_remove("DQLITE_CLUSTER")
        .env_remove("RUST_BACKTRACE");
    command
}

fn run(args: &[&str]) -> Output {
    sqlrt().args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A root with actor `a` (made by `kv --create`) and one KV entry.
fn root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let made = run(&[
        "kv",
        root.to_str().unwrap(),
        "a",
        "put",
        "k",
        "v",
        "--create",
    ]);
    assert!(made.status.success(), "{made:?}");
    (dir, root)
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
                files.push((path.clone(), std::fs::read(&path).unwrap(), modified));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn sql_writes_through_the_driver_and_reads_change_nothing() {
    let (_dir, root) = root();
    let root = root.to_str().unwrap();
    let create = run(&[
        "sql",
        root,
        "a",
        "CREATE TABLE todo (id INTEGER PRIMARY KEY, text TEXT, n)",
    ]);
    assert!(create.status.success(), "{create:?}");
    let insert = run(&[
        "sql",
        root,
        "a",
        "INSERT INTO todo (text, n) VALUES (?, ?), (?, ?)",
        "--param",
        "docs",
        "--param",
        "int:3",
        "--param",
        "hex:00ff",
        "--param",
        "null",
    ]);
    assert!(insert.status.success(), "{insert:?}");
    assert_eq!(String::from_utf8_lossy(&insert.stderr), "2 rows changed\n");
    let before = snapshot(Path::new(root));
    let select = run(&["sql", root, "a", "SELECT id, text, n FROM todo ORDER BY id"]);
    assert!(select.status.success(), "{select:?}");
    assert_eq!(
        stdout(&select),
        "id  text        n\n 1  docs        3\n 2  x'00ff'  NULL\n"
    );
    let json = run(&[
        "sql",
        root,
        "a",
        "SELECT text FROM todo WHERE id = :id",
        "--param",
        ":id=int:1",
        "--json",
    ]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        document,
        serde_json::json!({ "rows": [{ "text": "docs" }] })
    );
    assert_eq!(
        snapshot(Path::new(root)),
        before,
        "reads change nothing on disk"
    );
}

#[test]
fn sql_refuses_the_driver_tables_in_one_line() {
    let (_dir, root) = root();
    let root = root.to_str().unwrap();
    for statement in [
        "SELECT * FROM kv",
        "DELETE FROM kv",
        "PRAGMA journal_mode = DELETE",
    ] {
        let refused = run(&["sql", root, "a", statement]);
        assert_eq!(refused.status.code(), Some(2), "{statement}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("not authorized"), "{stderr}");
    }
    let kv = run(&["kv", root, "a", "get", "k"]);
    assert_eq!(stdout(&kv), "k\tv\n");
    let missing = run(&["sql", root, "nobody", "SELECT 1"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}

#[test]
fn shell_reads_piped_commands_and_reports_failures() {
    let (_dir, root) = root();
    let mut child = sqlrt()
        .args(["shell", root.to_str().unwrap(), "a"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"CREATE TABLE t (x);\nINSERT INTO t VALUES (1),\n (2);\n.tables\n\
              SELECT sum(x) AS total FROM t;\n.put k2 v2\n.get k2\n.list k\n\
              SELECT * FROM kv;\n.schema t\n",
        )
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1), "one command failed");
    assert_eq!(
        stdout(&output),
        "name\nt\ntotal\n    3\nv2\nk\tv\nk2\tv2\nsql\nCREATE TABLE t (x)\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("not authorized"),
        "{stderr}"
    );
}
