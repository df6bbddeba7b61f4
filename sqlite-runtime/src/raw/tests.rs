//! [`KitDatabase`] over a fake binding: what the kit guarantees whatever the binding.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::*;
use crate::{
    Error, ErrorKind, OpenOptions, Params, Result, SqliteDatabase, StatementStats, Target, Value,
    ValueRef,
};

/// What the fake binding was asked to do.
type Log = Arc<Mutex<Vec<String>>>;

fn record(log: &Log, entry: String) {
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(entry);
}

/// A binding whose every statement returns `rows`, with columns named `names`. Its
/// parameters are the SQL's words starting with `?`, `:`, `@` or `$`. SQL starting
/// with `IO` fails with an I/O error.
struct Fake {
    log: Log,
    names: Vec<Vec<u8>>,
    rows: Vec<Vec<Value>>,
    fail_close: bool,
    /// The setup SQL it asks for, instead of the default.
    setup: Option<String>,
}

struct FakeStatement<'c> {
    parameters: Vec<&'c str>,
    fake: &'c Fake,
}

struct FakeRow<'c> {
    names: &'c [Vec<u8>],
    values: &'c [Value],
}

impl RawRow for FakeRow<'_> {
    fn column_count(&self) -> usize {
        self.values.len()
    }
    fn column_name(&self, index: usize) -> Option<&[u8]> {
        self.names.get(index).map(Vec::as_slice)
    }
    fn column(&self, index: usize) -> Result<RawValue<'_>> {
        Ok(match self.values.get(index) {
            // Text is handed over as the bytes of a blob, so tests can make it invalid.
            Some(Value::Blob(bytes)) if bytes.starts_with(b"text:") => {
                RawValue::Text(bytes.get(5..).unwrap_or_default())
            }
            Some(value) => value.as_ref().into(),
            None => RawValue::Null,
        })
    }
}

impl RawStatement for FakeStatement<'_> {
    fn parameter_count(&self) -> usize {
        self.parameters.len()
    }
    fn parameter_index(&self, name: &str) -> Option<usize> {
        self.parameters
            .iter()
            .position(|p| *p == name)
            .map(|i| i + 1)
    }
    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
        record(&self.fake.log, format!("bind {index} {value:?}"));
        Ok(())
    }
    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
        for values in &self.fake.rows {
            let row = FakeRow {
                names: &self.fake.names,
                values,
            };
            if on_row(&row)?.is_break() {
                break;
            }
        }
        Ok(())
    }
}

impl RawConnection for Fake {
    fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()> {
        if sql.starts_with("IO") {
            return Err(Error::new(ErrorKind::Io, "disk I/O error"));
        }
        let parameters = sql
            .split_whitespace()
            .filter(|w| w.starts_with(['?', ':', '@', '$']))
            .collect();
        work(&mut FakeStatement {
            parameters,
            fake: self,
        })
    }
    fn exec_batch(&mut self, sql: &str) -> Result<()> {
        record(&self.log, format!("exec {sql}"));
        Ok(())
    }
    fn setup_sql(&self, options: &OpenOptions, target: &Target) -> String {
        match &self.setup {
            Some(setup) => setup.clone(),
            None => options.setup_sql(target),
        }
    }
    fn changes(&self) -> u64 {
        3
    }
    fn last_insert_rowid(&self) -> i64 {
        7
    }
    fn in_transaction(&mut self) -> Result<bool> {
        Ok(true)
    }
    fn live_statements(&mut self) -> Result<Vec<StatementStats>> {
        Ok(Vec::new())
    }
    fn close(self) -> Result<()> {
        record(&self.log, "close".to_owned());
        match self.fail_close {
            true => Err(Error::new(ErrorKind::Busy, "unfinalized statements")),
            false => Ok(()),
        }
    }
}

fn fake(names: &[&[u8]], rows: Vec<Vec<Value>>) -> (Fake, Log) {
    let log = Log::default();
    let fake = Fake {
        log: Arc::clone(&log),
        names: names.iter().map(|n| n.to_vec()).collect(),
        rows,
        fail_close: false,
        setup: None,
    };
    (fake, log)
}

