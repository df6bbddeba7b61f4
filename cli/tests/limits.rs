//! Hostile input through `sqlrt kv`, on every compiled-in backend: every KV limit at its
//! boundary (one error line naming the limit, non-zero exit, nothing written), and actor
//! ids that try path traversal (rejected, nothing created).
//!
//! A value of 128 KiB does not fit in one argument (Linux caps an argument at 131072
//! bytes with its NUL), so the value limit goes through `@PATH` (a file's bytes) and `@-`
//! (standard input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The compiled-in backends whose databases are local files (the checks compare roots
/// byte for byte).
fn backends() -> Vec<&'static str> {
    sqlite_runtime_backends::compiled_backends()
        .into_iter()
        .filter(|backend| {
            backend.runtime().is_some_and(|runtime| {
                runtime
                    .capabilities()
                    .has(sqlite_runtime::Capability::LocalFiles)
            })
        })
        .map(|backend| backend.name)
        .collect()
}

fn kv(backend: &str, root: &Path, actor: &str, args: &[String]) -> std::process::Output {
    Command::cargo_bin("sqlrt")
        .unwrap()
        .env_remove("SQLITE_RUNTIME")
        .arg("--backend")
        .arg(backend)
        .arg("kv")
        .arg(root)
        .arg(actor)
        .args(args)
        .output()
        .unwrap()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// Every file under `dir` with its bytes (directories as empty).
/// Every file under `dir` and its bytes (`-shm` files left out). State files are shown
/// without their wake and sleep times: every `sqlrt kv` wakes the actor and puts it back
/// to sleep, and records both, even when the request is refused.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path.clone());
                out.insert(path, Vec::new());
            } else if !path.to_string_lossy().ends_with("-shm") {
                let mut bytes = std::fs::read(&path).unwrap_or_default();
                if path
                    .parent()
                    .is_some_and(|parent| parent.ends_with("state"))
                {
                    let (_, mut state) = fs_driver::state::decode_state(&bytes).unwrap();
                    (state.start_ts, state.connectable_ts, state.sleep_ts) = (None, None, None);
                    bytes = fs_driver::state::encode_state(&state);
                }
                out.insert(path.clone(), bytes);
            }
        }
    }
    out
}

