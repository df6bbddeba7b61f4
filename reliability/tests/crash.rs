//! Crash safety: a child process writing through the driver is killed with `SIGKILL` at
//! random moments; after every kill the root is reopened with the same backend and
//! checked: every acknowledged batch is there, no batch is partial, and
//! `PRAGMA integrity_check` is `ok`. The same for the legacy migration killed mid-way:
//! each actor is migrated whole or not at all, a rerun completes, and the result equals
//! an uninterrupted migration, the legacy files untouched.
//!
//! This proves the process-crash promise (what SQLite handed to the OS survives the
//! process). Power loss is not simulated.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{crash_child, runtime, seed, tempdir};
use fs_driver::{DriverOptions, FsDriver, MigrationOptions, migrate_legacy};
use reliability_tests::Rng;
use reliability_tests::batches::{CRASH_ACTOR, SLOT_KEYS, batch_value, slot_key, verify_batches};
use reliability_tests::child::{ChildRun, READY_TIMEOUT};
use reliability_tests::legacy::{generate_actors, write_legacy_root};
use reliability_tests::sqlite_check::{integrity_check, read_kv};

/// Kills per backend of the batch-put child.
const PUT_KILLS: usize = 60;
/// Kills of the async driver with 64 coalesced puts in flight.
const ASYNC_PUT_KILLS: usize = 24;
/// Kills per backend of the child mixing its SQL and its KV in each transaction.
const SQL_PUT_KILLS: usize = 20;
/// Kills per backend of the migrating child.
const MIGRATION_KILLS: usize = 20;
/// Legacy actors in the migrated root.
const LEGACY_ACTORS: usize = 80;

per_backend! {
    killed_during_batch_puts => killed_during_batch_puts;
    killed_during_coalesced_async_puts => killed_during_coalesced_async_puts;
    killed_during_mixed_sql_and_kv_transactions => killed_during_mixed_sql_and_kv_transactions;
    killed_during_legacy_migration => killed_during_legacy_migration;
}

fn killed_during_batch_puts(backend: &str) {
    kill_during_puts(backend, "puts", PUT_KILLS);
}

/// 64 puts in flight through the async driver, coalesced into groups: a kill leaves
/// every acknowledged batch and no partial one (the groups commit in call order, so the
/// batches on disk are still `1..=N`).
fn killed_during_coalesced_async_puts(backend: &str) {
    kill_during_puts(backend, "async-puts", ASYNC_PUT_KILLS);
}

/// Each batch one transaction of SQL (a row, a counter) and KV (the batch's entries): a
/// kill leaves SQL and KV at the same batch, every acknowledged one present.
fn killed_during_mixed_sql_and_kv_transactions(backend: &str) {
    kill_during_puts(backend, "sql-puts", SQL_PUT_KILLS);
}

/// What the actor's own SQL holds after a `sql-puts` child: the count and highest of its
/// rows and its counter (zeros before its tables exist).
fn sql_batches(driver: &FsDriver) -> (i64, i64, i64) {
    let summary = "SELECT count(*), coalesce(max(n), 0), (SELECT last FROM counters) FROM batches";
    let read = driver.sql_query_row(CRASH_ACTOR, summary, sqlite_runtime::Params::NONE, |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get::<Option<i64>>(2)?.unwrap_or(0),
        ))
    });
    match read {
        Ok(Some(summary)) => summary,
        Ok(None) => (0, 0, 0),
        Err(fs_driver::Error::Sqlite(error)) if error.kind() == sqlite_runtime::ErrorKind::Sql => {
            (0, 0, 0)
        }
        Err(error) => panic!("reading the actor's SQL failed: {error}"),
    }
}

