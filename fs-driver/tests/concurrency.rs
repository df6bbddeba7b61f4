//! Concurrency sanity: many threads on many actors, operations racing sleep and destroy,
//! independent actors not waiting on each other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::{open, tempdir};
use fs_driver::{Error, FsDriver, ListOptions};

const NO_ENTRIES: &[(&[u8], &[u8])] = &[];

#[test]
fn many_threads_on_many_actors() {
    let dir = tempdir();
    let driver = Arc::new(open(dir.path()));
    let actors = 8;
    for a in 0..actors {
        driver
            .create_actor(&format!("actor-{a}"), "t", vec![], NO_ENTRIES)
            .unwrap();
    }
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let driver = driver.clone();
            thread::spawn(move || {
                for i in 0..50u32 {
                    let id = format!("actor-{}", (i as usize + t) % actors);
                    let key = format!("t{t}-{i}");
                    driver
                        .kv_put(&id, &[(key.as_bytes(), i.to_be_bytes())])
                        .unwrap();
                    assert_eq!(
                        driver.kv_get_one(&id, key.as_bytes()).unwrap(),
                        Some(i.to_be_bytes().to_vec())
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let total: usize = (0..actors)
        .map(|a| {
            driver
                .kv_list_prefix(&format!("actor-{a}"), b"", ListOptions::new())
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(total, 4 * 50);
}

#[test]
fn writes_racing_sleep_complete_fully_or_report_stopping() {
    let dir = tempdir();
    let driver = Arc::new(open(dir.path()));
    driver.create_actor("a", "t", vec![], NO_ENTRIES).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let sleeper = {
        let (driver, done) = (driver.clone(), done.clone());
        thread::spawn(move || {
            let mut sleeps = 0;
            while !done.load(Ordering::Relaxed) {
                match driver.sleep_actor("a", None) {
                    Ok(()) | Err(Error::ActorStopping(_)) => sleeps += 1,
                    Err(other) => panic!("sleep failed: {other}"),
                }
                thread::yield_now();
            }
            sleeps
        })
    };
    let writers: Vec<_> = (0..2)
        .map(|t| {
            let driver = driver.clone();
            thread::spawn(move || {
                let mut written = Vec::new();
                for i in 0..100u32 {
                    let key = format!("w{t}-{i:03}");
                    let batch = [
                        (key.clone().into_bytes(), vec![1u8; 8]),
                        (format!("{key}-b").into_bytes(), vec![2u8; 8]),
                    ];
                    match driver.kv_put("a", &batch) {
                        Ok(()) => written.push(key),
                        Err(Error::ActorStopping(_)) => {}
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                }
                written
            })
        })
        .collect();
    let written: Vec<String> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    done.store(true, Ordering::Relaxed);
    assert!(sleeper.join().unwrap() > 0);
    let listed = driver.kv_list_prefix("a", b"", ListOptions::new()).unwrap();
    // Every acknowledged batch is there, whole; nothing else is.
    assert_eq!(listed.len(), written.len() * 2);
    for key in &written {
        assert_eq!(
            driver.kv_get_one("a", key.as_bytes()).unwrap(),
            Some(vec![1u8; 8])
        );
        assert_eq!(
            driver
                .kv_get_one("a", format!("{key}-b").as_bytes())
                .unwrap(),
            Some(vec![2u8; 8])
        );
    }
    let expected: u64 = listed.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    assert_eq!(driver.kv_storage_used("a").unwrap(), expected);
}

#[test]
fn writes_racing_destroy_never_resurrect_the_database() {
    for round in 0..5 {
        let dir = tempdir();
        let driver = Arc::new(open(dir.path()));
        driver.create_actor("a", "t", vec![], NO_ENTRIES).unwrap();
        let writers: Vec<_> = (0..2)
            .map(|t| {
                let driver = driver.clone();
                thread::spawn(move || {
                    for i in 0..200u32 {
                        let key = format!("{t}-{i}");
                        match driver.kv_put("a", &[(key.as_bytes(), b"v")]) {
                            Ok(())
                            | Err(Error::ActorStopping(_))
                            | Err(Error::ActorNotFound(_)) => {}
                            Err(other) => panic!("unexpected error: {other}"),
                        }
                    }
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(round));
        driver.destroy_actor("a", None).unwrap();
        for writer in writers {
            writer.join().unwrap();
        }
        let left = common::files_under(dir.path());
        assert!(left.is_empty(), "round {round}: {left:?}");
        driver.create_actor("a", "t", vec![], NO_ENTRIES).unwrap();
        assert!(
            driver
                .kv_list_prefix("a", b"", ListOptions::new())
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn a_busy_actor_does_not_block_another() {
    let dir = tempdir();
    let driver = Arc::new(open(dir.path()));
    for id in ["busy", "free"] {
        driver
            .create_actor(id, "t", vec![], &[(b"k", b"v")])
            .unwrap();
    }
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let busy = {
        let driver = driver.clone();
        thread::spawn(move || {
            // The visitor runs under the busy actor's lock.
            driver
                .kv_scan_prefix("busy", b"", ListOptions::new(), &mut |_, _| {
                    entered_tx.send(()).unwrap();
                    release_rx.recv_timeout(Duration::from_secs(10)).unwrap();
                })
                .unwrap();
        })
    };
    entered_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    // While "busy" is held, "free" works: create, put, get, list, sleep.
    driver.kv_put("free", &[(b"x", b"y")]).unwrap();
    assert_eq!(
        driver.kv_get_one("free", b"x").unwrap(),
        Some(b"y".to_vec())
    );
    driver
        .create_actor("third", "t", vec![], NO_ENTRIES)
        .unwrap();
    assert_eq!(driver.list_actors(None, 10).unwrap().len(), 3);
    driver.sleep_actor("free", None).unwrap();
    release_tx.send(()).unwrap();
    busy.join().unwrap();
}

#[test]
fn concurrent_creates_of_one_id_make_one_actor() {
    let dir = tempdir();
    let driver = Arc::new(open(dir.path()));
    let results: Vec<_> = (0..4)
        .map(|t| {
            let driver: Arc<FsDriver> = driver.clone();
            thread::spawn(move || {
                driver.create_actor(
                    "same",
                    &format!("creator-{t}"),
                    vec![],
                    &[(b"who", [t as u8])],
                )
            })
        })
        .map(|h| h.join().unwrap())
        .collect();
    let created: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created.len(), 1);
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(Error::ActorExists(_))))
    );
    let winner = created[0]
        .name
        .trim_start_matches("creator-")
        .parse::<u8>()
        .unwrap();
    assert_eq!(
        driver.kv_get_one("same", b"who").unwrap(),
        Some(vec![winner])
    );
}
