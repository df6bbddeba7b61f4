//! The client against a real 3-node dqlite cluster of our nodes, shared by the tests of
//! this file (each test uses its own database), and once against go-dqlite's
//! `dqlite-demo` nodes. Skipped when the servers are not there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::ops::ControlFlow;
use std::thread;
use std::time::{Duration, Instant};

use sqlite_runtime::{ConstraintKind, ErrorKind, Params, Value, ValueRef};
use sqlite_runtime_dqlite::{
    Cluster, ConnectOptions, Connection, QuerySummary, WriteOutcome, is_leadership_error,
    is_not_leader, needs_reconnect, write_outcome,
};
use support::{
    Server, TestCluster, dqlite_available, server_available, shared_cluster, test_options,
    unique_name,
};

/// A connection to the leader with a fresh database open.
fn open_fresh(prefix: &str) -> Connection {
    let cluster = shared_cluster().client();
    cluster
        .open(&unique_name(prefix), Duration::from_secs(10))
        .expect("open a database on the leader")
}

/// Every row of a query, owned.
fn rows(connection: &mut Connection, sql: &str, params: Params<'_>) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    connection
        .query_sql(sql, params, &mut |row| {
            rows.push(row.values().iter().map(ValueRef::to_owned_value).collect());
            Ok(ControlFlow::Continue(()))
        })
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    rows
}

/// Our client against go-dqlite's own node program: discovery through a follower,
/// membership listing, statements, parameters and a transaction.
#[test]
fn go_dqlite_demo_nodes_serve_this_client() {
    if !server_available("go_dqlite_demo_nodes_serve_this_client", Server::GoDemo) {
        return;
    }
    let cluster = TestCluster::start_with(Server::GoDemo);
    let leader = cluster.leader_address().expect("a leader");
    let follower = cluster
        .addresses()
        .into_iter()
        .find(|address| *address != leader)
        .unwrap();
    let through_follower = Cluster::new([follower])
        .unwrap()
        .with_options(test_options());
    let mut db = through_follower
        .open(&unique_name("interop"), Duration::from_secs(30))
        .unwrap();
    assert_eq!(db.address(), leader);
    let members = db.cluster_nodes().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    db.exec_sql("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)", Params::NONE)
        .unwrap();
    db.exec_sql("BEGIN", Params::NONE).unwrap();
    let insert = db.prepare("INSERT INTO t VALUES (?, ?)").unwrap();
    for i in 0..10u8 {
        let key = format!("k{i}");
        let params = [ValueRef::Text(&key), ValueRef::Blob(&[i; 3])];
        db.exec(&insert, Params::Positional(&params)).unwrap();
    }
    db.exec_sql("COMMIT", Params::NONE).unwrap();
    assert_eq!(
        rows(
            &mut db,
            "SELECT count(*), sum(length(v)) FROM t",
            Params::NONE
        ),
        vec![vec![Value::Integer(10), Value::Integer(30)]]
    );
    assert_eq!(
        rows(
            &mut db,
            "SELECT v FROM t WHERE k = ?",
            Params::Positional(&[ValueRef::Text("k7")])
        ),
        vec![vec![Value::Blob(vec![7; 3])]]
    );
}

