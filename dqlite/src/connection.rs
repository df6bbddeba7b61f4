//! One connection to one node, with at most one open database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlite_runtime::raw::RawRowVisitor;
use sqlite_runtime::{ErrorKind, Params, Result, RowVisitor, RunResult, ValueRef};

use crate::error::refused;
use crate::guard::{SqlUse, check_database_name, check_param_count, check_sql, positional};
use crate::node::{Leader, NodeInfo, NodeRole};
use crate::options::ConnectOptions;
use crate::query::{QuerySummary, stream_raw_rows, stream_rows};
use crate::statement::Statement;
use crate::transport::Transport;
use crate::wire::{Request, Response};

/// Numbers connections, so that a statement is only used where it was prepared.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// A connection to one dqlite node.
///
/// Requests are strictly one at a time (the server must not get a request while it is
/// answering another). Every method blocks until the answer came or the request timeout
/// passed. After a connection failure (see [`is_broken`](Self::is_broken)) every method
/// fails at once; make a new connection, normally through
/// [`Cluster`](crate::Cluster), which finds the leader.
///
/// Reads and writes are served by the leader only: a follower answers
/// "not leader" (see [`is_not_leader`](crate::is_not_leader)). On dqlite 1.11.1, OPEN and
/// PREPARE still succeed on a follower.
///
/// Things dqlite 1.11.1 mishandles are refused before they are sent: `RETURNING`
/// (it aborts the node; the keyword is looked for outside literals and comments, so an
/// identifier named `returning` must be quoted), several statements in [`prepare`](Self::prepare) or
/// [`query_sql`](Self::query_sql) (the server would silently ignore all but the first),
/// parameters with several statements in [`exec_sql`](Self::exec_sql) (they would bind
/// the first statement only), text values containing NUL bytes (the server cuts them),
/// more than 255 parameters, `":memory:"`, `""` and `file:` database names. Named
/// parameters are refused too: bind by position.
///
/// Not detected: a `REAL` or `BLOB` value stored in a column declared `DATE`,
/// `DATETIME` or `TIMESTAMP`, or a non-integer in a `BOOLEAN` column, aborts a 1.11.1
/// node when the column is read.
#[derive(Debug)]
pub struct Connection {
    transport: Transport,
    serial: u64,
    database: Option<(u32, String)>,
}

impl Connection {
    /// Connects to the node at `address` ("host:port", exactly as the node advertises
    /// itself when it matters whether it is the leader) and performs the handshake.
    pub fn connect(address: &str, options: &ConnectOptions) -> Result<Self> {
        Ok(Connection {
            transport: Transport::connect(address, options)?,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            database: None,
        })
    }

    /// Changes the request timeout of this connection from now on (leader discovery
    /// asks with a short one, then works with the configured one).
    pub(crate) fn set_request_timeout(&mut self, timeout: std::time::Duration) -> Result<()> {
        let node = self.transport.node().to_owned();
        self.transport.set_timeout(timeout).map_err(|source| {
            crate::error::fault_error(crate::error::Fault::NotSent { node, source })
        })
    }

    /// Makes waits for answers check that this node still leads.
    pub(crate) fn watch_leadership(&mut self, watch: crate::watch::LeaderWatch) {
        self.transport.watch(Box::new(watch));
    }

    /// The address this connection dialled.
    pub fn address(&self) -> &str {
        self.transport.node()
    }

    /// Whether an earlier failure made the connection unusable.
    pub fn is_broken(&self) -> bool {
        self.transport.is_broken()
    }

    /// The leader as this node knows it, or `None` when it knows of none (no quorum, an
    /// election under way, or a node that is not a voter).
    pub fn leader(&mut self) -> Result<Option<Leader>> {
        self.transport
            .call(&Request::Leader, "SERVER", |response| match response {
                Response::Server { id, address } => Some(if address.is_empty() {
                    None
                } else {
                    Some(Leader {
                        id,
                        address: address.to_owned(),
                    })
                }),
                _ => None,
            })
    }

