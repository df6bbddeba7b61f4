//! Guarded SQL on a raw handle, the same for every local backend (they share one
//! `libsqlite3-sys`): an authorizer that asks the [`Guard`], the guard's limits
//! (`sqlite3_limit`) and a progress handler that interrupts a statement past its time,
//! all in force only while a guarded statement is compiled or run, and a statement cache
//! of its own, so that a statement compiled without the guard (the owner's) is never
//! handed to guarded SQL.
//!
//! The authorizer and the progress handler are installed once, at the first guarded
//! statement (installing an authorizer expires every prepared statement), and stay:
//! outside guarded calls the authorizer allows everything and the handler never stops a
//! statement, so the owner's statements run as before.

use std::cell::{Cell, RefCell};
use std::ffi::{CString, c_char, c_int, c_void};
use std::ptr::NonNull;
use std::time::Instant;

use libsqlite3_sys as ffi;
use sqlite_runtime::raw::{GuardedWork, RawRowVisitor, RawStatement, StatementCache};
use sqlite_runtime::{Error, ErrorKind, Guard, GuardAction, GuardedStatement, Result, ValueRef};

use crate::c_api::{self, StatementRow};

/// Guarded statements kept compiled per connection.
const CACHE_CAPACITY: usize = 32;

/// VM instructions between two looks at the clock.
const PROGRESS_STEPS: c_int = 1000;

/// An authorizer installed before ours (a backend's own), which ours calls first.
pub(crate) type Authorizer = (
    unsafe extern "C" fn(
        *mut c_void,
        c_int,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
    ) -> c_int,
    *mut c_void,
);

/// What the authorizer and the progress handler read, at a stable address.
#[derive(Default)]
struct CallState {
    /// The backend's own authorizer, asked first about everything.
    underneath: Option<Authorizer>,
    /// The guard in force (null outside guarded calls: everything is allowed).
    guard: Cell<*const Guard>,
    /// Why the last refused action was refused.
    refusal: RefCell<Option<String>>,
    /// Whether the statement being compiled creates, drops or alters schema objects.
    changes_schema: Cell<bool>,
    /// How long the running statement may run.
    time: Cell<Option<std::time::Duration>>,
    /// When it is interrupted: set at the progress handler's first call, so that a
    /// statement too short to reach it never reads the clock.
    deadline: Cell<Option<Instant>>,
}

/// A compiled guarded statement, finalized on drop.
struct Compiled {
    stmt: NonNull<ffi::sqlite3_stmt>,
    found: GuardedStatement,
}

// SAFETY: a statement is used only by the thread that holds its connection.
unsafe impl Send for Compiled {}

