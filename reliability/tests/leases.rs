//! Drivers sharing an engine without local files (everything in databases, as on
//! dqlite), one of them in another process: an actor runs in one driver at a time; a
//! driver that quits gives its actors up at once, one that is killed when its lease
//! expires, and not before; one stopped past its lease cannot write to the actors it
//! lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::served::Served;
use common::tempdir;
use fs_driver::{DriverOptions, Error, FsDriver};
use reliability_tests::runtime_named;

const BACKEND: &str = "rusqlite/no-local-files";
const LEASE: Duration = Duration::from_millis(1_500);
/// Far past the lease: a takeover later than this is a failure, not slowness.
const GIVE_UP: Duration = Duration::from_secs(60);

fn ours(root: &std::path::Path) -> FsDriver {
    let runtime = runtime_named(BACKEND).expect("rusqlite is compiled in");
    FsDriver::open(runtime, root, DriverOptions::new().lease_timeout(LEASE)).unwrap()
}

fn theirs(root: &std::path::Path) -> Served {
    let lease = LEASE.as_millis().to_string();
    let mut served = Served::start_with(BACKEND, root, &[("SQLRT_LEASE_TIMEOUT_MS", &lease)]);
    served.run("create a").unwrap();
    served.run("put a 6b 76").unwrap();
    served
}

#[test]
fn a_killed_drivers_actors_are_taken_over_when_its_lease_expires() {
    let dir = tempdir();
    let mut other = theirs(dir.path());
    let driver = ours(dir.path());
    let error = driver.kv_get_one("a", b"k").unwrap_err();
    assert!(
        matches!(&error, Error::ActorOwnedElsewhere { owner, .. } if owner.contains(&other.child.id().to_string())),
        "{error:?}"
    );

    other.child.kill().unwrap();
    other.child.wait().unwrap();
    let killed = Instant::now();
    let value = loop {
        match driver.kv_get_one("a", b"k") {
            Ok(value) => break value,
            Err(Error::ActorOwnedElsewhere { .. }) if killed.elapsed() < GIVE_UP => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("no takeover {:?} after the kill: {error}", killed.elapsed()),
        }
    };
    let waited = killed.elapsed();
    assert_eq!(
        value.as_deref(),
        Some(b"v".as_slice()),
        "the killed driver's write"
    );
    // Its last renewal was at most a third of the lease before the kill.
    assert!(
        waited >= LEASE / 2,
        "taken over {waited:?} after the kill, before the lease of {LEASE:?} could expire"
    );
    eprintln!("taken over {waited:?} after the kill (lease {LEASE:?})");
    driver.kv_put("a", &[(b"k", b"w")]).unwrap();
}

#[test]
fn a_closed_drivers_actors_are_free_at_once() {
    let dir = tempdir();
    let other = theirs(dir.path());
    let driver = ours(dir.path());
    assert!(matches!(
        driver.load_actor("a"),
        Err(Error::ActorOwnedElsewhere { .. })
    ));
    drop(other); // `quit`: the driver closes and gives its leases back
    assert_eq!(
        driver.kv_get_one("a", b"k").unwrap().as_deref(),
        Some(b"v".as_slice())
    );
    let mut again = Served::start(BACKEND, dir.path());
    let answer = again.run("used a").unwrap_err();
    assert!(answer.starts_with("owned-elsewhere"), "{answer}");
    let answer = again.run("destroy a").unwrap_err();
    assert!(answer.starts_with("in-use"), "{answer}");
}

/// Sends `signal` to the served driver's process.
fn signal(served: &Served, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(served.child.id()).unwrap();
    // SAFETY: kill(2) on our own child's pid; no memory is shared.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

/// The lease is a fence: a driver frozen (`SIGSTOP`, as a partition would) for longer
/// than its lease loses its actor to another driver, and once it runs again, every write
/// it tries on that actor (KV, alarm, the sleep's state record) is refused, not applied;
/// so are its writes to an actor the other driver destroyed meanwhile.
#[test]
fn a_driver_stopped_past_its_lease_cannot_write_to_the_actors_it_lost() {
    let dir = tempdir();
    let mut other = theirs(dir.path());
    other.run("create b").unwrap();
    let driver = ours(dir.path());
    signal(&other, libc::SIGSTOP);
    let stopped = Instant::now();
    take_over(&driver, stopped);
    driver.set_alarm("a", 42).unwrap();
    driver.destroy_actor("b", None).unwrap();
    signal(&other, libc::SIGCONT);

    let ours = format!(":{}:", std::process::id());
    for command in [
        "put a 6b 7468656972",
        "delete a 6b",
        "delete-range a 00 ff",
        "alarm a 7",
        "sleep a",
        "put b 6b 7468656972",
    ] {
        let refused = other.run(command).unwrap_err();
        assert!(
            refused.starts_with("owned-elsewhere") && refused.contains(&ours),
            "{command}: {refused}"
        );
    }
    assert_eq!(
        driver.kv_get_one("a", b"k").unwrap().as_deref(),
        Some(b"ours".as_slice())
    );
    assert_eq!(driver.get_alarm("a").unwrap(), Some(42));
    // The refused sleep recorded nothing: the record says awake, with this driver's wake.
    let runtime = runtime_named(BACKEND).unwrap();
    let report = fs_driver::inspect_root(&*runtime, dir.path()).unwrap();
    let summary = report
        .actors
        .iter()
        .find(|actor| actor.info.id == "a")
        .unwrap();
    assert_eq!((summary.slept_at, summary.alarm), (None, Some(42)));
    assert!(summary.started_at.unwrap() >= since_epoch_ms(stopped));

    assert!(driver.load_actor("b").unwrap_err().is_not_found());
}

/// Reads by the lease holder come from its copy of the actor's entries only while its
/// lease is certain: a driver frozen past its lease while another takes the actor over
/// and writes never serves, once it runs again, the value it had copied.
#[test]
fn a_driver_stopped_past_its_lease_never_serves_its_stale_copy() {
    let dir = tempdir();
    let mut other = theirs(dir.path());
    // Copied at this read ("v"), and served from the copy from now on.
    assert_eq!(other.run("get a 6b").unwrap(), "76");
    assert_eq!(other.run("get a 6b").unwrap(), "76");
    let driver = ours(dir.path());
    signal(&other, libc::SIGSTOP);
    let stopped = Instant::now();
    take_over(&driver, stopped);
    signal(&other, libc::SIGCONT);
    // Its renewals succeed again before it reads (it renews at once, and every third of
    // the lease): certain again, but in a new generation, it must not trust the copy it
    // made before the stop. Then, for longer than a lease, always the new holder's value.
    std::thread::sleep(LEASE);
    let resumed = Instant::now();
    while resumed.elapsed() < LEASE * 2 {
        assert_eq!(
            other.run("get a 6b").unwrap(),
            "6f757273",
            "{:?} after the resume",
            resumed.elapsed()
        );
    }
}

/// Writes `k = ours` to actor `a` through `driver` as soon as the stopped driver's lease
/// lets it take the actor over.
fn take_over(driver: &FsDriver, stopped: Instant) {
    loop {
        match driver.kv_put("a", &[(b"k", b"ours")]) {
            Ok(()) => return,
            Err(Error::ActorOwnedElsewhere { .. }) if stopped.elapsed() < GIVE_UP => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!(
                "no takeover {:?} after the stop: {error}",
                stopped.elapsed()
            ),
        }
    }
}

/// `at` as milliseconds since the Unix epoch.
fn since_epoch_ms(at: Instant) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from((now - at.elapsed()).as_millis()).unwrap()
}