#[test]
fn every_value_type_round_trips() {
    if !dqlite_available("every_value_type_round_trips") {
        return;
    }
    let mut db = open_fresh("types");
    assert!(db.database().unwrap().starts_with("types-"));
    db.exec_sql(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n)",
        Params::NONE,
    )
    .unwrap();
    let insert = db
        .prepare("INSERT INTO t (i, r, s, b, n) VALUES (?, ?, ?, ?, ?)")
        .unwrap();
    assert_eq!(insert.param_count(), 5);
    let large: Vec<u8> = (0..128 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let cases: Vec<[Value; 5]> = vec![
        [
            Value::Integer(i64::MIN),
            Value::Real(-0.5),
            Value::Text(String::new()),
            Value::Blob(Vec::new()),
            Value::Null,
        ],
        [
            Value::Integer(i64::MAX),
            Value::Real(f64::MAX),
            Value::Text("héllo wörld ✓ 日本".into()),
            Value::Blob(vec![0, 1, 0, 255]),
            Value::Integer(7),
        ],
        [
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Blob(large.clone()),
            Value::Text("x".repeat(10_000)),
        ],
    ];
    for (index, case) in cases.iter().enumerate() {
        let params: Vec<ValueRef<'_>> = case.iter().map(Value::as_ref).collect();
        let result = db.exec(&insert, Params::from(&params)).unwrap();
        assert_eq!(result.changes, 1);
        assert_eq!(result.last_insert_rowid, index as i64 + 1);
    }
    let select = db
        .prepare("SELECT i, r, s, b, n FROM t WHERE id = ?")
        .unwrap();
    for (index, case) in cases.iter().enumerate() {
        let mut got = Vec::new();
        let summary = db
            .query(
                &select,
                Params::from(&[ValueRef::Integer(index as i64 + 1)]),
                &mut |row| {
                    got.push(
                        row.values()
                            .iter()
                            .map(ValueRef::to_owned_value)
                            .collect::<Vec<_>>(),
                    );
                    Ok(ControlFlow::Continue(()))
                },
            )
            .unwrap();
        assert_eq!(summary.columns, ["i", "r", "s", "b", "n"]);
        assert_eq!(got, [case.to_vec()], "row {index}");
    }
    // Typed access through the project's RowRef.
    db.query(&select, Params::from(&[ValueRef::Integer(2)]), &mut |row| {
        assert_eq!(row.get::<i64>("i")?, i64::MAX);
        assert_eq!(row.get::<String>(2)?, "héllo wörld ✓ 日本");
        assert_eq!(row.get::<Vec<u8>>("b")?, [0, 1, 0, 255]);
        Ok(ControlFlow::Continue(()))
    })
    .unwrap();
    db.finalize(select).unwrap();
    db.finalize(insert).unwrap();
}

#[test]
fn large_results_stream_over_several_messages() {
    if !dqlite_available("large_results_stream_over_several_messages") {
        return;
    }
    let mut db = open_fresh("batches");
    db.exec_sql("CREATE TABLE big (i INTEGER, s TEXT)", Params::NONE)
        .unwrap();
    let inserted = db
        .exec_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             INSERT INTO big SELECT i, printf('row-%06d', i) FROM n",
            Params::NONE,
        )
        .unwrap();
    assert_eq!(inserted.changes, 5000);

    let mut expected = 1;
    let summary = db
        .query_sql(
            "SELECT i, s FROM big ORDER BY i",
            Params::NONE,
            &mut |row| {
                assert_eq!(row.get::<i64>(0)?, expected);
                assert_eq!(row.get::<String>(1)?, format!("row-{expected:06}"));
                expected += 1;
                Ok(ControlFlow::Continue(()))
            },
        )
        .unwrap();
    assert_eq!(summary.rows, 5000);
    assert!(summary.batches > 1, "{summary:?}");
    assert!(!summary.stopped_early);
    println!("5000 rows came in {} ROWS messages", summary.batches);

    // Stopping early interrupts the stream; the connection goes on.
    let mut seen = 0;
    let summary = db
        .query_sql("SELECT i FROM big ORDER BY i", Params::NONE, &mut |_| {
            seen += 1;
            Ok(if seen == 10 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })
        .unwrap();
    assert_eq!((summary.rows, summary.batches), (10, 1));
    assert!(summary.stopped_early);
    assert_eq!(
        rows(&mut db, "SELECT count(*) FROM big", Params::NONE),
        [[Value::Integer(5000)]]
    );

    // A visitor error is returned and the connection goes on too.
    let error = db
        .query_sql("SELECT i FROM big", Params::NONE, &mut |_| {
            Err(sqlite_runtime::Error::new(
                ErrorKind::Other,
                "visitor gave up",
            ))
        })
        .unwrap_err();
    assert_eq!(error.message(), "visitor gave up");
    assert!(!db.is_broken());
    assert_eq!(
        rows(&mut db, "SELECT max(i) FROM big", Params::NONE),
        [[Value::Integer(5000)]]
    );

    // Stopping in the last message needs no interrupt.
    let select = db.prepare("SELECT i FROM big WHERE i > ?").unwrap();
    let summary = db
        .query(
            &select,
            Params::from(&[ValueRef::Integer(4990)]),
            &mut |_| Ok(ControlFlow::Break(())),
        )
        .unwrap();
    assert_eq!(summary.rows, 1);
    let summary: QuerySummary = db
        .query(
            &select,
            Params::from(&[ValueRef::Integer(9999)]),
            &mut |_| panic!("no row expected"),
        )
        .unwrap();
    assert_eq!(
        (summary.rows, summary.columns.as_slice()),
        (0, &["i".to_owned()][..])
    );
}

