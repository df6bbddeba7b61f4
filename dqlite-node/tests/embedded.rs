//! dqlite nodes run in this test process ([`NodeBuilder::start`]), each test with its own
//! temporary directory and free loopback ports, checked through the client protocol.
//!
//! Skipped (with a `SKIPPED` line) in a build without libdqlite, unless
//! `SQLRT_REQUIRE_DQLITE=1`. The tests run one at a time: clusters competing for a
//! busy machine's cores only slow each other down. Every wait is a liveness bound with ample
//! margin, never a speed requirement. `SQLRT_LOG=debug` shows the nodes' tracing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime::{Params, ValueRef};
use sqlite_runtime_dqlite::{Cluster, ConnectOptions, Connection, needs_reconnect};
use sqlite_runtime_dqlite_node::{AVAILABLE, BOOTSTRAP_ID, Node, NodeBuilder, NodeError, NodeRole};

/// How long the cluster may take to reach a state it must reach: far above what it
/// needs (elections take well under a second with the default latency).
const LIVENESS: Duration = Duration::from_secs(60);

/// The pause between two polls.
const POLL: Duration = Duration::from_millis(200);

/// Set to `1` to make a build without libdqlite a failure instead of a skip.
const REQUIRE_ENV: &str = "SQLRT_REQUIRE_DQLITE";

/// Who is in the cluster: id → (address, role).
type Membership = BTreeMap<u64, (String, NodeRole)>;

/// Whether nodes can run here; prints `SKIPPED <test>: ...` when not (a failure when
/// `SQLRT_REQUIRE_DQLITE=1`).
fn available(test: &str) -> bool {
    if AVAILABLE {
        return true;
    }
    assert!(
        std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
        "{test}: built without libdqlite and {REQUIRE_ENV}=1 (apt-get install libdqlite-dev)"
    );
    println!("SKIPPED {test}: built without libdqlite");
    false
}

/// One test at a time (see the file's documentation); also sets up tracing.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SQLRT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    guard
}

/// A loopback address nothing listens on right now (taken just before use), below the
/// kernel's ephemeral port range: a node restarted on its address must find its port
/// free, and an ephemeral port can meanwhile become some outgoing connection's source.
fn free_address() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768)
        .max(10_001);
    let span = low - 10_000;
    let start = std::process::id().wrapping_mul(7919) % span;
    loop {
        let offset = (start + NEXT.fetch_add(97, Ordering::Relaxed)) % span;
        let address = format!("127.0.0.1:{}", 10_000 + offset);
        if TcpListener::bind(&address).is_ok() {
            return address;
        }
    }
}

fn options() -> ConnectOptions {
    ConnectOptions::new()
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(30))
}

/// A client of the nodes at `addresses`.
fn client<S: AsRef<str>>(addresses: impl IntoIterator<Item = S>) -> Cluster {
    Cluster::new(addresses.into_iter().map(|a| a.as_ref().to_owned()))
        .unwrap()
        .with_options(options())
}

fn addresses(nodes: &[Node]) -> Vec<String> {
    nodes.iter().map(|node| node.address().to_owned()).collect()
}

/// Starts a node bootstrapping a cluster, then two joining it through the first.
fn start_three(dir: &Path) -> Vec<Node> {
    let first = NodeBuilder::new(free_address(), dir.join("n1"))
        .start()
        .expect("bootstrap n1");
    let through = first.address().to_owned();
    let mut nodes = vec![first];
    for name in ["n2", "n3"] {
        let node = NodeBuilder::new(free_address(), dir.join(name))
            .join([through.as_str()])
            .start()
            .unwrap_or_else(|error| panic!("{name} joining: {error}"));
        nodes.push(node);
    }
    nodes
}

/// Runs `request` on the leader (with `database` open, if any), on a new connection
/// each time, until it succeeds. Retries while the error calls for a new connection (no
/// leader yet, leadership moved); any other error fails the test.
fn on_leader<T>(
    cluster: &Cluster,
    database: Option<&str>,
    what: &str,
    mut request: impl FnMut(&mut Connection) -> sqlite_runtime::Result<T>,
) -> T {
    let deadline = Instant::now() + LIVENESS;
    loop {
        let attempt = match database {
            Some(database) => cluster.open(database, Duration::from_secs(10)),
            None => cluster.connect_leader(Duration::from_secs(10)),
        }
        .and_then(|mut connection| request(&mut connection));
        let error = match attempt {
            Ok(value) => return value,
            Err(error) => error,
        };
        assert!(
            needs_reconnect(&error),
            "{what}: {error} (not a leadership or connection error)"
        );
        assert!(
            Instant::now() < deadline,
            "{what}: still failing after {LIVENESS:?}: {error}"
        );
        thread::sleep(POLL);
    }
}

