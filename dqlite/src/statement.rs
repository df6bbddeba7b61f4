//! A statement prepared on a connection.

/// A statement prepared with [`Connection::prepare`](crate::Connection::prepare).
///
/// It belongs to the connection that prepared it: the server numbers statements per
/// connection and reuses the numbers, so using it on another connection is refused
/// rather than running whatever has its number there. It is not `Clone`:
/// [`finalize`](crate::Connection::finalize) consumes it. Statements die with their
/// server-side connection, e.g. when the node loses leadership; prepare them again on
/// the new connection.
#[derive(Debug, PartialEq, Eq)]
pub struct Statement {
    pub(crate) connection: u64,
    pub(crate) id: u32,
    pub(crate) param_count: usize,
}

impl Statement {
    /// The server's id for the statement.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// How many parameters it takes (SQLite's `sqlite3_bind_parameter_count`).
    pub fn param_count(&self) -> usize {
        self.param_count
    }
}