#[test]
fn exec_sql_runs_several_statements() {
    if !dqlite_available("exec_sql_runs_several_statements") {
        return;
    }
    let mut db = open_fresh("multi");
    let result = db
        .exec_sql(
            "CREATE TABLE m (x); INSERT INTO m VALUES (1); INSERT INTO m VALUES (2), (3);",
            Params::NONE,
        )
        .unwrap();
    assert_eq!(result.changes, 2, "the result is the last statement's");
    assert_eq!(
        rows(&mut db, "SELECT sum(x), count(*) FROM m", Params::NONE),
        [[Value::Integer(6), Value::Integer(3)]]
    );
    // A trigger body holds `;` and is one statement.
    db.exec_sql(
        "CREATE TABLE log (x); \
         CREATE TRIGGER tr AFTER INSERT ON m BEGIN INSERT INTO log VALUES (new.x); END; \
         INSERT INTO m VALUES (10)",
        Params::NONE,
    )
    .unwrap();
    assert_eq!(
        rows(&mut db, "SELECT x FROM log", Params::NONE),
        [[Value::Integer(10)]]
    );
    // One statement with parameters.
    let result = db
        .exec_sql(
            "INSERT INTO m VALUES (?)",
            Params::from(&[ValueRef::Integer(4)]),
        )
        .unwrap();
    assert_eq!(result.changes, 1);
    // Blank SQL does nothing.
    assert_eq!(db.exec_sql("", Params::NONE).unwrap().changes, 0);
}

#[test]
fn server_errors_map_to_kinds() {
    if !dqlite_available("server_errors_map_to_kinds") {
        return;
    }
    let mut db = open_fresh("errors");
    db.exec_sql(
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, u INTEGER UNIQUE)",
        Params::NONE,
    )
    .unwrap();

    let syntax = db.exec_sql("SELEKT 1", Params::NONE).unwrap_err();
    assert_eq!(syntax.kind(), ErrorKind::Sql);
    assert_eq!(syntax.extended_code(), Some(1));
    assert_eq!(syntax.backend(), Some("dqlite"));
    assert!(syntax.message().contains("syntax error"), "{syntax}");

    let missing = db.prepare("SELECT * FROM nowhere").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Sql);
    assert!(missing.message().contains("no such table"), "{missing}");

    let insert = db.prepare("INSERT INTO kv VALUES (?, ?, ?)").unwrap();
    let row = |k: &'static str, v: Option<i64>, u: i64| {
        [ValueRef::Text(k), v.into(), ValueRef::Integer(u)]
    };
    db.exec(&insert, Params::from(&row("a", Some(1), 1)))
        .unwrap();

    let primary = db
        .exec(&insert, Params::from(&row("a", Some(2), 2)))
        .unwrap_err();
    assert_eq!(
        primary.kind(),
        ErrorKind::Constraint(ConstraintKind::PrimaryKey)
    );
    assert_eq!(primary.extended_code(), Some(1555));
    assert_eq!(write_outcome(&primary), WriteOutcome::NotApplied);
    assert!(!needs_reconnect(&primary));

    let unique = db
        .exec(&insert, Params::from(&row("b", Some(2), 1)))
        .unwrap_err();
    assert_eq!(unique.kind(), ErrorKind::Constraint(ConstraintKind::Unique));
    assert_eq!(unique.extended_code(), Some(2067));

    let not_null = db
        .exec(&insert, Params::from(&row("c", None, 3)))
        .unwrap_err();
    assert_eq!(
        not_null.kind(),
        ErrorKind::Constraint(ConstraintKind::NotNull)
    );
    assert_eq!(not_null.extended_code(), Some(1299));

    // The statement survives its failures.
    db.exec(&insert, Params::from(&row("d", Some(4), 4)))
        .unwrap();
    assert_eq!(
        rows(&mut db, "SELECT count(*) FROM kv", Params::NONE),
        [[Value::Integer(2)]]
    );

    // A statement returning rows cannot be run with EXEC_SQL.
    let rows_error = db.exec_sql("SELECT 1", Params::NONE).unwrap_err();
    assert_eq!(rows_error.extended_code(), Some(100));

    // Blank SQL cannot be prepared.
    assert_eq!(db.prepare("  ").unwrap_err().kind(), ErrorKind::Misuse);

    // Transactions: a second BEGIN, a COMMIT without one.
    db.exec_sql("BEGIN", Params::NONE).unwrap();
    let nested = db.exec_sql("BEGIN", Params::NONE).unwrap_err();
    assert_eq!(nested.kind(), ErrorKind::Sql);
    db.exec_sql("ROLLBACK", Params::NONE).unwrap();
    let commit = db.exec_sql("COMMIT", Params::NONE).unwrap_err();
    assert_eq!(commit.kind(), ErrorKind::Sql);
    assert!(!db.is_broken());
}

