//! Actor lifecycle: create, load, list, sleep, destroy, hooks, ids, persistence, memory
//! mode, alarms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{entries, files_under, open, runtime, tempdir};
use fs_driver::state::decode_state;
use fs_driver::{BoxError, DriverOptions, Error, FsDriver, InvalidActorId, ListOptions};

const NO_ENTRIES: &[(&[u8], &[u8])] = &[];

fn all(driver: &FsDriver, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    driver.kv_list_prefix(id, b"", ListOptions::new()).unwrap()
}

#[test]
fn create_writes_state_v3_and_initial_entries() {
    let dir = tempdir();
    let driver = open(dir.path());
    let info = driver
        .create_actor(
            "a1",
            "counter",
            vec!["k".into(), "2".into()],
            &entries(&[("x", "1")]),
        )
        .unwrap();
    assert_eq!(info.name, "counter");
    assert_eq!(all(&driver, "a1"), entries(&[("x", "1")]));
    let bytes = std::fs::read(dir.path().join("state/a1")).unwrap();
    let (version, state) = decode_state(&bytes).unwrap();
    assert_eq!(version, 3);
    assert_eq!(state.actor_id, "a1");
    assert_eq!(state.name, "counter");
    assert_eq!(state.key, vec!["k".to_owned(), "2".to_owned()]);
    assert!(state.kv_storage.is_empty(), "KV lives in SQLite");
    assert_eq!(state.created_at, info.created_at);
    assert!(dir.path().join("databases/a1.db").exists());
}

#[test]
fn creating_an_existing_actor_is_a_typed_error() {
    let dir = tempdir();
    let driver = open(dir.path());
    driver.create_actor("a", "n", vec![], NO_ENTRIES).unwrap();
    assert!(matches!(
        driver.create_actor("a", "n", vec![], NO_ENTRIES),
        Err(Error::ActorExists(id)) if id == "a"
    ));
    driver.sleep_actor("a", None).unwrap();
    assert!(matches!(
        driver.create_actor("a", "n", vec![], NO_ENTRIES),
        Err(Error::ActorExists(_))
    ));
    drop(driver);
    let driver = open(dir.path());
    assert!(matches!(
        driver.create_actor("a", "n", vec![], NO_ENTRIES),
        Err(Error::ActorExists(_))
    ));
}

#[test]
fn invalid_ids_are_rejected_before_touching_disk() {
    let dir = tempdir();
    let driver = open(dir.path());
    let before = files_under(dir.path());
    let long = "x".repeat(256);
    let cases: &[(&str, InvalidActorId)] = &[
        ("", InvalidActorId::Empty),
        (".", InvalidActorId::DotName),
        ("..", InvalidActorId::DotName),
        ("../escape", InvalidActorId::PathSeparator),
        ("a\\b", InvalidActorId::PathSeparator),
        ("a\0", InvalidActorId::Nul),
        ("tab\t", InvalidActorId::ControlCharacter),
        ("x.tmp.y", InvalidActorId::TempMarker),
        (&long, InvalidActorId::TooLong { len: 256 }),
    ];
    for (id, reason) in cases {
        let check = |result: Result<(), Error>| match result {
            Err(Error::InvalidActorId { reason: got, .. }) => assert_eq!(got, *reason, "{id:?}"),
            other => panic!("{id:?}: {other:?}"),
        };
        check(driver.create_actor(id, "n", vec![], NO_ENTRIES).map(|_| ()));
        check(driver.load_actor(id).map(|_| ()));
        check(driver.kv_put(id, &entries(&[("k", "v")])));
        check(driver.kv_get(id, &[b"k"]).map(|_| ()));
        check(driver.kv_delete_range(id, b"a", b"b").map(drop));
        check(driver.sleep_actor(id, None));
        check(driver.destroy_actor(id, None));
        check(driver.set_alarm(id, 1));
        check(driver.get_alarm(id).map(|_| ()));
    }
    assert_eq!(files_under(dir.path()), before);
    assert!(driver.list_actors(None, 10).unwrap().is_empty());
}

#[test]
fn unknown_actors_are_not_found() {
    let dir = tempdir();
    let driver = open(dir.path());
    assert!(driver.load_actor("nobody").unwrap_err().is_not_found());
    assert!(driver.kv_get(id(), &[b"k"]).unwrap_err().is_not_found());
    assert!(
        driver
            .sleep_actor("nobody", None)
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        driver
            .destroy_actor("nobody", None)
            .unwrap_err()
            .is_not_found()
    );
    assert!(!dir.path().join("databases/nobody.db").exists());
    fn id() -> &'static str {
        "nobody"
    }
}