fn kill_during_puts(backend: &str, mode: &str, kills: usize) {
    let runtime = runtime(backend);
    let dir = tempdir();
    let root = dir.path().join("root");
    let db_path = root.join("databases").join(format!("{CRASH_ACTOR}.db"));
    let mut rng = Rng::new(seed(backend, 1));
    let mut highest = 0u64;
    let (mut acked_kills, mut unacked_committed, mut total_acks) = (0, 0, 0u64);
    for kill in 0..kills {
        let start = (highest + 1).to_string();
        let mut child = ChildRun::spawn(
            crash_child(),
            &[backend, root.to_str().unwrap(), mode, &start],
        )
        .unwrap();
        // One kill in five lands at a random moment from spawn (start-up, open, create);
        // the others a random time after the driver is open and writing.
        if kill % 5 == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(30)));
        } else {
            assert!(
                child.wait_for("ready", READY_TIMEOUT),
                "{backend}: child never got ready"
            );
            std::thread::sleep(Duration::from_millis(rng.range(1, 40)));
        }
        let output = child.kill().unwrap();
        assert!(
            output.error().is_none(),
            "{backend} kill {kill}: the child failed: {:?} {}",
            output.error(),
            output.stderr
        );
        let acked = output.last_ack();

        // Reopen the root with the same backend: the driver loads the actor (SQLite
        // recovers the WAL) and reads the slots; the whole table is then read directly.
        let driver = FsDriver::open(runtime.clone(), &root, DriverOptions::new())
            .unwrap_or_else(|error| panic!("{backend} kill {kill}: reopen failed: {error}"));
        let slots: Vec<Vec<u8>> = (0..SLOT_KEYS).map(slot_key).collect();
        let (driver_slots, tracked, sql) = match driver.kv_get(CRASH_ACTOR, &slots) {
            Ok(values) => {
                let sql = (mode == "sql-puts").then(|| sql_batches(&driver));
                (values, driver.kv_storage_used(CRASH_ACTOR).unwrap(), sql)
            }
            Err(error) if error.is_not_found() => {
                assert_eq!(highest, 0, "{backend} kill {kill}: the actor vanished");
                assert_eq!(acked, None, "{backend} kill {kill}: acked without an actor");
                (vec![None; SLOT_KEYS], 0, None)
            }
            Err(error) => panic!("{backend} kill {kill}: read failed: {error}"),
        };
        drop(driver);
        let store = read_kv(&*runtime, &db_path)
            .unwrap_or_else(|error| panic!("{backend} kill {kill}: {error}"))
            .unwrap_or_default();
        let entries: Vec<(Vec<u8>, Vec<u8>)> = store.into_iter().collect();
        let summary = verify_batches(&entries)
            .unwrap_or_else(|problem| panic!("{backend} kill {kill}: {problem}"));
        let expected_slots: Vec<Option<Vec<u8>>> = (0..SLOT_KEYS)
            .map(|j| (summary.highest > 0).then(|| batch_value(summary.highest, j)))
            .collect();
        assert_eq!(
            driver_slots, expected_slots,
            "{backend} kill {kill}: slots via the driver"
        );
        if let Some((rows, max, last)) = sql {
            let highest = i64::try_from(summary.highest).unwrap();
            assert_eq!(
                (rows, max, last),
                (highest, highest, highest),
                "{backend} kill {kill}: SQL rows, highest row and counter must match the KV batches"
            );
        }
        if let Some(acked) = acked {
            assert!(
                summary.highest >= acked,
                "{backend} kill {kill}: batch {acked} was acknowledged, only {} survived",
                summary.highest
            );
            acked_kills += 1;
            total_acks += acked + 1 - (highest + 1);
        }
        assert!(
            summary.highest >= highest,
            "{backend} kill {kill}: batches {}..={highest} were lost",
            summary.highest + 1
        );
        if summary.highest > acked.unwrap_or(highest) {
            unacked_committed += 1;
        }
        assert_eq!(
            tracked, summary.bytes,
            "{backend} kill {kill}: tracked size"
        );
        if db_path.exists() {
            assert_eq!(
                integrity_check(&*runtime, &db_path).unwrap(),
                "ok",
                "{backend} kill {kill}"
            );
        }
        highest = summary.highest;
    }
    eprintln!(
        "{backend} ({mode}): {kills} kills, {acked_kills} after at least one ack, \
         {total_acks} acknowledged batches, {highest} batches on disk, \
         {unacked_committed} kills between commit and ack"
    );
    assert!(highest > 0 || acked_kills == 0);
}

