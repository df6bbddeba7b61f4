//! [`KitDatabase`]: everything a [`SqliteDatabase`] does that does not depend on the
//! binding.

use std::ops::ControlFlow;

use crate::{
    Error, Guard, GuardedStatement, OpenOptions, Params, Result, RowRef, RowVisitor, RunResult,
    SqliteDatabase, StatementCacheStats, Target,
};

use super::binding::bind_params;
use super::context::Context;
use super::row::RawNames;
use super::row_buffer::RowBuffer;
use super::{RawConnection, RawStatement};

/// A [`SqliteDatabase`] over any binding's [`RawConnection`].
///
/// It owns what every backend would otherwise repeat: the closed state
/// ([`ErrorKind::Closed`](crate::ErrorKind::Closed) after [`close`](SqliteDatabase::close)),
/// the backend's name and the file path on errors, the setup SQL at open
/// ([`RawConnection::setup_sql`]), parameter
/// checks, the row loop (narrow rows on the stack, no allocation per row, text checked
/// for UTF-8 once, column names read and checked only when asked for), and closing on
/// drop (a failure is logged as a warning).
///
/// An error returned by a row visitor comes back exactly as the visitor made it.
pub struct KitDatabase<C: RawConnection> {
    /// `None` once closed.
    connection: Option<C>,
    context: Context,
    capacity: usize,
    buffer: RowBuffer,
}

impl<C: RawConnection> KitDatabase<C> {
    /// Connects with `connect`, then runs the connection's
    /// [`setup_sql`](RawConnection::setup_sql) ([`OpenOptions::setup_sql`] unless the
    /// binding says otherwise; nothing when it is empty). Errors, `connect`'s included,
    /// carry `backend` and, for file errors, the target's path.
    ///
    /// `backend` is the runtime's backend name ([`SqliteRuntime::backend`](crate::SqliteRuntime::backend)).
    pub fn open(
        backend: &'static str,
        target: &Target,
        options: &OpenOptions,
        connect: impl FnOnce() -> Result<C>,
    ) -> Result<Self> {
        let context = Context::new(backend, target.path());
        let connection = connect().map_err(|e| context.error(e))?;
        let setup = connection.setup_sql(options, target);
        let mut database = KitDatabase {
            connection: Some(connection),
            context,
            capacity: options.statement_cache_capacity,
            buffer: RowBuffer::default(),
        };
        if !setup.is_empty() {
            database.exec(&setup)?;
        }
        Ok(database)
    }

    /// The open connection, or the closed error.
    fn connection(&mut self) -> Result<&mut C> {
        match &mut self.connection {
            Some(connection) => Ok(connection),
            None => Err(self.context.closed()),
        }
    }

    /// Runs `f` on the open connection and adds the context to its error.
    fn with_connection<T>(&mut self, f: impl FnOnce(&mut C) -> Result<T>) -> Result<T> {
        let result = f(self.connection()?);
        result.map_err(|e| self.context.error(e))
    }

    /// Runs one guarded statement through the row loop; `None` when `reads_only` and
    /// the statement would write (then it does not run).
    fn guarded(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
        reads_only: bool,
    ) -> Result<Option<RunResult>> {
        let KitDatabase {
            connection,
            context,
            buffer,
            ..
        } = self;
        let connection = connection.as_mut().ok_or_else(|| context.closed())?;
        let context = &*context;
        let mut ran: Option<bool> = None;
        let mut rows = RowLoop::new(context, buffer, visitor);
        let outcome = connection.with_guarded_statement(guard, sql, &mut |statement, found| {
            if reads_only && !found.read_only {
                return Ok(());
            }
            ran = Some(found.read_only);
            rows.run(statement, params)
        });
        rows.finish(outcome)?;
        Ok(ran.map(|read_only| RunResult {
            changes: if read_only { 0 } else { connection.changes() },
            last_insert_rowid: connection.last_insert_rowid(),
        }))
    }
}

