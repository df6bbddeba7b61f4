//! The fault suite: failures injected at each file operation of a destroy, immutable
//! files and directories, read-only files and file systems, full disks (space and
//! inodes), a descriptor limit, and `fsync` failing under a write. For each: the error,
//! nothing acknowledged lost, nothing reported as not written ever served, and recovery
//! without restarting the driver.
//!
//! Mounts and `chattr` need root and a kernel that allows them; where they are refused
//! the test says SKIPPED with the reason (CI runs as root).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{crash_child, runtime, tempdir};
use fs_driver::faults;
use fs_driver::{DriverOptions, Error, FsDriver, ListOptions};
use reliability_tests::child::{ChildRun, READY_TIMEOUT};
use reliability_tests::faults::{FailingDisk, Immutable, Mount, Unavailable};

per_backend! {
    destroy_fails_at_each_file_operation => destroy_fails_at_each_file_operation;
    destroy_with_immutable_files => destroy_with_immutable_files;
    read_only_file_and_file_system => read_only_file_and_file_system;
    full_disk => full_disk;
    inodes_exhausted => inodes_exhausted;
    descriptor_limit => descriptor_limit;
    fsync_failure => fsync_failure;
    unknown_write_not_served_after_a_failed_sleep => unknown_write_not_served_after_a_failed_sleep;
    unknown_write_not_served_after_a_successful_sleep => unknown_write_not_served_after_a_successful_sleep;
    state_write_of_unknown_outcome_is_not_served => state_write_of_unknown_outcome_is_not_served;
}

fn skipped(test: &str, backend: &str, why: &Unavailable) {
    eprintln!("SKIPPED {test} ({backend}): {why}");
}

fn entries(n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| (format!("key-{i}").into_bytes(), vec![i as u8; 100]))
        .collect()
}

fn all(driver: &FsDriver, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    driver.kv_list_prefix(id, b"", ListOptions::new()).unwrap()
}

/// The actor's files that exist.
fn files_of(root: &Path, id: &str) -> Vec<String> {
    [
        format!("state/{id}"),
        format!("alarms/{id}"),
        format!("databases/{id}.db"),
        format!("databases/{id}.db-wal"),
        format!("databases/{id}.db-shm"),
    ]
    .into_iter()
    .filter(|path| root.join(path).exists())
    .collect()
}

/// Whether the actor is intact (all its entries) or gone (not found, not listed); any
/// other state fails the test.
fn intact_or_gone(driver: &FsDriver, id: &str, expected: &[(Vec<u8>, Vec<u8>)]) -> bool {
    let listed = driver
        .list_actors(None, 100)
        .unwrap()
        .iter()
        .any(|actor| actor.id == id);
    match driver.kv_list_prefix(id, b"", ListOptions::new()) {
        Ok(got) => {
            assert_eq!(
                got, expected,
                "a destroy that failed changed the actor's data"
            );
            assert!(listed, "an intact actor is listed");
            true
        }
        Err(error) => {
            assert!(error.is_not_found(), "neither intact nor gone: {error}");
            assert!(!listed, "a gone actor is not listed");
            false
        }
    }
}

/// A failure injected at each file operation of a destroy, in turn: the destroy fails,
/// and the actor is either intact or gone; a retry finishes it; the id can be created
/// again, empty.
fn destroy_fails_at_each_file_operation(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let data = entries(8);
    let (mut intact, mut gone) = (0, 0);
    for failing in 0.. {
        driver.create_actor("e", "n", Vec::new(), &data).unwrap();
        driver.set_alarm("e", 42).unwrap();
        driver.kv_put("e", &[(b"wal", b"frames")]).unwrap();
        let mut expected = data.clone();
        expected.push((b"wal".to_vec(), b"frames".to_vec()));
        expected.sort();
        let count = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let seen = count.clone();
        faults::inject(move |op, path| {
            let n = seen.get();
            seen.set(n + 1);
            (n == failing).then(|| {
                std::io::Error::other(format!("injected failure of {op:?} on {}", path.display()))
            })
        });
        let result = driver.destroy_actor("e", None);
        faults::clear();
        if result.is_ok() {
            // Every operation of a destroy has failed once: done.
            assert!(count.get() <= failing, "{backend}: a failure was ignored");
            assert!(files_of(&root, "e").is_empty());
            assert_eq!(driver.get_alarm("e").unwrap(), None);
            break;
        }
        let error = result.unwrap_err();
        assert!(
            error.to_string().contains("injected failure"),
            "{backend}: {error}"
        );
        if intact_or_gone(&driver, "e", &expected) {
            intact += 1;
        } else {
            gone += 1;
        }
        driver.destroy_actor("e", None).unwrap();
        assert!(
            files_of(&root, "e").is_empty(),
            "{backend}: a retried destroy left {:?}",
            files_of(&root, "e")
        );
    }
    assert!(
        intact >= 4 && gone >= 4,
        "{backend}: {intact} intact, {gone} gone"
    );
    eprintln!(
        "{backend}: a destroy failed at each of {} file operations: {intact} left the actor intact, {gone} gone and finished by a retry",
        intact + gone
    );
}

