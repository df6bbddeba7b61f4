//! [`DqliteRuntime`] against real 3-node dqlite clusters: what the conformance suite
//! does not look at (names, failures of the leader, reconnection). Skipped when
//! `sqlrt-node` is not built (unless `SQLRT_REQUIRE_DQLITE=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sqlite_runtime::{
    ErrorKind, OpenOptions, Params, SqliteDatabase, SqliteRuntime, Target, Value, ValueRef, params,
};
use sqlite_runtime_dqlite::{Cluster, ConnectOptions, Connection, DqliteRuntime, NodeRole};
use support::{TestCluster, dqlite_available, shared_cluster, unique_name};

/// Elections take 3–6 s; reconnections may wait this long for a new leader.
const PATIENCE: Duration = Duration::from_secs(20);

fn runtime(cluster: &TestCluster) -> DqliteRuntime {
    DqliteRuntime::new(cluster.client()).with_patience(PATIENCE)
}

fn count(db: &mut dyn SqliteDatabase, table: &str) -> i64 {
    db.get(&format!("SELECT count(*) FROM {table}"), Params::NONE)
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap()
}

#[test]
fn file_targets_are_names_and_memory_targets_are_private() {
    if !dqlite_available("file_targets_are_names_and_memory_targets_are_private") {
        return;
    }
    let runtime = runtime(shared_cluster());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dir with spaces/é/kv.db");
    let target = Target::file(&path);
    {
        let mut db = runtime.open(&target, &OpenOptions::new()).unwrap();
        db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
    }
    assert!(!path.exists(), "nothing is written to the local disk");
    let mut db = runtime.open(&target, &OpenOptions::new()).unwrap();
    assert_eq!(count(&mut *db, "t"), 1);
    let file: String = db
        .get(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
            Params::NONE,
        )
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(
        file,
        path.to_str().unwrap(),
        "the path is the database's name"
    );

    let mut a = runtime.open(&Target::Memory, &OpenOptions::new()).unwrap();
    let mut b = runtime.open(&Target::Memory, &OpenOptions::new()).unwrap();
    a.exec("CREATE TABLE m (x)").unwrap();
    let error = b.get("SELECT * FROM m", Params::NONE).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Sql);

    // An open that must not create refuses a name never written, then opens it once
    // written.
    let name = Target::file(format!("/{}", unique_name("absent")));
    for options in [
        OpenOptions::new().create(false),
        OpenOptions::new().read_only(true),
    ] {
        let error = runtime.open(&name, &options).err().unwrap();
        assert_eq!(error.kind(), ErrorKind::CannotOpen, "{error}");
        assert_eq!(error.path(), name.path());
    }
    runtime
        .open(&name, &OpenOptions::new())
        .unwrap()
        .exec("PRAGMA user_version = 7")
        .unwrap();
    let mut read_only = runtime
        .open(&name, &OpenOptions::new().read_only(true))
        .unwrap();
    let version: i64 = read_only
        .get("PRAGMA user_version", Params::NONE)
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(version, 7);
    let error = read_only.exec("CREATE TABLE w (x)").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ReadOnly, "{error}");
}

#[test]
fn values_the_protocol_cannot_carry_are_refused_and_bad_text_is_a_type_mismatch() {
    if !dqlite_available(
        "values_the_protocol_cannot_carry_are_refused_and_bad_text_is_a_type_mismatch",
    ) {
        return;
    }
    let runtime = runtime(shared_cluster());
    let mut db = runtime.open(&Target::Memory, &OpenOptions::new()).unwrap();
    db.exec("CREATE TABLE t (v)").unwrap();
    let error = db
        .run("INSERT INTO t VALUES (?)", params!["a\0b"])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    let error = db
        .run("INSERT INTO t VALUES (1) RETURNING v", Params::NONE)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    // Text that is not UTF-8, stored by SQL: reading it is a type mismatch (as on every
    // backend), the raw bytes are there as a blob, and the connection goes on.
    db.exec("INSERT INTO t VALUES (CAST(x'61ff' AS TEXT))")
        .unwrap();
    let error = db.get("SELECT v FROM t", Params::NONE).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TypeMismatch, "{error}");
    let row = db
        .get("SELECT CAST(v AS BLOB) FROM t", Params::NONE)
        .unwrap()
        .unwrap();
    assert_eq!(row.values(), [Value::Blob(vec![0x61, 0xff])]);
    // A query failing at run time reports SQLite's own message (dqlite 1.11 garbles it).
    let error = db
        .get(
            "SELECT 1 AS one, abs(-9223372036854775807 - 1)",
            Params::NONE,
        )
        .unwrap_err();
    assert_eq!(
        (error.kind(), error.message()),
        (ErrorKind::Sql, "integer overflow")
    );
    assert_eq!(count(&mut *db, "t"), 1);
}