#[test]
fn data_survives_sleep_and_reopen() {
    let dir = tempdir();
    {
        let driver = open(dir.path());
        driver.create_actor("a", "n", vec![], NO_ENTRIES).unwrap();
        driver.kv_put("a", &entries(&[("k", "v")])).unwrap();
        driver.sleep_actor("a", None).unwrap();
        assert!(!driver.is_running("a"));
        // Sleeping a sleeping actor does nothing.
        driver.sleep_actor("a", None).unwrap();
        assert_eq!(all(&driver, "a"), entries(&[("k", "v")]));
        assert!(driver.is_running("a"));
    }
    let driver = open(dir.path());
    assert_eq!(all(&driver, "a"), entries(&[("k", "v")]));
    assert_eq!(driver.load_actor("a").unwrap().name, "n");
}

#[test]
fn list_actors_sorted_with_cursor_and_limit() {
    let dir = tempdir();
    let driver = open(dir.path());
    for id in ["c", "a", "e", "b", "d"] {
        driver
            .create_actor(id, &format!("name-{id}"), vec![id.into()], NO_ENTRIES)
            .unwrap();
    }
    std::fs::write(dir.path().join("state/z.tmp.123"), b"temp").unwrap();
    let ids = |page: Vec<fs_driver::ActorInfo>| page.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(driver.list_actors(None, 100).unwrap()),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(ids(driver.list_actors(None, 2).unwrap()), ["a", "b"]);
    assert_eq!(ids(driver.list_actors(Some("b"), 2).unwrap()), ["c", "d"]);
    assert_eq!(ids(driver.list_actors(Some("d"), 2).unwrap()), ["e"]);
    assert!(driver.list_actors(Some("e"), 2).unwrap().is_empty());
    let first = &driver.list_actors(None, 1).unwrap()[0];
    assert_eq!(first.name, "name-a");
    assert_eq!(first.key, vec!["a".to_owned()]);
}