/// `chattr +i` on the state file: the destroy fails with the OS error and the actor is
/// intact (the point of no return was never reached). On `databases/`: the destroy
/// passes its point of no return, fails to remove the database, and the actor is gone;
/// once the attribute is cleared a retry removes the rest.
fn destroy_with_immutable_files(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let data = entries(8);
    driver.create_actor("e", "n", Vec::new(), &data).unwrap();
    driver.sleep_actor("e", None).unwrap();
    {
        let guard = match Immutable::set(&root.join("state/e")) {
            Ok(guard) => guard,
            Err(why) => return skipped("destroy_with_immutable_files", backend, &why),
        };
        let error = driver.destroy_actor("e", None).unwrap_err();
        assert!(error.to_string().contains("state/e"), "{backend}: {error}");
        drop(guard);
        assert!(intact_or_gone(&driver, "e", &data), "{backend}: not intact");
        driver.sleep_actor("e", None).unwrap();
    }
    {
        let _guard = Immutable::set(&root.join("databases")).unwrap();
        let error = driver.destroy_actor("e", None).unwrap_err();
        assert!(
            error.to_string().contains("databases/e.db"),
            "{backend}: {error}"
        );
        assert!(!intact_or_gone(&driver, "e", &data), "{backend}: not gone");
        assert!(driver.create_actor("e", "n", Vec::new(), &data).is_err());
    }
    driver.destroy_actor("e", None).unwrap();
    assert!(files_of(&root, "e").is_empty());
    driver
        .create_actor("e", "n", Vec::new(), &data[..1])
        .unwrap();
    assert_eq!(all(&driver, "e"), data[..1].to_vec());
}