fn membership_of(connection: &mut Connection) -> sqlite_runtime::Result<Membership> {
    Ok(connection
        .cluster_nodes()?
        .into_iter()
        .map(|node| (node.id, (node.address, node.role)))
        .collect())
}

/// The membership as the leader knows it.
fn membership(cluster: &Cluster) -> Membership {
    on_leader(cluster, None, "listing the members", membership_of)
}

/// Waits until the leader reports exactly `expected`.
fn wait_for_membership(cluster: &Cluster, expected: &Membership) {
    let deadline = Instant::now() + LIVENESS;
    loop {
        let seen = membership(cluster);
        if &seen == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "membership after {LIVENESS:?}: {seen:?}, expected {expected:?}"
        );
        thread::sleep(POLL);
    }
}

fn member(node: &Node, role: NodeRole) -> (u64, (String, NodeRole)) {
    (node.id(), (node.address().to_owned(), role))
}

fn voters(nodes: &[Node]) -> Membership {
    nodes
        .iter()
        .map(|node| member(node, NodeRole::Voter))
        .collect()
}

/// The leader's id.
fn leader_id(cluster: &Cluster) -> u64 {
    on_leader(cluster, None, "asking for the leader", |c| c.leader())
        .expect("a connection to the leader names a leader")
        .id
}

/// Writes `key` = `value` to `database` through the leader (idempotent, so that a write
/// whose outcome a leadership change left unknown can run again).
fn put(cluster: &Cluster, database: &str, key: &str, value: &str) {
    on_leader(cluster, Some(database), "writing a row", |c| {
        c.exec_sql(
            "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
            Params::NONE,
        )?;
        c.exec_sql(
            "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)",
            Params::from(&[ValueRef::Text(key), ValueRef::Text(value)]),
        )
    });
}

