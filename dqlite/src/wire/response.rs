//! Responses (server to client), except the rows inside ROWS (see `rows`).

use std::borrow::Cow;

use super::codes::ResponseType;
use super::decode::{Cursor, DecodeError};
use crate::node::{NodeInfo, NodeRole};

/// The smallest encoding of a node in SERVERS: id, empty address, role.
const MIN_NODE_SIZE: usize = 24;

/// A decoded response.
///
/// Bodies longer than the layout this client knows are accepted (newer servers append
/// fields, e.g. STMT with schema 1 adds the tail offset); shorter ones are errors.
#[derive(Clone, Debug, PartialEq)]
pub enum Response<'a> {
    /// The request failed.
    Failure {
        /// An extended SQLite result code, a dqlite code (1001 and up) or 0.
        code: u64,
        /// The server's message (bytes that are not UTF-8 are replaced).
        message: Cow<'a, str>,
    },
    /// The leader as the node knows it; an empty address means no known leader.
    Server {
        /// The leader's id (0 when unknown).
        id: u64,
        /// The leader's address.
        address: &'a str,
    },
    /// The client is registered.
    Welcome {
        /// The heartbeat timeout the server announces, in milliseconds (1.11 does not
        /// enforce it).
        heartbeat_timeout_ms: u64,
    },
    /// The nodes of the cluster.
    Servers(Vec<NodeInfo>),
    /// A database is open.
    Db {
        /// Its id (always 0 on 1.11: one database per connection).
        id: u32,
    },
    /// A statement is prepared.
    Stmt {
        /// The database id.
        db: u32,
        /// The statement id.
        id: u32,
        /// How many parameters it takes (`sqlite3_bind_parameter_count`).
        params: u64,
    },
    /// What a write did.
    Result {
        /// `sqlite3_last_insert_rowid` of the server-side connection.
        last_insert_id: i64,
        /// `sqlite3_changes`.
        rows_affected: u64,
    },
    /// A batch of rows, decoded by [`RowsDecoder`](super::RowsDecoder).
    Rows {
        /// The raw body.
        body: &'a [u8],
    },
    /// Success without content.
    Empty,
    /// A known response this client never asks for (FILES, METADATA).
    Unhandled(ResponseType),
}

impl<'a> Response<'a> {
    /// Decodes the body of a message of type `kind`.
    pub fn decode(kind: u8, body: &'a [u8]) -> Result<Self, DecodeError> {
        let kind =
            ResponseType::from_code(kind).ok_or(DecodeError::UnknownResponseType { code: kind })?;
        let mut cursor = Cursor::new(body);
        Ok(match kind {
            ResponseType::Failure => Response::Failure {
                code: cursor.u64("failure code")?,
                message: String::from_utf8_lossy(cursor.text_bytes("failure message")?),
            },
            ResponseType::Server => Response::Server {
                id: cursor.u64("leader id")?,
                address: cursor.text("leader address")?,
            },
            ResponseType::Welcome => Response::Welcome {
                heartbeat_timeout_ms: cursor.u64("heartbeat timeout")?,
            },
            ResponseType::Servers => {
                let declared = cursor.u64("node count")?;
                let count = cursor.count(declared, MIN_NODE_SIZE, "node")?;
                let mut nodes = Vec::with_capacity(count);
                for _ in 0..count {
                    nodes.push(NodeInfo {
                        id: cursor.u64("node id")?,
                        address: cursor.text("node address")?.to_owned(),
                        role: NodeRole::from_code(cursor.u64("node role")?),
                    });
                }
                Response::Servers(nodes)
            }
            ResponseType::Db => Response::Db {
                id: cursor.u32("database id")?,
            },
            ResponseType::Stmt => Response::Stmt {
                db: cursor.u32("database id")?,
                id: cursor.u32("statement id")?,
                params: cursor.u64("parameter count")?,
            },
            ResponseType::Result => Response::Result {
                last_insert_id: cursor.i64("last insert id")?,
                rows_affected: cursor.u64("rows affected")?,
            },
            ResponseType::Rows => Response::Rows { body },
            ResponseType::Empty => Response::Empty,
            other @ (ResponseType::Files | ResponseType::Metadata) => Response::Unhandled(other),
        })
    }

