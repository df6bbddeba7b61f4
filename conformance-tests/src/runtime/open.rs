//! Opening databases: what fails, how, and with which path.

use std::path::Path;

use sqlite_runtime::{ErrorKind, JournalMode, OpenOptions, Params, Target};

use super::support::{assert_kind, count, expect_err, scalar};
use crate::{CaseResult, Context};

/// A file in a missing directory cannot be opened; the error carries the path.
pub(crate) fn open_missing_directory_is_cannot_open(cx: &Context) -> CaseResult {
    let path = cx.path("no/such/dir/db.sqlite");
    let error = expect_err(
        cx.runtime()
            .open(&Target::file(&path), &OpenOptions::new())
            .map(|_| ()),
        "a file in a missing directory",
    );
    assert_kind(&error, ErrorKind::CannotOpen);
    assert_eq!(error.extended_code().map(|c| c & 0xff), Some(14), "{error}");
    assert_eq!(error.path(), Some(path.as_path()), "{error}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(!path.exists());
    Ok(())
}

/// `read_only(true)` never creates a file: a missing one is `CannotOpen` with its path.
pub(crate) fn open_read_only_missing_file(cx: &Context) -> CaseResult {
    let path = cx.path("missing.db");
    let error = expect_err(
        cx.runtime()
            .open(&Target::file(&path), &OpenOptions::new().read_only(true))
            .map(|_| ()),
        "read-only open of a missing file",
    );
    assert_kind(&error, ErrorKind::CannotOpen);
    assert_eq!(error.path(), Some(path.as_path()), "{error}");
    assert!(!path.exists(), "a read-only open created the file");
    Ok(())
}

/// `create(false)` on a missing file is `CannotOpen` and creates nothing.
pub(crate) fn open_without_create_missing_file(cx: &Context) -> CaseResult {
    let path = cx.path("absent.db");
    let error = expect_err(
        cx.runtime()
            .open(&Target::file(&path), &OpenOptions::new().create(false))
            .map(|_| ()),
        "open without create",
    );
    assert_kind(&error, ErrorKind::CannotOpen);
    assert_eq!(error.path(), Some(path.as_path()), "{error}");
    assert!(!path.exists());
    // Once it exists, create(false) opens it.
    cx.open_file("absent.db")?.exec("CREATE TABLE t (x)")?;
    let mut db = cx.open_file_with("absent.db", &OpenOptions::new().create(false))?;
    assert_eq!(count(&mut *db, "t")?, 0);
    Ok(())
}

/// Writing through a read-only handle is `ReadOnly` with the path; reading works.
pub(crate) fn open_read_only_rejects_writes(cx: &Context) -> CaseResult {
    for (name, mode) in [
        ("ro-wal.db", JournalMode::Wal),
        ("ro-delete.db", JournalMode::Delete),
    ] {
        {
            let mut db = cx.open_file_with(name, &OpenOptions::new().journal_mode(mode))?;
            db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
        }
        let path = cx.path(name);
        let mut db = cx
            .runtime()
            .open(&Target::file(&path), &OpenOptions::new().read_only(true))?;
        assert_eq!(count(&mut *db, "t")?, 1, "{name}");
        let journal: String = scalar(&mut *db, "PRAGMA journal_mode", Params::NONE)?;
        assert_eq!(
            journal,
            mode.as_str(),
            "a read-only open keeps the file's journal mode"
        );
        let error = expect_err(
            db.run("INSERT INTO t VALUES (2)", Params::NONE),
            "read-only write",
        );
        assert_kind(&error, ErrorKind::ReadOnly);
        assert_eq!(error.extended_code().map(|c| c & 0xff), Some(8), "{error}");
        assert_eq!(error.path(), Some(path.as_path()), "{error}");
        let error = expect_err(db.exec("CREATE TABLE u (y)"), "read-only DDL");
        assert_kind(&error, ErrorKind::ReadOnly);
        assert_eq!(count(&mut *db, "t")?, 1);
    }
    Ok(())
}

/// A file that is not a database is `Corrupt` (code 26) with its path, at open or at
/// the first query.
pub(crate) fn open_non_database_file_is_corrupt(cx: &Context) -> CaseResult {
    let path = cx.path("text.db");
    std::fs::write(
        &path,
        "this is a plain text file, not an SQLite database\n".repeat(200),
    )?;
    let error = match cx.runtime().open(&Target::file(&path), &OpenOptions::new()) {
        Err(error) => error,
        Ok(mut db) => expect_err(db.get("SELECT * FROM sqlite_schema", Params::NONE), "query"),
    };
    assert_kind(&error, ErrorKind::Corrupt);
    assert_eq!(error.extended_code(), Some(26), "{error}");
    assert_eq!(error.path(), Some(path.as_path()), "{error}");
    // The file was not modified.
    let text = std::fs::read_to_string(&path)?;
    assert!(text.starts_with("this is a plain text file"));
    Ok(())
}

/// An empty existing file is a valid, empty database.
pub(crate) fn open_empty_file_is_a_new_database(cx: &Context) -> CaseResult {
    let path = cx.path("empty.db");
    std::fs::write(&path, b"")?;
    let mut db = cx.open_file("empty.db")?;
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
    assert_eq!(count(&mut *db, "t")?, 1);
    Ok(())
}

/// The default open creates the file, and a reopen finds the data.
pub(crate) fn open_creates_and_reopens(cx: &Context) -> CaseResult {
    let path = cx.path("new.db");
    assert!(!path.exists());
    let mut db = cx.open_file("new.db")?;
    assert!(path.exists(), "the default open creates the file");
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('kept');")?;
    db.close()?;
    let mut db = cx.open_file("new.db")?;
    let kept: String = scalar(&mut *db, "SELECT x FROM t", Params::NONE)?;
    assert_eq!(kept, "kept");
    Ok(())
}

/// Paths with spaces, non-ASCII and URI-special characters name exactly that file.
pub(crate) fn open_path_with_special_characters(cx: &Context) -> CaseResult {
    let dir = cx.path("dir with spaces é 🦀");
    std::fs::create_dir(&dir)?;
    for name in [
        "plain name.db",
        "q?mark#hash%20pct&amp=.db",
        "ünïcødé 🦀.db",
    ] {
        let path = dir.join(name);
        {
            let mut db = cx
                .runtime()
                .open(&Target::file(&path), &OpenOptions::new())?;
            db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?;
        }
        assert!(path.exists(), "`{}` was not created", path.display());
        let mut db = cx
            .runtime()
            .open(&Target::file(&path), &OpenOptions::new())?;
        assert_eq!(count(&mut *db, "t")?, 1);
    }
    let mut created: Vec<String> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    created.sort();
    assert_eq!(
        created,
        [
            "plain name.db",
            "q?mark#hash%20pct&amp=.db",
            "ünïcødé 🦀.db"
        ],
        "only the named files (WAL files removed at close)"
    );
    // Nothing escaped into the working directory.
    assert!(!Path::new("q").exists());
    Ok(())
}

/// SQLite opened exactly the requested file (`pragma_database_list`); memory has none.
pub(crate) fn open_main_database_path_is_reported(cx: &Context) -> CaseResult {
    let mut db = cx.open_file("main.db")?;
    let file: String = scalar(
        &mut *db,
        "SELECT file FROM pragma_database_list WHERE name = 'main'",
        Params::NONE,
    )?;
    let expected = std::fs::canonicalize(cx.path("main.db"))?;
    assert_eq!(
        std::fs::canonicalize(&file)?,
        expected,
        "SQLite opened `{file}`"
    );
    let mut memory = cx.open_memory()?;
    let file: String = scalar(
        &mut *memory,
        "SELECT file FROM pragma_database_list WHERE name = 'main'",
        Params::NONE,
    )?;
    assert_eq!(file, "", "a memory database has no file");
    Ok(())
}

/// Every file of `dir` with its bytes, sorted by name.
fn snapshot(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        files.push((name, std::fs::read(entry.path())?));
    }
    files.sort();
    Ok(files)
}

