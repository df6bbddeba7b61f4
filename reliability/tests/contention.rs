//! Contention: many threads on many actors against a model; two processes writing one
//! actor database while a third connection holds the write lock; sleep and destroy
//! racing reads and writes. No operation may fail with "database is locked".
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{crash_child, runtime, seed, tempdir};
use fs_driver::{DriverOptions, Error, FsDriver};
use reliability_tests::Rng;
use reliability_tests::child::ChildRun;
use reliability_tests::sqlite_check::{integrity_check, read_kv};
use sqlite_runtime::{OpenOptions, Target, params};

const THREADS: usize = 6;
const ACTORS: usize = 12;
const OPS_PER_THREAD: usize = 250;
const CHILD_BATCHES: usize = 150;
const LOCK_HOLDS: usize = 10;
const RACE_ROUNDS: usize = 12;

per_backend! {
    threads_by_actors_against_a_model => threads_by_actors_against_a_model;
    two_processes_on_one_actor_database => two_processes_on_one_actor_database;
    sleep_and_destroy_race_reads_and_writes => sleep_and_destroy_race_reads_and_writes;
}

type Store = BTreeMap<Vec<u8>, Vec<u8>>;

fn actor(a: usize) -> String {
    format!("actor-{a:02}")
}

/// Fails the test on anything but success or [`Error::ActorStopping`] (a sleep raced
/// the operation, which then did nothing). Returns whether it went through.
fn went_through<T>(backend: &str, what: &str, result: Result<T, Error>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) if error.is_stopping() => None,
        Err(error) => {
            let text = error.to_string();
            assert!(
                !text.contains("locked"),
                "{backend}: {what} failed with a lock error: {text}"
            );
            panic!("{backend}: {what} failed: {text}");
        }
    }
}

fn threads_by_actors_against_a_model(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let driver = Arc::new(FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap());
    let none: &[(&[u8], &[u8])] = &[];
    for a in 0..ACTORS {
        driver.create_actor(&actor(a), "c", vec![], none).unwrap();
    }
    let stopped = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let driver = driver.clone();
            let stopped = stopped.clone();
            let backend = backend.to_owned();
            thread::spawn(move || {
                let backend = backend.as_str();
                let mut rng = Rng::new(seed(backend, 100 + t as u64));
                // Each thread owns the keys `t<t>/...` of every actor: its model is exact
                // even though all threads hit all actors at once.
                let mut models: Vec<Store> = vec![Store::new(); ACTORS];
                let key = |k: u64| format!("t{t}/{k:03}").into_bytes();
                let mut op = 0;
                while op < OPS_PER_THREAD {
                    let a = rng.index(ACTORS);
                    let id = actor(a);
                    let model = &mut models[a];
                    let done = match rng.below(8) {
                        0 | 1 => {
                            let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..rng.range(1, 6))
                                .map(|_| {
                                    let k = key(rng.below(40));
                                    let len = rng.index(64);
                                    (k, rng.bytes(len))
                                })
                                .collect();
                            let done = went_through(backend, "put", driver.kv_put(&id, &entries));
                            if done.is_some() {
                                model.extend(entries);
                            }
                            done.is_some()
                        }
                        2 => {
                            let keys: Vec<Vec<u8>> =
                                (0..rng.range(1, 4)).map(|_| key(rng.below(40))).collect();
                            let done =
                                went_through(backend, "delete", driver.kv_delete(&id, &keys));
                            if done.is_some() {
                                keys.iter().for_each(|k| {
                                    model.remove(k);
                                });
                            }
                            done.is_some()
                        }
                        3 => {
                            let (lo, hi) = (key(rng.below(40)), key(rng.below(40)));
                            let done = went_through(
                                backend,
                                "delete range",
                                driver.kv_delete_range(&id, &lo, &hi),
                            );
                            if done.is_some() && lo < hi {
                                model.retain(|k, _| !(*k >= lo && *k < hi));
                            }
                            done.is_some()
                        }
                        4 | 5 => {
                            let keys: Vec<Vec<u8>> =
                                (0..rng.range(1, 8)).map(|_| key(rng.below(40))).collect();
                            let got = went_through(backend, "get", driver.kv_get(&id, &keys));
                            if let Some(got) = &got {
                                let expected: Vec<Option<Vec<u8>>> =
                                    keys.iter().map(|k| model.get(k).cloned()).collect();
                                assert_eq!(got, &expected, "{backend}: get on {id}");
                            }
                            got.is_some()
                        }
                        6 => {
                            let k = key(rng.below(40));
                            let got = went_through(backend, "get one", driver.kv_get_one(&id, &k));
                            if let Some(got) = &got {
                                assert_eq!(got, &model.get(&k).cloned(), "{backend}: get one");
                            }
                            got.is_some()
                        }
                        _ => {
                            // Sleeping another thread's actor under its feet.
                            went_through(backend, "sleep", driver.sleep_actor(&id, None));
                            true
                        }
                    };
                    if done {
                        op += 1;
                    } else {
                        stopped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                models
            })
        })
        .collect();
    let models: Vec<Vec<Store>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for a in 0..ACTORS {
        let mut expected = Store::new();
        for model in &models {
            expected.extend(model[a].clone());
        }
        let bytes: u64 = expected
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        assert_eq!(
            driver.kv_storage_used(&actor(a)).unwrap(),
            bytes,
            "{backend}"
        );
        let keys: Vec<&Vec<u8>> = expected.keys().collect();
        for chunk in keys.chunks(100) {
            let got = driver.kv_get(&actor(a), chunk).unwrap();
            let want: Vec<Option<Vec<u8>>> =
                chunk.iter().map(|k| expected.get(*k).cloned()).collect();
            assert_eq!(got, want);
        }
        driver.sleep_actor(&actor(a), None).unwrap();
        let db = root.join("databases").join(format!("{}.db", actor(a)));
        assert_eq!(
            read_kv(&*runtime(backend), &db).unwrap(),
            Some(expected),
            "{backend}: {}",
            actor(a)
        );
    }
    eprintln!(
        "{backend}: {THREADS} threads x {ACTORS} actors, {} operations, {} retried after a racing sleep",
        THREADS * OPS_PER_THREAD,
        stopped.load(Ordering::Relaxed)
    );
}

