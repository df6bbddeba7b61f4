//! Requests (client to server) and their exact encoding.

use sqlite_runtime::ValueRef;

use super::codes::RequestType;
use super::encode::{
    EncodeError, TextRole, finish_message, put_text, put_u32, put_u64, start_message,
};
use super::params::put_params;

/// The VFS name go-dqlite sends in OPEN (the server ignores it).
const OPEN_VFS: &str = "volatile";

/// The CLUSTER format that includes each node's role.
const CLUSTER_FORMAT_WITH_ROLES: u64 = 1;

/// A request this client sends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Request<'a> {
    /// LEADER: which node is the leader (answered with SERVER).
    Leader,
    /// CLIENT: registers the client (answered with WELCOME).
    Client {
        /// The client's id (go-dqlite sends 0).
        id: u64,
    },
    /// OPEN: opens (creating if needed) a database (answered with DB).
    Open {
        /// The database's name in the cluster.
        name: &'a str,
    },
    /// PREPARE: compiles one statement (answered with STMT).
    Prepare {
        /// The database id from DB.
        db: u32,
        /// The statement.
        sql: &'a str,
    },
    /// EXEC: runs a prepared statement (answered with RESULT).
    Exec {
        /// The database id.
        db: u32,
        /// The statement id from STMT.
        stmt: u32,
        /// Its parameters.
        params: &'a [ValueRef<'a>],
    },
    /// QUERY: runs a prepared statement returning rows (answered with ROWS).
    Query {
        /// The database id.
        db: u32,
        /// The statement id.
        stmt: u32,
        /// Its parameters.
        params: &'a [ValueRef<'a>],
    },
    /// FINALIZE: destroys a prepared statement (answered with EMPTY).
    Finalize {
        /// The database id.
        db: u32,
        /// The statement id.
        stmt: u32,
    },
    /// EXEC_SQL: compiles and runs SQL text (answered with RESULT).
    ExecSql {
        /// The database id.
        db: u32,
        /// One or more statements; parameters bind the first one only.
        sql: &'a str,
        /// The parameters.
        params: &'a [ValueRef<'a>],
    },
    /// QUERY_SQL: compiles and runs one statement returning rows (answered with ROWS).
    QuerySql {
        /// The database id.
        db: u32,
        /// The statement.
        sql: &'a str,
        /// The parameters.
        params: &'a [ValueRef<'a>],
    },
    /// INTERRUPT: abandons the result set being streamed (answered with EMPTY once the
    /// remaining ROWS messages are sent).
    Interrupt {
        /// The database id.
        db: u32,
    },
    /// ADD: adds a node to the configuration as a spare (answered with EMPTY once the
    /// change is committed).
    Add {
        /// The new node's raft id.
        node: u64,
        /// The address it serves on.
        address: &'a str,
    },
    /// ASSIGN: gives a member a role (answered with EMPTY once committed; promoting to
    /// voter waits for the node to catch up).
    Assign {
        /// The member's raft id.
        node: u64,
        /// The role's wire code (see [`NodeRole::code`](crate::NodeRole::code)).
        role: u64,
    },
    /// REMOVE: removes a member from the configuration (answered with EMPTY).
    Remove {
        /// The member's raft id.
        node: u64,
    },
    /// CLUSTER: lists the nodes with their roles (answered with SERVERS).
    Cluster,
    /// TRANSFER: hands leadership to another voter (answered with EMPTY).
    Transfer {
        /// The id of the node to become leader.
        node: u64,
    },
}