/// The values of `keys`, read back through `sqlrt kv get --json`.
fn get(backend: &str, root: &Path, keys: &[String]) -> Vec<Value> {
    let mut args = vec!["--json".to_owned(), "get".to_owned()];
    args.extend(keys.iter().cloned());
    let output = kv(backend, root, "actor", &args);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = json["entries"].as_array().unwrap().clone();
    // Exit 1 exactly when a key is missing.
    let missing = entries.iter().any(Value::is_null);
    assert_eq!(
        output.status.code(),
        Some(i32::from(missing)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    entries
}

fn expect_refused(backend: &str, case: &str, output: &std::process::Output, message: &str) {
    assert!(!output.status.success(), "{backend}: {case} was accepted");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{backend}: {case}: {stderr}"
    );
    assert!(stderr.contains(message), "{backend}: {case}: {stderr}");
}

fn key(len: usize) -> String {
    "k".repeat(len)
}

/// `KEY VALUE` arguments whose put payload (sum of key + 2 + value) is exactly `total`,
/// every value short enough to be one argument.
fn payload_args(total: usize) -> (Vec<String>, Vec<String>) {
    let (mut args, mut keys) = (Vec::new(), Vec::new());
    let mut left = total;
    let mut index = 0;
    while left > 0 {
        let value = (left - 4).min(120_000);
        let name = format!("p{index}");
        args.push(name.clone());
        args.push("v".repeat(value));
        keys.push(name);
        left -= 4 + value;
        index += 1;
    }
    (args, keys)
}

#[test]
fn every_limit_at_its_boundary_through_sqlrt() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let create = kv(
            backend,
            &root,
            "actor",
            &strings(&["--create", "put", "seed", "1"]),
        );
        assert!(
            create.status.success(),
            "{}",
            String::from_utf8_lossy(&create.stderr)
        );
        let mut cases = 0;
        // Accepted exactly at the boundary.
        let ok = |args: Vec<String>| {
            let output = kv(backend, &root, "actor", &args);
            assert!(
                output.status.success(),
                "{backend}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        ok(vec!["put".into(), key(2046), "v".into()]);
        ok(vec!["get".into(), key(2046)]);
        let many: Vec<String> = (0..128)
            .flat_map(|i| [format!("m{i}"), "v".into()])
            .collect();
        ok([vec!["put".to_owned()], many].concat());
        ok([
            vec!["get".to_owned()],
            (0..128).map(|i| format!("m{i}")).collect(),
        ]
        .concat());
        ok(vec!["put".into(), "big".into(), "v".repeat(131_071)]);
        // The largest value, from a file and from standard input.
        let largest = dir.path().join("largest.bin");
        let too_big = dir.path().join("too-big.bin");
        std::fs::write(&largest, vec![0xa5; 131_072]).unwrap();
        std::fs::write(&too_big, vec![0x5a; 131_073]).unwrap();
        ok(vec![
            "put".into(),
            "file".into(),
            format!("@{}", largest.display()),
            "--create".into(),
        ]);
        let piped = Command::cargo_bin("sqlrt")
            .unwrap()
            .env_remove("SQLITE_RUNTIME")
            .args(["--backend", backend, "kv"])
            .arg(&root)
            .args(["actor", "put", "stdin", "@-"])
            .write_stdin(vec![0x3c; 131_072])
            .output()
            .unwrap();
        assert!(piped.status.success(), "{backend}: put @-");
        let stored = get(backend, &root, &strings(&["file", "stdin"]));
        assert_eq!(stored[0]["value_hex"], "a5".repeat(131_072), "{backend}");
        assert_eq!(stored[1]["value_hex"], "3c".repeat(131_072), "{backend}");
        let (exact, exact_keys) = payload_args(999_424);
        ok([vec!["put".to_owned()], exact].concat());
        assert!(
            get(backend, &root, &exact_keys)
                .iter()
                .all(|e| !e.is_null())
        );
        cases += 9;

        // Refused one step over, with nothing written.
        let before = files(&root);
        let (over, _) = payload_args(999_425);
        let refused: Vec<(&str, Vec<String>, &str, Vec<String>)> = vec![
            (
                "put value 131073",
                vec![
                    "put".into(),
                    "too-big".into(),
                    format!("@{}", too_big.display()),
                ],
                "value is too large (max 128 KiB)",
                vec!["too-big".into()],
            ),
            (
                "put key 2047",
                vec!["put".into(), key(2047), "v".into()],
                "key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "get key 2047",
                vec!["get".into(), key(2047)],
                "key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "delete key 2047",
                vec!["delete".into(), key(2047)],
                "key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "delete-range start 2047",
                vec!["delete-range".into(), key(2047), "z".into()],
                "start key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "delete-range end 2047",
                vec!["delete-range".into(), "a".into(), key(2047)],
                "end key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "list prefix 2047",
                vec!["list".into(), "--prefix".into(), key(2047)],
                "prefix key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "list start 2047",
                vec![
                    "list".into(),
                    "--start".into(),
                    key(2047),
                    "--end".into(),
                    "z".into(),
                ],
                "start key is too long (max 2048 bytes)",
                vec![],
            ),
            (
                "put 129 keys",
                [
                    vec!["put".to_owned()],
                    (0..129)
                        .flat_map(|i| [format!("n{i}"), "v".into()])
                        .collect(),
                ]
                .concat(),
                "A maximum of 128 key-value entries is allowed",
                vec!["n0".into(), "n128".into()],
            ),
            (
                "get 129 keys",
                [
                    vec!["get".to_owned()],
                    (0..129).map(|i| format!("m{i}")).collect(),
                ]
                .concat(),
                "a maximum of 128 keys is allowed",
                vec![],
            ),
            (
                "delete 129 keys",
                [
                    vec!["delete".to_owned()],
                    (0..129).map(|i| format!("m{i}")).collect(),
                ]
                .concat(),
                "a maximum of 128 keys is allowed",
                vec![],
            ),
            (
                "payload 976 KiB + 1",
                [vec!["put".to_owned()], over].concat(),
                "total payload is too large (max 976 KiB)",
                vec![],
            ),
        ];
        for (case, args, message, absent) in &refused {
            let output = kv(backend, &root, "actor", args);
            expect_refused(backend, case, &output, message);
            assert_eq!(files(&root), before, "{backend}: {case} changed the root");
            if !absent.is_empty() {
                assert!(get(backend, &root, absent).iter().all(Value::is_null));
            }
            cases += 1;
        }
        // The 129-entry put above reused none of the payload keys: they hold their values.
        assert!(
            get(backend, &root, &exact_keys)
                .iter()
                .all(|e| !e.is_null())
        );
        eprintln!("{backend}: {cases} boundary cases through sqlrt");
    }
}

#[test]
fn hostile_actor_ids_through_sqlrt_create_nothing() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a").join("b").join("root");
        std::fs::create_dir_all(&root).unwrap();
        let made = kv(
            backend,
            &root,
            "fine",
            &strings(&["--create", "put", "k", "v"]),
        );
        assert!(made.status.success());
        let before = files(dir.path());
        for id in [
            "..",
            ".",
            "../escape",
            "../../../../tmp/escape",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "x.tmp.y",
            "a.tmp",
            "new\nline",
            &"x".repeat(256),
        ] {
            for args in [
                strings(&["--create", "put", "k", "v"]),
                strings(&["get", "k"]),
                strings(&["delete-range", "a", "z"]),
            ] {
                let output = kv(backend, &root, id, &args);
                expect_refused(backend, id, &output, "invalid actor id");
            }
        }
        assert_eq!(
            files(dir.path()),
            before,
            "{backend}: a rejected id touched the disk"
        );
    }
}