impl Drop for Compiled {
    fn drop(&mut self) {
        // SAFETY: ours, finalized once.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

/// One connection's guarded statements.
pub(crate) struct GuardedStatements {
    backend: &'static str,
    state: Box<CallState>,
    installed: bool,
    /// The guard the cached statements were compiled under.
    compiled_under: Option<Guard>,
    cache: StatementCache<Compiled>,
}

// SAFETY: the cells are touched only by the thread that holds the connection (the
// authorizer and progress handler run inside calls on it).
unsafe impl Send for GuardedStatements {}

impl GuardedStatements {
    /// None yet, for `backend`'s errors.
    pub(crate) fn new(backend: &'static str) -> Self {
        Self::over(backend, None)
    }

    /// For a connection on which the backend installed an authorizer of its own: ours
    /// asks it first, and [`release`](Self::release) puts it back.
    pub(crate) fn over(backend: &'static str, underneath: Option<Authorizer>) -> Self {
        GuardedStatements {
            backend,
            state: Box::new(CallState {
                underneath,
                ..CallState::default()
            }),
            installed: false,
            compiled_under: None,
            cache: StatementCache::new(CACHE_CAPACITY),
        }
    }

    /// Compiles `sql` under `guard` (or takes it from the cache) and runs `work` with it
    /// while the guard, its limits and its time bound are in force.
    ///
    /// # Safety
    /// `db` must be the valid, open connection these statements belong to, used by no
    /// other thread during the call.
    pub(crate) unsafe fn with_statement(
        &mut self,
        db: *mut ffi::sqlite3,
        guard: &Guard,
        sql: &str,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let limits = guard.limits();
        if sql.len() > limits.sql_length {
            return Err(Error::from_sqlite(
                self.backend,
                ffi::SQLITE_TOOBIG,
                format!("the statement is longer than {} bytes", limits.sql_length),
            ));
        }
        if !self.installed {
            // SAFETY: per the caller; the state lives as long as `self`, and both are
            // removed in `release` (or the state leaked on drop). Outside guarded calls
            // the authorizer allows everything and the progress handler never stops.
            unsafe {
                let state = (&raw const *self.state).cast_mut().cast();
                ffi::sqlite3_set_authorizer(db, Some(authorize), state);
                ffi::sqlite3_progress_handler(db, PROGRESS_STEPS, Some(progress), state);
            }
            self.installed = true;
        }
        if self.compiled_under.as_ref() != Some(guard) {
            self.cache = StatementCache::new(CACHE_CAPACITY);
            self.compiled_under = Some(guard.clone());
        }
        self.state.guard.set(guard);
        self.state.time.set(Some(limits.time));
        self.state.deadline.set(None);
        // SAFETY: per the caller.
        let outcome = unsafe { self.run(db, guard, sql, work) };
        self.state.guard.set(std::ptr::null());
        self.state.time.set(None);
        self.state.deadline.set(None);
        outcome
    }

    /// # Safety
    /// As [`with_statement`](Self::with_statement), with the guard in force.
    unsafe fn run(
        &mut self,
        db: *mut ffi::sqlite3,
        guard: &Guard,
        sql: &str,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let (stmt, found) = match self.cache.get(sql) {
            Some(compiled) => (compiled.stmt, compiled.found),
            None => {
                // SAFETY: per the caller; every setting back as it was.
                let compiled = unsafe {
                    let saved = Limits::compiling(db, guard);
                    let compiled = self.compile(db, sql);
                    saved.restore(db);
                    compiled
                }?;
                let (stmt, found) = (compiled.stmt, compiled.found);
                if let Err(compiled) = self.cache.insert(sql, compiled) {
                    // Not kept (no capacity): run once, then finalized on drop.
                    // SAFETY: per the caller.
                    return unsafe { self.run_compiled(db, guard, compiled.stmt, found, work) };
                }
                (stmt, found)
            }
        };
        // SAFETY: per the caller; the cache keeps the statement alive during the call.
        unsafe { self.run_compiled(db, guard, stmt, found, work) }
    }

    /// # Safety
    /// As [`with_statement`](Self::with_statement); `stmt` is a live statement of `db`.
    unsafe fn run_compiled(
        &self,
        db: *mut ffi::sqlite3,
        guard: &Guard,
        stmt: NonNull<ffi::sqlite3_stmt>,
        found: GuardedStatement,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let mut statement = GuardedStatementRef {
            db,
            stmt: stmt.as_ptr(),
            backend: self.backend,
            state: &self.state,
            guard,
            needs_clearing: Cell::new(false),
        };
        // SAFETY: per the caller; every setting back as it was below.
        let saved = unsafe { Limits::running(db, guard) };
        let outcome = work(&mut statement, found);
        // SAFETY: ours; reset so that it holds no lock.
        unsafe {
            ffi::sqlite3_reset(stmt.as_ptr());
            saved.restore(db);
        }
        if statement.needs_clearing.get() {
            // SAFETY: ours; cleared so that it holds no borrowed value, and so that
            // the next call's named parameters left out are `NULL`.
            unsafe { ffi::sqlite3_clear_bindings(stmt.as_ptr()) };
        }
        outcome
    }

    /// # Safety
    /// As [`with_statement`](Self::with_statement), with the guard in force.
    unsafe fn compile(&self, db: *mut ffi::sqlite3, sql: &str) -> Result<Compiled> {
        let length = c_int::try_from(sql.len()).map_err(|_| {
            Error::from_sqlite(
                self.backend,
                ffi::SQLITE_TOOBIG,
                "the statement is too long",
            )
        })?;
        self.state.changes_schema.set(false);
        self.state.refusal.replace(None);
        let mut stmt = std::ptr::null_mut();
        let mut tail: *const c_char = std::ptr::null();
        // SAFETY: per the caller; `sql` outlives the call and its length is given.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr().cast(),
                length,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                &mut tail,
            )
        };
        if rc != ffi::SQLITE_OK {
            // SAFETY: per the caller.
            return Err(self.error(unsafe { c_api::last_error(self.backend, db) }));
        }
        let Some(stmt) = NonNull::new(stmt) else {
            return Err(Error::new(ErrorKind::Misuse, "no statement to run"));
        };
        // SAFETY: a statement just compiled, read before anything else runs on `db`.
        let read_only = unsafe { ffi::sqlite3_stmt_readonly(stmt.as_ptr()) } != 0;
        let compiled = Compiled {
            stmt,
            found: GuardedStatement {
                read_only,
                changes_schema: self.state.changes_schema.get(),
            },
        };
        let consumed = (tail as usize).saturating_sub(sql.as_ptr() as usize);
        let rest = sql.get(consumed..).unwrap_or("");
        // SAFETY: per the caller.
        if unsafe { c_api::has_statement(self.backend, db, rest) }? {
            return Err(Error::new(
                ErrorKind::Misuse,
                "multiple statements provided: one statement per call",
            ));
        }
        Ok(compiled)
    }

