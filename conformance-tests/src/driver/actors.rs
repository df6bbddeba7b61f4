//! Actor lifecycle: create, load, list, sleep, destroy, stop hooks, ids.

use fs_driver::{BoxError, Error, InvalidActorId};

use super::support::{NO_ENTRIES, all, create, entries, expect_err, files_under, open};
use crate::{CaseResult, Context};

/// `create_actor` returns the metadata `load_actor` later reads back; the actor runs
/// right away with its initial entries; creating it again is `ActorExists`; loading an
/// unknown id is `ActorNotFound`.
pub(crate) fn actors_create_and_load(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let before = fs_driver_now_ms();
    let info = driver.create_actor(
        "a1",
        "counter",
        vec!["k".into(), "2".into()],
        &entries(&[("x", "1")]),
    )?;
    assert_eq!(info.id, "a1");
    assert_eq!(info.name, "counter");
    assert_eq!(info.key, vec!["k".to_owned(), "2".to_owned()]);
    assert!(
        info.created_at >= before && info.created_at <= fs_driver_now_ms(),
        "createdAt {} is not now",
        info.created_at
    );
    assert!(driver.is_running("a1"));
    assert_eq!(driver.load_actor("a1")?, info);
    assert_eq!(all(&driver, "a1"), entries(&[("x", "1")]));

    let error = expect_err(
        driver.create_actor("a1", "other", Vec::new(), NO_ENTRIES),
        "create twice",
    );
    assert!(
        matches!(&error, Error::ActorExists(id) if id == "a1"),
        "{error:?}"
    );
    // The failed create changed nothing.
    assert_eq!(driver.load_actor("a1")?, info);
    assert_eq!(all(&driver, "a1"), entries(&[("x", "1")]));

    driver.sleep_actor("a1", None)?;
    let error = expect_err(
        driver.create_actor("a1", "other", Vec::new(), NO_ENTRIES),
        "create over a sleeping actor",
    );
    assert!(matches!(error, Error::ActorExists(_)), "{error:?}");
    assert_eq!(
        driver.load_actor("a1")?,
        info,
        "loaded back from its state file"
    );

    let error = expect_err(driver.load_actor("missing"), "load a missing actor");
    assert!(error.is_not_found(), "{error:?}");
    let error = expect_err(driver.kv_get("missing", &[b"k"]), "get on a missing actor");
    assert!(error.is_not_found(), "{error:?}");
    assert!(
        !cx.dir().join("state/missing").exists() && !cx.dir().join("databases/missing.db").exists(),
        "touching a missing actor created files: {:?}",
        files_under(cx.dir())
    );
    Ok(())
}

fn fs_driver_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `list_actors` is sorted by id whatever the creation order, pages with an exclusive
/// `after` cursor, and sees sleeping actors and actors of a previous driver.
pub(crate) fn actors_list_sorted_with_cursor(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let ids = ["m", "b", "zz", "a", "b0", "B", "a-1"];
    for id in ids {
        driver.create_actor(id, &format!("name-{id}"), vec![id.to_owned()], NO_ENTRIES)?;
    }
    driver.sleep_actor("zz", None)?;
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();

    let listed: Vec<String> = driver
        .list_actors(None, 100)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, sorted);

    // Pages of 3 through the cursor.
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = driver.list_actors(after.as_deref(), 3)?;
        assert!(page.len() <= 3, "page of {}", page.len());
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for actor in &page {
            assert_eq!(actor.name, format!("name-{}", actor.id));
            assert_eq!(actor.key, vec![actor.id.clone()]);
        }
        paged.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(paged, sorted);

    // The cursor is exclusive and need not be an existing id.
    let after_b: Vec<String> = driver
        .list_actors(Some("b"), 100)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(after_b, vec!["b0", "m", "zz"]);
    let after_c: Vec<String> = driver
        .list_actors(Some("c"), 100)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(after_c, vec!["m", "zz"]);
    assert!(driver.list_actors(Some("zz"), 100)?.is_empty());
    assert!(driver.list_actors(None, 0)?.is_empty());

    // A fresh driver on the same root lists the same actors.
    drop(driver);
    let driver = open(cx);
    let listed: Vec<String> = driver
        .list_actors(None, 100)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, sorted);
    Ok(())
}

