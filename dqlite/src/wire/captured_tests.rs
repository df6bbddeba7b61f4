//! Responses captured from a live dqlite 1.11.1 node (Debian 12's `libdqlite0`, a
//! 3-node `dqlite-demo` cluster), decoded byte for byte.

use sqlite_runtime::ValueRef;

use super::{Response, RowsDecoder, RowsEnd};
use crate::node::{NodeInfo, NodeRole};

fn unhex(hex: &str) -> Vec<u8> {
    let hex: String = hex.split_whitespace().collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn result_of_create_table_and_insert() {
    // EXEC_SQL "CREATE TABLE …", then "INSERT INTO t VALUES (?, ?, ?)".
    assert_eq!(
        Response::decode(6, &unhex("0000000000000000 0000000000000000")).unwrap(),
        Response::Result {
            last_insert_id: 0,
            rows_affected: 0
        }
    );
    assert_eq!(
        Response::decode(6, &unhex("0100000000000000 0100000000000000")).unwrap(),
        Response::Result {
            last_insert_id: 1,
            rows_affected: 1
        }
    );
}

#[test]
fn stmt_of_a_prepare() {
    // PREPARE "SELECT a, b, c FROM t WHERE a = ?".
    assert_eq!(
        Response::decode(5, &unhex("00000000 00000000 0100000000000000")).unwrap(),
        Response::Stmt {
            db: 0,
            id: 0,
            params: 1
        }
    );
}

#[test]
fn rows_of_every_storage_class() {
    // QUERY_SQL "SELECT 1 AS one, 'x' AS s, NULL AS n, 1.5 AS r, x'0102' AS b".
    let body = unhex(
        "0500000000000000 6f6e650000000000 7300000000000000 6e00000000000000
         7200000000000000 6200000000000000
         3125040000000000
         0100000000000000 7800000000000000 0000000000000000 000000000000f83f
         0200000000000000 0102000000000000
         ffffffffffffffff",
    );
    let mut decoder = RowsDecoder::new(&body).unwrap();
    assert_eq!(
        decoder.column_names().collect::<Vec<_>>(),
        ["one", "s", "n", "r", "b"]
    );
    let mut values = Vec::new();
    assert!(decoder.next_row(&mut values).unwrap());
    assert_eq!(
        values,
        [
            ValueRef::Integer(1),
            ValueRef::Text("x"),
            ValueRef::Null,
            ValueRef::Real(1.5),
            ValueRef::Blob(&[1, 2])
        ]
    );
    assert!(!decoder.next_row(&mut values).unwrap());
    assert_eq!(decoder.end(), Some(RowsEnd::Done));
}

#[test]
fn rows_of_a_table() {
    // QUERY_SQL "SELECT a, b, c FROM t" after inserting (-7, 'héllo', x'0001').
    let body = unhex(
        "0300000000000000 6100000000000000 6200000000000000 6300000000000000
         3104000000000000
         f9ffffffffffffff 68c3a96c6c6f0000 0200000000000000 0001000000000000
         ffffffffffffffff",
    );
    let mut decoder = RowsDecoder::new(&body).unwrap();
    let mut values = Vec::new();
    assert!(decoder.next_row(&mut values).unwrap());
    assert_eq!(
        values,
        [
            ValueRef::Integer(-7),
            ValueRef::Text("héllo"),
            ValueRef::Blob(&[0, 1])
        ]
    );
    assert!(!decoder.next_row(&mut values).unwrap());
}

#[test]
fn failure_of_a_syntax_error() {
    let body =
        unhex("0100000000000000 6e656172202253454c454b54223a2073796e746178206572726f720000000000");
    assert_eq!(
        Response::decode(0, &body).unwrap(),
        Response::Failure {
            code: 1,
            message: "near \"SELEKT\": syntax error".into()
        }
    );
}

#[test]
fn server_welcome_and_servers() {
    assert_eq!(
        Response::decode(
            1,
            &unhex("be55318c8571c12d 3132372e302e302e 313a393030310000")
        )
        .unwrap(),
        Response::Server {
            id: 0x2dc1_7185_8c31_55be,
            address: "127.0.0.1:9001"
        }
    );
    assert_eq!(
        Response::decode(2, &unhex("983a000000000000")).unwrap(),
        Response::Welcome {
            heartbeat_timeout_ms: 15000
        }
    );
    // CLUSTER with format 1.
    let body = unhex(
        "0300000000000000
         be55318c8571c12d 3132372e302e302e 313a393030310000 0000000000000000
         6b4bc6f4dcbcd638 3132372e302e302e 313a393030330000 0000000000000000
         019657f1a4274186 3132372e302e302e 313a393030320000 0000000000000000",
    );
    let Response::Servers(nodes) = Response::decode(3, &body).unwrap() else {
        panic!("not SERVERS");
    };
    assert_eq!(
        nodes
            .iter()
            .map(|node| node.address.as_str())
            .collect::<Vec<_>>(),
        ["127.0.0.1:9001", "127.0.0.1:9003", "127.0.0.1:9002"]
    );
    assert_eq!(
        nodes[0],
        NodeInfo {
            id: 0x2dc1_7185_8c31_55be,
            address: "127.0.0.1:9001".into(),
            role: NodeRole::Voter
        }
    );
    assert!(nodes.iter().all(|node| node.role == NodeRole::Voter));
}