    /// `error`, with the guard's reason when it is a refusal.
    fn error(&self, error: Error) -> Error {
        match (error.kind(), self.state.refusal.take()) {
            (ErrorKind::NotAuthorized, Some(reason)) => {
                Error::from_sqlite(self.backend, ffi::SQLITE_AUTH, reason)
            }
            _ => error,
        }
    }

    /// Finalizes every statement and removes the authorizer: before the connection
    /// closes.
    ///
    /// # Safety
    /// `db` must be the valid, open connection, used by no other thread during the call.
    pub(crate) unsafe fn release(&mut self, db: *mut ffi::sqlite3) {
        self.cache = StatementCache::new(CACHE_CAPACITY);
        if self.installed {
            let (callback, user) = match self.state.underneath {
                Some((callback, user)) => (Some(callback), user),
                None => (None, std::ptr::null_mut()),
            };
            // SAFETY: per the caller; the backend's own authorizer goes back as it was.
            unsafe {
                ffi::sqlite3_set_authorizer(db, callback, user);
                ffi::sqlite3_progress_handler(db, 0, None, std::ptr::null_mut());
            }
            self.installed = false;
        }
    }
}

impl Drop for GuardedStatements {
    fn drop(&mut self) {
        if self.installed {
            // The authorizer could not be removed (`release` was not called): its state
            // must outlive the connection.
            let state = std::mem::take(&mut self.state);
            Box::leak(state);
        }
    }
}

/// The connection's limits before a guarded call changed them.
struct Limits<const N: usize>([(c_int, c_int); N]);

impl Limits<5> {
    /// Sets every limit of `guard` (statement length, depth and parameters are checked
    /// as SQLite compiles); the previous values.
    ///
    /// # Safety
    /// `db` must be a valid connection used by this thread only.
    unsafe fn compiling(db: *mut ffi::sqlite3, guard: &Guard) -> Self {
        let limits = guard.limits();
        // SAFETY: per the caller.
        unsafe {
            Limits::apply(
                db,
                [
                    (ffi::SQLITE_LIMIT_LENGTH, limits.value_length),
                    (ffi::SQLITE_LIMIT_SQL_LENGTH, limits.sql_length),
                    (ffi::SQLITE_LIMIT_EXPR_DEPTH, limits.expression_depth),
                    (ffi::SQLITE_LIMIT_VARIABLE_NUMBER, limits.parameters),
                    (ffi::SQLITE_LIMIT_ATTACHED, 0),
                ],
            )
        }
    }
}

