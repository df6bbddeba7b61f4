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
            vec![
                "bench",
                "--quick",
                "--entries",
                "200",
                "--workload",
                "get",
                "--seconds",
                "0.05",
                "--no-direct",
                "--backend",
                "rusqlite",
                "--quiet",
            ],
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

/// Runs a mount-related command; false (with the reason printed) when it fails.
fn run_as_root(program: &str, args: &[&str]) -> bool {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!(
                "SKIPPED: `{program} {}`: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
            false
        }
        Err(error) => {
            eprintln!("SKIPPED: {program}: {error}");
            false
        }
    }
}

/// A write to a root on a read-only mount, or whose `databases/` is immutable, says
/// "read-only" and names the path; nothing changes.
#[test]
fn writes_to_a_read_only_root_say_so_and_change_nothing() {
    // SAFETY: a plain query of the process's effective user id.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED writes_to_a_read_only_root_say_so_and_change_nothing: needs root");
        return;
    }
    let (_dir, root) = root_with_entries();
    let root_text = root.to_str().unwrap();
    let before = snapshot(&root);
    // A read-only mount of the root.
    if run_as_root("mount", &["--bind", root_text, root_text]) {
        let mounted = run_as_root("mount", &["-o", "remount,bind,ro", root_text]);
        let output = sqlrt()
            .args(["kv", root_text, "a", "put", "k", "v"])
            .output()
            .unwrap();
        run_as_root("umount", &[root_text]);
        if mounted {
            let stderr = one_error_line(&output);
            assert!(stderr.contains("is read-only"), "{stderr}");
            assert!(stderr.contains(root_text), "{stderr}");
        }
    }
    // An immutable `databases/`.
    let databases = root.join("databases");
    if run_as_root("chattr", &["+i", databases.to_str().unwrap()]) {
        let output = sqlrt()
            .args(["kv", root_text, "new-actor", "put", "k", "v", "--create"])
            .output()
            .unwrap();
        run_as_root("chattr", &["-i", databases.to_str().unwrap()]);
        let stderr = one_error_line(&output);
        assert!(stderr.contains("is read-only"), "{stderr}");
        assert!(stderr.contains("databases"), "{stderr}");
    }
    assert_eq!(snapshot(&root), before, "the root changed");
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = sqlrt().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for word in ["sqlrt", "conformance", "delete-range", "create"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
}

#[test]
fn messages_a_person_can_act_on() {
    let (_dir, root) = root_with_entries();
    let root_text = root.to_str().unwrap();
    // A missing actor names the backend it was looked for on.
    let output = sqlrt()
        .args(["kv", root_text, "nobody", "get", "k", "--backend", "sqlite"])
        .output()
        .unwrap();
    let stderr = one_error_line(&output);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("on the sqlite backend"), "{stderr}");
    // A key one byte over: rivetkit's words, then what a key may be.
    let long = "k".repeat(2047);
    let output = sqlrt()
        .args(["kv", root_text, "a", "put", &long, "v"])
        .output()
        .unwrap();
    let stderr = one_error_line(&output);
    assert!(
        stderr.contains("key is too long (max 2048 bytes)"),
        "{stderr}"
    );
    assert!(stderr.contains("at most 2046 bytes"), "{stderr}");
    let fits = "k".repeat(2046);
    let status = sqlrt()
        .args(["kv", root_text, "a", "put", &fits, "v"])
        .status()
        .unwrap();
    assert!(status.success());
    // A filter that matches nothing fails.
    let output = sqlrt()
        .args(["conformance", "--filter", "no-such-case"])
        .output()
        .unwrap();
    let stderr = one_error_line(&output);
    assert!(stderr.contains("no case matches"), "{stderr}");
    // Help says what ROOT is and names DQLITE_CLUSTER; each command lists its own flags.
    let help = String::from_utf8(sqlrt().arg("--help").output().unwrap().stdout).unwrap();
    assert!(help.contains("DQLITE_CLUSTER"), "{help}");
    let kv_help =
        String::from_utf8(sqlrt().args(["kv", "--help"]).output().unwrap().stdout).unwrap();
    assert!(
        kv_help.contains("a name on the") && kv_help.contains("directory"),
        "{kv_help}"
    );
    let get_help = String::from_utf8(
        sqlrt()
            .args(["kv", "r", "a", "get", "--help"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!get_help.contains("--prefix"), "{get_help}");
    assert!(get_help.contains("--raw"), "{get_help}");
}

#[test]
fn actors_columns_fit_their_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let long_id = "an-actor-id-longer-than-twenty-four-bytes";
    for id in ["a", long_id] {
        let status = sqlrt()
            .args([
                "kv",
                root.to_str().unwrap(),
                id,
                "put",
                "k",
                "v",
                "--create",
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let output = sqlrt()
        .args(["actors", root.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().take(3).collect();
    // Every row's second column starts where the header's does.
    let column = lines[0].find("NAME").unwrap();
    for line in &lines[1..] {
        assert_eq!(&line[column..column + 5], "sqlrt", "{text}");
        assert_eq!(line.as_bytes()[column - 1], b' ', "{text}");
    }
}

/// Ctrl-C during `bench`: it prints what it had measured, exits 130 and leaves no
/// temporary directory behind.
#[test]
fn an_interrupted_bench_prints_what_it_measured_and_cleans_up() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = sqlrt()
        .args([
            "bench",
            "--entries",
            "200",
            "--workload",
            "get",
            "--workload",
            "put",
            "--seconds",
            "30",
            "--no-direct",
            "--backend",
            "rusqlite",
            "--dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted while measuring its first cell: after the template is written.
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("template written"), "{first}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no scratch directory"
    );
    // The get cell takes 30 s; two seconds in, it has measured rounds.
    std::thread::sleep(std::time::Duration::from_secs(2));
    // SAFETY: signals a child process this test spawned.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("Interrupted:"), "{stdout}");
    // On a slow machine the stop may come before the first cell's first round.
    if !stdout.starts_with("Interrupted: 0 cells") {
        assert!(stdout.contains("median paired ratio"), "{stdout}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the scratch directory was left behind"
    );
}
