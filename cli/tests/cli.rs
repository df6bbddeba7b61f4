#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end tests of the `sqlrt` binary on temporary storage roots.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn sqlrt() -> Command {
    let mut command = Command::cargo_bin("sqlrt").unwrap();
    command
        .env_remove("SQLITE_RUNTIME")
        .env_remove("DQLITE_CLUSTER");
    command
}

/// A storage root holding copies of rivetkit's legacy state files.
fn fixture_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    conformance_tests::fixtures::write_rivetkit_legacy_root(&root).unwrap();
    (dir, root)
}

fn json_of(command: &mut Command) -> Value {
    let output = command.arg("--json").output().unwrap();
    assert!(
        output.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr, which must be one line.
fn error_of(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(!output.status.success(), "{command:?} succeeded");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn backends_lists_every_known_backend() {
    let doc = json_of(sqlrt().arg("backends"));
    let names: Vec<&str> = doc["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rusqlite", "sqlite", "sqlx", "dqlite"]);
    let (local, dqlite) = doc["backends"].as_array().unwrap().split_at(3);
    // Without DQLITE_CLUSTER the dqlite backend is compiled in and says what it lacks.
    let dqlite = &dqlite[0];
    assert_eq!(dqlite["compiled"], true);
    assert_eq!(dqlite["loaded"], false);
    assert_eq!(dqlite["config"]["DQLITE_CLUSTER"], serde_json::Value::Null);
    assert!(
        dqlite["error"]
            .as_str()
            .unwrap()
            .contains("DQLITE_CLUSTER is not set"),
        "{dqlite}"
    );
    for backend in local {
        assert_eq!(backend["compiled"], true);
        assert_eq!(backend["loaded"], true, "{backend}");
        assert!(
            backend["sqlite_version"]
                .as_str()
                .unwrap()
                .starts_with("3.")
        );
    }
    assert_eq!(doc["selected"], "rusqlite");

    let doc = json_of(sqlrt().args(["backends", "--backend", "sqlx"]));
    assert_eq!(doc["selected"], "sqlx");
    let doc = json_of(sqlrt().arg("backends").env("SQLITE_RUNTIME", "sqlite"));
    assert_eq!(doc["selected"], "sqlite");

    let text = sqlrt().arg("backends").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("rusqlite") && text.contains("load() picks this"),
        "{text}"
    );
}

#[test]
fn unknown_backend_is_one_line_listing_valid_names() {
    let stderr = error_of(sqlrt().args(["backends", "--backend", "oracle"]));
    assert!(
        stderr.contains("valid names are rusqlite, sqlite, sqlx, dqlite"),
        "{stderr}"
    );
    let stderr = error_of(sqlrt().arg("actors").arg(".").env("SQLITE_RUNTIME", "nope"));
    assert!(stderr.contains("unknown SQLite backend `nope`"), "{stderr}");
}

#[test]
fn conformance_runs_selected_backends_and_reports_json() {
    let doc = json_of(sqlrt().args([
        "conformance",
        "--backend",
        "rusqlite",
        "--backend",
        "sqlx",
        "--filter",
        "runtime::values",
    ]));
    assert_eq!(doc["ok"], true, "{doc}");
    let backends = doc["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 2);
    for backend in backends {
        let passed = backend["passed"].as_u64().unwrap();
        assert!(passed >= 5, "{backend}");
        assert_eq!(backend["failed"], 0);
        assert_eq!(backend["cases"].as_array().unwrap().len() as u64, passed);
    }
    let output = sqlrt()
        .args([
            "conformance",
            "--backend",
            "sqlite",
            "--filter",
            "runtime::exec",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("sqlite ")), "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn migrate_dry_run_then_real_run_on_rivetkit_fixtures() {
    let (_dir, root) = fixture_root();
    let before: Vec<Vec<u8>> = ["legacy-actor-one", "legacy-actor-two"]
        .iter()
        .map(|n| std::fs::read(root.join("state").join(n)).unwrap())
        .collect();

    let dry = json_of(sqlrt().arg("migrate").arg(&root).arg("--dry-run"));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["entries_migrated"], 4);
    assert!(
        !root.join("databases").exists(),
        "a dry run wrote databases"
    );

    let report = json_of(sqlrt().arg("migrate").arg(&root));
    assert_eq!(report["scanned"], 2);
    assert_eq!(
        report["migrated"],
        serde_json::json!([
            {"id": "legacy-actor-one", "entries": 3},
            {"id": "legacy-actor-two", "entries": 1}
        ])
    );
    assert_eq!(report["failures"], serde_json::json!([]));

    let again = json_of(sqlrt().arg("migrate").arg(&root));
    assert_eq!(again["entries_migrated"], 0);
    assert_eq!(
        again["skipped_populated"],
        serde_json::json!(["legacy-actor-one", "legacy-actor-two"])
    );
    for (name, bytes) in ["legacy-actor-one", "legacy-actor-two"].iter().zip(&before) {
        assert_eq!(
            &std::fs::read(root.join("state").join(name)).unwrap(),
            bytes
        );
    }

    let list = json_of(
        sqlrt()
            .arg("kv")
            .arg(&root)
            .args(["legacy-actor-one", "list"]),
    );
    let pairs: Vec<(&str, &str)> = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["key"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("alpha", "one"),
            ("prefix:1", "value:1"),
            ("prefix:2", "value:2")
        ]
    );
}

#[test]
fn migrate_reports_corrupt_files_and_still_succeeds() {
    let (_dir, root) = fixture_root();
    std::fs::write(root.join("state").join("broken"), [9, 0, 1, 2]).unwrap();
    let report = json_of(sqlrt().arg("migrate").arg(&root));
    assert_eq!(report["entries_migrated"], 4);
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert!(failures[0]["path"].as_str().unwrap().ends_with("broken"));

    let stderr = error_of(sqlrt().arg("migrate").arg(root.join("missing")));
    assert!(stderr.contains("missing"), "{stderr}");
    let stderr = error_of(
        sqlrt()
            .arg("migrate")
            .arg(root.join("state").join("broken")),
    );
    assert!(stderr.contains("is not a directory"), "{stderr}");
}

#[test]
fn actors_lists_metadata_counts_and_sizes() {
    let (_dir, root) = fixture_root();
    json_of(sqlrt().arg("migrate").arg(&root));
    let doc = json_of(sqlrt().arg("actors").arg(&root));
    let actors = doc["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 2);
    assert_eq!(actors[0]["id"], "legacy-actor-one");
    assert_eq!(actors[0]["name"], "legacy");
    assert_eq!(actors[0]["key"], serde_json::json!(["legacy", "one"]));
    assert_eq!(actors[0]["entries"], 3);
    assert_eq!(actors[1]["entries"], 1);
    assert!(actors[0]["db_size_bytes"].as_u64().unwrap() > 0);
    assert!(actors[0]["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(actors[0]["started_at_ms"], Value::Null, "never woken");

    // A write wakes the actor and puts it back to sleep: both are in its state file.
    sqlrt()
        .args(["kv"])
        .arg(&root)
        .args(["legacy-actor-one", "put", "k", "v"])
        .assert()
        .success();
    let doc = json_of(sqlrt().arg("actors").arg(&root));
    let one = &doc["actors"][0];
    let started = one["started_at_ms"].as_u64().expect("started");
    let slept = one["slept_at_ms"].as_u64().expect("slept");
    assert!(slept >= started, "{one}");
    let text = sqlrt().arg("actors").arg(&root).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("STARTED") && text.contains("SLEPT"), "{text}");
}

#[test]
fn kv_round_trip_with_text_hex_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let kv = |args: &[&str]| {
        let mut command = sqlrt();
        command.arg("kv").arg(root).arg("a1").args(args);
        command
    };
    let stderr = error_of(&mut kv(&["get", "x"]));
    assert!(stderr.contains("--create"), "{stderr}");

    // --create stands anywhere on the line.
    kv(&[
        "put", "b", "2", "a", "1", "hex:00ff", "hex:ff00", "--create",
    ])
    .assert()
    .success();
    kv(&["put", "prefix:1", "one", "prefix:2", "two"])
        .assert()
        .success();

    // A missing key: null in JSON, and the exit status is 1.
    let output = kv(&["get", "a", "missing", "hex:00ff", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    let entries = got["entries"].as_array().unwrap();
    assert_eq!(entries[0]["key"], "a");
    assert_eq!(entries[0]["value"], "1");
    assert_eq!(entries[0]["value_hex"], "31");
    assert_eq!(entries[1], Value::Null);
    assert_eq!(entries[2]["key_hex"], "00ff");
    assert!(
        entries[2].get("key").is_none(),
        "invalid UTF-8 has no text form"
    );
    assert_eq!(entries[2]["value_hex"], "ff00");

    let text = kv(&["list"]).output().unwrap();
    assert_eq!(
        String::from_utf8(text.stdout).unwrap(),
        "hex:00ff\thex:ff00\nhex:01\thex:0400000001f700\na\t1\nb\t2\nprefix:1\tone\nprefix:2\ttwo\n",
        "--create wrote rivetkit's persisted-actor record under 0x01"
    );
    // `list`'s options follow `list`.
    let listed = json_of(&mut kv(&[
        "list",
        "--prefix",
        "prefix:",
        "--reverse",
        "--limit",
        "1",
    ]));
    assert_eq!(listed["entries"].as_array().unwrap().len(), 1);
    assert_eq!(listed["entries"][0]["key"], "prefix:2");
    let ranged = json_of(&mut kv(&["list", "--start", "a", "--end", "b"]));
    assert_eq!(ranged["entries"].as_array().unwrap().len(), 1);

    // `get --raw` writes one value's bytes, binary-safe.
    let raw = kv(&["get", "hex:00ff", "--raw"]).output().unwrap();
    assert!(raw.status.success());
    assert_eq!(raw.stdout, [0xff, 0x00]);
    let missing = kv(&["get", "never-there", "--raw"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());

    // Deletes say how many keys they removed.
    let deleted = kv(&["delete", "a", "never-there"]).output().unwrap();
    assert!(deleted.status.success());
    assert_eq!(
        String::from_utf8(deleted.stdout).unwrap(),
        "removed 1 key\n"
    );
    let ranged = json_of(&mut kv(&["delete-range", "prefix:", "prefix;"]));
    assert_eq!(ranged["removed"], 2);
    let rest = json_of(&mut kv(&["list"]));
    let keys: Vec<&str> = rest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key_hex"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["00ff", "01", "62"]);

    // Every backend reads what another wrote.
    for backend in ["sqlite", "sqlx"] {
        let doc = json_of(kv(&["get", "b"]).args(["--backend", backend]));
        assert_eq!(doc["entries"][0]["value"], "2", "{backend}");
    }
}

#[test]
fn kv_rejects_bad_input_in_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sqlrt()
        .arg("kv")
        .arg(root)
        .args(["a1", "--create", "put", "k", "v"])
        .assert()
        .success();
    let long_key = "k".repeat(2047);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["a1", "put", long_key.as_str(), "v"],
            "key is too long (max 2048 bytes)",
        ),
        (
            vec!["a1", "get", long_key.as_str()],
            "key is too long (max 2048 bytes)",
        ),
        (
            vec!["a1", "list", "--prefix", long_key.as_str()],
            "prefix key is too long",
        ),
        (vec!["a1", "put", "k"], "has no value"),
        (vec!["a1", "put", "hex:0", "v"], "even number of digits"),
        (vec!["../escape", "get", "k"], "invalid actor id"),
        (vec!["a/b", "--create", "put", "k", "v"], "invalid actor id"),
        (
            vec!["x.tmp.y", "--create", "put", "k", "v"],
            "invalid actor id",
        ),
    ];
    for (args, expected) in cases {
        let stderr = error_of(sqlrt().arg("kv").arg(root).args(&args));
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let keys: Vec<String> = (0..129).map(|i| format!("k{i}")).collect();
    let stderr = error_of(
        sqlrt()
            .arg("kv")
            .arg(root)
            .args(["a1", "delete"])
            .args(&keys),
    );
    assert!(
        stderr.contains("a maximum of 128 keys is allowed"),
        "{stderr}"
    );

    let doc = json_of(sqlrt().arg("kv").arg(root).args(["a1", "list"]));
    assert_eq!(doc["entries"].as_array().unwrap().len(), 2, "{doc}");
    let actors = json_of(sqlrt().arg("actors").arg(root));
    assert_eq!(actors["actors"].as_array().unwrap().len(), 1);
    assert!(!root.parent().unwrap().join("escape").exists());
}

#[test]
fn every_command_has_help_with_an_example() {
    for command in [
        "backends",
        "conformance",
        "migrate",
        "actors",
        "kv",
        "bench",
    ] {
        let output = sqlrt().args([command, "--help"]).output().unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Example:"), "{command}: {text}");
    }
    for op in ["get", "put", "delete", "delete-range", "list"] {
        let output = sqlrt()
            .args(["kv", "r", "a", op, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{op}");
        assert!(
            String::from_utf8(output.stdout)
                .unwrap()
                .contains("Example:"),
            "{op}"
        );
    }
}

/// `sqlrt node` runs the node program with its arguments untouched, and says how to get
/// it when it is missing.
#[test]
fn node_runs_sqlrt_node_or_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = error_of(
        sqlrt()
            .env("SQLRT_NODE", dir.path().join("no-such-program"))
            .args(["node", "--dir", "x"]),
    );
    assert!(missing.contains("no-such-program"), "{missing}");

    // The program beside sqlrt (built by `cargo test --workspace`) refuses an address
    // beyond loopback without --expose: its own refusal comes back through sqlrt.
    let beside = PathBuf::from(env!("CARGO_BIN_EXE_sqlrt")).with_file_name("sqlrt-node");
    if !beside.is_file() {
        assert!(
            std::env::var("SQLRT_REQUIRE_DQLITE").as_deref() != Ok("1"),
            "{} is not built",
            beside.display()
        );
        println!("SKIPPED node_runs_sqlrt_node_or_says_how_to_get_it: sqlrt-node not built");
        return;
    }
    let data = dir.path().join("n1");
    let output = sqlrt()
        .env_remove("SQLRT_NODE")
        .args(["node", "--address", "10.255.0.1:9001", "--dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let refused = String::from_utf8(output.stderr).unwrap();
    assert_eq!(refused.trim_end().lines().count(), 1, "{refused}");
    assert!(refused.starts_with("sqlrt-node: "), "{refused}");
    assert!(refused.contains("not a loopback address"), "{refused}");
    assert!(!data.exists());
    let help = sqlrt().args(["node", "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--latency-ms"));
}