impl Limits<2> {
    /// Sets the limits of `guard` that hold while a statement runs (the values it makes,
    /// the databases it attaches); the previous values. A statement SQLite compiles
    /// again as it runs is the same text, within the compile-time limits it met.
    ///
    /// # Safety
    /// As [`compiling`](Limits::compiling).
    unsafe fn running(db: *mut ffi::sqlite3, guard: &Guard) -> Self {
        let limits = guard.limits();
        // SAFETY: per the caller.
        unsafe {
            Limits::apply(
                db,
                [
                    (ffi::SQLITE_LIMIT_LENGTH, limits.value_length),
                    (ffi::SQLITE_LIMIT_ATTACHED, 0),
                ],
            )
        }
    }
}

impl<const N: usize> Limits<N> {
    /// # Safety
    /// As [`compiling`](Limits::compiling).
    unsafe fn apply(db: *mut ffi::sqlite3, wanted: [(c_int, usize); N]) -> Self {
        // SAFETY: per the caller.
        Limits(wanted.map(|(id, value)| unsafe {
            let value = c_int::try_from(value).unwrap_or(c_int::MAX);
            (id, ffi::sqlite3_limit(db, id, value))
        }))
    }

    /// # Safety
    /// As [`compiling`](Limits::compiling).
    unsafe fn restore(self, db: *mut ffi::sqlite3) {
        for (id, value) in self.0 {
            // SAFETY: per the caller.
            unsafe { ffi::sqlite3_limit(db, id, value) };
        }
    }
}

/// A guarded statement, borrowed for one call.
struct GuardedStatementRef<'a> {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    backend: &'static str,
    state: &'a CallState,
    guard: &'a Guard,
    /// Whether a value was bound by name or borrowed: positional calls bind every
    /// parameter, so only these leave bindings a later call could see.
    needs_clearing: Cell<bool>,
}

impl GuardedStatementRef<'_> {
    fn check(&self, rc: c_int) -> Result<()> {
        if rc == ffi::SQLITE_OK {
            return Ok(());
        }
        // SAFETY: the connection is ours for the call.
        Err(unsafe { c_api::last_error(self.backend, self.db) })
    }

    fn step_error(&self) -> Error {
        // SAFETY: the connection is ours for the call.
        let error = unsafe { c_api::last_error(self.backend, self.db) };
        match error.kind() {
            ErrorKind::Interrupted => Error::from_sqlite(
                self.backend,
                ffi::SQLITE_INTERRUPT,
                format!(
                    "the statement ran longer than {:?}",
                    self.guard.limits().time
                ),
            ),
            ErrorKind::NotAuthorized => match self.state.refusal.take() {
                Some(reason) => Error::from_sqlite(self.backend, ffi::SQLITE_AUTH, reason),
                None => error,
            },
            _ => error,
        }
    }
}