fn two_processes_on_one_actor_database(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let runtime = runtime(backend);
    {
        let driver = FsDriver::open(runtime.clone(), &root, DriverOptions::new()).unwrap();
        let none: &[(&[u8], &[u8])] = &[];
        driver.create_actor("contended", "c", vec![], none).unwrap();
    }
    let db_path = root.join("databases").join("contended.db");
    let count = CHILD_BATCHES.to_string();
    let mut children: Vec<ChildRun> = (0..2)
        .map(|w| {
            let w = w.to_string();
            ChildRun::spawn(
                crash_child(),
                &[backend, root.to_str().unwrap(), "contend", &w, &count],
            )
            .unwrap()
        })
        .collect();
    for child in &mut children {
        assert!(child.wait_for("ready", reliability_tests::child::READY_TIMEOUT));
    }
    // A third connection takes the write lock (BEGIN IMMEDIATE) and holds it while the
    // children write: they must wait on the busy timeout, not fail.
    let mut db = runtime
        .open(&Target::file(&db_path), &OpenOptions::new())
        .unwrap();
    for i in 0..LOCK_HOLDS {
        let mut tx = db.transaction().unwrap();
        let key = format!("parent/{i}").into_bytes();
        tx.run(
            "INSERT INTO kv (key, value) VALUES (?, ?)",
            params![&key, b"p"],
        )
        .unwrap();
        thread::sleep(Duration::from_millis(100));
        tx.commit().unwrap();
        thread::sleep(Duration::from_millis(20));
    }
    db.close().unwrap();
    for (w, child) in children.into_iter().enumerate() {
        let output = child.wait().unwrap();
        assert!(
            output.success && output.said("done"),
            "{backend}: writer {w} failed: {:?} {}",
            output.error(),
            output.stderr
        );
    }
    let store = read_kv(&*runtime, &db_path).unwrap().unwrap();
    for w in 0..2 {
        let batch = format!("w{w}/batch/");
        let single = format!("w{w}/single/");
        let count = |prefix: &str| {
            store
                .keys()
                .filter(|k| k.starts_with(prefix.as_bytes()))
                .count()
        };
        assert_eq!(
            count(&batch),
            CHILD_BATCHES * 4,
            "{backend}: writer {w} batches"
        );
        assert_eq!(
            count(&single),
            CHILD_BATCHES,
            "{backend}: writer {w} single puts"
        );
    }
    assert_eq!(store.len(), 2 * CHILD_BATCHES * 5 + LOCK_HOLDS);
    assert_eq!(integrity_check(&*runtime, &db_path).unwrap(), "ok");
    eprintln!(
        "{backend}: 2 processes x {} writes + {LOCK_HOLDS} held write locks of 100 ms: all landed",
        CHILD_BATCHES * 2
    );
}