/// Sleeping closes the database; the next operation opens it again with the data
/// intact. Sleeping a sleeping actor is a no-op, sleeping an unknown one `ActorNotFound`.
pub(crate) fn actors_sleep_and_wake(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k1", "v1"), ("k2", "")]));
    driver.sleep_actor("a", None)?;
    assert!(!driver.is_running("a"));
    driver.sleep_actor("a", None)?;
    assert!(!driver.is_running("a"));
    assert_eq!(all(&driver, "a"), entries(&[("k1", "v1"), ("k2", "")]));
    assert!(driver.is_running("a"), "an operation wakes the actor");
    driver.kv_put("a", &entries(&[("k3", "v3")]))?;
    driver.sleep_actor("a", None)?;
    assert_eq!(
        driver.kv_get("a", &[&b"k1"[..], b"k2", b"k3", b"k4"])?,
        vec![
            Some(b"v1".to_vec()),
            Some(Vec::new()),
            Some(b"v3".to_vec()),
            None
        ]
    );
    let error = expect_err(driver.sleep_actor("nobody", None), "sleep a missing actor");
    assert!(error.is_not_found(), "{error:?}");
    Ok(())
}

/// Destroy removes the actor: it is no longer listed or loadable, and creating the id
/// again gives an empty actor with the new metadata and no alarm.
pub(crate) fn actors_destroy_and_recreate_empty(cx: &Context) -> CaseResult {
    let driver = open(cx);
    driver.create_actor("a", "old", vec!["x".into()], &entries(&[("k", "v")]))?;
    driver.kv_put("a", &entries(&[("k2", "v2")]))?;
    driver.set_alarm("a", 1234)?;
    create(&driver, "b", &entries(&[("keep", "me")]));
    driver.destroy_actor("a", None)?;

    assert!(!driver.is_running("a"));
    let error = expect_err(driver.load_actor("a"), "load a destroyed actor");
    assert!(error.is_not_found(), "{error:?}");
    let error = expect_err(driver.kv_get("a", &[b"k"]), "get on a destroyed actor");
    assert!(error.is_not_found(), "{error:?}");
    assert_eq!(driver.get_alarm("a")?, None);
    let ids: Vec<String> = driver
        .list_actors(None, 10)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["b"]);
    let error = expect_err(driver.destroy_actor("a", None), "destroy twice");
    assert!(error.is_not_found(), "{error:?}");

    let info = driver.create_actor("a", "new", Vec::new(), NO_ENTRIES)?;
    assert_eq!(info.name, "new");
    assert!(all(&driver, "a").is_empty(), "a re-created actor is empty");
    assert_eq!(driver.kv_storage_used("a")?, 0);
    assert_eq!(driver.get_alarm("a")?, None);
    assert_eq!(all(&driver, "b"), entries(&[("keep", "me")]));

    // Destroying a sleeping actor works too, and so does re-creating it after a reopen.
    driver.kv_put("a", &entries(&[("z", "1")]))?;
    driver.sleep_actor("a", None)?;
    driver.destroy_actor("a", None)?;
    drop(driver);
    let driver = open(cx);
    let error = expect_err(driver.load_actor("a"), "load after reopen");
    assert!(error.is_not_found(), "{error:?}");
    create(&driver, "a", &[]);
    assert!(all(&driver, "a").is_empty());
    Ok(())
}

