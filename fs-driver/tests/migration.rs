//! Legacy migration: generated v1/v2/v3 files (rivetkit's own are in the conformance suite), idempotency,
//! populated databases, corrupt files, dry runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{entries, files_under, open, runtime, tempdir, write_legacy_root};
use fs_driver::state::{ActorState, encode_state, legacy};
use fs_driver::{Error, ListOptions, MigrationOptions, migrate_legacy};

fn list_all(driver: &fs_driver::FsDriver, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    driver.kv_list_prefix(id, b"", ListOptions::new()).unwrap()
}

fn state(id: &str, kv: &[(&str, &str)]) -> ActorState {
    ActorState {
        actor_id: id.into(),
        name: "legacy".into(),
        key: vec![id.into()],
        kv_storage: entries(kv),
        created_at: 1_700_000_000_000,
        ..ActorState::default()
    }
}

fn write_state(root: &Path, id: &str, bytes: &[u8]) {
    std::fs::create_dir_all(root.join("state")).unwrap();
    std::fs::write(root.join("state").join(id), bytes).unwrap();
}

fn state_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(root.join("state"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn legacy_v3_files_migrate_with_their_exact_entries() {
    let dir = tempdir();
    write_legacy_root(dir.path());
    let before = state_bytes(dir.path());
    let driver = open(dir.path());
    // The migration never modifies a legacy file (waking an actor rewrites it later).
    assert_eq!(state_bytes(dir.path()), before);
    let report = driver.migration_report().unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.migrated.len(), 2);
    assert_eq!(report.entries_migrated(), 4);
    assert_eq!(
        list_all(&driver, "legacy-actor-one"),
        entries(&[
            ("alpha", "one"),
            ("prefix:1", "value:1"),
            ("prefix:2", "value:2")
        ])
    );
    assert_eq!(
        list_all(&driver, "legacy-actor-two"),
        entries(&[("beta", "two")])
    );
    let info = driver.load_actor("legacy-actor-one").unwrap();
    assert_eq!(info.name, "legacy");
    assert_eq!(info.key, vec!["legacy".to_owned(), "one".to_owned()]);
}

#[test]
fn migration_is_idempotent() {
    let dir = tempdir();
    write_legacy_root(dir.path());
    let first = migrate_legacy(&*runtime(), dir.path(), MigrationOptions::default()).unwrap();
    assert_eq!(first.migrated.len(), 2);
    let second = migrate_legacy(&*runtime(), dir.path(), MigrationOptions::default()).unwrap();
    assert!(second.migrated.is_empty());
    assert_eq!(
        second.skipped_populated,
        vec!["legacy-actor-one".to_owned(), "legacy-actor-two".to_owned()]
    );
    let driver = open(dir.path());
    assert_eq!(list_all(&driver, "legacy-actor-one").len(), 3);
    assert_eq!(list_all(&driver, "legacy-actor-two").len(), 1);
}

#[test]
fn generated_v1_v2_v3_files_migrate() {
    let dir = tempdir();
    let root = dir.path();
    write_state(
        root,
        "v1",
        &legacy::encode_v1(&state("v1", &[]), b"persisted"),
    );
    write_state(
        root,
        "v1-empty",
        &legacy::encode_v1(&state("v1-empty", &[]), b""),
    );
    write_state(
        root,
        "v2",
        &legacy::encode_v2(&state("v2", &[("a", "1"), ("b", "2")])),
    );
    write_state(root, "v3", &encode_state(&state("v3", &[("c", "3")])));
    write_state(root, "v3-empty", &encode_state(&state("v3-empty", &[])));
    let driver = open(root);
    let report = driver.migration_report().unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.scanned, 5);
    assert_eq!(report.without_legacy_data, 1);
    let migrated: Vec<_> = report
        .migrated
        .iter()
        .map(|m| (m.id.as_str(), m.entries))
        .collect();
    assert_eq!(
        migrated,
        vec![("v1", 1), ("v1-empty", 1), ("v2", 2), ("v3", 1)]
    );
    assert_eq!(
        list_all(&driver, "v1"),
        vec![(vec![0x01], b"persisted".to_vec())]
    );
    assert_eq!(
        list_all(&driver, "v1-empty"),
        vec![(vec![0x01], Vec::new())]
    );
    assert_eq!(list_all(&driver, "v2"), entries(&[("a", "1"), ("b", "2")]));
    assert_eq!(list_all(&driver, "v3"), entries(&[("c", "3")]));
    // A version 3 state without entries is a SQLite-era actor: without its database it
    // is not an empty actor but one whose data is missing.
    assert!(matches!(
        driver.kv_get("v3-empty", &[b"k"]),
        Err(fs_driver::Error::DatabaseMissing { .. })
    ));
    assert_eq!(driver.kv_storage_used("v2").unwrap(), 4);
}