impl<C: RawConnection> SqliteDatabase for KitDatabase<C> {
    fn backend(&self) -> &'static str {
        self.context.backend()
    }

    fn exec(&mut self, sql: &str) -> Result<()> {
        self.with_connection(|connection| connection.exec_batch(sql))
    }

    fn run(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult> {
        self.with_connection(|connection| {
            connection.with_statement(sql, &mut |statement| {
                bind_params(statement, params)?;
                statement.execute()
            })?;
            Ok(RunResult {
                changes: connection.changes(),
                last_insert_rowid: connection.last_insert_rowid(),
            })
        })
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<()> {
        let KitDatabase {
            connection,
            context,
            buffer,
            ..
        } = self;
        let connection = connection.as_mut().ok_or_else(|| context.closed())?;
        let context = &*context;
        let mut rows = RowLoop::new(context, buffer, visitor);
        let outcome = connection.with_statement(sql, &mut |statement| rows.run(statement, params));
        rows.finish(outcome)
    }

    fn guarded_prepare(&mut self, guard: &Guard, sql: &str) -> Result<GuardedStatement> {
        self.with_connection(|connection| {
            let mut found = GuardedStatement::default();
            connection.with_guarded_statement(guard, sql, &mut |_, statement| {
                found = statement;
                Ok(())
            })?;
            Ok(found)
        })
    }

    fn guarded_for_each(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        let ran = self.guarded(guard, sql, params, visitor, false)?;
        Ok(ran.unwrap_or_default())
    }

    fn guarded_read(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<bool> {
        Ok(self.guarded(guard, sql, params, visitor, true)?.is_some())
    }

    fn in_transaction(&mut self) -> Result<bool> {
        self.with_connection(|connection| connection.in_transaction())
    }

    fn statement_cache_stats(&mut self) -> Result<StatementCacheStats> {
        let capacity = self.capacity;
        self.with_connection(|connection| {
            Ok(StatementCacheStats {
                capacity,
                statements: connection.live_statements()?,
            })
        })
    }

    fn close(&mut self) -> Result<()> {
        match self.connection.take() {
            None => Ok(()),
            Some(connection) => connection.close().map_err(|e| self.context.error(e)),
        }
    }

    fn is_closed(&self) -> bool {
        self.connection.is_none()
    }
}

/// The row loop every statement's rows go through: no allocation per row, text checked
/// for UTF-8 once, names read only when asked for. The visitor's own error is kept aside
/// and returned unchanged, not given the connection's context.
struct RowLoop<'a, 'v> {
    context: &'a Context,
    buffer: &'a mut RowBuffer,
    visitor: &'a mut RowVisitor<'v>,
    visitor_error: Option<Error>,
}

impl<'a, 'v> RowLoop<'a, 'v> {
    fn new(
        context: &'a Context,
        buffer: &'a mut RowBuffer,
        visitor: &'a mut RowVisitor<'v>,
    ) -> Self {
        RowLoop {
            context,
            buffer,
            visitor,
            visitor_error: None,
        }
    }

    fn run(&mut self, statement: &mut dyn RawStatement, params: Params<'_>) -> Result<()> {
        bind_params(statement, params)?;
        let RowLoop {
            context,
            buffer,
            visitor,
            visitor_error,
        } = self;
        // Every row of one run has the columns of the first (a re-prepare happens only
        // before the first step).
        let mut count = None;
        statement.rows(&mut |row| {
            let names = RawNames::new(row, context);
            let count = *count.get_or_insert_with(|| row.column_count());
            buffer.visit(row, count, |values| {
                match visitor(&RowRef::with_names(&names, values)) {
                    Ok(flow) => Ok(flow),
                    Err(error) => {
                        *visitor_error = Some(error);
                        Ok(ControlFlow::Break(()))
                    }
                }
            })
        })
    }

    fn finish(self, outcome: Result<()>) -> Result<()> {
        match self.visitor_error {
            Some(error) => Err(error),
            None => outcome.map_err(|e| self.context.error(e)),
        }
    }
}

impl<C: RawConnection> Drop for KitDatabase<C> {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(%error, backend = self.context.backend(), "closing a connection on drop failed");
        }
    }
}