    /// Registers the client with the node (CLIENT; go-dqlite does it once it found the
    /// leader). Returns the heartbeat timeout the node announces (1.11 does not enforce
    /// it).
    pub fn register_client(&mut self, client_id: u64) -> Result<Duration> {
        self.transport.call(
            &Request::Client { id: client_id },
            "WELCOME",
            |response| match response {
                Response::Welcome {
                    heartbeat_timeout_ms,
                } => Some(Duration::from_millis(heartbeat_timeout_ms)),
                _ => None,
            },
        )
    }

    /// The members of the cluster with their roles, as this node knows them.
    pub fn cluster_nodes(&mut self) -> Result<Vec<NodeInfo>> {
        self.transport
            .call(&Request::Cluster, "SERVERS", |response| match response {
                Response::Servers(nodes) => Some(nodes),
                _ => None,
            })
    }

    /// Asks the leader to hand leadership to the voter `node_id`. Every connection to
    /// this node loses its server-side state (open transaction, statements).
    pub fn transfer_leadership(&mut self, node_id: u64) -> Result<()> {
        self.transport
            .call(&Request::Transfer { node: node_id }, "EMPTY", empty)
    }

    /// Asks the leader to add node `node_id` serving at `address` to the cluster, as a
    /// spare: it takes part once [assigned](Self::assign_role) a role. The node must be
    /// running (started without bootstrapping) for a later promotion to complete.
    pub fn add_node(&mut self, node_id: u64, address: &str) -> Result<()> {
        self.transport.call(
            &Request::Add {
                node: node_id,
                address,
            },
            "EMPTY",
            empty,
        )
    }

    /// Asks the leader to give member `node_id` a role. Promoting to voter returns once
    /// the node has caught up with the log and the change is committed.
    pub fn assign_role(&mut self, node_id: u64, role: NodeRole) -> Result<()> {
        self.transport.call(
            &Request::Assign {
                node: node_id,
                role: role.code(),
            },
            "EMPTY",
            empty,
        )
    }

    /// Asks the leader to remove member `node_id` from the cluster.
    pub fn remove_node(&mut self, node_id: u64) -> Result<()> {
        self.transport
            .call(&Request::Remove { node: node_id }, "EMPTY", empty)
    }

    /// Opens the database `name`, creating it if needed. A connection holds one
    /// database (a second OPEN is refused, as the server would).
    pub fn open(&mut self, name: &str) -> Result<()> {
        if let Some((_, open)) = &self.database {
            return Err(refused(
                ErrorKind::Misuse,
                format!("database `{open}` is already open on this connection (dqlite allows one)"),
            ));
        }
        check_database_name(name)?;
        let id = self
            .transport
            .call(&Request::Open { name }, "DB", |response| match response {
                Response::Db { id } => Some(id),
                _ => None,
            })?;
        self.database = Some((id, name.to_owned()));
        Ok(())
    }

    /// The name of the open database.
    pub fn database(&self) -> Option<&str> {
        self.database.as_ref().map(|(_, name)| name.as_str())
    }

    /// Compiles one statement.
    pub fn prepare(&mut self, sql: &str) -> Result<Statement> {
        let db = self.db()?;
        check_sql(sql, SqlUse::OneStatement)?;
        let (id, params) = self.transport.call(
            &Request::Prepare { db, sql },
            "STMT",
            |response| match response {
                Response::Stmt { id, params, .. } => Some((id, params)),
                _ => None,
            },
        )?;
        Ok(Statement {
            connection: self.serial,
            id,
            param_count: usize::try_from(params).unwrap_or(usize::MAX),
        })
    }

    /// Runs a prepared statement that returns no rows.
    pub fn exec(&mut self, statement: &Statement, params: Params<'_>) -> Result<RunResult> {
        let (db, stmt, params) = self.bind(statement, params)?;
        self.transport
            .call(&Request::Exec { db, stmt, params }, "RESULT", run_result)
    }

