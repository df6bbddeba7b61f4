//! Several threads on several actors through one `Arc<FsDriver>`: the results equal a
//! model, and operations racing with sleep either complete or fail with `ActorStopping`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use fs_driver::{Error, FsDriver, KvEntry};

use super::support::{all, create, open};
use crate::{CaseResult, Context};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// A small deterministic generator (xorshift), so each thread's operations are fixed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Retries `op` while it fails with `ActorStopping` (a concurrent sleep); any other error
/// fails the case.
fn retry<T>(what: &str, mut op: impl FnMut() -> fs_driver::Result<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match op() {
            Ok(value) => return value,
            Err(Error::ActorStopping(_)) if Instant::now() < deadline => {
                thread::sleep(Duration::from_micros(200));
            }
            Err(error) => panic!("{what}: {error}"),
        }
    }
}

/// Applies `steps` random writes (puts, deletes, delete ranges) to keys under `prefix` of
/// `actor`, mirrors them in a model, and checks reads against it as it goes.
fn work(driver: &FsDriver, actor: &str, prefix: u8, seed: u64, steps: usize) -> Model {
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let key = |rng: &mut Rng| vec![prefix, b'0' + rng.below(12) as u8];
    for step in 0..steps {
        match rng.below(10) {
            0..=4 => {
                let batch: Vec<KvEntry> = (0..1 + rng.below(4))
                    .map(|_| {
                        (
                            key(&mut rng),
                            rng.next().to_le_bytes()[..rng.below(8) as usize].to_vec(),
                        )
                    })
                    .collect();
                retry("put", || driver.kv_put(actor, &batch));
                for (k, v) in batch {
                    model.insert(k, v);
                }
            }
            5 | 6 => {
                let keys: Vec<Vec<u8>> = (0..1 + rng.below(3)).map(|_| key(&mut rng)).collect();
                retry("delete", || driver.kv_delete(actor, &keys));
                for k in keys {
                    model.remove(&k);
                }
            }
            7 => {
                let (a, b) = (key(&mut rng), key(&mut rng));
                retry("delete range", || driver.kv_delete_range(actor, &a, &b));
                if a < b {
                    model.retain(|k, _| !(*k >= a && *k < b));
                }
            }
            _ => {
                let k = key(&mut rng);
                let got = retry("get", || driver.kv_get(actor, &[&k]));
                assert_eq!(
                    got,
                    vec![model.get(&k).cloned()],
                    "{actor} step {step}: get {k:?}"
                );
                let listed = retry("list", || {
                    driver.kv_list_prefix(actor, &[prefix], fs_driver::ListOptions::new())
                });
                let want: Vec<KvEntry> = model.clone().into_iter().collect();
                assert_eq!(listed, want, "{actor} step {step}: list of prefix {prefix}");
            }
        }
    }
    model
}

/// Four threads, each with two actors of its own, run random writes and reads through
/// one shared driver; every actor ends equal to its thread's model, also after a fresh
/// driver on the same root.
pub(crate) fn concurrency_threads_on_own_actors(cx: &Context) -> CaseResult {
    let driver = Arc::new(open(cx));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let driver = Arc::clone(&driver);
            thread::spawn(move || {
                let mut models = Vec::new();
                for a in 0..2 {
                    let id = format!("t{t}-a{a}");
                    create(&driver, &id, &[]);
                    models.push((id.clone(), work(&driver, &id, b'k', 17 + t * 2 + a, 60)));
                    if a == 0 {
                        driver.sleep_actor(&id, None).expect("sleep");
                    }
                }
                models
            })
        })
        .collect();
    // Join every thread before failing: none may outlive the case's directory.
    let results: Vec<_> = handles.into_iter().map(|handle| handle.join()).collect();
    let mut models = Vec::new();
    for result in results {
        models.extend(result.map_err(|_| "a worker thread failed")?);
    }
    for (id, model) in &models {
        let want: Vec<KvEntry> = model.clone().into_iter().collect();
        assert_eq!(all(&driver, id), want, "{id}");
    }
    drop(driver);
    let driver = open(cx);
    for (id, model) in &models {
        let want: Vec<KvEntry> = model.clone().into_iter().collect();
        assert_eq!(all(&driver, id), want, "{id} after reopen");
        assert_eq!(
            driver.kv_storage_used(id)?,
            model
                .iter()
                .map(|(k, v)| (k.len() + v.len()) as u64)
                .sum::<u64>()
        );
    }
    Ok(())
}

/// Three threads write disjoint key ranges of the same two actors while a fourth keeps
/// putting them to sleep: operations either complete or fail with `ActorStopping` (and
/// are retried), and each actor ends equal to the union of the threads' models.
pub(crate) fn concurrency_shared_actors_with_sleeps(cx: &Context) -> CaseResult {
    let driver = Arc::new(open(cx));
    create(&driver, "s0", &[]);
    create(&driver, "s1", &[]);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sleeper = {
        let driver = Arc::clone(&driver);
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut sleeps = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for id in ["s0", "s1"] {
                    match driver.sleep_actor(id, None) {
                        Ok(()) | Err(Error::ActorStopping(_)) => sleeps += 1,
                        Err(error) => panic!("sleep {id}: {error}"),
                    }
                }
                thread::sleep(Duration::from_millis(3));
            }
            sleeps
        })
    };
    let workers: Vec<_> = (0..3u8)
        .map(|t| {
            let driver = Arc::clone(&driver);
            thread::spawn(move || {
                let m0 = work(&driver, "s0", b'a' + t, 100 + u64::from(t), 50);
                let m1 = work(&driver, "s1", b'a' + t, 200 + u64::from(t), 50);
                (m0, m1)
            })
        })
        .collect();
    // Join everything before failing: no thread may outlive the case's directory.
    let results: Vec<_> = workers.into_iter().map(|worker| worker.join()).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sleeps = sleeper.join().map_err(|_| "the sleeper thread failed")?;
    assert!(sleeps > 0);
    let mut union0 = Model::new();
    let mut union1 = Model::new();
    for result in results {
        let (m0, m1) = result.map_err(|_| "a worker thread failed")?;
        union0.extend(m0);
        union1.extend(m1);
    }
    assert_eq!(all(&driver, "s0"), union0.into_iter().collect::<Vec<_>>());
    assert_eq!(all(&driver, "s1"), union1.into_iter().collect::<Vec<_>>());
    Ok(())
}