impl RawStatement for GuardedStatementRef<'_> {
    fn parameter_count(&self) -> usize {
        // SAFETY: a live statement.
        usize::try_from(unsafe { ffi::sqlite3_bind_parameter_count(self.stmt) }).unwrap_or(0)
    }

    fn parameter_index(&self, name: &str) -> Option<usize> {
        self.needs_clearing.set(true);
        let name = CString::new(name).ok()?;
        // SAFETY: a live statement; the name is NUL-terminated.
        let index = unsafe { ffi::sqlite3_bind_parameter_index(self.stmt, name.as_ptr()) };
        usize::try_from(index).ok().filter(|&i| i > 0)
    }

    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
        let index = c_int::try_from(index)
            .map_err(|_| Error::new(ErrorKind::Misuse, "parameter index out of range"))?;
        let too_big = || {
            Error::from_sqlite(
                self.backend,
                ffi::SQLITE_TOOBIG,
                "a parameter is longer than SQLite can take",
            )
        };
        if matches!(value, ValueRef::Text(_) | ValueRef::Blob(_)) {
            self.needs_clearing.set(true);
        }
        // SAFETY: a live statement; borrowed bytes are bound as static: the statement's
        // bindings are cleared before the values' borrow ends (see `run_compiled`).
        let rc = unsafe {
            match value {
                ValueRef::Null => ffi::sqlite3_bind_null(self.stmt, index),
                ValueRef::Integer(v) => ffi::sqlite3_bind_int64(self.stmt, index, v),
                ValueRef::Real(v) => ffi::sqlite3_bind_double(self.stmt, index, v),
                ValueRef::Text(text) => ffi::sqlite3_bind_text64(
                    self.stmt,
                    index,
                    text.as_ptr().cast(),
                    u64::try_from(text.len()).map_err(|_| too_big())?,
                    ffi::SQLITE_STATIC(),
                    ffi::SQLITE_UTF8 as u8,
                ),
                ValueRef::Blob(blob) => ffi::sqlite3_bind_blob64(
                    self.stmt,
                    index,
                    blob.as_ptr().cast(),
                    u64::try_from(blob.len()).map_err(|_| too_big())?,
                    ffi::SQLITE_STATIC(),
                ),
            }
        };
        self.check(rc)
    }

    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
        loop {
            // SAFETY: a live statement on a connection ours for the call.
            match unsafe { ffi::sqlite3_step(self.stmt) } {
                ffi::SQLITE_ROW => {
                    // SAFETY: the step returned a row; it is read before the next step.
                    let row = unsafe { StatementRow::new(self.stmt, self.backend) };
                    if on_row(&row)?.is_break() {
                        return Ok(());
                    }
                }
                ffi::SQLITE_DONE => return Ok(()),
                _ => return Err(self.step_error()),
            }
        }
    }
}

/// SQLite's authorizer: asks the guard in force, if any.
extern "C" fn authorize(
    user: *mut c_void,
    code: c_int,
    first: *const c_char,
    second: *const c_char,
    database: *const c_char,
    trigger: *const c_char,
) -> c_int {
    // SAFETY: `user` is the connection's `CallState`, alive while the authorizer is
    // installed; SQLite calls this on the thread that holds the connection.
    let state = unsafe { &*user.cast::<CallState>() };
    let guard = state.guard.get();
    if guard.is_null() {
        // The backend's own statements: its authorizer decides, if it has one.
        return match state.underneath {
            // SAFETY: the backend's authorizer, with its own state, called as SQLite
            // would.
            Some((callback, user)) => unsafe {
                callback(user, code, first, second, database, trigger)
            },
            None => ffi::SQLITE_OK,
        };
    }
    // SAFETY: set for the duration of a guarded call, from a live reference.
    let guard = unsafe { &*guard };
    // SAFETY: SQLite passes NUL-terminated strings or nulls, valid for the call.
    let (first_text, second_text) = unsafe { (text(first), text(second)) };
    let (action, changes_schema) = action(code, first_text, second_text);
    if changes_schema {
        state.changes_schema.set(true);
        // The backend's authorizer is told of schema changes (it may keep statements of
        // its own that they make stale), but does not judge guarded statements.
        if let Some((callback, user)) = state.underneath {
            // SAFETY: as above.
            unsafe { callback(user, code, first, second, database, trigger) };
        }
    }
    match guard.check(&action) {
        Ok(()) => ffi::SQLITE_OK,
        Err(reason) => {
            state.refusal.replace(Some(reason));
            ffi::SQLITE_DENY
        }
    }
}

/// # Safety
/// `pointer` must be null or a NUL-terminated string valid for `'a`.
unsafe fn text<'a>(pointer: *const c_char) -> &'a str {
    if pointer.is_null() {
        return "";
    }
    // SAFETY: per the caller.
    let bytes = unsafe { std::ffi::CStr::from_ptr(pointer) }.to_bytes();
    // A name that is not UTF-8 is compared as U+FFFD: never reserved, never an allowed
    // pragma.
    std::str::from_utf8(bytes).unwrap_or("\u{fffd}")
}

