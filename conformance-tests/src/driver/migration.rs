//! Legacy migration: KV entries kept in old state files are copied into SQLite at
//! start-up, on rivetkit's real files and on version 1 and 2 files.

use fs_driver::state::{ActorState, decode_state, legacy};
use fs_driver::{DriverOptions, MigratedActor, MigrationOptions, migrate_legacy};
use sqlite_runtime::{OpenOptions, Target};

use super::support::{
    FIXTURES, all, copy_fixtures, entries, expect_err, files_under, open, open_with,
};
use crate::{CaseResult, Context};

fn fixture_one() -> Vec<(Vec<u8>, Vec<u8>)> {
    entries(&[
        ("alpha", "one"),
        ("prefix:1", "value:1"),
        ("prefix:2", "value:2"),
    ])
}

fn fixture_two() -> Vec<(Vec<u8>, Vec<u8>)> {
    entries(&[("beta", "two")])
}

fn state_bytes(cx: &Context) -> Vec<Vec<u8>> {
    FIXTURES
        .iter()
        .map(|name| std::fs::read(cx.dir().join("state").join(name)).expect("read a state file"))
        .collect()
}

/// Opening a root holding rivetkit's real state files migrates their entries into
/// SQLite, exactly; the migration does not modify the state files; the actors load with
/// their metadata, and waking one rewrites its state file as rivetkit would: without
/// the migrated entries, with the wake's timestamps.
pub(crate) fn migration_real_fixtures(cx: &Context) -> CaseResult {
    let originals = copy_fixtures(cx.dir());
    for (name, bytes) in FIXTURES.iter().zip(&originals) {
        let (version, state) = decode_state(bytes)?;
        assert_eq!(version, 3, "{name}");
        assert_eq!(state.actor_id, *name);
    }
    let driver = open(cx);
    assert_eq!(
        state_bytes(cx),
        originals,
        "the migration modified a state file"
    );
    let report = driver.migration_report().ok_or("no migration report")?;
    assert_eq!(report.scanned, 2);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(
        report.migrated,
        vec![
            MigratedActor {
                id: "legacy-actor-one".into(),
                entries: 3
            },
            MigratedActor {
                id: "legacy-actor-two".into(),
                entries: 1
            },
        ]
    );
    assert_eq!(all(&driver, "legacy-actor-one"), fixture_one());
    assert_eq!(all(&driver, "legacy-actor-two"), fixture_two());
    assert_eq!(
        driver.kv_list_prefix(
            "legacy-actor-one",
            b"prefix:",
            fs_driver::ListOptions::new()
        )?,
        entries(&[("prefix:1", "value:1"), ("prefix:2", "value:2")])
    );
    let listed: Vec<String> = driver
        .list_actors(None, 10)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, FIXTURES.to_vec());
    let (_, state) = decode_state(&originals[0])?;
    let info = driver.load_actor("legacy-actor-one")?;
    assert_eq!(
        (info.name, info.key, info.created_at),
        (state.name.clone(), state.key.clone(), state.created_at)
    );
    let (version, woken) = decode_state(&state_bytes(cx)[0])?;
    assert_eq!(version, 3);
    assert!(
        woken.kv_storage.is_empty(),
        "migrated entries left in the file"
    );
    assert!(woken.start_ts.is_some() && woken.start_ts == woken.connectable_ts);
    assert_eq!(woken.sleep_ts, None);
    assert_eq!(
        (woken.actor_id, woken.name, woken.key, woken.created_at),
        (state.actor_id, state.name, state.key, state.created_at)
    );
    // The entries count against storage like any other.
    assert_eq!(driver.kv_storage_used("legacy-actor-two")?, 7);
    Ok(())
}

/// Running the migration again changes nothing: the migrated databases are left alone
/// (reported as such), even after the actor changed its data and even when the state
/// files still hold the legacy entries (as after a rivetkit that never rewrote them).
pub(crate) fn migration_is_idempotent(cx: &Context) -> CaseResult {
    let originals = copy_fixtures(cx.dir());
    let driver = open(cx);
    driver.kv_delete("legacy-actor-one", &[b"alpha"])?;
    driver.kv_put("legacy-actor-two", &entries(&[("beta", "changed")]))?;
    drop(driver);
    let restore = || -> std::io::Result<()> {
        for (name, bytes) in FIXTURES.iter().zip(&originals) {
            std::fs::write(cx.dir().join("state").join(name), bytes)?;
        }
        Ok(())
    };
    let changed_one = entries(&[("prefix:1", "value:1"), ("prefix:2", "value:2")]);
    let changed_two = entries(&[("beta", "changed")]);
    for round in 0..2 {
        restore()?;
        let driver = open(cx);
        let report = driver.migration_report().ok_or("no migration report")?;
        assert!(
            report.migrated.is_empty(),
            "round {round}: {:?}",
            report.migrated
        );
        assert_eq!(
            report.skipped_populated,
            FIXTURES.to_vec(),
            "round {round}: {report:?}"
        );
        assert_eq!(
            all(&driver, "legacy-actor-one"),
            changed_one,
            "round {round}"
        );
        assert_eq!(
            all(&driver, "legacy-actor-two"),
            changed_two,
            "round {round}"
        );
        drop(driver);
        restore()?;
        let report = migrate_legacy(&**cx.runtime(), cx.dir(), MigrationOptions::default())?;
        assert!(report.migrated.is_empty());
        assert_eq!(report.entries_migrated(), 0);
        assert_eq!(
            state_bytes(cx),
            originals,
            "the migration wrote a state file"
        );
    }
    Ok(())
}