/// A database that cannot be written (immutable file, read-only file system) wakes
/// read-only: reads work, writes fail with `Error::ReadOnly` naming the file, and once
/// the cause clears the next write works, without a sleep.
fn read_only_file_and_file_system(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let data = entries(4);
    driver.create_actor("r", "n", Vec::new(), &data).unwrap();
    driver
        .sql_batch("r", "CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    driver.sleep_actor("r", None).unwrap();
    {
        let _guard = match Immutable::set(&root.join("databases/r.db")) {
            Ok(guard) => guard,
            Err(why) => return skipped("read_only_file_and_file_system", backend, &why),
        };
        assert_eq!(
            all(&driver, "r"),
            data,
            "{backend}: reads of a read-only database"
        );
        let error = driver.kv_put("r", &[(b"x", b"1")]).unwrap_err();
        assert!(
            matches!(error, Error::ReadOnly { .. }),
            "{backend}: {error}"
        );
        assert!(error.to_string().contains("databases/r.db"), "{error}");
        // The actor's SQL as its KV: reads work, writes are refused as read-only.
        let rows = driver.sql_query("r", "SELECT x FROM t", sqlite_runtime::Params::NONE);
        assert_eq!(
            rows.unwrap().len(),
            1,
            "{backend}: SQL reads of a read-only database"
        );
        let error = driver
            .sql_execute(
                "r",
                "INSERT INTO t VALUES (2)",
                sqlite_runtime::Params::NONE,
            )
            .unwrap_err();
        assert!(
            matches!(error, Error::ReadOnly { .. }),
            "{backend}: {error}"
        );
    }
    driver.kv_put("r", &[(b"x", b"1")]).unwrap();
    assert_eq!(driver.kv_get_one("r", b"x").unwrap(), Some(b"1".to_vec()));
    drop(driver);

    // The whole file system read-only.
    let mount = match Mount::tmpfs(&dir.path().join("ro"), "size=16m") {
        Ok(mount) => mount,
        Err(why) => return skipped("read_only_file_and_file_system (remount)", backend, &why),
    };
    let root = mount.dir().join("root");
    {
        let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
        driver.create_actor("r", "n", Vec::new(), &data).unwrap();
    }
    // A file system with files open for writing cannot be remounted read-only: the
    // driver is opened again on the read-only one (as after an error remount).
    mount.set_read_only(true).unwrap();
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    assert_eq!(
        all(&driver, "r"),
        data,
        "{backend}: reads on a read-only file system"
    );
    let error = driver.kv_put("r", &[(b"x", b"1")]).unwrap_err();
    assert!(
        matches!(error, Error::ReadOnly { .. }),
        "{backend}: {error}"
    );
    mount.set_read_only(false).unwrap();
    driver.kv_put("r", &[(b"x", b"1")]).unwrap();
    let mut expected = data.clone();
    expected.push((b"x".to_vec(), b"1".to_vec()));
    expected.sort();
    assert_eq!(all(&driver, "r"), expected);
}

/// A disk that fills: the put that does not fit fails as not applied (never "unknown"),
/// naming the cause; everything acknowledged is there; a sleeping actor's read either
/// works or says the disk is full; when space returns the same driver writes again.
fn full_disk(backend: &str) {
    let dir = tempdir();
    let mount = match Mount::tmpfs(&dir.path().join("full"), "size=3m") {
        Ok(mount) => mount,
        Err(why) => return skipped("full_disk", backend, &why),
    };
    let root = mount.dir().join("root");
    // Space to give back once the disk is full.
    let ballast = mount.dir().join("ballast");
    std::fs::write(&ballast, vec![0u8; 512 * 1024]).unwrap();
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    driver
        .create_actor("quiet", "n", Vec::new(), &entries(2))
        .unwrap();
    driver.sleep_actor("quiet", None).unwrap();
    driver
        .create_actor("f", "n", Vec::new(), &entries(1))
        .unwrap();
    let mut acked = BTreeMap::new();
    let mut failure = None;
    for batch in 0..200u32 {
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..8)
            .map(|i| {
                (
                    format!("b{batch:03}-{i}").into_bytes(),
                    vec![batch as u8; 4_000],
                )
            })
            .collect();
        match driver.kv_put("f", &entries) {
            Ok(()) => acked.extend(entries),
            Err(error) => {
                failure = Some((error, entries));
                break;
            }
        }
    }
    let (error, refused) = failure.expect("a 3 MiB disk filled");
    assert!(
        !matches!(error, Error::WriteOutcomeUnknown { .. }),
        "{backend}: {error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("full") || text.contains("No space left"),
        "{backend}: the error does not say the disk is full: {text}"
    );
    for (key, value) in &acked {
        assert_eq!(driver.kv_get_one("f", key).unwrap().as_ref(), Some(value));
    }
    for (key, _) in &refused {
        assert_eq!(
            driver.kv_get_one("f", key).unwrap(),
            None,
            "{backend}: a refused write is served"
        );
    }
    match driver.kv_get("quiet", &[b"key-0"]) {
        Ok(values) => assert!(values[0].is_some()),
        Err(error) => {
            let text = error.to_string();
            assert!(text.contains("No space left"), "{backend}: {text}");
        }
    }
    // Space returns: the same driver writes again.
    std::fs::remove_file(&ballast).unwrap();
    driver.kv_put("f", &refused).unwrap();
    assert_eq!(
        driver.kv_get_one("f", &refused[0].0).unwrap(),
        Some(refused[0].1.clone())
    );
    eprintln!(
        "{backend}: disk full after {} acknowledged entries: {text}",
        acked.len()
    );
}