    /// Runs a prepared statement and hands each row to `visitor`, which may stop early
    /// with [`ControlFlow::Break`](std::ops::ControlFlow::Break).
    pub fn query(
        &mut self,
        statement: &Statement,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<QuerySummary> {
        let (db, stmt, params) = self.bind(statement, params)?;
        self.transport.send(&Request::Query { db, stmt, params })?;
        stream_rows(&mut self.transport, db, visitor)
    }

    /// [`query`](Self::query) handing rows over as [`RawRow`](sqlite_runtime::raw::RawRow)s
    /// (names and text unchecked for UTF-8); returns how many rows were handed over.
    pub(crate) fn query_raw(
        &mut self,
        statement: &Statement,
        params: &[ValueRef<'_>],
        on_row: &mut RawRowVisitor<'_>,
    ) -> Result<u64> {
        let (db, stmt, params) = self.bind(statement, Params::Positional(params))?;
        self.transport.send(&Request::Query { db, stmt, params })?;
        stream_raw_rows(&mut self.transport, db, on_row)
    }

    /// [`query_sql`](Self::query_sql) handing rows over as raw rows.
    pub(crate) fn query_sql_raw(
        &mut self,
        sql: &str,
        on_row: &mut RawRowVisitor<'_>,
    ) -> Result<u64> {
        let db = self.db()?;
        check_sql(sql, SqlUse::OneStatement)?;
        self.transport.send(&Request::QuerySql {
            db,
            sql,
            params: &[],
        })?;
        stream_raw_rows(&mut self.transport, db, on_row)
    }

    /// Destroys a prepared statement.
    pub fn finalize(&mut self, statement: Statement) -> Result<()> {
        self.finalize_ref(&statement)
    }

    /// Destroys a prepared statement, which must not be used again.
    pub(crate) fn finalize_ref(&mut self, statement: &Statement) -> Result<()> {
        self.check_owner(statement)?;
        let db = self.db()?;
        let stmt = statement.id;
        self.transport
            .call(&Request::Finalize { db, stmt }, "EMPTY", empty)
    }

    /// Runs SQL text: one or more `;`-separated statements, which must not return rows.
    /// Parameters are allowed with a single statement only. The result is that of the
    /// last statement.
    pub fn exec_sql(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult> {
        let db = self.db()?;
        let params = positional(params)?;
        check_sql(
            sql,
            SqlUse::Statements {
                with_params: !params.is_empty(),
            },
        )?;
        self.transport
            .call(&Request::ExecSql { db, sql, params }, "RESULT", run_result)
    }

    /// Runs one statement returning rows and hands each row to `visitor`. Missing
    /// parameters are NULL (the server does not check the count).
    pub fn query_sql(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<QuerySummary> {
        let db = self.db()?;
        let params = positional(params)?;
        check_sql(sql, SqlUse::OneStatement)?;
        self.transport
            .send(&Request::QuerySql { db, sql, params })?;
        stream_rows(&mut self.transport, db, visitor)
    }

    fn db(&self) -> Result<u32> {
        self.database.as_ref().map(|(id, _)| *id).ok_or_else(|| {
            refused(
                ErrorKind::Misuse,
                "no database is open on this connection (call open first)",
            )
        })
    }

    /// The database id, statement id and positional parameters for running `statement`.
    fn bind<'p>(
        &self,
        statement: &Statement,
        params: Params<'p>,
    ) -> Result<(u32, u32, &'p [ValueRef<'p>])> {
        self.check_owner(statement)?;
        let db = self.db()?;
        let params = positional(params)?;
        check_param_count(params.len(), statement.param_count)?;
        Ok((db, statement.id, params))
    }

    fn check_owner(&self, statement: &Statement) -> Result<()> {
        if statement.connection == self.serial {
            Ok(())
        } else {
            Err(refused(
                ErrorKind::Misuse,
                "the statement was prepared on another connection; prepare it on this one",
            ))
        }
    }
}

fn empty(response: Response<'_>) -> Option<()> {
    matches!(response, Response::Empty).then_some(())
}

fn run_result(response: Response<'_>) -> Option<RunResult> {
    match response {
        Response::Result {
            last_insert_id,
            rows_affected,
        } => Some(RunResult {
            changes: rows_affected,
            last_insert_rowid: last_insert_id,
        }),
        _ => None,
    }
}