#[test]
fn batches_run_each_statement_as_it_needs() {
    if !dqlite_available("batches_run_each_statement_as_it_needs") {
        return;
    }
    let runtime = runtime(shared_cluster());
    let mut db = runtime.open(&Target::Memory, &OpenOptions::new()).unwrap();
    // Reads, pragma getters and setters, writes and transaction control in one batch.
    db.exec(
        "CREATE TABLE t (x); SELECT * FROM t; PRAGMA user_version; PRAGMA user_version = 3; \
         BEGIN; INSERT INTO t VALUES (1); SAVEPOINT s; INSERT INTO t VALUES (2);",
    )
    .unwrap();
    assert!(db.in_transaction().unwrap());
    db.exec("ROLLBACK TO s; RELEASE s; COMMIT").unwrap();
    assert!(!db.in_transaction().unwrap());
    assert_eq!(count(&mut *db, "t"), 1);
    // A trigger whose body holds `CASE … END;`, which the client cannot split: the batch
    // goes whole, and the server splits it.
    db.exec(
        "CREATE TABLE log (y); \
         CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
           INSERT INTO log VALUES (CASE WHEN new.x > 1 THEN 'big' ELSE 'small' END); \
           UPDATE log SET y = y || '!' WHERE y = CASE WHEN 1 THEN 'big' END; \
         END; \
         INSERT INTO t VALUES (5);",
    )
    .unwrap();
    let logged: String = db
        .get("SELECT group_concat(y) FROM log", Params::NONE)
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(logged, "big!");
    assert!(!db.in_transaction().unwrap());
    let version: i64 = db
        .get("PRAGMA user_version", Params::NONE)
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(version, 3);
}

#[test]
fn statements_are_cached_on_the_server_and_counted_by_sqlite() {
    if !dqlite_available("statements_are_cached_on_the_server_and_counted_by_sqlite") {
        return;
    }
    let runtime = runtime(shared_cluster());
    let options = OpenOptions::new().statement_cache_capacity(2);
    let mut db = runtime.open(&Target::Memory, &options).unwrap();
    db.exec("CREATE TABLE t (k, v)").unwrap();
    for i in 0..10_i64 {
        db.run(
            "INSERT INTO t VALUES (:k, :v)",
            Params::from(&[(":v", ValueRef::Integer(i)), (":k", ValueRef::Integer(-i))]),
        )
        .unwrap();
    }
    let stats = db.statement_cache_stats().unwrap();
    let insert = stats.statement("INSERT INTO t VALUES (:k, :v)").unwrap();
    assert_eq!(insert.runs, 10, "{stats:?}");
    assert_eq!(
        count(&mut *db, "t WHERE k = -v"),
        10,
        "named parameters bound by name"
    );
    // Capacity 2: the oldest statements are finalized on the server as others come.
    for i in 0..5 {
        db.get(&format!("SELECT {i}"), Params::NONE).unwrap();
    }
    let stats = db.statement_cache_stats().unwrap();
    assert_eq!(stats.statements.len(), 2, "{stats:?}");
}

/// A connection to the current leader and the id of another voter.
fn leader_and_other_voter(cluster: &TestCluster) -> (Connection, u64) {
    let leader = cluster.leader_address().expect("a leader");
    let mut connection = Connection::connect(&leader, &support::test_options()).unwrap();
    let other = connection
        .cluster_nodes()
        .unwrap()
        .into_iter()
        .find(|node| node.address != leader && node.role == NodeRole::Voter)
        .expect("another voter");
    (connection, other.id)
}

#[test]
fn a_leadership_change_is_unavailable_and_the_next_statement_reconnects() {
    if !dqlite_available("a_leadership_change_is_unavailable_and_the_next_statement_reconnects") {
        return;
    }
    let cluster = TestCluster::start();
    let runtime = runtime(&cluster);
    let mut db = runtime
        .open(&Target::file("/transfer.db"), &OpenOptions::new())
        .unwrap();
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    db.exec("PRAGMA recursive_triggers = ON").unwrap();
    db.run("BEGIN IMMEDIATE", Params::NONE).unwrap();
    db.run("INSERT INTO t VALUES (?)", params![2]).unwrap();
    assert!(db.in_transaction().unwrap());

    let (mut leader, other) = leader_and_other_voter(&cluster);
    leader.transfer_leadership(other).unwrap();

    let error = db.run("INSERT INTO t VALUES (?)", params![3]).unwrap_err();
    println!("a statement after the leadership moved: {error}");
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(error.is_retryable());
    assert!(
        !db.in_transaction().unwrap(),
        "the transaction died with the connection"
    );
    // The next statements run on the new leader, the cached ones prepared again, the
    // connection's settings applied again.
    let started = Instant::now();
    assert_eq!(
        count(&mut *db, "t"),
        1,
        "the open transaction was not committed"
    );
    println!("reconnected in {:.2?}", started.elapsed());
    db.run("INSERT INTO t VALUES (?)", params![4]).unwrap();
    assert_eq!(count(&mut *db, "t"), 2);
    let recursive: i64 = db
        .get("PRAGMA recursive_triggers", Params::NONE)
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(recursive, 1, "pragmas the caller set are set again");
    let foreign_keys: i64 = db
        .get("PRAGMA foreign_keys", Params::NONE)
        .unwrap()
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(foreign_keys, 1);
    // Guards work on the new connection.
    let mut tx = db.transaction().unwrap();
    tx.run("INSERT INTO t VALUES (5)", Params::NONE).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&mut *db, "t"), 3);
}