fn sleep_and_destroy_race_reads_and_writes(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let runtime = runtime(backend);
    let driver = Arc::new(FsDriver::open(runtime.clone(), &root, DriverOptions::new()).unwrap());
    let layout = driver.layout().unwrap().clone();
    let id = "race";
    let mut rng = Rng::new(seed(backend, 7));
    let none: &[(&[u8], &[u8])] = &[];
    let (mut writes, mut refused_after_destroy) = (0usize, 0usize);
    for round in 0..RACE_ROUNDS {
        driver.create_actor(id, "race", vec![], none).unwrap();
        let destroyed = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(5));
        let mut handles = Vec::new();
        // Two writers: batch n writes `w<t>/slot/0..4` = n, so a half-applied batch shows
        // as slots holding different numbers.
        for t in 0..2 {
            let (driver, destroyed, barrier) = (driver.clone(), destroyed.clone(), barrier.clone());
            let backend = backend.to_owned();
            handles.push(thread::spawn(move || {
                barrier.wait();
                let (mut ok, mut refused) = (0, 0);
                for n in 1..=1_000_000u32 {
                    let was_destroyed = destroyed.load(Ordering::SeqCst);
                    let entries: Vec<(Vec<u8>, [u8; 4])> = (0..4)
                        .map(|j| (format!("w{t}/slot/{j}").into_bytes(), n.to_be_bytes()))
                        .collect();
                    match driver.kv_put(id, &entries) {
                        Ok(()) => {
                            assert!(!was_destroyed, "{backend}: a write after destroy succeeded");
                            ok += 1;
                        }
                        Err(error) if error.is_stopping() || error.is_not_found() => {
                            if was_destroyed {
                                refused += 1;
                            }
                        }
                        Err(error) => panic!("{backend}: put failed: {error}"),
                    }
                    if was_destroyed && refused >= 20 {
                        break;
                    }
                }
                (ok, refused)
            }));
        }
        // A reader: every read sees whole batches.
        {
            let (driver, destroyed, barrier) = (driver.clone(), destroyed.clone(), barrier.clone());
            let backend = backend.to_owned();
            handles.push(thread::spawn(move || {
                barrier.wait();
                while !destroyed.load(Ordering::SeqCst) {
                    for t in 0..2 {
                        let keys: Vec<Vec<u8>> = (0..4)
                            .map(|j| format!("w{t}/slot/{j}").into_bytes())
                            .collect();
                        match driver.kv_get(id, &keys) {
                            Ok(values) => assert!(
                                values.windows(2).all(|pair| pair[0] == pair[1]),
                                "{backend}: half-applied batch seen: {values:?}"
                            ),
                            Err(error) if error.is_stopping() || error.is_not_found() => {}
                            Err(error) => panic!("{backend}: get failed: {error}"),
                        }
                    }
                }
                (0, 0)
            }));
        }
        // A sleeper.
        {
            let (driver, destroyed, barrier) = (driver.clone(), destroyed.clone(), barrier.clone());
            let backend = backend.to_owned();
            handles.push(thread::spawn(move || {
                barrier.wait();
                while !destroyed.load(Ordering::SeqCst) {
                    match driver.sleep_actor(id, None) {
                        Ok(()) => {}
                        Err(error) if error.is_stopping() || error.is_not_found() => {}
                        Err(error) => panic!("{backend}: sleep failed: {error}"),
                    }
                    thread::sleep(Duration::from_millis(1));
                }
                (0, 0)
            }));
        }
        barrier.wait();
        thread::sleep(Duration::from_millis(rng.range(5, 40)));
        loop {
            match driver.destroy_actor(id, None) {
                Ok(()) => break,
                Err(error) if error.is_stopping() => thread::yield_now(),
                Err(error) => panic!("{backend} round {round}: destroy failed: {error}"),
            }
        }
        destroyed.store(true, Ordering::SeqCst);
        for handle in handles {
            let (ok, refused) = handle.join().unwrap();
            writes += ok;
            refused_after_destroy += refused;
        }
        for path in [layout.state_path(id), layout.alarm_path(id)]
            .into_iter()
            .chain(layout.database_files(id))
        {
            assert!(
                !path.exists(),
                "{backend} round {round}: {} exists after destroy",
                path.display()
            );
        }
        // Recreated, the actor is empty.
        driver.create_actor(id, "race", vec![], none).unwrap();
        let keys: Vec<Vec<u8>> = (0..4)
            .map(|j| format!("w0/slot/{j}").into_bytes())
            .collect();
        assert_eq!(driver.kv_get(id, &keys).unwrap(), vec![None; 4]);
        driver.destroy_actor(id, None).unwrap();
    }
    eprintln!(
        "{backend}: {RACE_ROUNDS} rounds, {writes} writes landed, {refused_after_destroy} refused after destroy"
    );
}
