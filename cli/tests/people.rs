#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `sqlrt` as a new user meets it: output piped into a reader that goes away, roots made
//! on purpose, directories that are not roots.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn sqlrt() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("sqlrt"));
    command
        .env_remove("SQLITE_RUNTIME")
        .env_remove("DQLITE_CLUSTER")
        .env_remove("RUST_BACKTRACE");
    command
}

/// A root with one actor `a` holding 300 entries (output of a few KB).
fn root_with_entries() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let value = "v".repeat(40);
    let status = sqlrt()
        .args([
            "kv",
            root.to_str().unwrap(),
            "a",
            "put",
            "k0",
            &value,
            "--create",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let runtime = sqlite_runtime_backends::load().unwrap().runtime;
    let driver =
        fs_driver::FsDriver::open(runtime, &root, fs_driver::DriverOptions::new()).unwrap();
    for chunk in 0..3 {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..100)
            .map(|i| {
                (
                    format!("key-{chunk}-{i:03}").into_bytes(),
                    value.clone().into_bytes(),
                )
            })
            .collect();
        driver.kv_put("a", &entries).unwrap();
    }
    (dir, root)
}

/// Runs `args` with its standard output a pipe whose reader is already gone: the first
/// write finds no reader. The process must end quietly: exit 0 or SIGPIPE, nothing on
/// standard error.
fn ends_quietly_without_reader(args: &[&str]) {
    let mut child = sqlrt()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || output.status.signal() == Some(libc::SIGPIPE),
        "{args:?}: {:?}, stderr: {stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
}

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let (_dir, root) = root_with_entries();
    let root = root.to_str().unwrap();
    for json in [false, true] {
        let mut commands: Vec<Vec<&str>> = vec![
            vec!["kv", root, "a", "list"],
            vec!["kv", root, "a", "get", "k0"],
            vec!["actors", root],
            vec!["backends"],
            vec!["migrate", root, "--dry-run"],
            vec!["conformance", "--filter", "version"],
        ];
        if json {
            for command in &mut commands {
                command.push("--json");
            }
        }
        for command in commands {
            ends_quietly_without_reader(&command);
        }
    }
}

/// The bytes of every file under `dir`, by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.push((path.clone(), Vec::new()));
                stack.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn one_error_line(output: &std::process::Output) -> String {
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn create_refuses_a_directory_that_holds_other_things() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("Cargo.toml"), "[package]\n").unwrap();
    let before = snapshot(&project);
    let output = sqlrt()
        .args([
            "kv",
            project.to_str().unwrap(),
            "a",
            "put",
            "k",
            "v",
            "--create",
        ])
        .output()
        .unwrap();
    let stderr = one_error_line(&output);
    assert!(stderr.contains("is not a storage root"), "{stderr}");
    assert!(stderr.contains("`Cargo.toml`, `src`"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(snapshot(&project), before, "the directory changed");
}

#[test]
fn create_makes_a_root_in_a_new_or_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("storage");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for root in [&new, &empty] {
        let root = root.to_str().unwrap();
        let status = sqlrt()
            .args(["kv", root, "a", "put", "greeting", "hello", "--create"])
            .status()
            .unwrap();
        assert!(status.success(), "{root}");
        let output = sqlrt()
            .args(["kv", root, "a", "get", "greeting"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "greeting\thello\n"
        );
        // Once a root, it is used as one: another actor can be created in it.
        let status = sqlrt()
            .args(["kv", root, "b", "put", "k", "v", "--create"])
            .status()
            .unwrap();
        assert!(status.success(), "{root}");
    }
}

#[test]
fn reads_of_a_directory_that_is_not_a_root_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("notes.txt"), "x").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for root in [&plain, &empty] {
        let before = snapshot(root);
        let root_text = root.to_str().unwrap();
        for args in [
            vec!["actors", root_text],
            vec!["kv", root_text, "a", "list"],
            vec!["kv", root_text, "a", "put", "k", "v"],
            vec!["migrate", root_text, "--dry-run"],
        ] {
            let output = sqlrt().args(&args).output().unwrap();
            let stderr = one_error_line(&output);
            assert!(
                stderr.contains("is not a storage root"),
                "{args:?}: {stderr}"
            );
        }
        assert_eq!(snapshot(root), before);
    }
    let missing = dir.path().join("missing");
    let output = sqlrt()
        .args(["actors", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = one_error_line(&output);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!missing.exists());
}
