//! The numbers of the protocol: version, message types, value types and row markers.
//!
//! Values are those of dqlite 1.11 (`src/protocol.h`), which newer servers keep.

/// The protocol version a client sends as its handshake (one 8-byte word).
pub const PROTOCOL_VERSION: u64 = 1;

/// The word ending a ROWS message whose result set is complete.
pub const ROWS_DONE: u64 = 0xffff_ffff_ffff_ffff;

/// The word ending a ROWS message that more ROWS messages follow (the server sends them
/// without being asked).
pub const ROWS_PART: u64 = 0xeeee_eeee_eeee_eeee;

/// The type of a request (byte 4 of its header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RequestType {
    /// Which node is the leader.
    Leader = 0,
    /// Registers the client (answered with WELCOME).
    Client = 1,
    /// Opens a database on the connection.
    Open = 3,
    /// Compiles a statement.
    Prepare = 4,
    /// Runs a prepared statement that returns no rows.
    Exec = 5,
    /// Runs a prepared statement that returns rows.
    Query = 6,
    /// Destroys a prepared statement.
    Finalize = 7,
    /// Compiles and runs SQL text (one or more statements) returning no rows.
    ExecSql = 8,
    /// Compiles and runs one SQL statement returning rows.
    QuerySql = 9,
    /// Abandons the result set being streamed.
    Interrupt = 10,
    /// Adds a node to the cluster (as a spare).
    Add = 12,
    /// Gives a node a role (voter, stand-by, spare).
    Assign = 13,
    /// Removes a node from the cluster.
    Remove = 14,
    /// Lists the nodes of the cluster.
    Cluster = 16,
    /// Hands leadership over to another voter.
    Transfer = 17,
}

impl RequestType {
    /// The type's code on the wire.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The type of a response (byte 4 of its header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ResponseType {
    /// The request failed: an error code and a message.
    Failure = 0,
    /// The leader's id and address.
    Server = 1,
    /// The client was registered.
    Welcome = 2,
    /// The nodes of the cluster.
    Servers = 3,
    /// A database was opened.
    Db = 4,
    /// A statement was prepared.
    Stmt = 5,
    /// What a write did: last insert id and rows affected.
    Result = 6,
    /// A batch of result rows.
    Rows = 7,
    /// Success without content.
    Empty = 8,
    /// Database files (answer to DUMP, which this client does not send).
    Files = 9,
    /// Node metadata (answer to DESCRIBE, which this client does not send).
    Metadata = 10,
}

impl ResponseType {
    /// The response type with this code, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => ResponseType::Failure,
            1 => ResponseType::Server,
            2 => ResponseType::Welcome,
            3 => ResponseType::Servers,
            4 => ResponseType::Db,
            5 => ResponseType::Stmt,
            6 => ResponseType::Result,
            7 => ResponseType::Rows,
            8 => ResponseType::Empty,
            9 => ResponseType::Files,
            10 => ResponseType::Metadata,
            _ => return None,
        })
    }

    /// The name dqlite's sources use for it.
    pub fn name(self) -> &'static str {
        match self {
            ResponseType::Failure => "FAILURE",
            ResponseType::Server => "SERVER",
            ResponseType::Welcome => "WELCOME",
            ResponseType::Servers => "SERVERS",
            ResponseType::Db => "DB",
            ResponseType::Stmt => "STMT",
            ResponseType::Result => "RESULT",
            ResponseType::Rows => "ROWS",
            ResponseType::Empty => "EMPTY",
            ResponseType::Files => "FILES",
            ResponseType::Metadata => "METADATA",
        }
    }
}

/// Value type codes, in parameter tuples (one byte each) and rows (4 bits each).
pub mod value_type {
    /// A 64-bit signed integer.
    pub const INTEGER: u8 = 1;
    /// A 64-bit IEEE float.
    pub const FLOAT: u8 = 2;
    /// NUL-terminated UTF-8 text.
    pub const TEXT: u8 = 3;
    /// Length-prefixed bytes.
    pub const BLOB: u8 = 4;
    /// NULL (one zero word).
    pub const NULL: u8 = 5;
    /// Seconds since the epoch, sent in rows for an integer in a `DATE`, `DATETIME` or
    /// `TIMESTAMP` column.
    pub const UNIXTIME: u8 = 9;
    /// Text, sent in rows for text or NULL (as `""`) in a `DATE`, `DATETIME` or
    /// `TIMESTAMP` column.
    pub const ISO8601: u8 = 10;
    /// An integer word, sent in rows for a `BOOLEAN` column.
    pub const BOOLEAN: u8 = 11;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes_round_trip() {
        for code in 0..=10u8 {
            let kind = ResponseType::from_code(code).unwrap();
            assert_eq!(kind as u8, code);
            assert!(!kind.name().is_empty());
        }
        assert_eq!(ResponseType::from_code(11), None);
        assert_eq!(ResponseType::from_code(255), None);
    }

    #[test]
    fn request_codes_match_dqlite() {
        assert_eq!(RequestType::Leader.code(), 0);
        assert_eq!(RequestType::Open.code(), 3);
        assert_eq!(RequestType::QuerySql.code(), 9);
        assert_eq!(RequestType::Interrupt.code(), 10);
        assert_eq!(RequestType::Cluster.code(), 16);
        assert_eq!(RequestType::Transfer.code(), 17);
    }

    #[test]
    fn row_markers_cannot_start_a_row() {
        // A row header byte holds two type codes of at most 11 (0xb): at most 0xbb.
        assert!(ROWS_DONE.to_le_bytes()[0] > 0xbb);
        assert!(ROWS_PART.to_le_bytes()[0] > 0xbb);
    }
}