fn open(fake: Fake, target: &Target) -> Result<KitDatabase<Fake>> {
    KitDatabase::open("fake", target, &OpenOptions::new(), || Ok(fake))
}

fn logged(log: &Log) -> Vec<String> {
    log.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

#[test]
fn open_runs_the_setup_sql_and_drop_closes() -> Result<()> {
    let (connection, log) = fake(&[], Vec::new());
    let target = Target::file("/data/a.db");
    drop(open(connection, &target)?);
    let setup = OpenOptions::new().setup_sql(&target);
    assert_eq!(logged(&log), [format!("exec {setup}"), "close".to_owned()]);

    let (mut connection, log) = fake(&[], Vec::new());
    connection.fail_close = true;
    drop(open(connection, &target)?); // logged as a warning, no panic
    assert_eq!(logged(&log).last().map(String::as_str), Some("close"));
    Ok(())
}

#[test]
fn a_binding_may_ask_for_its_own_setup_sql_or_none() -> Result<()> {
    let target = Target::file("/data/a.db");
    let (mut connection, log) = fake(&[], Vec::new());
    connection.setup = Some("PRAGMA foreign_keys = ON".to_owned());
    drop(open(connection, &target)?);
    assert_eq!(
        logged(&log),
        [
            "exec PRAGMA foreign_keys = ON".to_owned(),
            "close".to_owned()
        ]
    );
    let (mut connection, log) = fake(&[], Vec::new());
    connection.setup = Some(String::new());
    drop(open(connection, &target)?);
    assert_eq!(logged(&log), ["close".to_owned()], "nothing to run");
    Ok(())
}

#[test]
fn errors_carry_the_backend_and_file_errors_the_path() -> Result<()> {
    let target = Target::file("/data/a.db");
    let error = KitDatabase::<Fake>::open("fake", &target, &OpenOptions::new(), || {
        Err(Error::from_sqlite("", 14, "unable to open database file"))
    })
    .err();
    let described = |e: &Error| {
        (
            e.kind(),
            e.backend().unwrap_or_default(),
            e.path().map(Path::to_owned),
        )
    };
    let expected = (
        ErrorKind::CannotOpen,
        "fake",
        target.path().map(Path::to_owned),
    );
    assert_eq!(error.as_ref().map(described), Some(expected));

    let mut db = open(fake(&[], Vec::new()).0, &target)?;
    let error = db.run("IO", Params::NONE).err();
    let expected = (ErrorKind::Io, "fake", target.path().map(Path::to_owned));
    assert_eq!(error.as_ref().map(described), Some(expected));
    let error = db.run("SELECT ?", Params::NONE).err();
    assert_eq!(
        error.as_ref().map(described),
        Some((ErrorKind::Misuse, "fake", None))
    );
    Ok(())
}

#[test]
fn a_closed_database_refuses_everything() -> Result<()> {
    let (connection, log) = fake(&[b"x"], vec![vec![Value::Integer(1)]]);
    let mut db = open(connection, &Target::Memory)?;
    assert_eq!(db.backend(), "fake");
    db.close()?;
    db.close()?;
    assert!(db.is_closed());
    let closed = |result: Result<()>| {
        result
            .err()
            .map(|e| (e.kind(), e.backend().unwrap_or_default()))
    };
    let expected = Some((ErrorKind::Closed, "fake"));
    assert_eq!(closed(db.exec("SELECT 1")), expected);
    assert_eq!(closed(db.run("SELECT 1", Params::NONE).map(drop)), expected);
    assert_eq!(closed(db.get("SELECT 1", Params::NONE).map(drop)), expected);
    assert_eq!(closed(db.in_transaction().map(drop)), expected);
    assert_eq!(closed(db.statement_cache_stats().map(drop)), expected);
    drop(db);
    let closes = logged(&log).iter().filter(|e| *e == "close").count();
    assert_eq!(closes, 1);
    Ok(())
}

#[test]
fn run_binds_and_reports_the_connection_state() -> Result<()> {
    let (connection, log) = fake(&[], Vec::new());
    let mut db = open(connection, &Target::Memory)?;
    let named = [("@b", ValueRef::Integer(2)), (":a", ValueRef::Text("x"))];
    let result = db.run("INSERT :a @b", Params::from(&named))?;
    assert_eq!((result.changes, result.last_insert_rowid), (3, 7));
    let binds: Vec<String> = logged(&log)
        .into_iter()
        .filter(|e| e.starts_with("bind"))
        .collect();
    assert_eq!(binds, ["bind 2 Integer(2)", "bind 1 Text(\"x\")"]);
    assert!(db.in_transaction()?);
    let stats = db.statement_cache_stats()?;
    assert_eq!(
        stats.capacity,
        OpenOptions::DEFAULT_STATEMENT_CACHE_CAPACITY
    );
    Ok(())
}

#[test]
fn rows_of_any_width_reach_the_visitor_and_break_stops() -> Result<()> {
    for width in [1, 8, 9, 30] {
        let row: Vec<Value> = (0..width).map(Value::Integer).collect();
        let names: Vec<Vec<u8>> = (0..width).map(|i| format!("c{i}").into_bytes()).collect();
        let names: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
        let mut db = open(fake(&names, vec![row.clone(); 3]).0, &Target::Memory)?;
        let all = db.all("SELECT", Params::NONE)?;
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].values(), row.as_slice());
        assert_eq!(all[0].columns().last(), Some(&format!("c{}", width - 1)));
        let mut widths = Vec::new();
        db.for_each("SELECT", Params::NONE, &mut |row| {
            widths.push(row.len());
            Ok(ControlFlow::Break(()))
        })?;
        assert_eq!(widths, [row.len()]);
    }
    Ok(())
}

