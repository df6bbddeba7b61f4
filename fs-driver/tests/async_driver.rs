//! The async driver: per-actor order against a model, coalesced writes that fail
//! alone, cancellation at random points, a bounded queue, any executor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::mpsc;

use futures_executor::block_on;

use common::{entries, open, open_with, runtime, tempdir};
use fs_driver::{AsyncFsDriver, DriverOptions, Error, FsDriver, ListOptions};
use sqlite_runtime::workers::WorkersOptions;
use sqlite_runtime::{AsyncRuntime, ErrorKind, OpenOptions, Target};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Occupies the driver's only worker until `release` is sent: what is submitted
/// meanwhile queues up.
fn hold_workers(driver: &AsyncFsDriver) -> (sqlite_runtime::Call<()>, mpsc::Sender<()>) {
    let runtime = AsyncRuntime::with_workers(runtime(), driver.workers().clone());
    let held = block_on(runtime.open(Target::Memory, OpenOptions::new())).unwrap();
    let (release, released) = mpsc::channel::<()>();
    let (entered, inside) = mpsc::channel::<()>();
    let hold = held.call(move |_| {
        let _ = entered.send(());
        let _ = released.recv();
        Ok(())
    });
    inside.recv().unwrap();
    (hold, release)
}

fn driver_on(root: &std::path::Path, options: WorkersOptions) -> AsyncFsDriver {
    AsyncFsDriver::with_options(open(root), options).unwrap()
}