#[test]
fn transactions_commit_and_roll_back() {
    if !dqlite_available("transactions_commit_and_roll_back") {
        return;
    }
    let name = unique_name("tx");
    let client = shared_cluster().client();
    let mut db = client.open(&name, Duration::from_secs(10)).unwrap();
    db.exec_sql("CREATE TABLE t (x)", Params::NONE).unwrap();
    let insert = db.prepare("INSERT INTO t VALUES (?)").unwrap();

    db.exec_sql("BEGIN", Params::NONE).unwrap();
    db.exec(&insert, Params::from(&[ValueRef::Integer(1)]))
        .unwrap();
    db.exec_sql("ROLLBACK", Params::NONE).unwrap();

    db.exec_sql("BEGIN", Params::NONE).unwrap();
    db.exec(&insert, Params::from(&[ValueRef::Integer(2)]))
        .unwrap();
    // Another connection to the same database: the write lock is taken and dqlite 1.11
    // answers "database is locked" at once; it reads the last committed state.
    let mut other = client.open(&name, Duration::from_secs(10)).unwrap();
    let locked = other
        .exec_sql("INSERT INTO t VALUES (3)", Params::NONE)
        .unwrap_err();
    assert_eq!(locked.kind(), ErrorKind::Busy, "{locked}");
    assert!(rows(&mut other, "SELECT x FROM t", Params::NONE).is_empty());
    db.exec_sql("COMMIT", Params::NONE).unwrap();

    assert_eq!(
        rows(&mut other, "SELECT x FROM t", Params::NONE),
        [[Value::Integer(2)]]
    );
    // Dropping a connection in the middle of a transaction rolls it back.
    other.exec_sql("BEGIN", Params::NONE).unwrap();
    other
        .exec_sql("INSERT INTO t VALUES (4)", Params::NONE)
        .unwrap();
    drop(other);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match db.exec_sql("INSERT INTO t VALUES (5)", Params::NONE) {
            Ok(_) => break,
            Err(error) if error.kind() == ErrorKind::Busy && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(
        rows(&mut db, "SELECT x FROM t ORDER BY x", Params::NONE),
        [[Value::Integer(2)], [Value::Integer(5)]]
    );
}

#[test]
fn dqlite_typed_columns_read_as_storage_classes() {
    if !dqlite_available("dqlite_typed_columns_read_as_storage_classes") {
        return;
    }
    let mut db = open_fresh("typed");
    // Only values 1.11.1 can read back: integers in BOOLEAN, integers or text in DATETIME.
    db.exec_sql(
        "CREATE TABLE typed (b BOOLEAN, d DATETIME, t TIMESTAMP); \
         INSERT INTO typed VALUES (1, '2024-01-02 03:04:05', 1700000000); \
         INSERT INTO typed VALUES (0, NULL, NULL)",
        Params::NONE,
    )
    .unwrap();
    assert_eq!(
        rows(
            &mut db,
            "SELECT b, d, t FROM typed ORDER BY rowid",
            Params::NONE
        ),
        [
            vec![
                Value::Integer(1),
                Value::Text("2024-01-02 03:04:05".into()),
                Value::Integer(1_700_000_000)
            ],
            vec![Value::Integer(0), Value::Null, Value::Null],
        ]
    );
}

#[test]
fn hazards_are_refused_before_sending() {
    if !dqlite_available("hazards_are_refused_before_sending") {
        return;
    }
    let mut db = open_fresh("hazards");
    db.exec_sql("CREATE TABLE t (x)", Params::NONE).unwrap();

    let returning = db
        .exec_sql("INSERT INTO t VALUES (1) RETURNING x", Params::NONE)
        .unwrap_err();
    assert_eq!(returning.kind(), ErrorKind::Unsupported);
    let returning = db
        .query_sql(
            "INSERT INTO t VALUES (1) RETURNING x",
            Params::NONE,
            &mut |_| Ok(ControlFlow::Continue(())),
        )
        .unwrap_err();
    assert_eq!(returning.kind(), ErrorKind::Unsupported);

    let multi = db
        .query_sql("SELECT 1; SELECT 2", Params::NONE, &mut |_| {
            Ok(ControlFlow::Continue(()))
        })
        .unwrap_err();
    assert_eq!(multi.kind(), ErrorKind::Misuse);
    assert_eq!(
        db.prepare("SELECT 1; SELECT 2").unwrap_err().kind(),
        ErrorKind::Misuse
    );
    assert_eq!(
        db.exec_sql(
            "INSERT INTO t VALUES (?); INSERT INTO t VALUES (?)",
            Params::from(&[ValueRef::Integer(1)])
        )
        .unwrap_err()
        .kind(),
        ErrorKind::Misuse
    );

    let nul = db
        .exec_sql(
            "INSERT INTO t VALUES (?)",
            Params::from(&[ValueRef::Text("a\0b")]),
        )
        .unwrap_err();
    assert_eq!(nul.kind(), ErrorKind::Unsupported);
    assert!(nul.message().contains("NUL"), "{nul}");

    let named = [(":x", ValueRef::Integer(1))];
    assert_eq!(
        db.exec_sql("INSERT INTO t VALUES (:x)", Params::from(&named))
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
    let too_many = vec![ValueRef::Null; 256];
    assert_eq!(
        db.exec_sql("SELECT 1", Params::from(&too_many))
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );

    let insert = db.prepare("INSERT INTO t VALUES (?)").unwrap();
    assert_eq!(
        db.exec(&insert, Params::NONE).unwrap_err().kind(),
        ErrorKind::Misuse
    );
    assert_eq!(db.open("another.db").unwrap_err().kind(), ErrorKind::Misuse);

    let client = shared_cluster().client();
    let mut other = client.connect_leader(Duration::from_secs(10)).unwrap();
    assert_eq!(other.open("").unwrap_err().kind(), ErrorKind::Misuse);
    assert_eq!(
        other.open(":memory:").unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        other.open("file:x.db?mode=ro").unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        other.exec_sql("SELECT 1", Params::NONE).unwrap_err().kind(),
        ErrorKind::Misuse,
        "no database open"
    );
    other.open(&unique_name("hazards-other")).unwrap();
    assert_eq!(
        other
            .exec(&insert, Params::from(&[ValueRef::Null]))
            .unwrap_err()
            .kind(),
        ErrorKind::Misuse,
        "a statement of another connection"
    );

    // Nothing was sent: the connection and the node are fine.
    assert!(!db.is_broken());
    db.exec(&insert, Params::from(&[ValueRef::Integer(1)]))
        .unwrap();
    assert_eq!(
        rows(&mut db, "SELECT count(*) FROM t", Params::NONE),
        [[Value::Integer(1)]]
    );
}

#[test]
fn leader_discovery_skips_followers_dead_and_silent_nodes() {
    if !dqlite_available("leader_discovery_skips_followers_dead_and_silent_nodes") {
        return;
    }
    let cluster = shared_cluster();
    let leader = cluster.leader_address().expect("a leader");
    let followers: Vec<String> = cluster
        .addresses()
        .into_iter()
        .filter(|address| *address != leader)
        .collect();

    // A dead node: nothing listens.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_address = dead.local_addr().unwrap().to_string();
    drop(dead);
    // A silent node: accepts, reads, never answers (like a stopped process).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_address = silent.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in silent.incoming().flatten() {
            let mut buffer = [0; 64];
            let _ = stream.read(&mut buffer);
            held.push(stream);
        }
    });

    let options = ConnectOptions::new()
        .connect_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_millis(500));
    let orders = [
        vec![followers[0].clone()],
        vec![
            dead_address.clone(),
            followers[1].clone(),
            followers[0].clone(),
        ],
        vec![
            silent_address.clone(),
            dead_address.clone(),
            followers[0].clone(),
        ],
        vec![dead_address.clone(), leader.clone()],
    ];
    for nodes in orders {
        let client = Cluster::new(nodes.clone())
            .unwrap()
            .with_options(options.clone());
        let started = Instant::now();
        let mut connection = client
            .find_leader()
            .unwrap_or_else(|error| panic!("{nodes:?}: {error}"));
        assert_eq!(connection.address(), leader, "{nodes:?}");
        connection.open(&unique_name("discovery")).unwrap();
        connection
            .exec_sql("CREATE TABLE t (x)", Params::NONE)
            .unwrap();
        println!(
            "leader found through {nodes:?} in {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }

    let nobody = Cluster::new([dead_address, silent_address])
        .unwrap()
        .with_options(options);
    let error = nobody.find_leader().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Io);
    assert!(needs_reconnect(&error));
}