/// Every row of `kv`, on a connection with the database open.
fn rows(connection: &mut Connection) -> sqlite_runtime::Result<Vec<(String, String)>> {
    let mut rows = Vec::new();
    connection.query_sql("SELECT k, v FROM kv ORDER BY k", Params::NONE, &mut |row| {
        match row.values() {
            [ValueRef::Text(k), ValueRef::Text(v)] => rows.push(((*k).to_owned(), (*v).to_owned())),
            other => panic!("unexpected row {other:?}"),
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(rows)
}

/// Every row of `kv` in `database`, read through the leader.
fn read(cluster: &Cluster, database: &str) -> Vec<(String, String)> {
    on_leader(cluster, Some(database), "reading the rows", rows)
}

/// Every row of `kv` in `database` as node `id` at `address` itself holds it: followers
/// do not answer queries, so leadership is moved to it first, then it is queried
/// directly (a new leader applies the whole committed log before it answers).
fn read_on(cluster: &Cluster, id: u64, address: &str, database: &str) -> Vec<(String, String)> {
    let deadline = Instant::now() + LIVENESS;
    loop {
        if leader_id(cluster) != id {
            // Raft gives up a transfer to a node that does not catch up in time: the
            // next round asks again.
            let moved = cluster
                .connect_leader(Duration::from_secs(10))
                .and_then(|mut leader| leader.transfer_leadership(id));
            if let Err(error) = moved {
                tracing::info!(%error, "leadership transfer: retrying");
            }
        }
        let attempt = Connection::connect(address, &options()).and_then(|mut own| {
            own.open(database)?;
            rows(&mut own)
        });
        match attempt {
            Ok(rows) => return rows,
            Err(error) if needs_reconnect(&error) && Instant::now() < deadline => {
                tracing::info!(%error, address, "reading on the node: retrying");
                thread::sleep(POLL);
            }
            Err(error) => panic!("reading {database} on node {id} at {address}: {error}"),
        }
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A node of `nodes` that is neither the bootstrap node nor the leader.
fn follower_index(cluster: &Cluster, nodes: &[Node]) -> usize {
    let leader = leader_id(cluster);
    nodes
        .iter()
        .position(|node| node.id() != BOOTSTRAP_ID && node.id() != leader)
        .expect("two joined nodes, at most one of them leads")
}

/// Three voters in `dir`, a row `before` written to `database`, then a follower stopped
/// with [`Node::stop`]: the two running nodes, a client of them, and the stopped
/// node's id, address and data directory.
fn three_voters_then_a_follower_stopped(
    dir: &Path,
    database: &str,
) -> (Vec<Node>, Cluster, (u64, String, std::path::PathBuf)) {
    let mut nodes = start_three(dir);
    let everyone = client(addresses(&nodes));
    wait_for_membership(&everyone, &voters(&nodes));
    put(&everyone, database, "before", "1");
    let victim = nodes.remove(follower_index(&everyone, &nodes));
    let stopped = (
        victim.id(),
        victim.address().to_owned(),
        victim.dir().to_owned(),
    );
    victim.stop().expect("stopping a follower");
    (nodes, everyone, stopped)
}

#[test]
fn a_bootstrap_node_and_two_joiners_make_three_voters() {
    let test = "a_bootstrap_node_and_two_joiners_make_three_voters";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_three(dir.path());

    assert_eq!(nodes[0].id(), BOOTSTRAP_ID);
    let ids: BTreeSet<u64> = nodes.iter().map(Node::id).collect();
    assert_eq!(ids.len(), 3, "distinct ids: {ids:?}");
    assert!(!ids.contains(&0));
    for (node, name) in nodes.iter().zip(["n1", "n2", "n3"]) {
        assert_eq!(node.dir(), dir.path().join(name));
    }

    let everyone = client(addresses(&nodes));
    wait_for_membership(&everyone, &voters(&nodes));

    // Written through a client that knows only the last joiner (which names the
    // leader), read back through a client of the whole cluster.
    let through_third = client([nodes[2].address()]);
    put(&through_third, "replicated.db", "greeting", "hello");
    assert_eq!(
        read(&everyone, "replicated.db"),
        pairs(&[("greeting", "hello")])
    );
    // Each joiner holds the row itself.
    for node in &nodes[1..] {
        assert_eq!(
            read_on(&everyone, node.id(), node.address(), "replicated.db"),
            pairs(&[("greeting", "hello")]),
            "on node {}",
            node.address()
        );
    }
}

#[test]
fn standby_and_spare_join_then_promotion_and_removal() {
    let test = "standby_and_spare_join_then_promotion_and_removal";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = start_three(dir.path());
    let through = nodes[0].address().to_owned();
    let standby = NodeBuilder::new(free_address(), dir.path().join("n4"))
        .join([through.as_str()])
        .role(NodeRole::Standby)
        .start()
        .expect("n4 joining as a standby");
    let spare = NodeBuilder::new(free_address(), dir.path().join("n5"))
        .join([through.as_str()])
        .role(NodeRole::Spare)
        .start()
        .expect("n5 joining as a spare");

    let everyone = client(
        addresses(&nodes)
            .into_iter()
            .chain([standby.address().to_owned(), spare.address().to_owned()]),
    );
    let mut expected = voters(&nodes);
    expected.extend([
        member(&standby, NodeRole::Standby),
        member(&spare, NodeRole::Spare),
    ]);
    assert_eq!(expected.len(), 5, "distinct ids");
    wait_for_membership(&everyone, &expected);

    // Promotion (skipped when a retried attempt had already done it).
    let standby_id = standby.id();
    on_leader(&everyone, None, "promoting the standby", |c| {
        if membership_of(c)?.get(&standby_id).map(|m| m.1) == Some(NodeRole::Voter) {
            return Ok(());
        }
        c.assign_role(standby_id, NodeRole::Voter)
    });
    expected.insert(standby_id, (standby.address().to_owned(), NodeRole::Voter));
    wait_for_membership(&everyone, &expected);

    // Removal (likewise).
    let spare_id = spare.id();
    on_leader(&everyone, None, "removing the spare", |c| {
        if !membership_of(c)?.contains_key(&spare_id) {
            return Ok(());
        }
        c.remove_node(spare_id)
    });
    expected.remove(&spare_id);
    wait_for_membership(&everyone, &expected);

    // The promoted node votes: with four voters a quorum is three, so with one of the
    // original voters stopped the cluster takes writes only with the promoted node's
    // vote and acknowledgements.
    nodes.truncate(2);
    drop(spare);
    let remaining = client(
        addresses(&nodes)
            .into_iter()
            .chain([standby.address().to_owned()]),
    );
    put(&remaining, "roles.db", "quorum", "kept");
    assert_eq!(read(&remaining, "roles.db"), pairs(&[("quorum", "kept")]));
}

#[test]
fn a_restarted_node_keeps_its_identity_and_catches_up() {
    let test = "a_restarted_node_keeps_its_identity_and_catches_up";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, everyone, (id, address, data)) =
        three_voters_then_a_follower_stopped(dir.path(), "restart.db");

    // Written while it is down (two voters of three are a quorum).
    put(&everyone, "restart.db", "while-down", "2");

    // No join list: the directory says who it is and that it is a member.
    let restarted = NodeBuilder::new(address.as_str(), &data)
        .start()
        .expect("restarting from the same directory");
    assert_eq!(restarted.id(), id, "same id after a restart");
    assert_eq!(restarted.address(), address);
    nodes.push(restarted);
    wait_for_membership(&everyone, &voters(&nodes));

    // The node itself serves the row written while it was down.
    assert_eq!(
        read_on(&everyone, id, &address, "restart.db"),
        pairs(&[("before", "1"), ("while-down", "2")])
    );
    // And the cluster still takes writes, led by the restarted node or another.
    put(&everyone, "restart.db", "after", "3");
    assert_eq!(
        read(&everyone, "restart.db"),
        pairs(&[("after", "3"), ("before", "1"), ("while-down", "2")])
    );
}

#[test]
fn stopping_the_leader_hands_leadership_over() {
    let test = "stopping_the_leader_hands_leadership_over";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = start_three(dir.path());
    let everyone = client(addresses(&nodes));
    wait_for_membership(&everyone, &voters(&nodes));
    put(&everyone, "handover.db", "before", "1");

    let old_leader = leader_id(&everyone);
    let index = nodes
        .iter()
        .position(|node| node.id() == old_leader)
        .expect("the leader is one of the nodes");
    let leader = nodes.remove(index);
    let stopping = Instant::now();
    leader.stop().expect("stopping the leader");

    let survivors = client(addresses(&nodes));
    let new_leader = leader_id(&survivors);
    println!(
        "{test}: new leader {new_leader} {:?} after the stop began",
        stopping.elapsed()
    );
    assert_ne!(new_leader, old_leader);
    assert!(nodes.iter().any(|node| node.id() == new_leader));

    put(&survivors, "handover.db", "after", "2");
    assert_eq!(
        read(&survivors, "handover.db"),
        pairs(&[("after", "2"), ("before", "1")])
    );
    // Stopping is not leaving: the stopped node is still a voter.
    let members = membership(&survivors);
    assert_eq!(members.len(), 3, "{members:?}");
    assert_eq!(members.get(&old_leader).map(|m| m.1), Some(NodeRole::Voter));
}

#[test]
fn a_wiped_node_comes_back_as_a_new_member() {
    let test = "a_wiped_node_comes_back_as_a_new_member";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (mut nodes, everyone, (old_id, address, data)) =
        three_voters_then_a_follower_stopped(dir.path(), "wiped.db");
    std::fs::remove_dir_all(&data).expect("wiping its data directory");

    let peers = addresses(&nodes);
    let reborn = NodeBuilder::new(address.as_str(), &data)
        .join(peers.iter().map(String::as_str))
        .start()
        .expect("starting the wiped node again, joining");
    assert_ne!(reborn.id(), old_id, "a wiped node gets a new id");
    assert_ne!(reborn.id(), BOOTSTRAP_ID);
    assert_eq!(reborn.address(), address);
    nodes.push(reborn);

    // The former member at that address is gone; three voters, the new one among them.
    wait_for_membership(&everyone, &voters(&nodes));

    // It holds the data written before it was wiped, from the others.
    let reborn = nodes.last().unwrap();
    assert_eq!(
        read_on(&everyone, reborn.id(), reborn.address(), "wiped.db"),
        pairs(&[("before", "1")])
    );
}

#[test]
fn addresses_are_refused_before_anything_is_created() {
    let test = "addresses_are_refused_before_anything_is_created";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("node");

    for address in ["10.255.0.1:9", "0.0.0.0:9001", "db.example:9001"] {
        match NodeBuilder::new(address, &target).start() {
            Err(NodeError::NotLoopback { address: refused }) => assert_eq!(refused, address),
            other => panic!("{address}: expected NotLoopback, got {other:?}"),
        }
        assert!(!target.exists(), "{address}: the directory was created");
    }

    for address in [
        "127.0.0.1",
        "127.0.0.1:0",
        "127.0.0.1:70000",
        "localhost:http",
        ":9001",
        "",
    ] {
        match NodeBuilder::new(address, &target).start() {
            Err(NodeError::InvalidAddress {
                address: refused, ..
            }) => assert_eq!(refused, address),
            other => panic!("{address:?}: expected InvalidAddress, got {other:?}"),
        }
        assert!(!target.exists(), "{address:?}: the directory was created");
    }
}

#[test]
fn a_directory_keeps_its_address() {
    let test = "a_directory_keeps_its_address";
    if !available(test) {
        return;
    }
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let (first, other) = (free_address(), free_address());

    let node = NodeBuilder::new(first.as_str(), &data)
        .start()
        .expect("bootstrapping");
    assert_eq!(node.id(), BOOTSTRAP_ID);
    node.stop().expect("stopping");

    match NodeBuilder::new(other.as_str(), &data).start() {
        Err(NodeError::Identity { path, reason }) => {
            assert!(path.starts_with(&data), "{path:?}");
            assert!(
                reason.contains(&first) && reason.contains(&other),
                "{reason}"
            );
        }
        other => panic!("expected an identity error, got {other:?}"),
    }

    // The refusal left the directory as it was: the node starts again at its address.
    let again = NodeBuilder::new(first.as_str(), &data)
        .start()
        .expect("restarting at the recorded address");
    assert_eq!(again.id(), BOOTSTRAP_ID);
    let cluster = client([first.as_str()]);
    wait_for_membership(&cluster, &voters(std::slice::from_ref(&again)));
}
