//! The backend kit: what a backend writer needs, out of application users' way.
//!
//! A backend implements [`RawConnection`] (prepare or take from a cache, run a batch,
//! read connection state, close), [`RawStatement`] (parameters, binding, stepping) and
//! [`RawRow`] (reading one row: values as [`RawValue`], names as bytes), and wraps its
//! connection in a [`KitDatabase`], which is the [`SqliteDatabase`](crate::SqliteDatabase)
//! handed to drivers. The kit does the rest the same way for every backend: the closed
//! state, the backend's name and the file path on errors, the setup SQL, the checks of
//! [`Params`](crate::Params) (with the same messages everywhere), the row loop (no
//! allocation per row, text checked for UTF-8 once, column names checked only when
//! read), and closing on drop. [`StatementCache`] is an LRU for bindings without a
//! statement cache of their own.
//!
//! A toy binding whose statements return one row, their parameters echoed back:
//!
//! ```
//! use sqlite_runtime::raw::{
//!     KitDatabase, RawConnection, RawRow, RawRowVisitor, RawStatement, RawValue, StatementWork,
//! };
//! use sqlite_runtime::{
//!     ErrorKind, OpenOptions, Params, Result, SqliteDatabase, StatementStats, Target, Value,
//!     ValueRef,
//! };
//!
//! struct Echo;
//!
//! struct EchoStatement(Vec<Value>);
//!
//! impl RawStatement for EchoStatement {
//!     fn parameter_count(&self) -> usize {
//!         self.0.len()
//!     }
//!     fn parameter_index(&self, _name: &str) -> Option<usize> {
//!         None
//!     }
//!     fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
//!         self.0[index - 1] = value.to_owned_value();
//!         Ok(())
//!     }
//!     fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
//!         on_row(&*self).map(drop)
//!     }
//! }
//!
//! impl RawRow for EchoStatement {
//!     fn column_count(&self) -> usize {
//!         self.0.len()
//!     }
//!     fn column_name(&self, _index: usize) -> Option<&[u8]> {
//!         Some(b"echo".as_slice())
//!     }
//!     fn column(&self, index: usize) -> Result<RawValue<'_>> {
//!         Ok(self.0[index].as_ref().into())
//!     }
//! }
//!
//! impl RawConnection for Echo {
//!     fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()> {
//!         work(&mut EchoStatement(vec![Value::Null; sql.matches('?').count()]))
//!     }
//!     fn exec_batch(&mut self, _sql: &str) -> Result<()> {
//!         Ok(()) // the setup SQL, among others
//!     }
//!     fn changes(&self) -> u64 {
//!         0
//!     }
//!     fn last_insert_rowid(&self) -> i64 {
//!         0
//!     }
//!     fn in_transaction(&mut self) -> Result<bool> {
//!         Ok(false)
//!     }
//!     fn live_statements(&mut self) -> Result<Vec<StatementStats>> {
//!         Ok(Vec::new())
//!     }
//!     fn close(self) -> Result<()> {
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<()> {
//! let mut db = KitDatabase::open("echo", &Target::Memory, &OpenOptions::new(), || Ok(Echo))?;
//! let row = db.get("SELECT ?, ?", Params::from(&[ValueRef::Integer(1), ValueRef::Text("two")]))?;
//! assert_eq!(row.map(|r| r.into_values()), Some(vec![Value::Integer(1), Value::from("two")]));
//! let error = db.run("SELECT ?", Params::NONE).unwrap_err();
//! assert_eq!(error.to_string(), "echo: misuse: 0 parameters given, the statement takes 1");
//! db.close()?;
//! assert_eq!(db.exec("SELECT 1").unwrap_err().kind(), ErrorKind::Closed);
//! # Ok(())
//! # }
//! ```

mod binding;
mod cache;
mod connection;
mod context;
mod database;
mod row;
mod row_buffer;
mod statement;
mod value;

#[cfg(test)]
mod tests;

pub use binding::bind_owned;
pub use cache::StatementCache;
pub use connection::{GuardedWork, RawConnection, StatementWork};
pub use database::KitDatabase;
pub use row::{RawRow, column_name_not_utf8};
pub use statement::{RawRowVisitor, RawStatement};
pub use value::RawValue;