/// Inodes run out: a create fails with the OS error and leaves nothing half-made; every
/// actor created before is whole.
fn inodes_exhausted(backend: &str) {
    let dir = tempdir();
    let mount = match Mount::tmpfs(&dir.path().join("inodes"), "size=32m,nr_inodes=48") {
        Ok(mount) => mount,
        Err(why) => return skipped("inodes_exhausted", backend, &why),
    };
    let root = mount.dir().join("root");
    let ballast: Vec<_> = (0..8)
        .map(|i| mount.dir().join(format!("ballast-{i}")))
        .collect();
    for file in &ballast {
        std::fs::write(file, b"").unwrap();
    }
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let mut created = Vec::new();
    let error = loop {
        let id = format!("i{:03}", created.len());
        match driver.create_actor(&id, "n", Vec::new(), &entries(1)) {
            Ok(_) => {
                driver.sleep_actor(&id, None).unwrap();
                created.push(id);
            }
            Err(error) => break (id, error),
        }
        assert!(created.len() < 48, "{backend}: inodes never ran out");
    };
    let (failed, error) = error;
    let text = error.to_string();
    assert!(
        text.contains("No space left") || text.contains("os error"),
        "{backend}: the error does not say why: {text}"
    );
    assert!(
        files_of(&root, &failed).is_empty(),
        "{backend}: half-made {failed}: {:?}",
        files_of(&root, &failed)
    );
    for file in &ballast {
        std::fs::remove_file(file).unwrap();
    }
    for id in &created {
        assert_eq!(all(&driver, id), entries(1), "{backend}: {id}");
        // An awake actor holds two inodes (`-wal`, `-shm`): give them back.
        driver.sleep_actor(id, None).unwrap();
    }
    eprintln!(
        "{backend}: {} actors before inodes ran out: {text}",
        created.len()
    );
}

/// Under a limit of 64 descriptors: 100 actors take interleaved operations without an
/// error (the open-database budget fits itself to the limit); with no descriptor left a
/// wake fails naming the OS error; once descriptors return it works.
fn descriptor_limit(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let mut child = ChildRun::spawn(
        crash_child(),
        &[backend, root.to_str().unwrap(), "fd-limit", "64"],
    )
    .unwrap();
    assert!(child.wait_for("ready", READY_TIMEOUT));
    let output = child.wait().unwrap();
    assert!(output.success, "{backend}: {output:?}");
    assert!(output.said("budget ok"), "{backend}: {output:?}");
    let exhausted = output
        .lines
        .iter()
        .find(|line| line.starts_with("exhausted"))
        .unwrap();
    assert!(
        exhausted.contains("Too many open files"),
        "{backend}: without descriptors: {exhausted}"
    );
    assert!(output.said("recovered"), "{backend}: {output:?}");
    eprintln!("{backend}: 64 descriptors: {:?}", output.lines);
}

/// `fsync` fails under a commit (ext4 on a loop device whose backing store is full): the
/// write is reported as of unknown outcome, never as failed or done; what is served
/// afterwards has reached the disk (checked after a remount); acknowledged writes are
/// all there; writes reported as not applied are never served.
fn fsync_failure(backend: &str) {
    let dir = tempdir();
    let mut disk = match FailingDisk::new(dir.path(), 24, 64) {
        Ok(disk) => disk,
        Err(why) => return skipped("fsync_failure", backend, &why),
    };
    let root = disk.dir().unwrap().join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    driver
        .create_actor("d", "n", Vec::new(), &entries(1))
        .unwrap();
    let (mut acked, mut unknown, mut refused) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_error = None;
    let mut filler = None;
    for batch in 0..400u32 {
        if batch == 20 {
            filler = Some(disk.fill_backing().unwrap());
        }
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..4)
            .map(|i| {
                (
                    format!("b{batch:03}-{i}").into_bytes(),
                    vec![batch as u8; 8_000],
                )
            })
            .collect();
        match driver.kv_put("d", &entries) {
            Ok(()) => acked.extend(entries),
            Err(Error::WriteOutcomeUnknown { source, .. }) => {
                first_error.get_or_insert(source.to_string());
                unknown.extend(entries);
                break;
            }
            Err(error) => {
                first_error.get_or_insert(error.to_string());
                refused.extend(entries);
                if refused.len() > 40 {
                    break;
                }
            }
        }
    }
    // Served while the disk still fails, and after space returns.
    let mut served = BTreeMap::new();
    for round in 0..2 {
        if round == 1
            && let Some(filler) = &filler
        {
            std::fs::remove_file(filler).unwrap();
        }
        for (key, _) in unknown.iter().chain(&refused) {
            if let Ok(Some(value)) = driver.kv_get_one("d", key) {
                served.insert(key.clone(), value);
            }
        }
    }
    drop(driver);
    if let Err(why) = disk.remount() {
        return skipped("fsync_failure (remount)", backend, &why);
    }
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let after: BTreeMap<Vec<u8>, Vec<u8>> = all(&driver, "d").into_iter().collect();
    for (key, value) in &acked {
        assert_eq!(
            after.get(key),
            Some(value),
            "{backend}: an acknowledged write is lost"
        );
    }
    for (key, _) in &refused {
        assert!(
            !served.contains_key(key),
            "{backend}: a write reported as not applied was served"
        );
    }
    for (key, value) in &served {
        assert_eq!(
            after.get(key),
            Some(value),
            "{backend}: a served value was not durable"
        );
    }
    let unknown_landed = unknown
        .iter()
        .filter(|(key, _)| after.contains_key(key))
        .count();
    eprintln!(
        "{backend}: fsync failure after {} acknowledged entries, all kept; {} of unknown outcome ({unknown_landed} on disk after a remount), {} not applied, {} served afterwards and durable; first error: {:?}",
        acked.len(),
        unknown.len(),
        refused.len(),
        served.len(),
        first_error
    );
}