#[test]
fn a_commit_cut_off_by_a_killed_leader_is_never_reported_as_success() {
    if !dqlite_available("a_commit_cut_off_by_a_killed_leader_is_never_reported_as_success") {
        return;
    }
    let cluster = TestCluster::start();
    let runtime = runtime(&cluster);
    let mut db = runtime
        .open(&Target::file("/killed.db"), &OpenOptions::new())
        .unwrap();
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
    let leader = cluster.leader_address().unwrap();
    // The statements are prepared (cached) beforehand, so that the COMMIT itself is what
    // the kill cuts off (a PREPARE cut off applies nothing: that is `Unavailable`).
    let mut tx = db.transaction().unwrap();
    tx.run("INSERT INTO t VALUES (?)", params!["warm"]).unwrap();
    tx.commit().unwrap();

    let mut tx = db.transaction().unwrap();
    tx.run("INSERT INTO t VALUES (?)", params!["in-flight"])
        .unwrap();
    cluster.signal(cluster.index_of(&leader), "KILL");
    let error = tx.commit().unwrap_err();
    println!("COMMIT after SIGKILL of the leader: {error}");
    assert!(
        matches!(
            error.kind(),
            ErrorKind::OutcomeUnknown | ErrorKind::Unavailable
        ),
        "{error}"
    );
    if error.kind() == ErrorKind::Unavailable {
        let fault = sqlite_runtime_dqlite::fault(&error);
        assert!(
            !fault.is_some_and(|fault| fault.outcome_unknown()),
            "an unknown outcome reported as not applied: {error}"
        );
    }
    assert!(!db.in_transaction().unwrap());

    let started = Instant::now();
    let (rows, error) = loop {
        match db.run("INSERT OR IGNORE INTO t VALUES ('after')", Params::NONE) {
            Ok(_) => break (count(&mut *db, "t"), None),
            Err(error)
                if error.kind() == ErrorKind::Unavailable && started.elapsed() < PATIENCE =>
            {
                println!("while the cluster elects a leader: {error}");
            }
            Err(error) => break (0, Some(error)),
        }
    };
    assert!(error.is_none(), "{error:?}");
    println!(
        "the first write after the failover succeeded after {:.2?}; {rows} rows",
        started.elapsed()
    );
    assert!(rows == 2 || rows == 3, "{rows}");
}

#[test]
fn an_autocommit_write_to_a_stopped_leader_is_outcome_unknown() {
    if !dqlite_available("an_autocommit_write_to_a_stopped_leader_is_outcome_unknown") {
        return;
    }
    let cluster = TestCluster::start();
    let client = Cluster::new(cluster.addresses()).unwrap().with_options(
        ConnectOptions::new()
            .connect_timeout(Duration::from_millis(500))
            .request_timeout(Duration::from_secs(1)),
    );
    let runtime = DqliteRuntime::new(client).with_patience(PATIENCE);
    let mut db = runtime
        .open(&Target::file("/stopped.db"), &OpenOptions::new())
        .unwrap();
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
    let index = cluster.index_of(&cluster.leader_address().unwrap());
    // Prepared beforehand: the write itself is cut off, not its PREPARE.
    db.run("INSERT INTO t VALUES (?)", params!["warm"]).unwrap();

    cluster.signal(index, "STOP");
    let error = db
        .run("INSERT INTO t VALUES (?)", params!["while-stopped"])
        .unwrap_err();
    println!("autocommit write to a stopped leader: {error}");
    assert_eq!(error.kind(), ErrorKind::OutcomeUnknown, "{error}");
    assert!(!error.is_retryable());
    // A read cut off the same way is merely unavailable.
    let started = Instant::now();
    let mut outcome = db.get("SELECT count(*) FROM t", Params::NONE);
    while let Err(error) = &outcome {
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
        assert!(started.elapsed() < PATIENCE * 2, "no failover: {error}");
        outcome = db.get("SELECT count(*) FROM t", Params::NONE);
    }
    println!("reads work again after {:.2?}", started.elapsed());
    db.run("INSERT OR IGNORE INTO t VALUES ('after')", Params::NONE)
        .unwrap();
    let mut keys = Vec::new();
    db.for_each("SELECT k FROM t ORDER BY k", Params::NONE, &mut |row| {
        keys.push(row.get::<String>(0)?);
        Ok(ControlFlow::Continue(()))
    })
    .unwrap();
    println!("rows after the failover: {keys:?}");
    assert!(keys.contains(&"after".to_owned()));
    cluster.signal(index, "CONT");
}
