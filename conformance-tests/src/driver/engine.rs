//! Actors on an engine whose databases are not local files (a replicated engine):
//! state records and alarms in the index database, and one driver at a time per actor.

use fs_driver::{DriverOptions, Error};
use sqlite_runtime::{OpenOptions, Target, params};

use super::support::{NO_ENTRIES, all, create, entries, expect_err, open, open_with};
use crate::{CaseResult, Context};

/// The index database of the case's root.
fn index(cx: &Context) -> Box<dyn sqlite_runtime::SqliteDatabase> {
    cx.runtime()
        .open(
            &Target::file(cx.path("actors.db")),
            &OpenOptions::new().create(false),
        )
        .expect("open the index database")
}

/// The state and alarm records are rivetkit's versioned BARE bytes, in the index
/// database; a destroy leaves neither, nor any KV entry for a new actor of the id.
pub(crate) fn engine_records_are_rivetkits_bytes_in_the_index(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k", "v")]));
    driver.set_alarm("a", 1_234)?;

    let mut db = index(cx);
    let (state, alarm) = db
        .query_row(
            "SELECT state, alarm FROM actor WHERE id = ?1",
            params!["a"],
            |row| Ok((row.get::<Vec<u8>>(0)?, row.get::<Vec<u8>>(1)?)),
        )?
        .expect("a row for the actor");
    let (version, decoded) = fs_driver::state::decode_state(&state)?;
    assert_eq!(version, fs_driver::state::CURRENT_STATE_VERSION);
    assert_eq!(decoded.actor_id, "a");
    assert_eq!(decoded.name, "test");
    assert_eq!(fs_driver::state::encode_state(&decoded), state);
    let (_, decoded) = fs_driver::alarm::decode_alarm(&alarm)?;
    assert_eq!((decoded.actor_id.as_str(), decoded.timestamp), ("a", 1_234));

    driver.destroy_actor("a", None)?;
    let rows = db.query_row("SELECT count(*) FROM actor", params![], |row| {
        row.get::<i64>(0)
    })?;
    assert_eq!(rows, Some(0), "the destroyed actor's row is gone");
    assert_eq!(driver.due_alarms(u64::MAX)?, vec![]);
    create(&driver, "a", &[]);
    assert_eq!(
        all(&driver, "a"),
        vec![],
        "a new actor of the id starts empty"
    );
    Ok(())
}

/// Two drivers on one root see each other's actors, but an actor runs in one of them at
/// a time: the other's wake and destroy are refused until it sleeps, and closing a
/// driver gives its actors back at once.
pub(crate) fn engine_one_driver_runs_an_actor(cx: &Context) -> CaseResult {
    let first = open(cx);
    let second = open(cx);
    create(&first, "a", &entries(&[("k", "1")]));

    let listed: Vec<String> = second
        .list_actors(None, 10)?
        .into_iter()
        .map(|actor| actor.id)
        .collect();
    assert_eq!(listed, ["a"], "the second driver lists the first's actor");
    let error = expect_err(second.kv_get("a", &[b"k"]), "wake while awake elsewhere");
    assert!(
        matches!(&error, Error::ActorOwnedElsewhere { id, .. } if id == "a"),
        "{error:?}"
    );
    let error = expect_err(
        second.destroy_actor("a", None),
        "destroy while awake elsewhere",
    );
    assert!(matches!(error, Error::ActorInUse(_)), "{error:?}");
    assert_eq!(all(&first, "a"), entries(&[("k", "1")]), "nothing changed");

    first.sleep_actor("a", None)?;
    second.kv_put("a", &[(b"k", b"2")])?;
    let error = expect_err(first.load_actor("a"), "wake while awake in the second");
    assert!(
        matches!(error, Error::ActorOwnedElsewhere { .. }),
        "{error:?}"
    );

    drop(second);
    assert_eq!(
        all(&first, "a"),
        entries(&[("k", "2")]),
        "given back on close"
    );
    let error = expect_err(
        first.create_actor("a", "test", Vec::new(), NO_ENTRIES),
        "create an existing id",
    );
    assert!(matches!(error, Error::ActorExists(_)), "{error:?}");
    Ok(())
}

/// Alarms set through one driver come due in another opened later, earliest first.
pub(crate) fn engine_alarms_are_shared(cx: &Context) -> CaseResult {
    {
        let driver = open(cx);
        for (id, at) in [("b", 20), ("a", 20), ("c", 10), ("d", 99)] {
            create(&driver, id, &[]);
            driver.set_alarm(id, at)?;
        }
        driver.clear_alarm("d")?;
    }
    let driver = open_with(cx, DriverOptions::new().max_open_databases(1));
    assert_eq!(
        driver.due_alarms(20)?,
        vec![
            ("c".to_owned(), 10),
            ("a".to_owned(), 20),
            ("b".to_owned(), 20)
        ]
    );
    assert_eq!(driver.get_alarm("d")?, None);
    driver.set_alarm("d", u64::MAX)?;
    assert_eq!(
        driver.get_alarm("d")?,
        Some(u64::MAX),
        "exact past i64::MAX"
    );
    assert_eq!(driver.due_alarms(u64::MAX - 1)?.len(), 3);
    Ok(())
}

