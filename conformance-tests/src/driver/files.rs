//! The on-disk layout: state files, the database's schema and journal mode, what destroy
//! removes, temporary files, persistence across a fresh driver.

use std::time::{Duration, SystemTime};

use fs_driver::state::decode_state;
use fs_driver::{KvEntry, ListOptions};
use sqlite_runtime::{OpenOptions, Params, SqliteDatabase, Target};

use super::support::{all, create, entries, files_under, open};
use crate::{CaseResult, Context};

/// Opens `databases/<id>.db` of the case's root directly, through the backend under test.
fn open_db(cx: &Context, id: &str) -> Box<dyn SqliteDatabase> {
    cx.runtime()
        .open(
            &Target::file(cx.dir().join(format!("databases/{id}.db"))),
            &OpenOptions::new().create(false),
        )
        .expect("open the actor database")
}

/// The rows of the `kv` table, read with plain SQL.
fn rows(db: &mut dyn SqliteDatabase) -> Vec<KvEntry> {
    db.all("SELECT key, value FROM kv ORDER BY key", Params::NONE)
        .expect("read kv")
        .into_iter()
        .map(|row| {
            (
                row.get::<Vec<u8>>(0).expect("key"),
                row.get::<Vec<u8>>(1).expect("value"),
            )
        })
        .collect()
}