/// The guard's view of an authorizer call, and whether it changes the schema.
fn action<'a>(code: c_int, first: &'a str, second: &'a str) -> (GuardAction<'a>, bool) {
    let optional = |s: &'a str| (!s.is_empty()).then_some(s);
    match code {
        ffi::SQLITE_READ => (GuardAction::Read { table: first }, false),
        ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE => (GuardAction::Select, false),
        ffi::SQLITE_INSERT | ffi::SQLITE_UPDATE | ffi::SQLITE_DELETE => {
            (GuardAction::Write { table: first }, false)
        }
        ffi::SQLITE_CREATE_TABLE | ffi::SQLITE_CREATE_VIEW => (
            GuardAction::CreateTable {
                name: first,
                temp: false,
            },
            true,
        ),
        ffi::SQLITE_CREATE_TEMP_TABLE | ffi::SQLITE_CREATE_TEMP_VIEW => (
            GuardAction::CreateTable {
                name: first,
                temp: true,
            },
            true,
        ),
        ffi::SQLITE_CREATE_INDEX
        | ffi::SQLITE_CREATE_TEMP_INDEX
        | ffi::SQLITE_CREATE_TRIGGER
        | ffi::SQLITE_CREATE_TEMP_TRIGGER
        | ffi::SQLITE_DROP_INDEX
        | ffi::SQLITE_DROP_TEMP_INDEX
        | ffi::SQLITE_DROP_TRIGGER
        | ffi::SQLITE_DROP_TEMP_TRIGGER => (
            GuardAction::Schema {
                name: first,
                table: second,
            },
            true,
        ),
        ffi::SQLITE_DROP_TABLE
        | ffi::SQLITE_DROP_TEMP_TABLE
        | ffi::SQLITE_DROP_VIEW
        | ffi::SQLITE_DROP_TEMP_VIEW => (
            GuardAction::Schema {
                name: first,
                table: first,
            },
            true,
        ),
        // (database, table)
        ffi::SQLITE_ALTER_TABLE => (
            GuardAction::Schema {
                name: second,
                table: second,
            },
            true,
        ),
        ffi::SQLITE_REINDEX => (
            GuardAction::Schema {
                name: first,
                table: first,
            },
            false,
        ),
        ffi::SQLITE_PRAGMA => (
            GuardAction::Pragma {
                name: first,
                argument: optional(second),
            },
            false,
        ),
        ffi::SQLITE_FUNCTION => (GuardAction::Function { name: second }, false),
        ffi::SQLITE_ANALYZE => (
            GuardAction::Analyze {
                table: optional(first),
            },
            false,
        ),
        ffi::SQLITE_TRANSACTION | ffi::SQLITE_SAVEPOINT => (GuardAction::Transaction, false),
        ffi::SQLITE_ATTACH | ffi::SQLITE_DETACH => (GuardAction::Attach, false),
        ffi::SQLITE_CREATE_VTABLE | ffi::SQLITE_DROP_VTABLE => (GuardAction::VirtualTable, true),
        other => (GuardAction::Other(other), false),
    }
}

/// SQLite's progress handler: interrupts a guarded statement past its deadline. The
/// first call (after [`PROGRESS_STEPS`] instructions, microseconds in) starts the clock.
extern "C" fn progress(user: *mut c_void) -> c_int {
    // SAFETY: `user` is the connection's `CallState`, alive while the handler is set.
    let state = unsafe { &*user.cast::<CallState>() };
    match (state.deadline.get(), state.time.get()) {
        (Some(deadline), _) => c_int::from(Instant::now() >= deadline),
        (None, Some(time)) => {
            state.deadline.set(Instant::now().checked_add(time));
            0
        }
        (None, None) => 0,
    }
}
