//! A binding's prepared statement, as the kit drives it.

use std::ops::ControlFlow;

use crate::{Result, ValueRef};

use super::RawRow;

/// What the kit calls for each row of [`RawStatement::rows`]: return
/// [`ControlFlow::Break`] to stop stepping.
pub type RawRowVisitor<'v> = dyn FnMut(&dyn RawRow) -> Result<ControlFlow<()>> + 'v;

/// One prepared statement, handed to the kit by
/// [`RawConnection::with_statement`](super::RawConnection::with_statement) reset and
/// with every parameter unbound (`NULL`).
///
/// The kit checks parameters before binding them (the positional count, and that a
/// name exists), so [`bind`](RawStatement::bind) only sees valid indexes.
pub trait RawStatement {
    /// The number of parameters (SQLite's largest parameter index).
    fn parameter_count(&self) -> usize;

    /// The index (`1`-based) of the parameter named `name`, written with its prefix as in
    /// the SQL (`":key"`, `"@key"`, `"$key"`); `None` when there is none.
    fn parameter_index(&self, name: &str) -> Option<usize>;

    /// Binds `value` to parameter `index` (`1`-based). The value is borrowed for the call
    /// only: a binding that needs it later copies it.
    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()>;

    /// Steps through the rows, calling `on_row` for each, until the end, an error, or
    /// `Break`. An error from `on_row` is returned as it is.
    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()>;

    /// Runs the statement to completion, ignoring any row. The default steps through
    /// [`rows`](RawStatement::rows); a binding with a cheaper way (a network protocol's
    /// "exec" request) overrides it.
    fn execute(&mut self) -> Result<()> {
        self.rows(&mut |_| Ok(ControlFlow::Continue(())))
    }
}