fn all(driver: &FsDriver, id: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    driver
        .kv_list_prefix(id, b"", ListOptions::new())
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn per_actor_order_against_a_model() {
    let dir = tempdir();
    let driver = driver_on(
        dir.path(),
        WorkersOptions::new().threads(2).queue_capacity(2000),
    );
    let actors = ["a", "b", "c", "d"];
    for id in actors {
        block_on(driver.create_actor(id, "n", vec![], vec![])).unwrap();
    }
    let mut rng = Rng(7);
    let mut model: BTreeMap<&str, BTreeMap<Vec<u8>, Vec<u8>>> = BTreeMap::new();
    let mut calls: Vec<std::pin::Pin<Box<dyn Future<Output = fs_driver::Result<()>>>>> = Vec::new();
    // 2,000 operations submitted without waiting: each actor's run in call order.
    for step in 0..2000u32 {
        let id = actors[rng.below(4) as usize];
        let key = format!("k{}", rng.below(30)).into_bytes();
        let table = model.entry(id).or_default();
        match rng.below(4) {
            0 | 1 => {
                let value = step.to_le_bytes().to_vec();
                table.insert(key.clone(), value.clone());
                calls.push(Box::pin(driver.kv_put(id, vec![(key, value)])));
            }
            2 => {
                table.remove(&key);
                calls.push(async_unit(driver.kv_delete(id, vec![key])));
            }
            _ => {
                let end = b"k2".to_vec();
                let start = b"k1".to_vec();
                table.retain(|k, _| !(k >= &start && k < &end));
                calls.push(async_unit(driver.kv_delete_range(id, start, end)));
            }
        }
    }
    for call in calls {
        block_on(call).unwrap();
    }
    for id in actors {
        let listed: BTreeMap<Vec<u8>, Vec<u8>> =
            block_on(driver.kv_list_prefix(id, vec![], ListOptions::new()))
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(
            &listed,
            model.get(id).unwrap_or(&BTreeMap::new()),
            "actor {id}"
        );
    }
}

/// A delete's call, waited for without its count.
fn async_unit(
    call: fs_driver::DriverCall<u64>,
) -> std::pin::Pin<Box<dyn Future<Output = fs_driver::Result<()>>>> {
    Box::pin(async move { call.await.map(drop) })
}

#[test]
fn coalesced_writes_fail_alone() {
    let dir = tempdir();
    let driver = AsyncFsDriver::with_options(
        open_with(dir.path(), DriverOptions::new().max_storage_bytes(100_000)),
        WorkersOptions::new().threads(1),
    )
    .unwrap();
    block_on(driver.create_actor("q", "n", vec![], vec![])).unwrap();
    // The writes below queue up behind the held worker and form one group.
    let (hold, release) = hold_workers(&driver);
    let ok1 = driver.kv_put("q", entries(&[("a", "1")]));
    let too_long = driver.kv_put("q", vec![(vec![b'k'; 3000], b"v".to_vec())]);
    let ok2 = driver.kv_put("q", entries(&[("b", "2"), ("c", "3")]));
    let over_quota = driver.kv_put("q", vec![(b"big".to_vec(), vec![0; 120_000])]);
    let deleted = driver.kv_delete("q", vec![b"a".to_vec(), b"zzz".to_vec()]);
    let ok3 = driver.kv_put("q", entries(&[("d", "4")]));
    release.send(()).unwrap();
    block_on(hold).unwrap();
    block_on(ok1).unwrap();
    assert!(block_on(too_long).unwrap_err().as_limit().is_some());
    block_on(ok2).unwrap();
    let quota = block_on(over_quota).unwrap_err();
    assert!(quota.as_limit().is_some(), "{quota}");
    assert_eq!(block_on(deleted).unwrap(), 1);
    block_on(ok3).unwrap();
    let stored = all(driver.driver(), "q");
    assert_eq!(
        stored,
        entries(&[("b", "2"), ("c", "3"), ("d", "4")])
            .into_iter()
            .collect()
    );
    // The kept size matches a scan: the savepoints undid the failed writes whole.
    assert_eq!(block_on(driver.kv_storage_used("q")).unwrap(), 6);
}

/// 10,000 operations, each future dropped with probability 1/3 at a random moment
/// (before it is polled, or after a few polls): every acknowledged write is there, a
/// dropped write is whole or absent, nothing is left inside a transaction.
#[test]
fn random_cancellations_leave_nothing_half_done() {
    let dir = tempdir();
    let driver = driver_on(
        dir.path(),
        WorkersOptions::new().threads(2).queue_capacity(20_000),
    );
    let actors = ["x", "y", "z"];
    for id in actors {
        block_on(driver.create_actor(id, "n", vec![], vec![])).unwrap();
    }
    let mut rng = Rng(42);
    let batch = |n: u32| -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..3)
            .map(|i| {
                (
                    format!("b{n:05}-{i}").into_bytes(),
                    n.to_le_bytes().to_vec(),
                )
            })
            .collect()
    };
    let (mut acknowledged, mut dropped) = (Vec::new(), Vec::new());
    let mut pending = Vec::new();
    for n in 0..10_000u32 {
        let id = actors[rng.below(3) as usize];
        let call = driver.kv_put(id, batch(n));
        match rng.below(3) {
            0 => {
                drop(call);
                dropped.push((id, n));
            }
            _ => pending.push((id, n, call)),
        }
        // Now and then, finish or drop some of those in flight.
        if n % 97 == 0 {
            for (id, n, call) in pending.drain(..) {
                if rng.below(5) == 0 {
                    drop(call);
                    dropped.push((id, n));
                } else {
                    block_on(call).unwrap();
                    acknowledged.push((id, n));
                }
            }
        }
    }
    for (id, n, call) in pending {
        block_on(call).unwrap();
        acknowledged.push((id, n));
    }
    // Everything queued has run (a sleep is queued behind it on each lane).
    for id in actors {
        block_on(driver.sleep_actor(id)).unwrap();
    }
    let sync = open(dir.path());
    let stored: BTreeMap<&str, BTreeMap<Vec<u8>, Vec<u8>>> =
        actors.iter().map(|id| (*id, all(&sync, id))).collect();
    for (id, n) in &acknowledged {
        for (key, value) in batch(*n) {
            assert_eq!(
                stored[id].get(&key),
                Some(&value),
                "acknowledged batch {n} lost"
            );
        }
    }
    let mut dropped_present = 0;
    for (id, n) in &dropped {
        let present = batch(*n)
            .iter()
            .filter(|(k, v)| stored[id].get(k) == Some(v))
            .count();
        assert!(present == 0 || present == 3, "batch {n} is partly there");
        dropped_present += usize::from(present == 3);
    }
    // Nothing holds a write lock: another connection writes at once.
    for id in actors {
        let mut db = runtime()
            .open(
                &Target::file(dir.path().join("databases").join(format!("{id}.db"))),
                &OpenOptions::new().busy_timeout(std::time::Duration::ZERO),
            )
            .unwrap();
        db.exec("BEGIN IMMEDIATE; ROLLBACK;").unwrap();
    }
    eprintln!(
        "{} acknowledged, {} dropped ({dropped_present} of them ran before the drop)",
        acknowledged.len(),
        dropped.len()
    );
    assert!(dropped.len() > 2000 && acknowledged.len() > 5000);
}