#[test]
fn followers_answer_not_leader() {
    if !dqlite_available("followers_answer_not_leader") {
        return;
    }
    let cluster = shared_cluster();
    let leader = cluster.leader_address().expect("a leader");
    let follower = cluster
        .addresses()
        .into_iter()
        .find(|address| *address != leader)
        .unwrap();
    let mut connection = Connection::connect(&follower, &test_options()).unwrap();
    let known = connection
        .leader()
        .unwrap()
        .expect("the follower knows the leader");
    assert_eq!(known.address, leader);
    assert_eq!(connection.cluster_nodes().unwrap().len(), 3);
    // 1.11.1 lets a follower OPEN; writes and reads are refused.
    connection.open(&unique_name("follower")).unwrap();
    let write = connection
        .exec_sql("CREATE TABLE t (x)", Params::NONE)
        .unwrap_err();
    assert!(is_not_leader(&write), "{write}");
    assert!(is_leadership_error(&write));
    assert!(needs_reconnect(&write));
    assert_eq!(write.extended_code(), Some(10250));
    assert_eq!(write.kind(), ErrorKind::Io);
    assert_eq!(write_outcome(&write), WriteOutcome::NotApplied);
    let read = connection
        .query_sql("SELECT 1", Params::NONE, &mut |_| {
            Ok(ControlFlow::Continue(()))
        })
        .unwrap_err();
    assert!(is_not_leader(&read), "{read}");
}

