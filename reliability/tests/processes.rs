//! Several processes on one root: two drivers (this one and a `crash-child serve`) and
//! a plain SQLite writer doing random KV operations on the same actors, with every
//! process's storage size equal to a scan after every step; destroys racing another
//! process's use of the actor; two processes creating the same ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::served::Served;
use common::{crash_child, runtime, seed, tempdir};
use fs_driver::{DriverOptions, Error, FsDriver, ListOptions};
use reliability_tests::Rng;
use reliability_tests::child::{ChildRun, READY_TIMEOUT};
use sqlite_runtime::{OpenOptions, Params, SqliteDatabase, Target, params};

const ACTORS: usize = 3;
const STEPS: usize = 300;
const CREATE_RACE_IDS: usize = 60;

per_backend! {
    two_processes_and_a_foreign_writer_keep_sizes_exact => two_processes_and_a_foreign_writer_keep_sizes_exact;
    destroy_never_half_destroys_an_actor_another_process_uses => destroy_never_half_destroys_an_actor_another_process_uses;
    two_processes_never_both_create_one_id => two_processes_never_both_create_one_id;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn scan(db: &mut dyn SqliteDatabase) -> u64 {
    let row = db.get(fs_driver::sql::SCAN_SIZE, Params::NONE).unwrap();
    row.map_or(0, |row| row.get::<i64>(0).unwrap() as u64)
}

/// Random puts, deletes and range deletes from three writers on shared actors: this
/// process's driver, another process's driver, and a plain SQLite connection (as
/// rivetkit's TypeScript driver writes). After every step, both drivers' storage size
/// equals a scan, and the contents equal a model.
fn two_processes_and_a_foreign_writer_keep_sizes_exact(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let ours = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let ids: Vec<String> = (0..ACTORS).map(|a| format!("shared-{a}")).collect();
    let none: &[(&[u8], &[u8])] = &[];
    for id in &ids {
        ours.create_actor(id, "shared", Vec::new(), none).unwrap();
    }
    let mut theirs = Served::start(backend, &root);
    let mut plain: Vec<Box<dyn SqliteDatabase>> = ids
        .iter()
        .map(|id| {
            runtime(backend)
                .open(
                    &Target::file(root.join(format!("databases/{id}.db"))),
                    &OpenOptions::new().create(false),
                )
                .unwrap()
        })
        .collect();
    let mut models: Vec<BTreeMap<Vec<u8>, Vec<u8>>> = vec![BTreeMap::new(); ACTORS];
    let mut rng = Rng::new(seed(backend, 71));
    let mut counts = [0usize; 3];
    for step in 0..STEPS {
        let a = rng.index(ACTORS);
        let id = &ids[a];
        let key = vec![b'k', rng.below(24) as u8];
        let len = rng.index(64);
        let value = rng.bytes(len);
        let writer = rng.index(3);
        counts[writer] += 1;
        let model = &mut models[a];
        match (writer, rng.below(10)) {
            (0, 0..=5) => {
                ours.kv_put(id, &[(&key, &value)]).unwrap();
                model.insert(key, value);
            }
            (0, 6..=8) => {
                ours.kv_delete(id, &[&key]).unwrap();
                model.remove(&key);
            }
            (0, _) => {
                ours.kv_delete_range(id, b"k\x05", b"k\x09").unwrap();
                model.retain(|key, _| {
                    !(b"k\x05".as_slice()..b"k\x09".as_slice()).contains(&key.as_slice())
                });
            }
            (1, 0..=5) => {
                theirs
                    .run(&format!("put {id} {} {}", hex(&key), hex(&value)))
                    .unwrap();
                model.insert(key, value);
            }
            (1, 6..=8) => {
                theirs.run(&format!("delete {id} {}", hex(&key))).unwrap();
                model.remove(&key);
            }
            (1, _) => {
                theirs.run(&format!("sleep {id}")).unwrap();
            }
            (_, 0..=5) => {
                plain[a]
                    .run(fs_driver::sql::PUT, params![&key, &value])
                    .unwrap();
                model.insert(key, value);
            }
            (_, _) => {
                plain[a].run(fs_driver::sql::DELETE, params![&key]).unwrap();
                model.remove(&key);
            }
        }
        let listed: BTreeMap<Vec<u8>, Vec<u8>> = ours
            .kv_list_prefix(id, b"", ListOptions::new())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(&listed, model, "{backend} step {step}: contents");
        let expected: u64 = model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        let scanned = scan(&mut *plain[a]);
        assert_eq!(scanned, expected, "{backend} step {step}: scan vs listing");
        assert_eq!(
            ours.kv_storage_used(id).unwrap(),
            scanned,
            "{backend} step {step}: this process's size"
        );
        let used: u64 = theirs.run(&format!("used {id}")).unwrap().parse().unwrap();
        assert_eq!(
            used, scanned,
            "{backend} step {step}: the other process's size"
        );
    }
    eprintln!(
        "{backend}: {STEPS} steps on {ACTORS} actors, writes by this process / the other / plain SQLite: {counts:?}"
    );
}

/// While another process has an actor awake, a destroy fails at once with
/// `ActorInUse` and changes nothing; once that process lets it sleep, the destroy
/// removes everything, and the other process then finds no actor (its writes do not
/// bring a database back).
fn destroy_never_half_destroys_an_actor_another_process_uses(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let ours = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let mut theirs = Served::start(backend, &root);
    for round in 0..6 {
        let id = format!("raced-{round}");
        ours.create_actor(&id, "r", Vec::new(), &[(b"k", b"v")])
            .unwrap();
        ours.sleep_actor(&id, None).unwrap();
        theirs.run(&format!("put {id} 6f74686572 31")).unwrap();
        let error = ours.destroy_actor(&id, None).unwrap_err();
        assert!(matches!(error, Error::ActorInUse(_)), "{backend}: {error}");
        assert!(error.to_string().contains(&id), "{error}");
        // Nothing changed: both processes still read the actor whole.
        assert_eq!(ours.kv_get_one(&id, b"other").unwrap(), Some(b"1".to_vec()));
        assert_eq!(theirs.run(&format!("used {id}")).unwrap(), "8");
        // Our own wake does not stop the other process's writes either.
        theirs.run(&format!("put {id} 6b32 32")).unwrap();
        ours.sleep_actor(&id, None).unwrap();
        theirs.run(&format!("sleep {id}")).unwrap();
        ours.destroy_actor(&id, None).unwrap();
        let after = theirs.run(&format!("put {id} 6b 76"));
        assert!(
            after.as_ref().is_err_and(|e| e.starts_with("not-found")),
            "{backend}: {after:?}"
        );
        let left: Vec<_> = ["state", "databases", "alarms"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(root.join(sub)).unwrap().flatten())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(&id))
            .collect();
        assert!(left.is_empty(), "{backend}: {left:?}");
    }
}