/// `immutable(true)` reads the file as it is: no `-wal` or `-shm` is created, the bytes
/// stay the same, writes are `ReadOnly`.
pub(crate) fn open_immutable_reads_without_side_files(cx: &Context) -> CaseResult {
    let dir = cx.path("immutable");
    std::fs::create_dir(&dir)?;
    let path = dir.join("db.sqlite");
    {
        let mut db = cx
            .runtime()
            .open(&Target::file(&path), &OpenOptions::new())?;
        db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")?;
        db.close()?;
    }
    let before = snapshot(&dir)?;
    assert_eq!(before.len(), 1, "a closed WAL database leaves one file");
    let mut db = cx
        .runtime()
        .open(&Target::file(&path), &OpenOptions::new().immutable(true))?;
    assert_eq!(count(&mut *db, "t")?, 2);
    let error = expect_err(db.run("INSERT INTO t VALUES (3)", Params::NONE), "write");
    assert_kind(&error, ErrorKind::ReadOnly);
    db.close()?;
    assert_eq!(
        snapshot(&dir)?,
        before,
        "an immutable open changed the directory"
    );
    Ok(())
}

/// `read_only(true).read_only_shm(true)` sees what a writer committed to its `-wal` while
/// the writer holds the database open, and changes no byte of any of the three files;
/// the same holds for `-wal`/`-shm` files left behind by a writer that is gone.
pub(crate) fn open_read_only_shm_reads_the_wal_and_writes_nothing(cx: &Context) -> CaseResult {
    let live = cx.path("live");
    let left = cx.path("left");
    std::fs::create_dir(&live)?;
    std::fs::create_dir(&left)?;
    let path = live.join("db.sqlite");
    let reader = OpenOptions::new().read_only(true).read_only_shm(true);
    let mut writer = cx
        .runtime()
        .open(&Target::file(&path), &OpenOptions::new())?;
    writer.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('in the wal');")?;
    let before = snapshot(&live)?;
    let names: Vec<&str> = before.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["db.sqlite", "db.sqlite-shm", "db.sqlite-wal"]);
    {
        let mut db = cx.runtime().open(&Target::file(&path), &reader)?;
        let value: String = scalar(&mut *db, "SELECT x FROM t", Params::NONE)?;
        assert_eq!(value, "in the wal");
        let error = expect_err(db.run("DELETE FROM t", Params::NONE), "write");
        assert_kind(&error, ErrorKind::ReadOnly);
        db.close()?;
    }
    let after = snapshot(&live)?;
    // This process's writer shares its `-shm` mapping, so only the database and the
    // `-wal` are compared here; the copy below has no writer at all.
    assert_eq!(after[0], before[0], "the database file changed");
    assert_eq!(after[2], before[2], "the -wal changed");
    for (name, bytes) in &before {
        std::fs::write(left.join(name), bytes)?;
    }
    drop(writer);
    let copied = snapshot(&left)?;
    let mut db = cx
        .runtime()
        .open(&Target::file(left.join("db.sqlite")), &reader)?;
    let value: String = scalar(&mut *db, "SELECT x FROM t", Params::NONE)?;
    assert_eq!(
        value, "in the wal",
        "committed frames of a -wal nobody holds"
    );
    db.close()?;
    assert_eq!(
        snapshot(&left)?,
        copied,
        "reading files nobody holds changed them"
    );
    Ok(())
}
