//! Read-only inspection of a storage root.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{files_under, open, runtime, tempdir, write_legacy_root};
use fs_driver::inspect_root;

#[test]
fn inspect_lists_metadata_counts_and_sizes_without_writing() {
    let dir = tempdir();
    let root = dir.path();
    write_legacy_root(root);
    {
        let driver = open(root);
        driver
            .create_actor(
                "fresh",
                "counter",
                vec!["k".into()],
                &[(b"a", b"1"), (b"b", b"2")],
            )
            .unwrap();
        driver.set_alarm("fresh", 99).unwrap();
    }
    std::fs::write(root.join("state/broken"), [7, 0]).unwrap();
    let before = files_under(root);
    let report = inspect_root(&*runtime(), root).unwrap();
    assert_eq!(files_under(root), before, "inspection wrote files");
    let ids: Vec<_> = report.actors.iter().map(|a| a.info.id.as_str()).collect();
    assert_eq!(ids, ["fresh", "legacy-actor-one", "legacy-actor-two"]);
    let fresh = &report.actors[0];
    assert_eq!(fresh.info.name, "counter");
    assert_eq!(fresh.info.key, vec!["k".to_owned()]);
    assert!(fresh.info.created_at > 1_700_000_000_000);
    assert_eq!(fresh.entries, Some(2));
    assert!(fresh.db_size_bytes > 0);
    assert_eq!(fresh.alarm, Some(99));
    assert_eq!(fresh.state_version, 3);
    assert_eq!(fresh.legacy_entries, 0);
    let one = &report.actors[1];
    assert_eq!(one.legacy_entries, 3);
    assert_eq!(
        one.entries,
        Some(3),
        "migrated when the driver opened the root"
    );
    assert_eq!(report.failures.len(), 1);
    assert!(report.failures[0].path.ends_with("state/broken"));
}

#[test]
fn inspect_of_an_unmigrated_root_reports_no_database() {
    let dir = tempdir();
    write_legacy_root(dir.path());
    let report = inspect_root(&*runtime(), dir.path()).unwrap();
    assert_eq!(report.actors.len(), 2);
    assert!(
        report
            .actors
            .iter()
            .all(|a| a.entries.is_none() && a.db_size_bytes == 0)
    );
    assert!(!dir.path().join("databases").exists());
}

/// A database in rollback-journal mode (written by another tool) is inspected, and
/// dry-run migrated, without being switched to WAL: its bytes stay the same.
#[test]
fn inspection_keeps_a_rollback_journal_database_unchanged() {
    use sqlite_runtime::{JournalMode, OpenOptions, Target};

    let dir = tempdir();
    let root = dir.path();
    {
        let driver = open(root);
        driver
            .create_actor("a", "n", vec![], &[(b"k", b"v")])
            .unwrap();
    }
    let db_path = root.join("databases/a.db");
    let mut db = runtime()
        .open(
            &Target::file(&db_path),
            &OpenOptions::new().journal_mode(JournalMode::Delete),
        )
        .unwrap();
    db.close().unwrap();
    let before = std::fs::read(&db_path).unwrap();
    assert_eq!(before[18], 1, "set up a rollback-journal database");

    let report = inspect_root(&*runtime(), root).unwrap();
    assert_eq!(report.actors[0].entries, Some(1));
    fs_driver::migrate_legacy(
        &*runtime(),
        root,
        fs_driver::MigrationOptions { dry_run: true },
    )
    .unwrap();
    assert_eq!(
        std::fs::read(&db_path).unwrap(),
        before,
        "the database changed"
    );
}