/// Two processes create the same 60 ids at the same time: each id is created exactly
/// once (the other process is told it exists), and every actor is whole.
fn two_processes_never_both_create_one_id(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    drop(FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap());
    let count = CREATE_RACE_IDS.to_string();
    let spawn = || {
        ChildRun::spawn(
            crash_child(),
            &[
                backend,
                root.to_str().unwrap(),
                "create-many",
                "same-",
                &count,
            ],
        )
        .unwrap()
    };
    let (mut first, mut second) = (spawn(), spawn());
    assert!(first.wait_for("ready", READY_TIMEOUT) && second.wait_for("ready", READY_TIMEOUT));
    let (first, second) = (first.wait().unwrap(), second.wait().unwrap());
    assert!(first.success && second.success, "{first:?} {second:?}");
    let created = |output: &reliability_tests::child::ChildOutput| -> BTreeSet<String> {
        output
            .lines
            .iter()
            .filter_map(|line| line.strip_prefix("created "))
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (created(&first), created(&second));
    assert!(
        a.is_disjoint(&b),
        "{backend}: created twice: {:?}",
        a.intersection(&b).collect::<Vec<_>>()
    );
    assert_eq!(a.len() + b.len(), CREATE_RACE_IDS, "{backend}");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    assert_eq!(
        driver.list_actors(None, 1000).unwrap().len(),
        CREATE_RACE_IDS
    );
    eprintln!(
        "{backend}: {} and {} of {CREATE_RACE_IDS} ids created by each process",
        a.len(),
        b.len()
    );
}