#[test]
fn request_latency() {
    if !dqlite_available("request_latency") {
        return;
    }
    let mut db = open_fresh("latency");
    db.exec_sql(
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB)",
        Params::NONE,
    )
    .unwrap();
    let insert = db.prepare("INSERT INTO kv VALUES (?, ?)").unwrap();
    let select = db.prepare("SELECT v FROM kv WHERE k = ?").unwrap();
    let value = [7u8; 100];
    const N: i64 = 200;

    let writes = measure(N, |i| {
        db.exec(
            &insert,
            Params::from(&[ValueRef::Integer(i), ValueRef::Blob(&value)]),
        )
        .unwrap();
    });
    let reads = measure(N, |i| {
        db.query(&select, Params::from(&[ValueRef::Integer(i)]), &mut |row| {
            assert_eq!(row.get::<Vec<u8>>(0)?.len(), 100);
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
    });
    db.exec_sql("BEGIN", Params::NONE).unwrap();
    let in_transaction = measure(N, |i| {
        db.exec(
            &insert,
            Params::from(&[ValueRef::Integer(N + i), ValueRef::Blob(&value)]),
        )
        .unwrap();
    });
    let commit = Instant::now();
    db.exec_sql("COMMIT", Params::NONE).unwrap();
    let commit = commit.elapsed();
    let client = shared_cluster().client();
    let mut plain = client.connect_leader(Duration::from_secs(5)).unwrap();
    let leader = measure(N, |_| {
        plain.leader().unwrap();
    });
    println!("latency over {N} requests each (p50 / mean / p99 / max, ms):");
    println!("  autocommit prepared INSERT (one raft round): {writes}");
    println!("  prepared point SELECT:                       {reads}");
    println!("  prepared INSERT inside BEGIN…COMMIT:         {in_transaction}");
    println!(
        "  COMMIT of {N} rows:                          {:.2}",
        commit.as_secs_f64() * 1000.0
    );
    println!("  LEADER (round trip):                         {leader}");
}

struct Stats(Vec<Duration>);

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sorted = self.0.clone();
        sorted.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
        let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
        write!(
            f,
            "{:.3} / {:.3} / {:.3} / {:.3}",
            ms(at(0.5)),
            ms(mean),
            ms(at(0.99)),
            ms(at(1.0))
        )
    }
}

fn measure(n: i64, mut op: impl FnMut(i64)) -> Stats {
    Stats(
        (0..n)
            .map(|i| {
                let started = Instant::now();
                op(i);
                started.elapsed()
            })
            .collect(),
    )
}