/// Stop hooks run on sleep and destroy with the actor's id; a failing or panicking hook
/// is reported as `StopHook`, but the actor is stopped (or destroyed) all the same.
pub(crate) fn actors_stop_hooks(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k", "v")]));
    let seen = std::sync::Mutex::new(Vec::new());
    let record = |id: &str| -> Result<(), BoxError> {
        seen.lock().map_err(|_| "poisoned")?.push(id.to_owned());
        Ok(())
    };
    driver.sleep_actor("a", Some(&record))?;
    assert_eq!(*seen.lock().map_err(|_| "poisoned")?, vec!["a".to_owned()]);

    let failing = |_: &str| -> Result<(), BoxError> { Err("hook says no".into()) };
    driver.load_actor("a")?;
    let error = expect_err(driver.sleep_actor("a", Some(&failing)), "failing hook");
    assert!(
        matches!(&error, Error::StopHook { id, .. } if id == "a"),
        "{error:?}"
    );
    assert!(error.to_string().contains("hook says no"), "{error}");
    assert!(!driver.is_running("a"), "stopped despite the hook");
    assert_eq!(all(&driver, "a"), entries(&[("k", "v")]));

    let panicking = |_: &str| -> Result<(), BoxError> { panic!("hook panicked") };
    let error = expect_err(
        driver.destroy_actor("a", Some(&panicking)),
        "panicking hook",
    );
    assert!(matches!(error, Error::StopHook { .. }), "{error:?}");
    assert!(
        !cx.dir().join("state/a").exists(),
        "destroyed despite the hook"
    );
    assert!(driver.load_actor("a").is_err());
    Ok(())
}

/// Ids that cannot be file names are rejected with `InvalidActorId` before the disk is
/// touched, by every operation.
pub(crate) fn actors_invalid_ids_touch_nothing(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let before = files_under(cx.dir());
    let long = "x".repeat(fs_driver::MAX_ACTOR_ID_LEN + 1);
    let cases: &[(&str, InvalidActorId)] = &[
        ("", InvalidActorId::Empty),
        (".", InvalidActorId::DotName),
        ("..", InvalidActorId::DotName),
        ("../escape", InvalidActorId::PathSeparator),
        ("a/b", InvalidActorId::PathSeparator),
        ("a\\b", InvalidActorId::PathSeparator),
        ("a\0b", InvalidActorId::Nul),
        ("tab\t", InvalidActorId::ControlCharacter),
        ("nl\n", InvalidActorId::ControlCharacter),
        ("x.tmp.y", InvalidActorId::TempMarker),
        // rivetkit 2.2.1 lists no state file whose name contains `.tmp`.
        ("a.tmp", InvalidActorId::TempMarker),
        (
            &long,
            InvalidActorId::TooLong {
                len: fs_driver::MAX_ACTOR_ID_LEN + 1,
            },
        ),
        (&"z".repeat(255), InvalidActorId::TooLong { len: 255 }),
    ];
    for (id, reason) in cases {
        let results = [
            driver
                .create_actor(id, "n", Vec::new(), NO_ENTRIES)
                .map(|_| ()),
            driver.load_actor(id).map(|_| ()),
            driver.kv_put(id, &entries(&[("k", "v")])),
            driver.kv_get(id, &[b"k"]).map(|_| ()),
            driver.sleep_actor(id, None),
            driver.destroy_actor(id, None),
            driver.set_alarm(id, 1),
            driver.get_alarm(id).map(|_| ()),
        ];
        for (index, result) in results.into_iter().enumerate() {
            let error = expect_err(result, &format!("operation {index} on {id:?}"));
            assert!(
                matches!(&error, Error::InvalidActorId { reason: r, .. } if r == reason),
                "operation {index} on {id:?}: {error:?}"
            );
        }
    }
    assert_eq!(
        files_under(cx.dir()),
        before,
        "an invalid id touched the disk"
    );
    Ok(())
}