/// Reading an actor and inspecting the root without a driver, as `sqlrt kv` and
/// `sqlrt actors` do: the records come from the index database.
pub(crate) fn engine_reads_and_inspection_without_a_driver(cx: &Context) -> CaseResult {
    let runtime = cx.runtime().as_ref();
    let empty = fs_driver::inspect_root(runtime, cx.dir())?;
    assert!(empty.actors.is_empty() && empty.failures.is_empty());
    {
        let driver = open(cx);
        create(&driver, "b", &entries(&[("k1", "1"), ("k2", "2")]));
        create(&driver, "a", &[]);
        driver.set_alarm("b", 77)?;
    }
    let listed = fs_driver::read_actor(runtime, cx.dir(), "b", |kv| {
        kv.list_prefix(b"k", fs_driver::ListOptions::new())
    })?;
    assert_eq!(listed, entries(&[("k1", "1"), ("k2", "2")]));
    let error = expect_err(
        fs_driver::read_actor(runtime, cx.dir(), "nope", |kv| kv.get(&[b"k"])),
        "read a missing actor",
    );
    assert!(matches!(error, Error::ActorNotFound(_)), "{error:?}");

    let report = fs_driver::inspect_root(runtime, cx.dir())?;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let found: Vec<_> = report
        .actors
        .iter()
        .map(|actor| (actor.info.id.as_str(), actor.entries, actor.alarm))
        .collect();
    assert_eq!(found, [("a", Some(0), None), ("b", Some(2), Some(77))]);
    Ok(())
}

/// The lease holder serves reads from its copy of the actor's entries: no statement
/// reaches the engine for them (where the engine counts its statements), every
/// acknowledged write is seen at once, and a copy does not outlive a sleep (another
/// driver's writes in between are read after the next wake). With no budget, nothing
/// is copied.
pub(crate) fn engine_reads_are_served_by_the_lease_holder(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(
        &driver,
        "a",
        &entries(&[("a1", "1"), ("a2", "2"), ("b1", "3")]),
    );
    assert_eq!(driver.read_cache_usage().0, 0, "nothing read yet");
    assert_eq!(driver.kv_get_one("a", b"a1")?, Some(b"1".to_vec()));
    let copied = driver.read_cache_usage().0;
    assert!(copied > 0, "the first read copies the actor");
    let counts = cx
        .runtime()
        .capabilities()
        .has(sqlite_runtime::Capability::StatementCacheStats);
    let get_runs = |driver: &fs_driver::FsDriver| -> u64 {
        let stats = driver.kv_statement_cache_stats("a").expect("stats");
        stats
            .statements
            .iter()
            .filter(|s| s.sql.starts_with("SELECT"))
            .map(|s| s.runs)
            .sum()
    };
    let before = if counts { get_runs(&driver) } else { 0 };
    for _ in 0..10 {
        assert_eq!(driver.kv_get_one("a", b"a2")?, Some(b"2".to_vec()));
        assert_eq!(
            driver.kv_get("a", &[b"a1".as_slice(), b"zz"])?,
            vec![Some(b"1".to_vec()), None]
        );
        let listed =
            driver.kv_list_prefix("a", b"a", fs_driver::ListOptions::new().reverse(true))?;
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].0, b"a2".to_vec());
    }
    if counts {
        assert_eq!(get_runs(&driver), before, "reads reached the engine");
    }
    driver.kv_put("a", &[(b"a1".as_slice(), b"one".as_slice()), (b"c1", b"4")])?;
    driver.kv_delete("a", &[b"a2"])?;
    driver.kv_delete_range("a", b"b", b"c")?;
    assert_eq!(all(&driver, "a"), entries(&[("a1", "one"), ("c1", "4")]));
    assert!(driver.read_cache_usage().0 > 0, "writes keep the copy");

    driver.sleep_actor("a", None)?;
    assert_eq!(driver.read_cache_usage().0, 0, "a sleep drops the copy");
    let other = open(cx);
    other.kv_put("a", &[(b"a1", b"from the other")])?;
    drop(other);
    assert_eq!(
        driver.kv_get_one("a", b"a1")?,
        Some(b"from the other".to_vec())
    );

    let uncached = open_with(cx, DriverOptions::new().read_cache_bytes(0));
    driver.sleep_actor("a", None)?;
    assert_eq!(uncached.kv_get_one("a", b"c1")?, Some(b"4".to_vec()));
    assert_eq!(uncached.read_cache_usage().0, 0);
    Ok(())
}