/// Batch `n` of the unknown-outcome sequences: 8 entries of 4,000 bytes.
fn batch(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..8u8)
        .map(|i| {
            (
                format!("b{n:03}-{i}").into_bytes(),
                vec![(n as u8) ^ (i << 5); 4_000],
            )
        })
        .collect()
}

/// Everything a driver served of one actor, checked against the disk at the end.
#[derive(Default)]
struct Served {
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    /// What each step got, for the report.
    steps: Vec<String>,
}

impl Served {
    /// Lists the actor and records what was served (or why nothing was).
    fn list(&mut self, step: &str, driver: &FsDriver, id: &str) {
        match driver.kv_list_prefix(id, b"", ListOptions::new()) {
            Ok(entries) => {
                self.steps
                    .push(format!("{step}: {} entries", entries.len()));
                for (key, value) in entries {
                    self.values.entry(key).or_insert(value);
                }
            }
            Err(error) => self.steps.push(format!("{step}: {error}")),
        }
    }

    fn record<T: std::fmt::Debug>(&mut self, step: &str, result: &Result<T, Error>) {
        self.steps.push(match result {
            Ok(_) => format!("{step}: ok"),
            Err(error) => format!("{step}: {error}"),
        });
    }
}

/// The issue-22 sequence: 20 acknowledged batches, then the disk under ext4 stops
/// taking writes; puts until one's outcome is unknown, four more, reads, a sleep, a
/// wake, another driver in the process; then a check (`e2fsck`) and a fresh mount. Every
/// value served before must be on the disk after, every acknowledged batch too, nothing
/// refused is there, and the batch of unknown outcome is whole or absent.
fn unknown_write_sequence(
    backend: &str,
    test: &str,
    disk: Result<FailingDisk, Unavailable>,
    space_returns_before_sleep: bool,
) {
    let mut disk = match disk {
        Ok(disk) => disk,
        Err(why) => return skipped(test, backend, &why),
    };
    let root = disk.dir().unwrap().join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let none: &[(Vec<u8>, Vec<u8>)] = &[];
    driver.create_actor("u", "n", Vec::new(), none).unwrap();
    let mut acked = BTreeMap::new();
    for n in 0..20 {
        driver.kv_put("u", &batch(n)).unwrap();
        acked.extend(batch(n));
    }
    let filler = disk.fill_backing().unwrap();
    let (mut unknown, mut refused) = (Vec::new(), Vec::new());
    let mut first_unknown = None;
    for n in 20..80 {
        match driver.kv_put("u", &batch(n)) {
            Ok(()) => acked.extend(batch(n)),
            Err(error) if error.is_outcome_unknown() => {
                unknown.push(n);
                first_unknown.get_or_insert(n);
            }
            Err(_) => refused.push(n),
        }
        if first_unknown.is_some_and(|first| n >= first + 4) {
            break;
        }
    }
    let Some(first_unknown) = first_unknown else {
        return skipped(
            test,
            backend,
            &Unavailable("no write failed in fsync".into()),
        );
    };
    let mut served = Served::default();
    served.list("list after the failure", &driver, "u");
    let got = driver.kv_get_one("u", &batch(first_unknown)[0].0);
    if let Ok(Some(value)) = &got {
        served
            .values
            .insert(batch(first_unknown)[0].0.clone(), value.clone());
    }
    served.record("get of the unknown batch", &got);
    if space_returns_before_sleep {
        std::fs::remove_file(&filler).unwrap();
    }
    let slept = driver.sleep_actor("u", None);
    served.record("sleep", &slept);
    if space_returns_before_sleep {
        slept.unwrap();
    }
    let woken = driver.load_actor("u");
    served.record("wake", &woken);
    served.list("list after the wake", &driver, "u");
    // Another driver of this process, on the same root.
    match FsDriver::open(runtime(backend), &root, DriverOptions::new()) {
        Ok(other) => {
            served.list("another driver's list", &other, "u");
            drop(other);
        }
        Err(error) => served.steps.push(format!("another driver: {error}")),
    }
    drop(driver);
    let _ = std::fs::remove_file(&filler);
    if let Err(why) = disk.remount_checked() {
        return skipped(test, backend, &why);
    }
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let after: BTreeMap<Vec<u8>, Vec<u8>> = all(&driver, "u").into_iter().collect();
    for (key, value) in &acked {
        assert_eq!(
            after.get(key),
            Some(value),
            "{backend}: an acknowledged write is lost ({:?})",
            served.steps
        );
    }
    for (key, value) in &served.values {
        assert_eq!(
            after.get(key),
            Some(value),
            "{backend}: {} was served but is not on the disk ({:?})",
            String::from_utf8_lossy(key),
            served.steps
        );
    }
    for n in &refused {
        for (key, _) in batch(*n) {
            assert!(
                !after.contains_key(&key),
                "{backend}: a refused write is on the disk"
            );
        }
    }
    let mut unknown_landed = 0;
    for n in &unknown {
        let present = batch(*n)
            .iter()
            .filter(|(key, value)| after.get(key) == Some(value))
            .count();
        assert!(
            present == 0 || present == 8,
            "{backend}: batch {n} is partly on the disk"
        );
        unknown_landed += usize::from(present == 8);
    }
    eprintln!(
        "{backend}: {} acknowledged batches all on the disk; {} of unknown outcome ({unknown_landed} on the disk after the check), {} refused; {} entries served, all on the disk; steps: {:?}",
        acked.len() / 8,
        unknown.len(),
        refused.len(),
        served.values.len(),
        served.steps
    );
}

