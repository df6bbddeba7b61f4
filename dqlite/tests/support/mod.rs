//! Test support: a real 3-node dqlite cluster on loopback, of our own nodes (`sqlrt-node`,
//! libdqlite embedded) or, for the interoperability test, of go-dqlite's `dqlite-demo`.
//!
//! Each node runs under a small `sh` keeper holding the read end of a pipe from the
//! test process: when the pipe closes, because the [`TestCluster`] is dropped or the
//! test process exits in any way (a shared cluster lives in a `static`, which is never
//! dropped), the keeper SIGKILLs its node and deletes the node's data directory. No
//! node outlives the tests.

#![allow(dead_code)] // Each test binary uses part of this module.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime_dqlite::{Cluster, ConnectOptions, Connection, NodeRole};

/// go-dqlite's demonstration server.
const DEMO: &str = "dqlite-demo";

/// Our node program, built by `cargo build -p sqlite-runtime-dqlite-node` (and by
/// `cargo test --workspace`) beside the test binaries' directory, or named by this
/// variable.
const NODE_ENV: &str = "SQLRT_NODE";

/// Set to `1` to make a missing server a failure instead of a skip.
const REQUIRE_ENV: &str = "SQLRT_REQUIRE_DQLITE";

/// The keeper: starts the node in the background, prints its pid, notes in the node's
/// log how the node ended (status 137 is a SIGKILL, 139 a crash), and once its stdin
/// closes kills the node and removes its directory (kept, for a post-mortem, when
/// `SQLRT_KEEP_DQLITE_DIRS` is set).
const KEEPER: &str = r#"
"$NODE_PROGRAM" "$@" </dev/null >>"$NODE_LOG" 2>&1 &
pid=$!
echo "$pid"
# A background list reads /dev/null as its stdin: it reads the pipe through fd 3.
exec 3<&0
( read -r _ignored <&3; kill -s KILL "$pid" 2>/dev/null ) &
closer=$!
wait "$pid"
echo "node process ended: status $?" >>"$NODE_LOG"
wait "$closer"
[ -n "$SQLRT_KEEP_DQLITE_DIRS" ] && exit 0
rm -rf "$NODE_DIR"
rmdir "$CLUSTER_DIR" 2>/dev/null
exit 0
"#;

/// Which program the nodes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// `sqlrt-node`: libdqlite embedded, with our defaults.
    Ours,
    /// go-dqlite's `dqlite-demo`.
    GoDemo,
}

impl Server {
    /// The program's path, when it is there.
    fn program(self) -> Option<PathBuf> {
        match self {
            Server::GoDemo => find_in_path(DEMO),
            Server::Ours => match std::env::var_os(NODE_ENV) {
                Some(path) => Some(PathBuf::from(path)),
                // Test binaries live in target/<profile>/deps; programs one level up.
                None => std::env::current_exe()
                    .ok()?
                    .parent()?
                    .parent()
                    .map(|dir| dir.join("sqlrt-node"))
                    .filter(|path| path.is_file()),
            },
        }
    }

    fn how_to_install(self) -> &'static str {
        match self {
            Server::GoDemo => "apt-get install go-dqlite",
            Server::Ours => {
                "apt-get install libdqlite-dev, then cargo build -p sqlite-runtime-dqlite-node"
            }
        }
    }
}

/// Whether the test can run on our nodes: `sqlrt-node` is built. When it is not, prints
/// "SKIPPED <test>: …" and returns `false`, unless `SQLRT_REQUIRE_DQLITE=1`, which makes
/// it a failure.
pub fn dqlite_available(test: &str) -> bool {
    server_available(test, Server::Ours)
}