#[test]
fn populated_database_is_not_overwritten() {
    let dir = tempdir();
    let root = dir.path();
    {
        let driver = open(root);
        driver
            .create_actor(
                "a",
                "name",
                vec!["key".to_owned()],
                &entries(&[("sqlite", "wins")]),
            )
            .unwrap();
    }
    // The state file now (again) carries legacy entries, e.g. written by an old driver.
    write_state(
        root,
        "a",
        &encode_state(&state("a", &[("legacy", "loses")])),
    );
    let driver = open(root);
    let report = driver.migration_report().unwrap();
    assert_eq!(report.skipped_populated, vec!["a".to_owned()]);
    assert!(report.migrated.is_empty());
    assert_eq!(list_all(&driver, "a"), entries(&[("sqlite", "wins")]));
}

#[test]
fn corrupt_file_is_reported_and_others_migrate() {
    let dir = tempdir();
    let root = dir.path();
    write_legacy_root(root);
    write_state(root, "bad-version", &[9, 0, 1, 2, 3]);
    write_state(
        root,
        "truncated",
        &encode_state(&state("truncated", &[("k", "v")]))[..10],
    );
    let mut huge = vec![3, 0];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // a 4 GiB actorId length
    write_state(root, "huge-length", &huge);
    let mut overflow = vec![3, 0];
    overflow.extend_from_slice(&[0xff; 11]);
    write_state(root, "overflow", &overflow);
    write_state(root, "tmp-ignored.tmp.1234", b"garbage");
    let report = migrate_legacy(&*runtime(), root, MigrationOptions::default()).unwrap();
    assert_eq!(report.migrated.len(), 2);
    assert_eq!(report.failures.len(), 4, "{:?}", report.failures);
    for failure in &report.failures {
        assert!(
            matches!(failure.error, Error::Decode { .. }),
            "{:?}",
            failure.error
        );
        assert!(failure.path.starts_with(root.join("state")));
        assert!(failure.error.to_string().contains("cannot decode"));
    }
    let failed: Vec<_> = report
        .failures
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        failed,
        vec!["bad-version", "huge-length", "overflow", "truncated"]
    );
    // Opening a driver on the root still works; the corrupt actors are not listed.
    let driver = open(root);
    let listed: Vec<_> = driver
        .list_actors(None, 100)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, vec!["legacy-actor-one", "legacy-actor-two"]);
    assert!(matches!(
        driver.load_actor("truncated"),
        Err(Error::Decode { .. })
    ));
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempdir();
    let root = dir.path();
    write_legacy_root(root);
    let before = files_under(root);
    let before_bytes = state_bytes(root);
    let report = migrate_legacy(&*runtime(), root, MigrationOptions { dry_run: true }).unwrap();
    assert!(report.dry_run);
    assert_eq!(report.migrated.len(), 2);
    assert_eq!(report.entries_migrated(), 4);
    assert_eq!(files_under(root), before, "a dry run created files");
    assert_eq!(state_bytes(root), before_bytes);
    // After a real migration, a dry run reports the databases as populated.
    migrate_legacy(&*runtime(), root, MigrationOptions::default()).unwrap();
    let after_migration = files_under(root);
    let report = migrate_legacy(&*runtime(), root, MigrationOptions { dry_run: true }).unwrap();
    assert!(report.migrated.is_empty());
    assert_eq!(report.skipped_populated.len(), 2);
    assert_eq!(
        files_under(root),
        after_migration,
        "a dry run left files behind"
    );
}

#[test]
fn missing_root_migrates_nothing() {
    let dir = tempdir();
    let report = migrate_legacy(
        &*runtime(),
        &dir.path().join("absent"),
        MigrationOptions { dry_run: true },
    )
    .unwrap();
    assert_eq!(report.scanned, 0);
    assert!(!dir.path().join("absent").exists());
}

/// Legacy files are never changed, so the database must remember the migration: after
/// the actor deletes every migrated key, a restart must not bring them back.
#[test]
fn deleted_entries_stay_deleted_after_a_restart() {
    let dir = tempdir();
    let root = dir.path();
    write_legacy_root(root);
    let legacy = state_bytes(root);
    let driver = open(root);
    driver
        .kv_delete_range("legacy-actor-one", b"", b"\xff")
        .unwrap();
    assert!(
        driver
            .kv_list_prefix("legacy-actor-one", b"", ListOptions::new())
            .unwrap()
            .is_empty()
    );
    drop(driver);
    // The state files still hold the legacy entries, as a rivetkit that never woke the
    // actors would leave them: only the migrated mark keeps them from coming back.
    for (name, bytes) in &legacy {
        std::fs::write(root.join("state").join(name), bytes).unwrap();
    }
    let driver = open(root);
    assert!(
        driver
            .kv_list_prefix("legacy-actor-one", b"", ListOptions::new())
            .unwrap()
            .is_empty(),
        "deleted legacy entries came back"
    );
    let report = driver.migration_report().unwrap();
    assert!(report.migrated.is_empty(), "{report:?}");
    assert!(
        report
            .skipped_populated
            .contains(&"legacy-actor-one".to_owned())
    );
}