fn unknown_write_not_served_after_a_failed_sleep(backend: &str) {
    let dir = tempdir();
    let disk = FailingDisk::new(dir.path(), 24, 64);
    unknown_write_sequence(
        backend,
        "unknown_write_not_served_after_a_failed_sleep",
        disk,
        false,
    );
}

fn unknown_write_not_served_after_a_successful_sleep(backend: &str) {
    let dir = tempdir();
    let disk = FailingDisk::data_only(dir.path(), 24, 16);
    unknown_write_sequence(
        backend,
        "unknown_write_not_served_after_a_successful_sleep",
        disk,
        true,
    );
}

/// A state file renamed into place whose directory sync fails (injected): the write
/// says its outcome is unknown, and the state is not read (wake, listing, another
/// driver) until a sync
/// of its directory succeeds; then the actor is served whole.
fn state_write_of_unknown_outcome_is_not_served(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    driver
        .create_actor("s", "n", Vec::new(), &entries(4))
        .unwrap();
    let fail_state_dir = || {
        faults::inject(|op, path| {
            (op == faults::FileOp::SyncDir && path.ends_with("state"))
                .then(|| std::io::Error::other("injected directory sync failure"))
        })
    };
    fail_state_dir();
    let slept = driver.sleep_actor("s", None);
    assert!(
        matches!(&slept, Err(Error::FileOutcomeUnknown { path, .. }) if path.ends_with("state/s")),
        "{backend}: {slept:?}"
    );
    assert!(slept.unwrap_err().is_outcome_unknown());
    let woken = driver.load_actor("s");
    assert!(
        matches!(&woken, Err(Error::OutcomeUnresolved { path, .. }) if path.ends_with("state/s")),
        "{backend}: {woken:?}"
    );
    // Listings skip unreadable records: it is not shown.
    assert!(driver.list_actors(None, 10).unwrap().is_empty());
    // Another driver of the process refuses it too.
    let other = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    assert!(matches!(
        other.kv_get_one("s", b"key-0"),
        Err(Error::OutcomeUnresolved { .. })
    ));
    drop(other);
    faults::clear();
    let info = driver.load_actor("s").unwrap();
    assert_eq!(info.id, "s");
    assert_eq!(all(&driver, "s"), entries(4));
}