fn killed_during_legacy_migration(backend: &str) {
    let runtime = runtime(backend);
    let dir = tempdir();
    let actors = generate_actors(seed(backend, 2), LEGACY_ACTORS, 12);
    let db_of = |root: &std::path::Path, id: &str| root.join("databases").join(format!("{id}.db"));

    // The uninterrupted migration, by the child, timed to spread the kills over it.
    let reference = dir.path().join("reference");
    write_legacy_root(&reference, &actors).unwrap();
    let mut child = ChildRun::spawn(
        crash_child(),
        &[backend, reference.to_str().unwrap(), "migrate"],
    )
    .unwrap();
    assert!(child.wait_for("ready", READY_TIMEOUT));
    let started = Instant::now();
    let output = child.wait().unwrap();
    let full = started.elapsed();
    assert!(output.success && output.said("done"), "{output:?}");
    let mut reference_kv = Vec::new();
    for actor in &actors {
        let kv = read_kv(&*runtime, &db_of(&reference, &actor.id)).unwrap();
        // Entries give a database; so does a pre-SQLite state (v1, v2) with none, whose
        // empty database the migration creates (waking it without one is an error).
        let expected =
            (!actor.entries.is_empty() || actor.version < 3).then(|| actor.entries.clone());
        assert_eq!(
            kv, expected,
            "{backend}: reference migration of {}",
            actor.id
        );
        reference_kv.push(kv);
    }

    let mut rng = Rng::new(seed(backend, 3));
    let window = (u64::try_from(full.as_millis()).unwrap_or(1000) * 3 / 4).max(1);
    let (mut mid_way, mut before_any, mut after_all) = (0, 0, 0);
    for kill in 0..MIGRATION_KILLS {
        let root = dir.path().join(format!("root-{kill}"));
        write_legacy_root(&root, &actors).unwrap();
        let mut child =
            ChildRun::spawn(crash_child(), &[backend, root.to_str().unwrap(), "migrate"]).unwrap();
        assert!(child.wait_for("ready", READY_TIMEOUT));
        std::thread::sleep(Duration::from_millis(rng.below(window)));
        let output = child.kill().unwrap();
        assert!(output.error().is_none(), "{output:?}");

        // Each actor is migrated whole or not at all.
        let mut migrated = 0;
        for actor in actors.iter().filter(|actor| !actor.entries.is_empty()) {
            let db = db_of(&root, &actor.id);
            match read_kv(&*runtime, &db).unwrap() {
                Some(kv) if kv == actor.entries => migrated += 1,
                None => {}
                Some(kv) if kv.is_empty() => {}
                Some(kv) => panic!(
                    "{backend} kill {kill}: {} half-migrated: {} of {} entries",
                    actor.id,
                    kv.len(),
                    actor.entries.len()
                ),
            }
            if db.exists() {
                assert_eq!(integrity_check(&*runtime, &db).unwrap(), "ok");
            }
        }
        let with_entries = actors.iter().filter(|a| !a.entries.is_empty()).count();
        match migrated {
            0 => before_any += 1,
            n if n == with_entries => after_all += 1,
            _ => mid_way += 1,
        }

        // The rerun completes and equals the uninterrupted migration.
        let report = migrate_legacy(&*runtime, &root, MigrationOptions::default()).unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.migrated.len() + migrated, with_entries);
        for (actor, expected) in actors.iter().zip(&reference_kv) {
            let kv = read_kv(&*runtime, &db_of(&root, &actor.id)).unwrap();
            // An empty database (the reference's for empty pre-SQLite actors, or one a
            // kill left before its transaction) holds what no database holds.
            let kv = kv.filter(|kv| !kv.is_empty());
            let expected = expected.clone().filter(|kv| !kv.is_empty());
            assert_eq!(kv, expected, "{backend} kill {kill}: {}", actor.id);
            let legacy = std::fs::read(root.join("state").join(&actor.id)).unwrap();
            assert_eq!(
                legacy, actor.bytes,
                "{backend}: legacy file {} changed",
                actor.id
            );
        }
        // And running it once more changes nothing.
        let again = migrate_legacy(&*runtime, &root, MigrationOptions::default()).unwrap();
        assert!(again.migrated.is_empty() && again.failures.is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
    eprintln!(
        "{backend}: {MIGRATION_KILLS} migration kills over {full:?}: {mid_way} mid-way, \
         {before_any} before the first actor, {after_all} after the last"
    );
}