impl Request<'_> {
    /// The request's message type.
    pub fn kind(&self) -> RequestType {
        match self {
            Request::Leader => RequestType::Leader,
            Request::Client { .. } => RequestType::Client,
            Request::Open { .. } => RequestType::Open,
            Request::Prepare { .. } => RequestType::Prepare,
            Request::Exec { .. } => RequestType::Exec,
            Request::Query { .. } => RequestType::Query,
            Request::Finalize { .. } => RequestType::Finalize,
            Request::ExecSql { .. } => RequestType::ExecSql,
            Request::QuerySql { .. } => RequestType::QuerySql,
            Request::Interrupt { .. } => RequestType::Interrupt,
            Request::Add { .. } => RequestType::Add,
            Request::Assign { .. } => RequestType::Assign,
            Request::Remove { .. } => RequestType::Remove,
            Request::Cluster => RequestType::Cluster,
            Request::Transfer { .. } => RequestType::Transfer,
        }
    }

    /// Writes the whole message (header and body) into `out`, replacing its content.
    /// On error `out` holds no complete message and nothing must be sent.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        start_message(out);
        let result = self
            .encode_body(out)
            .and_then(|()| finish_message(out, self.kind(), 0));
        if result.is_err() {
            out.clear();
        }
        result
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match *self {
            Request::Leader => put_u64(out, 0),
            Request::Client { id } => put_u64(out, id),
            Request::Open { name } => {
                put_text(out, name, TextRole::Name)?;
                put_u64(out, 0);
                put_text(out, OPEN_VFS, TextRole::Name)?;
            }
            Request::Prepare { db, sql } => {
                put_u64(out, u64::from(db));
                put_text(out, sql, TextRole::Sql)?;
            }
            Request::Exec { db, stmt, params } | Request::Query { db, stmt, params } => {
                put_u32(out, db);
                put_u32(out, stmt);
                put_params(out, params)?;
            }
            Request::Finalize { db, stmt } => {
                put_u32(out, db);
                put_u32(out, stmt);
            }
            Request::ExecSql { db, sql, params } | Request::QuerySql { db, sql, params } => {
                put_u64(out, u64::from(db));
                put_text(out, sql, TextRole::Sql)?;
                put_params(out, params)?;
            }
            Request::Interrupt { db } => put_u64(out, u64::from(db)),
            Request::Add { node, address } => {
                put_u64(out, node);
                put_text(out, address, TextRole::Name)?;
            }
            Request::Assign { node, role } => {
                put_u64(out, node);
                put_u64(out, role);
            }
            Request::Remove { node } | Request::Transfer { node } => put_u64(out, node),
            Request::Cluster => put_u64(out, CLUSTER_FORMAT_WITH_ROLES),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(request: Request<'_>) -> String {
        let mut out = Vec::new();
        request.encode(&mut out).unwrap();
        out.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn leader_and_client() {
        assert_eq!(hex(Request::Leader), "01000000000000000000000000000000");
        assert_eq!(
            hex(Request::Client { id: 0 }),
            "01000000010000000000000000000000"
        );
        assert_eq!(hex(Request::Cluster), "01000000100000000100000000000000");
        assert_eq!(
            hex(Request::Transfer { node: 0x0102 }),
            "01000000110000000201000000000000"
        );
    }

    #[test]
    fn membership() {
        // ADD: id, then the address padded to a word.
        assert_eq!(
            hex(Request::Add {
                node: 7,
                address: "h:1"
            }),
            "020000000c000000\
             0700000000000000\
             683a310000000000"
        );
        assert_eq!(
            hex(Request::Assign { node: 7, role: 1 }),
            "020000000d000000\
             0700000000000000\
             0100000000000000"
        );
        assert_eq!(
            hex(Request::Remove { node: 7 }),
            "010000000e0000000700000000000000"
        );
    }

    /// The body the Python probe sends for `open('probe.db')`.
    #[test]
    fn open() {
        assert_eq!(
            hex(Request::Open { name: "probe.db" }),
            "0500000003000000\
             70726f62652e6462\
             0000000000000000\
             0000000000000000\
             766f6c6174696c65\
             0000000000000000"
        );
    }

    #[test]
    fn prepare_exec_query_finalize() {
        assert_eq!(
            hex(Request::Prepare {
                db: 0,
                sql: "SELECT 1"
            }),
            "0300000004000000\
             0000000000000000\
             53454c4543542031\
             0000000000000000"
        );
        assert_eq!(
            hex(Request::Exec {
                db: 0,
                stmt: 3,
                params: &[]
            }),
            "010000000500000000000000 03000000"
                .replace(' ', "")
                .as_str()
        );
        assert_eq!(
            hex(Request::Query {
                db: 1,
                stmt: 2,
                params: &[ValueRef::Integer(-1)]
            }),
            "0300000006000000\
             0100000002000000\
             0101000000000000\
             ffffffffffffffff"
        );
        assert_eq!(
            hex(Request::Finalize { db: 0, stmt: 9 }),
            "01000000070000000000000009000000"
        );
    }

    /// The body the probe sends for `exec_sql('SELECT ?', [-1])`, with its header.
    #[test]
    fn exec_sql_and_query_sql() {
        let body = "0000000000000000\
                    53454c454354203f\
                    0000000000000000\
                    0101000000000000\
                    ffffffffffffffff";
        let params = [ValueRef::Integer(-1)];
        assert_eq!(
            hex(Request::ExecSql {
                db: 0,
                sql: "SELECT ?",
                params: &params
            }),
            format!("0500000008000000{body}")
        );
        assert_eq!(
            hex(Request::QuerySql {
                db: 0,
                sql: "SELECT ?",
                params: &params
            }),
            format!("0500000009000000{body}")
        );
        assert_eq!(
            hex(Request::Interrupt { db: 0 }),
            "010000000a0000000000000000000000"
        );
    }

    #[test]
    fn unencodable_requests_leave_nothing_to_send() {
        let mut out = vec![1, 2, 3];
        let error = Request::QuerySql {
            db: 0,
            sql: "SELECT ?",
            params: &[ValueRef::Text("\0")],
        }
        .encode(&mut out)
        .unwrap_err();
        assert_eq!(error, EncodeError::NulInText { index: 1 });
        assert!(out.is_empty());
        let error = Request::Open { name: "a\0" }.encode(&mut out).unwrap_err();
        assert_eq!(error, EncodeError::NulInName);
    }
}