    /// The response's name, for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Failure { .. } => ResponseType::Failure.name(),
            Response::Server { .. } => ResponseType::Server.name(),
            Response::Welcome { .. } => ResponseType::Welcome.name(),
            Response::Servers(_) => ResponseType::Servers.name(),
            Response::Db { .. } => ResponseType::Db.name(),
            Response::Stmt { .. } => ResponseType::Stmt.name(),
            Response::Result { .. } => ResponseType::Result.name(),
            Response::Rows { .. } => ResponseType::Rows.name(),
            Response::Empty => ResponseType::Empty.name(),
            Response::Unhandled(kind) => kind.name(),
        }
    }
}

/// The code and message of a FAILURE answering QUERY or QUERY_SQL.
///
/// dqlite 1.11 encodes a result set's column names (and any rows of the batch) before
/// stepping, and when a step fails it appends the failure to what it had encoded and
/// sends the whole as a FAILURE: the body then starts with the column count and names,
/// which a plain decoding takes for the code and message, and the real code and message
/// are its last two fields. A body with nothing after its message is an ordinary
/// FAILURE; otherwise the last word holding the message's terminating NUL is found,
/// then the words before it holding no NUL (the rest of the message), and the word
/// before those is the code (a code always has NUL bytes: it is below 2^32).
pub fn decode_query_failure(body: &[u8]) -> Result<(u64, Cow<'_, str>), DecodeError> {
    let mut cursor = Cursor::new(body);
    let code = cursor.u64("failure code")?;
    let message = cursor.text_bytes("failure message")?;
    if cursor.is_empty() {
        return Ok((code, String::from_utf8_lossy(message)));
    }
    let words: Vec<&[u8]> = body.chunks(8).collect();
    let last = words.len().saturating_sub(1);
    if !body.len().is_multiple_of(8) || !words.get(last).is_some_and(|word| word.contains(&0)) {
        return Err(DecodeError::UnterminatedText {
            what: "failure message",
        });
    }
    let mut start = last;
    while start > 1 && words.get(start - 1).is_some_and(|word| !word.contains(&0)) {
        start -= 1;
    }
    let mut tail = Cursor::new(body.get((start - 1) * 8..).unwrap_or_default());
    let code = tail.u64("failure code")?;
    let message = tail.text_bytes("failure message")?;
    Ok((code, String::from_utf8_lossy(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_failures_appended_to_rows_are_found_at_the_end() {
        // An ordinary failure.
        let plain = b"\x13\0\0\0\0\0\0\0UNIQUE\0\0";
        let (code, message) = decode_query_failure(plain).unwrap();
        assert_eq!((code, message.as_ref()), (19, "UNIQUE"));
        // One column `abs(...)`, then the failure 1 "integer overflow" (16 bytes of text,
        // so its NUL takes a word of its own).
        let mut garbled = Vec::new();
        garbled.extend_from_slice(&1u64.to_le_bytes());
        garbled.extend_from_slice(b"abs(x)\0\0");
        garbled.extend_from_slice(&1u64.to_le_bytes());
        garbled.extend_from_slice(b"integer overflow\0\0\0\0\0\0\0\0");
        let (code, message) = decode_query_failure(&garbled).unwrap();
        assert_eq!((code, message.as_ref()), (1, "integer overflow"));
        // Two columns and a row before the failure; an empty message.
        let mut rows = Vec::new();
        rows.extend_from_slice(&2u64.to_le_bytes());
        rows.extend_from_slice(b"one\0\0\0\0\0two\0\0\0\0\0");
        rows.extend_from_slice(&[0x11, 0, 0, 0, 0, 0, 0, 0]);
        rows.extend_from_slice(&1i64.to_le_bytes());
        rows.extend_from_slice(&(-1i64).to_le_bytes());
        rows.extend_from_slice(&2067u64.to_le_bytes());
        rows.extend_from_slice(&[0; 8]);
        let (code, message) = decode_query_failure(&rows).unwrap();
        assert_eq!((code, message.as_ref()), (2067, ""));
        // Cut or odd bodies are errors, never panics.
        for len in 0..garbled.len() {
            let _ = decode_query_failure(&garbled[..len]);
        }
    }

    fn unhex(hex: &str) -> Vec<u8> {
        let hex: String = hex.split_whitespace().collect();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn failure() {
        // FAILURE 1555 "UNIQUE constraint failed: kv.key" as the server sends it.
        let mut body = 1555u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"UNIQUE constraint failed: kv.key\0\0\0\0\0\0\0\0");
        assert_eq!(
            Response::decode(0, &body).unwrap(),
            Response::Failure {
                code: 1555,
                message: "UNIQUE constraint failed: kv.key".into()
            }
        );
        // A message that is not UTF-8 is kept, lossily.
        let body = unhex("0100000000000000 ff41000000000000");
        assert_eq!(
            Response::decode(0, &body).unwrap(),
            Response::Failure {
                code: 1,
                message: "\u{fffd}A".into()
            }
        );
    }

    #[test]
    fn server_welcome_db_stmt_result_empty() {
        let body = unhex("be55318c8571c12d 3132372e302e302e 313a393030310000");
        assert_eq!(
            Response::decode(1, &body).unwrap(),
            Response::Server {
                id: 0x2dc1_7185_8c31_55be,
                address: "127.0.0.1:9001"
            }
        );
        // No leader known.
        assert_eq!(
            Response::decode(1, &[0; 16]).unwrap(),
            Response::Server { id: 0, address: "" }
        );
        assert_eq!(
            Response::decode(2, &15000u64.to_le_bytes()).unwrap(),
            Response::Welcome {
                heartbeat_timeout_ms: 15000
            }
        );
        assert_eq!(
            Response::decode(4, &[0; 8]).unwrap(),
            Response::Db { id: 0 }
        );
        assert_eq!(
            Response::decode(5, &unhex("00000000 01000000 0200000000000000")).unwrap(),
            Response::Stmt {
                db: 0,
                id: 1,
                params: 2
            }
        );
        // Schema 1 (newer servers) appends the tail offset: accepted, ignored.
        assert!(matches!(
            Response::decode(
                5,
                &unhex("00000000 01000000 0200000000000000 0800000000000000")
            ),
            Ok(Response::Stmt { .. })
        ));
        assert_eq!(
            Response::decode(6, &unhex("ffffffffffffffff 0200000000000000")).unwrap(),
            Response::Result {
                last_insert_id: -1,
                rows_affected: 2
            }
        );
        assert_eq!(Response::decode(8, &[0; 8]).unwrap(), Response::Empty);
        assert_eq!(
            Response::decode(9, &[]).unwrap(),
            Response::Unhandled(ResponseType::Files)
        );
    }

    #[test]
    fn servers() {
        let body = unhex(
            "0200000000000000
             0100000000000000 6100000000000000 0000000000000000
             0200000000000000 6200000000000000 0200000000000000",
        );
        assert_eq!(
            Response::decode(3, &body).unwrap(),
            Response::Servers(vec![
                NodeInfo {
                    id: 1,
                    address: "a".into(),
                    role: NodeRole::Voter
                },
                NodeInfo {
                    id: 2,
                    address: "b".into(),
                    role: NodeRole::Spare
                },
            ])
        );
        // A count that cannot fit is refused before anything is allocated for it.
        let mut lying = body.clone();
        lying[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            Response::decode(3, &lying),
            Err(DecodeError::BadCount { .. })
        ));
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert_eq!(
            Response::decode(42, &[]),
            Err(DecodeError::UnknownResponseType { code: 42 })
        );
        for kind in [0u8, 1, 2, 3, 4, 5, 6] {
            assert!(Response::decode(kind, &[]).is_err(), "type {kind}");
            assert!(Response::decode(kind, &[1, 2, 3]).is_err(), "type {kind}");
        }
    }
}