#[test]
fn visitor_errors_come_back_unchanged() -> Result<()> {
    let rows = vec![vec![Value::Integer(1)]; 2];
    let mut db = open(fake(&[b"x"], rows).0, &Target::file("/a.db"))?;
    let error = db
        .for_each("SELECT", Params::NONE, &mut |_| {
            Err(Error::new(ErrorKind::Io, "visitor says stop"))
        })
        .err();
    let described = error
        .as_ref()
        .map(|e| (e.backend().unwrap_or_default(), e.path(), e.message()));
    assert_eq!(described, Some(("", None, "visitor says stop")));
    Ok(())
}

#[test]
fn hostile_names_and_text_are_errors_not_panics() -> Result<()> {
    let rows = vec![vec![Value::Integer(1), Value::Blob(b"text:ok".to_vec())]];
    let mut db = open(fake(&[b"a", b"b\xff"], rows).0, &Target::Memory)?;
    let mut read = None;
    db.for_each("SELECT", Params::NONE, &mut |row| {
        read = Some((
            row.get::<i64>(0)?,
            row.get::<String>(1)?,
            row.column_name(0)?.to_owned(),
        ));
        Ok(ControlFlow::Continue(()))
    })?;
    assert_eq!(read, Some((1, "ok".to_owned(), "a".to_owned())));
    let error = db.get("SELECT", Params::NONE).err();
    let described = error
        .as_ref()
        .map(|e| (e.kind(), e.backend().unwrap_or_default(), e.message()));
    let message = "a column name is not valid UTF-8";
    assert_eq!(described, Some((ErrorKind::Corrupt, "fake", message)));

    let rows = vec![vec![Value::Blob(b"text:\xff".to_vec())]];
    let mut db = open(fake(&[b"t"], rows).0, &Target::Memory)?;
    let error = db.get("SELECT", Params::NONE).err();
    let described = error
        .as_ref()
        .map(|e| (e.kind(), e.backend().unwrap_or_default()));
    assert_eq!(described, Some((ErrorKind::TypeMismatch, "fake")));
    Ok(())
}