/// A created actor's `state/<id>` is a version 3 `ActorState`: the bytes up to
/// `createdAt` are checked one by one against the spec's encoding, `kvStorage` is empty
/// (KV lives in SQLite) and the file decodes to the actor's fields.
pub(crate) fn files_state_v3_bytes(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let info = driver.create_actor(
        "a1",
        "counter",
        vec!["k".into(), "é".into()],
        &entries(&[("x", "1")]),
    )?;
    let bytes = std::fs::read(cx.dir().join("state/a1"))?;
    let mut expected = vec![0x03, 0x00]; // version 3, u16 little-endian
    expected.extend([0x02, b'a', b'1']); // actorId
    expected.push(0x07);
    expected.extend(b"counter"); // name
    expected.extend([0x02, 0x01, b'k', 0x02, 0xc3, 0xa9]); // key: ["k", "é"]
    expected.push(0x00); // kvStorage: no entry
    expected.extend(info.created_at.to_le_bytes()); // createdAt, u64 LE
    assert!(
        bytes.len() >= expected.len() + 4,
        "state file too short: {bytes:02x?}"
    );
    assert_eq!(
        &bytes[..expected.len()],
        &expected[..],
        "state bytes: {bytes:02x?}"
    );
    let (version, state) = decode_state(&bytes)?;
    assert_eq!(version, 3);
    assert_eq!(state.actor_id, "a1");
    assert_eq!(state.name, "counter");
    assert_eq!(state.key, vec!["k".to_owned(), "é".to_owned()]);
    assert!(
        state.kv_storage.is_empty(),
        "KV entries went into the state file"
    );
    assert_eq!(state.created_at, info.created_at);
    // No temporary file is left behind by the atomic write.
    let leftovers: Vec<String> = files_under(cx.dir())
        .into_iter()
        .filter(|f| f.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    Ok(())
}

/// The actor database holds exactly the `kv` table (BLOB key primary key, BLOB value,
/// both NOT NULL), is in WAL mode (file header bytes 18 and 19 are 2, and a `-wal` file
/// exists while the actor runs), and holds the entries as raw BLOBs.
pub(crate) fn files_database_schema_and_wal(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[(b"k\0\xff".to_vec(), b"v\0".to_vec())]);
    driver.kv_put("a", &entries(&[("text", "value")]))?;
    assert!(
        cx.dir().join("databases/a.db-wal").exists(),
        "no -wal while running: {:?}",
        files_under(cx.dir())
    );
    driver.sleep_actor("a", None)?;
    let header = std::fs::read(cx.dir().join("databases/a.db"))?;
    assert!(
        header.len() >= 100,
        "database file of {} bytes",
        header.len()
    );
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!((header[18], header[19]), (2, 2), "not a WAL database");

    let mut db = open_db(cx, "a");
    let tables: Vec<String> = db
        .all(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Params::NONE,
        )?
        .into_iter()
        .map(|row| row.get::<String>(0))
        .collect::<Result<_, _>>()?;
    // `kv` as rivetkit has it, and the size our triggers keep (`fs_driver` docs).
    assert_eq!(tables, vec!["kv".to_owned(), "kv_size".to_owned()]);
    let used: i64 = db
        .get("SELECT used FROM kv_size", Params::NONE)?
        .ok_or("no size row")?
        .get(0)?;
    assert_eq!(
        used,
        3 + 2 + 4 + 5,
        "the kept size is the sum of key + value"
    );
    let columns: Vec<(String, String, i64, i64)> = db
        .all(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('kv')",
            Params::NONE,
        )?
        .into_iter()
        .map(|row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .collect::<Result<_, sqlite_runtime::Error>>()?;
    assert_eq!(
        columns,
        vec![
            ("key".to_owned(), "BLOB".to_owned(), 1, 1),
            ("value".to_owned(), "BLOB".to_owned(), 1, 0),
        ]
    );
    let types: Vec<String> = db
        .all(
            "SELECT DISTINCT typeof(key) || '/' || typeof(value) FROM kv",
            Params::NONE,
        )?
        .into_iter()
        .map(|row| row.get::<String>(0))
        .collect::<Result<_, _>>()?;
    assert_eq!(types, vec!["blob/blob".to_owned()]);
    let mode = db
        .get("PRAGMA journal_mode", Params::NONE)?
        .map(|row| row.get::<String>(0))
        .transpose()?;
    assert_eq!(mode.as_deref(), Some("wal"));
    assert_eq!(
        rows(&mut *db),
        vec![
            (b"k\0\xff".to_vec(), b"v\0".to_vec()),
            (b"text".to_vec(), b"value".to_vec()),
        ]
    );
    db.close()?;
    Ok(())
}

/// Destroy removes `state/<id>`, `databases/<id>.db`, its `-wal` and `-shm`, and
/// `alarms/<id>`, and leaves other actors' files alone.
pub(crate) fn files_destroy_removes_every_file(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "gone", &entries(&[("k", "v")]));
    create(&driver, "kept", &entries(&[("k", "v")]));
    driver.kv_put("gone", &entries(&[("k2", "v2")]))?;
    driver.set_alarm("gone", 42)?;
    driver.set_alarm("kept", 43)?;
    let gone_files = [
        "state/gone",
        "databases/gone.db",
        "databases/gone.db-wal",
        "databases/gone.db-shm",
        "alarms/gone",
    ];
    for file in gone_files {
        assert!(
            cx.dir().join(file).exists(),
            "{file} missing before destroy: {:?}",
            files_under(cx.dir())
        );
    }
    let kept_before: Vec<String> = files_under(cx.dir())
        .into_iter()
        .filter(|f| f.contains("kept"))
        .collect();
    driver.destroy_actor("gone", None)?;
    let after = files_under(cx.dir());
    let leftovers: Vec<&String> = after.iter().filter(|f| f.contains("gone")).collect();
    assert!(leftovers.is_empty(), "left after destroy: {leftovers:?}");
    let kept_after: Vec<String> = after.into_iter().filter(|f| f.contains("kept")).collect();
    assert_eq!(kept_after, kept_before);
    assert_eq!(all(&driver, "kept"), entries(&[("k", "v")]));
    assert_eq!(driver.get_alarm("kept")?, Some(43));
    Ok(())
}

