//! One statement of a [`DqliteConnection`] as the kit's [`RawStatement`]: values are
//! bound (copied: the request is encoded when the statement runs) into slots in
//! parameter order, then the statement runs with them.

use sqlite_runtime::raw::{RawRowVisitor, RawStatement, bind_owned};
use sqlite_runtime::{Result, Value, ValueRef};

use super::connection::{DqliteConnection, Prepared};

/// A prepared statement and the values bound so far, for one call.
pub(crate) struct DqliteStatement<'c> {
    connection: &'c mut DqliteConnection,
    prepared: &'c Prepared,
    sql: &'c str,
    values: Vec<Value>,
}

impl<'c> DqliteStatement<'c> {
    /// `prepared` (the statement of `sql`) on `connection`, every parameter `NULL`.
    pub(crate) fn new(
        connection: &'c mut DqliteConnection,
        prepared: &'c Prepared,
        sql: &'c str,
    ) -> Self {
        DqliteStatement {
            connection,
            prepared,
            sql,
            values: vec![Value::Null; prepared.statement.param_count()],
        }
    }
}

impl RawStatement for DqliteStatement<'_> {
    fn parameter_count(&self) -> usize {
        self.prepared.statement.param_count()
    }

    /// The number SQLite gave `name`, as the client numbered the statement's parameters
    /// (checked against the server's count; a statement the client cannot number for
    /// sure has no names).
    fn parameter_index(&self, name: &str) -> Option<usize> {
        self.prepared.names.as_ref()?.index(name)
    }

    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
        bind_owned(&mut self.values, index, value)
    }

    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
        self.connection
            .run_prepared(self.prepared, self.sql, &self.values, Some(on_row))
    }

    fn execute(&mut self) -> Result<()> {
        self.connection
            .run_prepared(self.prepared, self.sql, &self.values, None)
    }
}