/// Whether `server` can run, as [`dqlite_available`] says it.
pub fn server_available(test: &str, server: Server) -> bool {
    if server.program().is_some() {
        return true;
    }
    assert!(
        std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
        "{test}: {server:?} nodes are not available and {REQUIRE_ENV}=1 ({})",
        server.how_to_install()
    );
    println!(
        "SKIPPED {test}: {server:?} nodes not available ({})",
        server.how_to_install()
    );
    false
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The cluster shared by the tests of one test binary, started on first use. Tests
/// using it must not stop or kill its nodes, and each uses its own database name.
pub fn shared_cluster() -> &'static TestCluster {
    static SHARED: OnceLock<TestCluster> = OnceLock::new();
    SHARED.get_or_init(TestCluster::start)
}

/// A name unique in this test process, for databases.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Options for tests: short timeouts, so that failures show quickly.
pub fn test_options() -> ConnectOptions {
    ConnectOptions::new()
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(8))
}

/// One node process.
pub struct Node {
    /// Its dqlite address, "127.0.0.1:port".
    pub address: String,
    /// The demo's HTTP API address (unused by our nodes).
    api: String,
    dir: PathBuf,
    log: PathBuf,
    pid: u32,
    keeper: Child,
    keeper_stdin: Option<ChildStdin>,
}

/// Three nodes, killed on drop.
pub struct TestCluster {
    /// The nodes, the bootstrap node first.
    pub nodes: Vec<Node>,
    server: Server,
    /// Keepers of nodes that were restarted: kept until the end, since a keeper whose
    /// pipe closes removes its node's directory, which the restarted node now uses.
    retired: Vec<Node>,
    dir: tempfile::TempDir,
}

impl TestCluster {
    /// Starts a cluster of our nodes and waits until it has a leader and three voters.
    pub fn start() -> TestCluster {
        TestCluster::start_with(Server::Ours)
    }

    /// Starts a cluster of `server` nodes and waits until it has a leader and three
    /// voters (about 1 s with ours, 3 s with the demo's).
    pub fn start_with(server: Server) -> TestCluster {
        let started = Instant::now();
        let mut dir = tempfile::Builder::new()
            .prefix("sqlrt-dqlite-")
            .tempdir()
            .expect("temporary directory");
        if std::env::var_os("SQLRT_KEEP_DQLITE_DIRS").is_some() {
            dir.disable_cleanup(true);
            println!("keeping the cluster's directory {}", dir.path().display());
        }
        let ports = free_ports(6);
        let mut cluster = TestCluster {
            nodes: Vec::new(),
            server,
            retired: Vec::new(),
            dir,
        };
        let first = format!("127.0.0.1:{}", ports[0]);
        for index in 0..3 {
            let address = format!("127.0.0.1:{}", ports[index]);
            let api = format!("127.0.0.1:{}", ports[index + 3]);
            let join = if index > 0 {
                vec![first.clone()]
            } else {
                Vec::new()
            };
            let node = cluster.spawn(index, address, api, &join);
            cluster.nodes.push(node);
            if index == 0 {
                cluster.wait_for(Duration::from_secs(20), "the bootstrap node to lead", |c| {
                    c.leader_address().as_deref() == Some(first.as_str())
                });
            }
        }
        cluster.wait_for(Duration::from_secs(30), "three voters", |c| c.voters() == 3);
        println!(
            "dqlite test cluster ({server:?}) {:?} ready in {:.2} s",
            cluster.addresses(),
            started.elapsed().as_secs_f64()
        );
        cluster
    }

    fn spawn(&self, index: usize, address: String, api: String, join: &[String]) -> Node {
        let dir = self.dir.path().join(format!("n{}", index + 1));
        // The log lives in the node's directory, which the keeper removes.
        std::fs::create_dir_all(&dir).expect("node directory");
        let log = dir.join("node.log");
        let program = self
            .server
            .program()
            .expect("the node program (checked by the test)");
        let mut command = Command::new("sh");
        command.arg("-c").arg(KEEPER).arg("sh");
        match self.server {
            Server::Ours => command.args(["--address", &address]),
            Server::GoDemo => command.args(["--db", &address, "--api", &api]),
        };
        command.arg("--dir").arg(&dir);
        for peer in join {
            command.args(["--join", peer]);
        }
        let mut keeper = command
            .env("NODE_PROGRAM", program)
            .env("NODE_LOG", &log)
            .env("NODE_DIR", &dir)
            .env("CLUSTER_DIR", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the node keeper (sh)");
        let mut line = String::new();
        let stdout = keeper.stdout.take().expect("keeper stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("node pid from the keeper");
        let pid = line.trim().parse().expect("a pid");
        Node {
            address,
            api,
            dir,
            log,
            pid,
            keeper_stdin: keeper.stdin.take(),
            keeper,
        }
    }

    /// The nodes' dqlite addresses, in order.
    pub fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.address.clone()).collect()
    }

