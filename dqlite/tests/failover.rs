//! Leader failure against a real 3-node dqlite cluster: each test starts its own
//! cluster of our nodes and kills (SIGKILL) or freezes (SIGSTOP) the leader. Skipped
//! when `sqlrt-node` is not built.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime::{Error, ErrorKind, Params, ValueRef};
use sqlite_runtime_dqlite::{
    Cluster, ConnectOptions, Connection, Fault, WriteOutcome, fault, needs_reconnect, write_outcome,
};
use support::{TestCluster, dqlite_available};

/// How long failover may take before the test fails (a liveness bound: elections take
/// well under a second with our nodes).
const FAILOVER_LIMIT: Duration = Duration::from_secs(25);

/// A client of every node with `options` and a 500 ms connect timeout.
fn client(cluster: &TestCluster, options: ConnectOptions) -> Cluster {
    Cluster::new(cluster.addresses())
        .unwrap()
        .with_options(options.connect_timeout(Duration::from_millis(500)))
}

/// With the leadership check (the default), a request to a frozen leader fails as soon
/// as another node confirms it leads, long before the request timeout.
#[test]
fn a_stopped_leader_is_left_once_another_leads() {
    if !dqlite_available("a_stopped_leader_is_left_once_another_leads") {
        return;
    }
    let cluster = TestCluster::start();
    let timeout = Duration::from_secs(60);
    let client = client(&cluster, ConnectOptions::new().request_timeout(timeout));
    let frozen = write_to_a_frozen_leader(&cluster, &client, "deposed.db");
    let (write, old_leader, stopped, noticed) = (
        &frozen.error,
        &frozen.leader,
        frozen.stopped,
        frozen.noticed,
    );
    let Some(Fault::Deposed { node, leader }) = fault(write) else {
        panic!("not a deposed-leader fault: {write}");
    };
    assert_eq!(node, old_leader);
    assert_ne!(leader, old_leader);
    assert_eq!(write_outcome(write), WriteOutcome::Unknown);
    assert!(needs_reconnect(write));
    assert!(noticed < timeout / 2, "{noticed:?}");

    // The cluster remembered the new leader: the next connection goes there first.
    let mut db = client.open("deposed.db", FAILOVER_LIMIT).unwrap();
    assert_eq!(db.address(), leader);
    db.exec_sql("INSERT OR IGNORE INTO t VALUES ('after')", Params::NONE)
        .unwrap();
    println!(
        "first write on the new leader {leader} {:.2} s after the SIGSTOP",
        stopped.elapsed().as_secs_f64()
    );
    assert!(keys(&mut db, "SELECT k FROM t").contains("after"));
    cluster.signal(frozen.index, "CONT");
}

/// What became of a write sent to a leader frozen just before it.
struct FrozenLeaderWrite {
    /// The write's error.
    error: Error,
    /// The frozen leader's address and index.
    leader: String,
    index: usize,
    /// When it was frozen, and how long the write took to fail.
    stopped: Instant,
    noticed: Duration,
}

/// Opens `database` on the leader, creates table `t`, freezes the leader (SIGSTOP) and
/// sends it a write, which must fail.
fn write_to_a_frozen_leader(
    cluster: &TestCluster,
    client: &Cluster,
    database: &str,
) -> FrozenLeaderWrite {
    let mut db = client.open(database, Duration::from_secs(10)).unwrap();
    db.exec_sql("CREATE TABLE t (k TEXT PRIMARY KEY)", Params::NONE)
        .unwrap();
    let leader = db.address().to_owned();
    let index = cluster.index_of(&leader);
    cluster.signal(index, "STOP");
    let stopped = Instant::now();
    let error = db
        .exec_sql("INSERT INTO t VALUES ('while-stopped')", Params::NONE)
        .expect_err("a stopped leader cannot answer");
    let noticed = stopped.elapsed();
    println!(
        "write to SIGSTOPped leader {leader} failed after {:.2} s: {error}",
        noticed.as_secs_f64()
    );
    FrozenLeaderWrite {
        error,
        leader,
        index,
        stopped,
        noticed,
    }
}