#[test]
fn destroy_removes_every_file_and_recreate_is_empty() {
    let dir = tempdir();
    let driver = open(dir.path());
    driver
        .create_actor("a", "n", vec![], &entries(&[("k", "v")]))
        .unwrap();
    driver.set_alarm("a", 42).unwrap();
    assert!(dir.path().join("databases/a.db-wal").exists());
    driver.destroy_actor("a", None).unwrap();
    let left: Vec<_> = files_under(dir.path())
        .into_iter()
        .filter(|f| f.contains('a'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(driver.get_alarm("a").unwrap(), None);
    assert!(driver.load_actor("a").unwrap_err().is_not_found());
    driver.create_actor("a", "n2", vec![], NO_ENTRIES).unwrap();
    assert!(all(&driver, "a").is_empty());
    assert_eq!(driver.kv_storage_used("a").unwrap(), 0);
    // A sleeping actor can be destroyed too.
    driver.kv_put("a", &entries(&[("k", "v")])).unwrap();
    driver.sleep_actor("a", None).unwrap();
    driver.destroy_actor("a", None).unwrap();
    assert!(!dir.path().join("databases/a.db").exists());
    assert!(!dir.path().join("state/a").exists());
}

#[test]
fn hooks_run_and_failures_still_stop_the_actor() {
    let dir = tempdir();
    let driver = open(dir.path());
    driver
        .create_actor("a", "n", vec![], &entries(&[("k", "v")]))
        .unwrap();
    let calls = std::sync::Mutex::new(Vec::new());
    let record = |id: &str| -> Result<(), BoxError> {
        calls.lock().unwrap().push(id.to_owned());
        Ok(())
    };
    driver.sleep_actor("a", Some(&record)).unwrap();
    assert_eq!(*calls.lock().unwrap(), vec!["a".to_owned()]);

    driver.load_actor("a").unwrap();
    let failing = |_: &str| -> Result<(), BoxError> { Err("hook failed".into()) };
    let error = driver.sleep_actor("a", Some(&failing)).unwrap_err();
    assert!(matches!(error, Error::StopHook { .. }), "{error}");
    assert!(!driver.is_running("a"), "the database is closed anyway");
    assert_eq!(all(&driver, "a"), entries(&[("k", "v")]));

    // Operations from inside the hook see the actor stopping (no deadlock).
    let driver_ref = &driver;
    let reentrant = |id: &str| -> Result<(), BoxError> {
        match driver_ref.kv_put(id, &entries(&[("late", "write")])) {
            Err(Error::ActorStopping(_)) => Ok(()),
            other => Err(format!("unexpected {other:?}").into()),
        }
    };
    driver.sleep_actor("a", Some(&reentrant)).unwrap();

    driver.load_actor("a").unwrap();
    let error = driver.destroy_actor("a", Some(&failing)).unwrap_err();
    assert!(matches!(error, Error::StopHook { .. }));
    assert!(!dir.path().join("state/a").exists());
    assert!(!dir.path().join("databases/a.db").exists());
    assert!(driver.load_actor("a").unwrap_err().is_not_found());
}

#[test]
fn alarms_persist_and_report_due() {
    let dir = tempdir();
    {
        let driver = open(dir.path());
        for id in ["a1", "b", "c"] {
            driver.create_actor(id, "n", vec![], NO_ENTRIES).unwrap();
        }
        driver.set_alarm("a1", 1_700_000_005_000).unwrap();
        driver.set_alarm("b", 10).unwrap();
        driver.set_alarm("c", 20).unwrap();
        driver.clear_alarm("c").unwrap();
        driver.clear_alarm("c").unwrap();
        assert_eq!(driver.get_alarm("b").unwrap(), Some(10));
        assert_eq!(driver.get_alarm("c").unwrap(), None);
        assert!(driver.set_alarm("nobody", 1).unwrap_err().is_not_found());
    }
    // The file is the spec's worked example.
    assert_eq!(
        std::fs::read(dir.path().join("alarms/a1")).unwrap(),
        [
            0x03, 0x00, 0x02, 0x61, 0x31, 0x88, 0xf7, 0x95, 0xff, 0xbc, 0x31
        ]
    );
    assert!(!dir.path().join("alarms/c").exists());
    let driver = open(dir.path());
    assert_eq!(driver.get_alarm("a1").unwrap(), Some(1_700_000_005_000));
    assert_eq!(driver.due_alarms(9).unwrap(), vec![]);
    assert_eq!(driver.due_alarms(10).unwrap(), vec![("b".to_owned(), 10)]);
    assert_eq!(
        driver.due_alarms(u64::MAX).unwrap(),
        vec![("b".to_owned(), 10), ("a1".to_owned(), 1_700_000_005_000)]
    );
}

#[test]
fn stale_temp_files_are_cleaned_at_start_up() {
    let dir = tempdir();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let old = state.join("a.tmp.0000");
    let fresh = state.join("b.tmp.1111");
    std::fs::write(&old, b"x").unwrap();
    std::fs::write(&fresh, b"x").unwrap();
    let file = std::fs::File::options().write(true).open(&old).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();
    drop(file);
    let _driver = open(dir.path());
    assert!(!old.exists());
    assert!(fresh.exists());
}

#[test]
fn memory_mode_has_the_same_api_and_writes_nothing() {
    let dir = tempdir();
    let cwd_files = files_under(dir.path());
    let driver = FsDriver::memory(runtime(), DriverOptions::new());
    assert!(driver.is_memory());
    driver
        .create_actor("m", "mem", vec!["k".into()], &entries(&[("a", "1")]))
        .unwrap();
    driver.create_actor("n", "mem", vec![], NO_ENTRIES).unwrap();
    assert!(matches!(
        driver.create_actor("m", "x", vec![], NO_ENTRIES),
        Err(Error::ActorExists(_))
    ));
    driver.kv_put("m", &entries(&[("b", "2")])).unwrap();
    assert_eq!(all(&driver, "m"), entries(&[("a", "1"), ("b", "2")]));
    // Sleep keeps the data in memory mode.
    driver.sleep_actor("m", None).unwrap();
    assert_eq!(all(&driver, "m"), entries(&[("a", "1"), ("b", "2")]));
    driver.set_alarm("m", 5).unwrap();
    assert_eq!(driver.due_alarms(5).unwrap(), vec![("m".to_owned(), 5)]);
    let listed: Vec<_> = driver
        .list_actors(None, 10)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, ["m", "n"]);
    assert_eq!(driver.list_actors(Some("m"), 10).unwrap().len(), 1);
    driver.destroy_actor("m", None).unwrap();
    assert!(driver.load_actor("m").unwrap_err().is_not_found());
    assert_eq!(driver.get_alarm("m").unwrap(), None);
    driver
        .create_actor("m", "again", vec![], NO_ENTRIES)
        .unwrap();
    assert!(all(&driver, "m").is_empty());
    // Two memory drivers never share data.
    let other = FsDriver::memory(runtime(), DriverOptions::new());
    assert!(other.load_actor("n").unwrap_err().is_not_found());
    assert_eq!(files_under(dir.path()), cwd_files);
    let _ = Arc::new(driver);
}