/// A database that already holds a row wins over legacy entries: it is left untouched
/// while the other actors migrate.
pub(crate) fn migration_sqlite_data_wins(cx: &Context) -> CaseResult {
    copy_fixtures(cx.dir());
    std::fs::create_dir_all(cx.dir().join("databases"))?;
    let mut db = cx.runtime().open(
        &Target::file(cx.dir().join("databases/legacy-actor-one.db")),
        &OpenOptions::new(),
    )?;
    db.exec(
        "CREATE TABLE kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL);
         INSERT INTO kv VALUES (CAST('alpha' AS BLOB), CAST('sqlite' AS BLOB));",
    )?;
    db.close()?;
    let driver = open(cx);
    let report = driver.migration_report().ok_or("no migration report")?;
    assert_eq!(
        report.skipped_populated,
        vec!["legacy-actor-one".to_owned()]
    );
    assert_eq!(
        report.migrated,
        vec![MigratedActor {
            id: "legacy-actor-two".into(),
            entries: 1
        }]
    );
    assert_eq!(
        all(&driver, "legacy-actor-one"),
        entries(&[("alpha", "sqlite")])
    );
    assert_eq!(all(&driver, "legacy-actor-two"), fixture_two());
    Ok(())
}

/// Version 1 files (`persistedData` becomes key 0x01, even when empty) and version 2
/// files migrate; an undecodable file is reported and skipped while the others migrate;
/// `.tmp.` files are not actors; a file without legacy entries needs nothing.
pub(crate) fn migration_v1_v2_and_bad_files(cx: &Context) -> CaseResult {
    let state_dir = cx.dir().join("state");
    std::fs::create_dir_all(&state_dir)?;
    let base = |id: &str| ActorState {
        actor_id: id.to_owned(),
        name: format!("name-{id}"),
        key: vec!["k".into()],
        created_at: 1_600_000_000_000,
        ..ActorState::default()
    };
    std::fs::write(
        state_dir.join("v1"),
        legacy::encode_v1(&base("v1"), b"persisted\0\xff"),
    )?;
    std::fs::write(
        state_dir.join("v1-empty"),
        legacy::encode_v1(&base("v1-empty"), b""),
    )?;
    let mut v2 = base("v2");
    v2.kv_storage = vec![
        (b"k1".to_vec(), b"v1".to_vec()),
        (vec![0x00, 0xff], Vec::new()),
    ];
    std::fs::write(state_dir.join("v2"), legacy::encode_v2(&v2))?;
    std::fs::write(
        state_dir.join("v2-none"),
        legacy::encode_v2(&base("v2-none")),
    )?;
    let mut bad = legacy::encode_v2(&v2);
    bad[..2].copy_from_slice(&9u16.to_le_bytes());
    std::fs::write(state_dir.join("bad"), &bad)?;
    std::fs::write(state_dir.join("v2.tmp.1234"), legacy::encode_v2(&v2))?;

    let driver = open(cx);
    let report = driver.migration_report().ok_or("no migration report")?;
    assert_eq!(report.scanned, 5, "the .tmp. file is not an actor");
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].path.ends_with("state/bad"));
    assert_eq!(report.without_legacy_data, 1);
    let migrated: Vec<(String, usize)> = report
        .migrated
        .iter()
        .map(|m| (m.id.clone(), m.entries))
        .collect();
    assert_eq!(
        migrated,
        vec![("v1".into(), 1), ("v1-empty".into(), 1), ("v2".into(), 2)]
    );
    assert_eq!(
        all(&driver, "v1"),
        vec![(vec![0x01], b"persisted\0\xff".to_vec())]
    );
    assert_eq!(all(&driver, "v1-empty"), vec![(vec![0x01], Vec::new())]);
    let mut sorted = v2.kv_storage.clone();
    sorted.sort();
    assert_eq!(all(&driver, "v2"), sorted);
    assert!(all(&driver, "v2-none").is_empty());
    assert_eq!(driver.load_actor("v1")?.name, "name-v1");
    assert!(
        !cx.dir().join("databases/v2.tmp.1234.db").exists(),
        "a temporary file was migrated"
    );
    Ok(())
}

/// A dry run reports what would migrate and writes nothing; a driver opened with the
/// migration disabled leaves the legacy entries where they are.
pub(crate) fn migration_dry_run_and_disabled(cx: &Context) -> CaseResult {
    copy_fixtures(cx.dir());
    let before = files_under(cx.dir());
    let report = migrate_legacy(
        &**cx.runtime(),
        cx.dir(),
        MigrationOptions { dry_run: true },
    )?;
    assert!(report.dry_run);
    assert_eq!(report.entries_migrated(), 4);
    assert_eq!(files_under(cx.dir()), before, "a dry run wrote files");

    let driver = open_with(cx, DriverOptions::new().migrate_legacy(false));
    assert!(driver.migration_report().is_none());
    // Not migrated, the actor has no database: an error naming it, never an empty actor.
    let error = expect_err(driver.kv_get("legacy-actor-one", &[b"alpha"]), "unmigrated");
    assert!(
        matches!(&error, fs_driver::Error::DatabaseMissing { path, .. } if path.ends_with("databases/legacy-actor-one.db")),
        "{error}"
    );
    drop(driver);
    // A later migration copies the entries.
    let driver = open(cx);
    assert_eq!(all(&driver, "legacy-actor-one"), fixture_one());
    assert_eq!(all(&driver, "legacy-actor-two"), fixture_two());
    Ok(())
}