fn keys(connection: &mut Connection, sql: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    connection
        .query_sql(sql, Params::NONE, &mut |row| {
            keys.insert(row.get::<String>(0)?);
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
    keys
}

/// Reconnects (leader discovery, OPEN) and runs an idempotent write until it succeeds;
/// returns the connection and when the leader was found.
fn reconnect_and_write(
    client: &Cluster,
    database: &str,
    write: &str,
    since: Instant,
) -> (Connection, Duration, usize) {
    let mut attempts = 0;
    let mut leader_found = None;
    loop {
        attempts += 1;
        let result = client
            .open(database, Duration::from_secs(1))
            .and_then(|mut connection| {
                leader_found.get_or_insert_with(|| since.elapsed());
                connection.exec_sql(write, Params::NONE)?;
                Ok(connection)
            });
        match result {
            Ok(connection) => {
                return (
                    connection,
                    leader_found.unwrap_or_else(|| since.elapsed()),
                    attempts,
                );
            }
            Err(error) if needs_reconnect(&error) && since.elapsed() < FAILOVER_LIMIT => {}
            Err(error) => panic!("no failover after {:?}: {error}", since.elapsed()),
        }
    }
}

/// What a writer saw: keys acknowledged, keys refused, keys with unknown outcome.
#[derive(Default, Debug)]
struct Writes {
    acknowledged: BTreeSet<String>,
    not_applied: BTreeSet<String>,
    unknown: BTreeSet<String>,
    errors: Vec<String>,
}

/// Autocommit writes of numbered keys until `stop`, reconnecting after failures.
fn writer(client: Cluster, stop: Arc<AtomicBool>) -> Writes {
    let mut writes = Writes::default();
    let mut connection: Option<Connection> = None;
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let db = match connection.as_mut() {
            Some(db) => db,
            None => match client.open("writer.db", Duration::from_millis(500)) {
                Ok(db) => connection.insert(db),
                Err(_) => {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
            },
        };
        next += 1;
        let key = format!("w{next:06}");
        match db.exec_sql(
            "INSERT INTO w VALUES (?)",
            Params::from(&[ValueRef::Text(&key)]),
        ) {
            Ok(_) => {
                writes.acknowledged.insert(key);
            }
            Err(error) => {
                match write_outcome(&error) {
                    WriteOutcome::NotApplied => writes.not_applied.insert(key),
                    WriteOutcome::Unknown => writes.unknown.insert(key),
                };
                writes.errors.push(error.to_string());
                if needs_reconnect(&error) {
                    connection = None;
                }
            }
        }
    }
    writes
}

#[test]
fn leader_kill_fails_writes_in_flight_and_the_client_moves_to_the_new_leader() {
    if !dqlite_available(
        "leader_kill_fails_writes_in_flight_and_the_client_moves_to_the_new_leader",
    ) {
        return;
    }
    let cluster = TestCluster::start();
    let client = client(
        &cluster,
        ConnectOptions::new().request_timeout(Duration::from_secs(2)),
    );
    let mut db = client.open("failover.db", Duration::from_secs(10)).unwrap();
    db.exec_sql("CREATE TABLE t (k TEXT PRIMARY KEY)", Params::NONE)
        .unwrap();
    db.exec_sql("INSERT INTO t VALUES ('before')", Params::NONE)
        .unwrap();
    let old_leader = db.address().to_owned();

    // A second client keeps writing on its own database through the failover.
    let mut setup = client.open("writer.db", Duration::from_secs(10)).unwrap();
    setup
        .exec_sql("CREATE TABLE w (k TEXT PRIMARY KEY)", Params::NONE)
        .unwrap();
    drop(setup);
    let stop = Arc::new(AtomicBool::new(false));
    let background = {
        let (client, stop) = (client.clone(), stop.clone());
        thread::spawn(move || writer(client, stop))
    };
    thread::sleep(Duration::from_millis(300));

    // A transaction in flight when the leader dies.
    let insert = db.prepare("INSERT INTO t VALUES (?)").unwrap();
    db.exec_sql("BEGIN", Params::NONE).unwrap();
    db.exec(&insert, Params::from(&[ValueRef::Text("in-flight")]))
        .unwrap();

    cluster.signal(cluster.index_of(&old_leader), "KILL");
    let killed = Instant::now();

    let commit: Error = db
        .exec_sql("COMMIT", Params::NONE)
        .expect_err("a COMMIT on a killed leader cannot succeed");
    println!(
        "COMMIT after SIGKILL of {old_leader}: {commit} -> {:?}",
        write_outcome(&commit)
    );
    assert_eq!(commit.kind(), ErrorKind::Io);
    assert!(needs_reconnect(&commit));
    assert!(matches!(
        fault(&commit),
        Some(Fault::Lost { .. } | Fault::NotSent { .. })
    ));
    assert!(db.is_broken());
    let again = db
        .exec(&insert, Params::from(&[ValueRef::Text("x")]))
        .unwrap_err();
    assert!(
        matches!(fault(&again), Some(Fault::Broken { .. })),
        "{again}"
    );

    let (mut db, leader_after, attempts) = reconnect_and_write(
        &client,
        "failover.db",
        "INSERT OR IGNORE INTO t VALUES ('after')",
        killed,
    );
    let write_after = killed.elapsed();
    let new_leader = db.address().to_owned();
    println!(
        "failover after SIGKILL of leader {old_leader}: new leader {new_leader} found after \
         {:.2} s, first write after {:.2} s ({attempts} attempts)",
        leader_after.as_secs_f64(),
        write_after.as_secs_f64()
    );
    assert_ne!(new_leader, old_leader);
    assert!(write_after < FAILOVER_LIMIT);

    // The statement of the dead connection cannot be used on the new one.
    assert_eq!(
        db.exec(&insert, Params::from(&[ValueRef::Text("y")]))
            .unwrap_err()
            .kind(),
        ErrorKind::Misuse
    );
    assert_eq!(
        keys(&mut db, "SELECT k FROM t ORDER BY k"),
        BTreeSet::from(["after".to_owned(), "before".to_owned()]),
        "the transaction in flight is gone"
    );

    // Let the writer get going on the new leader, then check what it was told.
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let writes = background.join().unwrap();
    let mut check = client.open("writer.db", Duration::from_secs(10)).unwrap();
    let stored = keys(&mut check, "SELECT k FROM w");
    let lost: Vec<_> = writes.acknowledged.difference(&stored).collect();
    let applied_anyway: Vec<_> = writes.not_applied.intersection(&stored).collect();
    let unknown_applied = writes.unknown.intersection(&stored).count();
    println!(
        "writer: {} acknowledged, {} not applied, {} unknown ({} of them applied); errors: {:?}",
        writes.acknowledged.len(),
        writes.not_applied.len(),
        writes.unknown.len(),
        unknown_applied,
        writes.errors.iter().take(5).collect::<Vec<_>>()
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(
        applied_anyway.is_empty(),
        "writes reported as not applied were applied: {applied_anyway:?}"
    );
    assert!(!writes.errors.is_empty(), "the writer saw the failover");
    assert!(writes.acknowledged.len() > 10);
}

/// With the leadership check off, the request timeout is what notices a frozen leader.
#[test]
fn a_stopped_leader_is_noticed_by_the_request_timeout() {
    if !dqlite_available("a_stopped_leader_is_noticed_by_the_request_timeout") {
        return;
    }
    let cluster = TestCluster::start();
    let timeout = Duration::from_secs(1);
    let client = client(
        &cluster,
        ConnectOptions::new()
            .request_timeout(timeout)
            .leadership_check(Duration::ZERO),
    );
    let FrozenLeaderWrite {
        error: write,
        leader: old_leader,
        index,
        stopped,
        noticed,
    } = write_to_a_frozen_leader(&cluster, &client, "stopped.db");
    assert!(matches!(fault(&write), Some(Fault::Lost { .. })), "{write}");
    assert_eq!(write_outcome(&write), WriteOutcome::Unknown);
    assert!(noticed >= timeout && noticed < timeout * 3, "{noticed:?}");

    let (mut db, leader_after, attempts) = reconnect_and_write(
        &client,
        "stopped.db",
        "INSERT OR IGNORE INTO t VALUES ('after')",
        stopped,
    );
    let write_after = stopped.elapsed();
    println!(
        "failover after SIGSTOP of leader {old_leader}: new leader {} found after {:.2} s, \
         first write after {:.2} s ({attempts} attempts)",
        db.address(),
        leader_after.as_secs_f64(),
        write_after.as_secs_f64()
    );
    assert_ne!(db.address(), old_leader);
    let stored = keys(&mut db, "SELECT k FROM t");
    assert!(stored.contains("after"));
    println!(
        "the write whose outcome was unknown was {}",
        if stored.contains("while-stopped") {
            "applied"
        } else {
            "not applied"
        }
    );
    cluster.signal(index, "CONT");
}