    /// A [`Cluster`] of every node, with [`test_options`].
    pub fn client(&self) -> Cluster {
        Cluster::new(self.addresses())
            .expect("valid addresses")
            .with_options(test_options())
    }

    /// The leader's address as the first answering node reports it.
    pub fn leader_address(&self) -> Option<String> {
        let options = ConnectOptions::new()
            .connect_timeout(Duration::from_millis(500))
            .request_timeout(Duration::from_millis(500));
        self.nodes.iter().find_map(|node| {
            let mut connection = Connection::connect(&node.address, &options).ok()?;
            connection.leader().ok()?.map(|leader| leader.address)
        })
    }

    /// The index of the node at `address`.
    pub fn index_of(&self, address: &str) -> usize {
        self.nodes
            .iter()
            .position(|node| node.address == address)
            .unwrap_or_else(|| panic!("{address} is not a node of this cluster"))
    }

    /// How many voters the leader lists (0 when there is no leader).
    pub fn voters(&self) -> usize {
        self.members()
            .iter()
            .filter(|(_, role)| *role == NodeRole::Voter)
            .count()
    }

    fn wait_for(&self, limit: Duration, what: &str, ready: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + limit;
        while !ready(self) {
            if Instant::now() > deadline {
                panic!(
                    "dqlite test cluster: no {what} after {limit:?}\n{}",
                    self.logs()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (`KILL`, `STOP`, `CONT`) to node `index`.
    pub fn signal(&self, index: usize, signal: &str) {
        let node = &self.nodes[index];
        let status = Command::new("sh")
            .args([
                "-c",
                "kill -s \"$1\" \"$2\"",
                "sh",
                signal,
                &node.pid.to_string(),
            ])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {}", node.pid);
    }

    /// Waits until the process of node `index`, just killed, is dead (a zombie until its
    /// keeper reaps it: it holds no port and no file any more). Under load a killed
    /// process can take a while to go; a node restarted before would find its port
    /// still taken.
    fn wait_until_dead(&self, index: usize) {
        let pid = self.nodes[index].pid;
        self.wait_for(Duration::from_secs(30), "the killed node to die", |_| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
                stat.rsplit(')')
                    .next()
                    .is_some_and(|state| state.trim_start().starts_with('Z'))
            })
        });
    }

    /// Starts node `index` again on its data after it was killed (it rejoins on its own)
    /// and waits until the cluster has three voters again.
    pub fn restart(&mut self, index: usize) {
        self.wait_until_dead(index);
        let (address, api) = (
            self.nodes[index].address.clone(),
            self.nodes[index].api.clone(),
        );
        let node = self.spawn(index, address.clone(), api, &[]);
        let old = std::mem::replace(&mut self.nodes[index], node);
        self.retired.push(old);
        let options = test_options().request_timeout(Duration::from_secs(1));
        self.wait_for(
            Duration::from_secs(60),
            "the restarted node to answer",
            |_| Connection::connect(&address, &options).is_ok_and(|mut node| node.leader().is_ok()),
        );
        self.wait_for(
            Duration::from_secs(30),
            "three voters after a restart",
            |c| c.voters() == 3,
        );
    }

    /// Starts one more of our nodes, joining through the others as a voter, and waits
    /// until the leader lists it as one. Returns its index.
    pub fn add_node(&mut self) -> usize {
        assert_eq!(
            self.server,
            Server::Ours,
            "only our nodes join on their own"
        );
        let ports = free_ports(1);
        let address = format!("127.0.0.1:{}", ports[0]);
        let peers = self.addresses();
        let index = self.nodes.len();
        let node = self.spawn(index, address.clone(), String::new(), &peers);
        self.nodes.push(node);
        self.wait_for(Duration::from_secs(60), "the new node as a voter", |c| {
            c.members()
                .iter()
                .any(|(member, role)| *member == address && *role == NodeRole::Voter)
        });
        index
    }

    /// Asks the leader to remove node `index` from the cluster, then kills the node
    /// (it is no longer a member; its keeper stays until the end).
    pub fn remove_node(&mut self, index: usize) {
        let address = self.nodes[index].address.clone();
        self.wait_for(Duration::from_secs(60), "the node's removal", |c| {
            let removed = c.leader_connection().and_then(|mut leader| {
                let members = leader.cluster_nodes().ok()?;
                match members.iter().find(|member| member.address == address) {
                    None => Some(true),
                    Some(member) => leader.remove_node(member.id).ok().map(|()| false),
                }
            });
            removed == Some(true)
        });
        self.signal(index, "KILL");
    }

    /// Kills node `index`, deletes its data directory and starts it again at the same
    /// address, joining through the others: it comes back as a new member (the former
    /// one is removed by the joining node), and the cluster has `voters` voters again.
    pub fn wipe_and_rejoin(&mut self, index: usize, voters: usize) {
        assert_eq!(
            self.server,
            Server::Ours,
            "only our nodes join on their own"
        );
        let address = self.nodes[index].address.clone();
        let former = self
            .member_id(&address)
            .expect("the node to wipe is a member");
        self.signal(index, "KILL");
        let dir = self.nodes[index].dir.clone();
        self.wait_until_dead(index);
        std::fs::remove_dir_all(&dir).expect("delete the node's data directory");
        std::fs::create_dir_all(&dir).expect("recreate the node's data directory");
        let peers: Vec<String> = self
            .addresses()
            .into_iter()
            .filter(|peer| *peer != address)
            .collect();
        let node = self.spawn(index, address.clone(), String::new(), &peers);
        let old = std::mem::replace(&mut self.nodes[index], node);
        self.retired.push(old);
        self.wait_for(
            Duration::from_secs(60),
            "the wiped node back as a voter",
            |c| {
                let back = c
                    .members()
                    .into_iter()
                    .find(|(member, _)| *member == address);
                matches!(back, Some((_, NodeRole::Voter)))
                    && c.member_id(&address).is_some_and(|id| id != former)
                    && c.voters() == voters
            },
        );
    }

    /// The raft id of the member at `address`, as the leader lists it.
    pub fn member_id(&self, address: &str) -> Option<u64> {
        let mut leader = self.leader_connection()?;
        let members = leader.cluster_nodes().ok()?;
        members
            .into_iter()
            .find(|member| member.address == address)
            .map(|member| member.id)
    }

    /// Each member's address and role, as the leader lists them (empty without one).
    pub fn members(&self) -> Vec<(String, NodeRole)> {
        self.leader_connection()
            .and_then(|mut leader| leader.cluster_nodes().ok())
            .map(|nodes| {
                nodes
                    .into_iter()
                    .map(|node| (node.address, node.role))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn leader_connection(&self) -> Option<Connection> {
        let leader = self.leader_address()?;
        let options = ConnectOptions::new().request_timeout(Duration::from_secs(30));
        Connection::connect(&leader, &options).ok()
    }

    /// The index of the leader (waiting up to `limit` for one).
    pub fn leader_index(&self, limit: Duration) -> usize {
        self.wait_for(limit, "leader", |c| c.leader_address().is_some());
        let leader = self.leader_address().expect("a leader");
        self.index_of(&leader)
    }

    /// Makes node `index` the leader (a leadership transfer), waiting until it is. A
    /// transfer waits for the target to catch up, which under load can take seconds, so
    /// a request that was accepted is given time before the next one.
    pub fn transfer_leadership(&self, index: usize) {
        let target = self.nodes[index].address.clone();
        let attempts = std::sync::Mutex::new(Vec::new());
        let note = |attempt: String| {
            let mut attempts = attempts.lock().unwrap();
            if attempts.last() != Some(&attempt) {
                attempts.push(attempt);
            }
        };
        let limit = Duration::from_secs(60);
        let deadline = Instant::now() + limit;
        let transferred = self.eventually(deadline, |c| {
            let Some(leader) = c.leader_address() else {
                note("no leader".to_owned());
                return false;
            };
            if leader == target {
                return true;
            }
            // Node id 0 would let the leader pick any follower: only the target's id.
            let transferred =
                Connection::connect(&leader, &test_options()).and_then(|mut leader| {
                    let target = leader
                        .cluster_nodes()?
                        .into_iter()
                        .find(|node| node.address == target && node.role == NodeRole::Voter);
                    match target {
                        Some(node) => leader.transfer_leadership(node.id).map(|()| true),
                        None => Ok(false),
                    }
                });
            note(match &transferred {
                Ok(true) => format!("{leader} accepted a transfer to {target}"),
                Ok(false) => format!("{leader} does not list {target} as a voter"),
                Err(error) => format!("{leader}: {error}"),
            });
            thread::sleep(match transferred {
                Ok(true) => Duration::from_secs(2),
                Ok(false) | Err(_) => Duration::from_millis(200),
            });
            false
        });
        assert!(
            transferred,
            "dqlite test cluster: no leadership transfer to {target} after {limit:?}; \
             attempts: {:?}\n{}",
            attempts.lock().unwrap(),
            self.logs()
        );
    }

    /// Polls `ready` until it holds (true) or `deadline` passes (false).
    fn eventually(&self, deadline: Instant, ready: impl Fn(&Self) -> bool) -> bool {
        while !ready(self) {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
        true
    }

    /// The nodes' logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for node in &self.nodes {
            let mut text = String::new();
            if let Ok(mut file) = std::fs::File::open(&node.log) {
                let _ = file.read_to_string(&mut text);
            }
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            all.push_str(&format!("--- {} ({}):\n", node.address, node.log.display()));
            for line in tail.into_iter().rev() {
                all.push_str(line);
                all.push('\n');
            }
        }
        all
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Retired keepers last: closing them removes directories the live nodes use.
        for node in self.nodes.iter_mut().chain(self.retired.iter_mut()) {
            let _ = Command::new("sh")
                .args([
                    "-c",
                    "kill -s KILL \"$1\" 2>/dev/null",
                    "sh",
                    &node.pid.to_string(),
                ])
                .status();
            // Closing the pipe ends the keeper, which reaps the node.
            node.keeper_stdin.take();
            let _ = node.keeper.wait();
        }
    }
}

/// `count` distinct free loopback ports below the kernel's ephemeral range: a node
/// restarted on its address must find its port free, and a port from the ephemeral range
/// can meanwhile become the source port of some outgoing connection (then the node
/// cannot listen on it). No port is handed out twice in one process (a killed node's
/// port is free until its restart, and another test's cluster must not take it). Free
/// when this returns; a race with other processes is possible but unlikely (the
/// candidates are spread by process id and time).
fn free_ports(count: usize) -> Vec<u16> {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (10_000u32, u32::from(ephemeral_low).max(10_001));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let mut candidate = (std::process::id().wrapping_mul(7919) ^ nanos) % (high - low);
    let mut ports = Vec::new();
    let mut held = Vec::new();
    for _ in 0..(high - low) {
        if ports.len() == count {
            break;
        }
        candidate = (candidate + 97) % (high - low);
        let port = u16::try_from(low + candidate).expect("below the ephemeral range");
        if handed_out.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            ports.push(port);
            held.push(listener);
        }
    }
    assert_eq!(
        ports.len(),
        count,
        "no {count} free ports below {ephemeral_low}"
    );
    handed_out.extend(&ports);
    ports
}