/// Every id the driver accepts must give a working actor: created (its state written
/// atomically through a temporary file), written, put to sleep, read back, given an
/// alarm, destroyed. Ids up to the limit are tried (the limit is below the spec's 255
/// bytes so that `<id>.tmp.<uuid>` still fits a 255-byte file name); each length is
/// tried on its own so the failure lists every length that does not work.
pub(crate) fn actors_longest_valid_id_works(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let mut failures = Vec::new();
    for len in [1, 200, fs_driver::MAX_ACTOR_ID_LEN] {
        let id = "y".repeat(len);
        let lifecycle = || -> fs_driver::Result<()> {
            driver.create_actor(&id, "long", Vec::new(), &entries(&[("k", "v")]))?;
            driver.set_alarm(&id, 1)?;
            driver.sleep_actor(&id, None)?;
            assert_eq!(
                all(&driver, &id),
                entries(&[("k", "v")]),
                "id of {len} bytes"
            );
            assert_eq!(driver.list_actors(None, 10)?.len(), 1);
            driver.destroy_actor(&id, None)
        };
        if let Err(error) = lifecycle() {
            let error = error.to_string().replace(&id, &format!("<{len} x 'y'>"));
            failures.push(format!("id of {len} bytes: {error}"));
        }
        let left = files_under(cx.dir());
        if !left.is_empty() {
            let left = format!("{left:?}").replace(&id, &format!("<{len} x 'y'>"));
            failures.push(format!("id of {len} bytes left files behind: {left}"));
            for file in files_under(cx.dir()) {
                std::fs::remove_file(cx.dir().join(file))?;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "valid ids do not work:\n{}",
        failures.join("\n")
    );
    Ok(())
}

/// The state file records each lifecycle step as rivetkit 2.2.1 does: created and woken
/// with `startTs = connectableTs` and no `sleepTs`; asleep with `sleepTs` and no
/// `connectableTs` (`startTs` kept); woken again with fresh start times.
pub(crate) fn actors_lifecycle_timestamps(cx: &Context) -> CaseResult {
    let state_of = || -> fs_driver::state::ActorState {
        let bytes = std::fs::read(cx.dir().join("state").join("t")).expect("the state file");
        fs_driver::state::decode_state(&bytes).expect("decodes").1
    };
    let before = now_ms();
    let driver = open(cx);
    create(&driver, "t", &[]);
    let created = state_of();
    let started = created.start_ts.ok_or("no startTs after create")?;
    assert!(started >= before, "startTs {started} before {before}");
    assert_eq!(created.connectable_ts, Some(started));
    assert_eq!((created.sleep_ts, created.destroy_ts), (None, None));

    driver.sleep_actor("t", None)?;
    let asleep = state_of();
    assert_eq!(asleep.start_ts, Some(started), "sleep keeps startTs");
    assert_eq!(asleep.connectable_ts, None);
    let slept = asleep.sleep_ts.ok_or("no sleepTs after sleep")?;
    assert!(slept >= started);

    std::thread::sleep(std::time::Duration::from_millis(2));
    driver.kv_get("t", &[b"k"])?;
    let woken = state_of();
    let restarted = woken.start_ts.ok_or("no startTs after wake")?;
    assert!(restarted > slept, "wake at {restarted}, slept at {slept}");
    assert_eq!(woken.connectable_ts, Some(restarted));
    assert_eq!(woken.sleep_ts, None);
    assert_eq!(
        (woken.actor_id, woken.name, woken.created_at),
        ("t".to_owned(), created.name, created.created_at)
    );
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// An actor created without entries is read, sized and listed at once (its database is
/// made complete by the create, not by a first write).
pub(crate) fn actors_created_empty_work_at_once(cx: &Context) -> CaseResult {
    let driver = open(cx);
    driver.create_actor::<&[u8], &[u8]>("empty", "n", Vec::new(), &[])?;
    assert_eq!(driver.kv_storage_used("empty")?, 0);
    assert_eq!(driver.kv_get("empty", &[b"k"])?, vec![None]);
    assert!(all(&driver, "empty").is_empty());
    Ok(())
}