#[test]
fn a_flood_past_the_bound_is_overloaded_and_memory_stays_bounded() {
    let dir = tempdir();
    let driver = driver_on(
        dir.path(),
        WorkersOptions::new().threads(1).queue_capacity(8),
    );
    block_on(driver.create_actor("f", "n", vec![], vec![])).unwrap();
    let (hold, release) = hold_workers(&driver);
    let mut queued = Vec::new();
    let mut overloaded = 0;
    for n in 0..10_000u32 {
        let call = driver.kv_put("f", vec![(n.to_le_bytes().to_vec(), b"v".to_vec())]);
        if n < 8 {
            queued.push(call);
        } else {
            let error = block_on(call).unwrap_err();
            assert!(
                matches!(&error, Error::Sqlite(e) if e.kind() == ErrorKind::Overloaded && e.is_retryable()),
                "{error}"
            );
            overloaded += 1;
        }
    }
    assert_eq!(overloaded, 10_000 - 8);
    release.send(()).unwrap();
    block_on(hold).unwrap();
    for call in queued {
        block_on(call).unwrap();
    }
    let stored = all(driver.driver(), "f");
    assert_eq!(stored.len(), 8, "only the queued writes are there");
}

#[test]
fn runs_under_tokio_and_any_executor() {
    let dir = tempdir();
    let driver = driver_on(dir.path(), WorkersOptions::new().threads(2));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    multi.block_on(async {
        driver.create_actor("t", "n", vec![], vec![]).await.unwrap();
        let tasks: Vec<_> = (0..64u32)
            .map(|n| {
                let driver = driver.clone();
                tokio::spawn(async move {
                    driver
                        .kv_put("t", vec![(n.to_le_bytes().to_vec(), b"v".to_vec())])
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    });
    current.block_on(async {
        let listed = driver
            .kv_list_prefix("t", vec![], ListOptions::new())
            .await
            .unwrap();
        assert_eq!(listed.len(), 64);
    });
    let used = futures_executor::block_on(driver.kv_storage_used("t")).unwrap();
    assert_eq!(used, 64 * 5);
}

#[test]
fn actor_sql_through_the_async_driver() {
    let dir = tempdir();
    let driver = driver_on(dir.path(), WorkersOptions::new().threads(2));
    block_on(driver.create_actor("a", "n", vec![], vec![])).unwrap();
    let owned =
        |values: &[sqlite_runtime::Value]| sqlite_runtime::OwnedParams::Positional(values.to_vec());
    block_on(driver.sql_batch("a", "CREATE TABLE t (x INTEGER UNIQUE, label TEXT);")).unwrap();
    // In the actor's order: a KV put, an SQL insert, a transaction mixing both, a query.
    let put = driver.kv_put("a", vec![(b"k".to_vec(), b"1".to_vec())]);
    let insert = driver.sql_execute(
        "a",
        "INSERT INTO t VALUES (?, ?)",
        owned(&[1.into(), "one".into()]),
    );
    let both = driver.sql_transaction("a", |tx| {
        let seen = tx.kv_get(&[b"k"])?;
        assert_eq!(
            seen,
            vec![Some(b"1".to_vec())],
            "the earlier put is visible"
        );
        tx.execute(
            "INSERT INTO t VALUES (2, 'two')",
            sqlite_runtime::Params::NONE,
        )?;
        tx.kv_put(&[(b"k2", b"2")])
    });
    let rows = driver.sql_query(
        "a",
        "SELECT label FROM t ORDER BY x",
        sqlite_runtime::OwnedParams::Positional(vec![]),
    );
    block_on(put).unwrap();
    assert_eq!(block_on(insert).unwrap().changes, 1);
    block_on(both).unwrap();
    let labels: Vec<String> = block_on(rows)
        .unwrap()
        .iter()
        .map(|row| row.get::<String>(0).unwrap())
        .collect();
    assert_eq!(labels, ["one", "two"]);
    // A failing transaction leaves nothing; a refused statement is typed.
    let failed = block_on(driver.sql_transaction("a", |tx| {
        tx.kv_put(&[(b"k3", b"3")])?;
        tx.execute(
            "INSERT INTO t VALUES (1, 'dup')",
            sqlite_runtime::Params::NONE,
        )
        .map(drop)
    }));
    assert!(failed.is_err());
    let refused = block_on(driver.sql_query(
        "a",
        "SELECT * FROM kv",
        sqlite_runtime::OwnedParams::Positional(vec![]),
    ))
    .unwrap_err();
    assert!(
        matches!(&refused, Error::Sqlite(e) if e.kind() == ErrorKind::NotAuthorized),
        "{refused:?}"
    );
    assert_eq!(all(driver.driver(), "a").len(), 2);
}
