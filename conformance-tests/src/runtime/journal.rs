//! The defaults every backend applies at open, and options that change them.

use std::time::Duration;

use sqlite_runtime::{JournalMode, OpenOptions, Params, SqliteDatabase, Synchronous, Target};

use super::support::scalar;
use crate::{CaseResult, Context};

fn pragma_text(db: &mut dyn SqliteDatabase, name: &str) -> sqlite_runtime::Result<String> {
    scalar(db, &format!("PRAGMA {name}"), Params::NONE)
}

fn pragma_int(db: &mut dyn SqliteDatabase, name: &str) -> sqlite_runtime::Result<i64> {
    scalar(db, &format!("PRAGMA {name}"), Params::NONE)
}

/// Files open in WAL mode by default.
pub(crate) fn journal_defaults_to_wal_on_files(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("wal.db")?;
    assert_eq!(pragma_text(&mut *db, "journal_mode")?, "wal");
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    assert!(
        cx.path("wal.db-wal").exists(),
        "a WAL database has a -wal file"
    );
    // WAL is persistent: a second handle reads it from the file.
    let mut other = cx.open_file("wal.db")?;
    assert_eq!(pragma_text(&mut *other, "journal_mode")?, "wal");
    Ok(())
}

/// `:memory:` keeps the in-memory journal, even when WAL is asked for.
pub(crate) fn journal_memory_databases_never_use_wal(cx: &Context) -> CaseResult {
    let mut db = cx.open_memory()?;
    assert_eq!(pragma_text(&mut *db, "journal_mode")?, "memory");
    let mut db = cx.runtime().open(
        &Target::Memory,
        &OpenOptions::new().journal_mode(JournalMode::Wal),
    )?;
    assert_eq!(pragma_text(&mut *db, "journal_mode")?, "memory");
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    Ok(())
}

/// A requested rollback-journal mode is applied to files.
pub(crate) fn journal_mode_option_is_applied(cx: &Context) -> CaseResult {
    for mode in [
        JournalMode::Delete,
        JournalMode::Truncate,
        JournalMode::Persist,
    ] {
        let name = format!("{}.db", mode.as_str());
        let mut db = cx.open_file_with(&name, &OpenOptions::new().journal_mode(mode))?;
        assert_eq!(pragma_text(&mut *db, "journal_mode")?, mode.as_str());
        db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
        assert!(!cx.path(&format!("{name}-wal")).exists());
    }
    Ok(())
}

/// The busy timeout defaults to 5000 ms and a custom one is applied.
pub(crate) fn journal_busy_timeout_default_and_custom(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("busy.db")?;
    assert_eq!(pragma_int(&mut *db, "busy_timeout")?, 5000);
    let mut db = cx.open_memory()?;
    assert_eq!(pragma_int(&mut *db, "busy_timeout")?, 5000);
    let mut db = cx.open_file_with(
        "busy.db",
        &OpenOptions::new().busy_timeout(Duration::from_millis(1234)),
    )?;
    assert_eq!(pragma_int(&mut *db, "busy_timeout")?, 1234);
    Ok(())
}

/// `synchronous` defaults to FULL (2) and a custom level is applied.
pub(crate) fn journal_synchronous_default_and_custom(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("sync.db")?;
    assert_eq!(pragma_int(&mut *db, "synchronous")?, 2);
    let mut db = cx.open_memory()?;
    assert_eq!(pragma_int(&mut *db, "synchronous")?, 2);
    for level in [
        Synchronous::Off,
        Synchronous::Normal,
        Synchronous::Full,
        Synchronous::Extra,
    ] {
        let mut db = cx.open_file_with("sync.db", &OpenOptions::new().synchronous(level))?;
        assert_eq!(
            pragma_int(&mut *db, "synchronous")?,
            level.as_pragma_value(),
            "{level:?}"
        );
    }
    Ok(())
}

/// Settings no option touches read as plain SQLite's defaults on every backend, so a
/// driver behaves the same whatever binding it runs on.
pub(crate) fn journal_other_settings_are_sqlite_defaults(cx: &Context) -> CaseResult {
    for target in [Target::Memory, Target::file(cx.path("plain.db"))] {
        let mut db = cx.runtime().open(&target, &OpenOptions::new())?;
        assert_eq!(pragma_int(&mut *db, "recursive_triggers")?, 0, "{target}");
        assert_eq!(pragma_text(&mut *db, "locking_mode")?, "normal", "{target}");
        assert_eq!(pragma_int(&mut *db, "query_only")?, 0, "{target}");
        assert_eq!(pragma_int(&mut *db, "defer_foreign_keys")?, 0, "{target}");
        assert_eq!(
            pragma_int(&mut *db, "ignore_check_constraints")?,
            0,
            "{target}"
        );
        assert_eq!(pragma_int(&mut *db, "automatic_index")?, 1, "{target}");
        assert!(
            !db.in_transaction()?,
            "a fresh connection is in autocommit mode"
        );
    }
    Ok(())
}

/// SQLite's compiled-in `foreign_keys` default: 1 when built with
/// `SQLITE_DEFAULT_FOREIGN_KEYS=1` (as libsqlite3-sys's bundled build is), else 0.
/// Every backend enforces foreign keys by default and honours `foreign_keys(false)`,
/// whatever SQLite's compile-time default is (the setup SQL sets it explicitly).
pub(crate) fn journal_foreign_keys_same_on_every_backend(cx: &Context) -> CaseResult {
    for runtime in cx.all_runtimes() {
        for (options, expected) in [
            (OpenOptions::new(), 1),
            (OpenOptions::new().foreign_keys(false), 0),
        ] {
            for target in [Target::Memory, Target::file(cx.path("fk.db"))] {
                let mut db = runtime.open(&target, &options)?;
                assert_eq!(
                    pragma_int(&mut *db, "foreign_keys")?,
                    expected,
                    "backend {} on {target}",
                    runtime.backend()
                );
            }
        }
    }
    let mut db = cx.open_memory()?;
    db.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE child (p INTEGER REFERENCES parent (id));",
    )?;
    let error = db
        .exec("INSERT INTO child VALUES (42)")
        .err()
        .ok_or("a dangling reference was accepted with enforcement on")?;
    assert_eq!(
        error.kind(),
        sqlite_runtime::ErrorKind::Constraint(sqlite_runtime::ConstraintKind::ForeignKey)
    );
    Ok(())
}