/// Database files left under an id without a state file (e.g. a `-wal` full of old
/// rows) are removed by `create_actor`: the new actor starts empty.
pub(crate) fn files_create_ignores_leftover_database(cx: &Context) -> CaseResult {
    // Build a leftover database with a row and keep its -wal: open, write, and copy
    // the files away while the connection is still open.
    std::fs::create_dir_all(cx.dir().join("databases"))?;
    let mut db = cx.runtime().open(
        &Target::file(cx.dir().join("databases/x.db")),
        &OpenOptions::new(),
    )?;
    db.exec(
        "CREATE TABLE kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL);
         INSERT INTO kv VALUES (x'6f6c64', x'6f6c64');",
    )?;
    db.close()?;
    std::fs::write(cx.dir().join("databases/x.db-wal"), b"stale wal bytes")?;
    std::fs::write(cx.dir().join("databases/x.db-shm"), b"stale shm bytes")?;
    std::fs::create_dir_all(cx.dir().join("alarms"))?;
    std::fs::write(cx.dir().join("alarms/x"), [3, 0, 1, b'x', 5])?;

    let driver = open(cx);
    assert!(driver.load_actor("x").is_err(), "no state file: no actor");
    assert_eq!(
        driver.get_alarm("x")?,
        None,
        "alarm of a missing actor loaded"
    );
    create(&driver, "x", &[]);
    assert!(
        all(&driver, "x").is_empty(),
        "leftover rows leaked into a new actor"
    );
    assert_eq!(driver.get_alarm("x")?, None);
    assert!(!cx.dir().join("alarms/x").exists());
    driver.kv_put("x", &entries(&[("new", "1")]))?;
    driver.sleep_actor("x", None)?;
    assert_eq!(all(&driver, "x"), entries(&[("new", "1")]));
    Ok(())
}

/// Names containing `.tmp.` are never actors; such files are removed at start-up once
/// older than the stale age (one hour by default), and kept while fresh.
pub(crate) fn files_temp_files(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "real", &[]);
    let state = std::fs::read(cx.dir().join("state/real"))?;
    drop(driver);
    let fresh = cx.dir().join("state/real.tmp.fresh");
    let stale = cx.dir().join("state/real.tmp.stale");
    let stale_db = cx.dir().join("databases/real.db.tmp.stale");
    std::fs::write(&fresh, &state)?;
    for path in [&stale, &stale_db] {
        std::fs::write(path, &state)?;
        let file = std::fs::File::options().write(true).open(path)?;
        file.set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))?;
    }
    let driver = open(cx);
    assert!(fresh.exists(), "a fresh temporary file was removed");
    assert!(!stale.exists(), "a stale temporary file was kept");
    assert!(!stale_db.exists(), "a stale temporary file was kept");
    let ids: Vec<String> = driver
        .list_actors(None, 10)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["real"], "a temporary file listed as an actor");
    drop(driver);
    // With a stale age of zero, even the fresh one goes.
    std::thread::sleep(Duration::from_millis(20));
    let driver = super::support::open_with(
        cx,
        fs_driver::DriverOptions::new().stale_temp_age(Duration::ZERO),
    );
    assert!(!fresh.exists());
    assert!(driver.load_actor("real").is_ok());
    Ok(())
}

/// Everything written survives sleep and a fresh driver on the same root: actors,
/// entries (binary keys and values, empty values), alarms.
pub(crate) fn files_data_persists_across_reopen(cx: &Context) -> CaseResult {
    let expected: Vec<KvEntry> = {
        let mut e: Vec<KvEntry> = (0u8..=255)
            .step_by(17)
            .map(|b| (vec![b, 0x00, 0xff, b], vec![b; usize::from(b) * 3]))
            .collect();
        e.push((b"empty".to_vec(), Vec::new()));
        e.sort();
        e
    };
    {
        let driver = open(cx);
        driver.create_actor("p", "persist", vec!["x".into()], &expected)?;
        driver.kv_put("p", &entries(&[("later", "v")]))?;
        driver.kv_delete("p", &[b"later"])?;
        driver.set_alarm("p", 99)?;
        driver.sleep_actor("p", None)?;
        assert_eq!(all(&driver, "p"), expected, "after sleep");
        // Dropped while running: the connection is closed by drop.
    }
    let driver = open(cx);
    assert_eq!(all(&driver, "p"), expected, "after a fresh open");
    let info = driver.load_actor("p")?;
    assert_eq!(
        (info.name.as_str(), info.key.clone()),
        ("persist", vec!["x".to_owned()])
    );
    assert_eq!(driver.get_alarm("p")?, Some(99));
    assert_eq!(
        driver.kv_list_prefix("p", &[0x11], ListOptions::new())?,
        vec![(vec![0x11, 0x00, 0xff, 0x11], vec![0x11; 51])]
    );
    drop(driver);
    // The raw table agrees.
    let mut db = open_db(cx, "p");
    assert_eq!(rows(&mut *db), expected);
    db.close()?;
    Ok(())
}
