//! Storage accounting: the size each actor's database keeps is exact whoever writes,
//! the driver or another program on the same file (rivetkit's driver writes with
//! `INSERT OR REPLACE` and knows nothing of the bookkeeping).

use fs_driver::sql;
use sqlite_runtime::{OpenOptions, Params, SqliteDatabase, Target, ValueRef, params};

use super::support::{create, entries, open};
use crate::{CaseResult, Context};

fn foreign(cx: &Context, id: &str) -> Box<dyn SqliteDatabase> {
    // A plain connection, as another program would open the file.
    cx.runtime()
        .open(
            &Target::file(cx.dir().join(format!("databases/{id}.db"))),
            &OpenOptions::new().create(false),
        )
        .expect("open the actor database")
}

fn scanned(db: &mut dyn SqliteDatabase) -> u64 {
    let row = db.get(sql::SCAN_SIZE, Params::NONE).expect("scan");
    row.map_or(0, |row| row.get::<i64>(0).expect("a size") as u64)
}

/// Every form of write another program may use on the `kv` table keeps the driver's
/// size equal to a scan of the table: `INSERT OR REPLACE` (new and replaced keys, several
/// rows and a repeated key in one statement), plain `INSERT`, `INSERT OR IGNORE` on an
/// existing key, an upsert, `UPDATE` of a value and of a key (also onto an existing key
/// with `OR REPLACE`), `DELETE` of one key and of a range, and a failed statement.
pub(crate) fn accounting_exact_for_every_writer(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k1", "v1"), ("k2", "value-2")]));
    let mut db = foreign(cx, "a");
    let statements: &[(&str, &[&[u8]])] = &[
        (
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
            &[b"k1", b"longer value 1"],
        ),
        (
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
            &[b"k3", b""],
        ),
        (
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?), (?, ?), (?, ?)",
            &[b"k4", b"x", b"k4", b"xyz", b"k2", b"2"],
        ),
        (
            "INSERT INTO kv (key, value) VALUES (?, ?)",
            &[b"k5", b"five"],
        ),
        (
            "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)",
            &[b"k5", b"ignored!!"],
        ),
        (
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[b"k5", b"upserted value"],
        ),
        (
            "UPDATE kv SET value = ? WHERE key = ?",
            &[b"updated", b"k3"],
        ),
        (
            "UPDATE kv SET key = ? WHERE key = ?",
            &[b"k6-renamed", b"k4"],
        ),
        (
            "UPDATE OR REPLACE kv SET key = ? WHERE key = ?",
            &[b"k1", b"k2"],
        ),
        ("DELETE FROM kv WHERE key = ?", &[b"k3"]),
        ("DELETE FROM kv WHERE key >= ? AND key < ?", &[b"k5", b"k6"]),
    ];
    for (sql, params) in statements {
        let values: Vec<ValueRef<'_>> = params.iter().map(|p| ValueRef::Blob(p)).collect();
        db.run(sql, Params::from(values.as_slice()))?;
        assert_eq!(
            driver.kv_storage_used("a")?,
            scanned(&mut *db),
            "after `{sql}`"
        );
    }
    // A statement that fails changes neither the table nor the size.
    let before = driver.kv_storage_used("a")?;
    assert!(
        db.run(
            "INSERT INTO kv (key, value) VALUES (?, ?)",
            params![b"k1", b"dup"],
        )
        .is_err()
    );
    assert_eq!(driver.kv_storage_used("a")?, before);
    // And the driver's own writes after all that.
    driver.kv_put("a", &entries(&[("k7", "seven"), ("k1", "1")]))?;
    driver.kv_delete("a", &[b"k6-renamed"])?;
    assert_eq!(driver.kv_storage_used("a")?, scanned(&mut *db));
    Ok(())
}

/// A database written without the bookkeeping (by rivetkit, or an older version of this
/// driver) gets it at its first wake, from one scan; the size is exact from then on, and
/// the table is rivetkit's as before.
pub(crate) fn accounting_added_to_databases_without_it(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    driver.sleep_actor("a", None)?;
    {
        let mut db = foreign(cx, "a");
        db.exec(
            "DROP TRIGGER kv_size_before_insert; DROP TRIGGER kv_size_after_insert;
             DROP TRIGGER kv_size_before_update_key; DROP TRIGGER kv_size_after_update;
             DROP TRIGGER kv_size_after_delete; DROP TABLE kv_size;",
        )?;
        for i in 0..50u8 {
            db.run(sql::PUT, params![&[i], &[i; 20]])?;
        }
    }
    assert_eq!(driver.kv_storage_used("a")?, 50 * 21);
    let mut db = foreign(cx, "a");
    // Where lifecycles are leased (no local files), the lease holder's claim too.
    let tables = db.all(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name != 'kv_owner' \
         ORDER BY name",
        Params::NONE,
    )?;
    let tables: Vec<String> = tables
        .iter()
        .map(|row| row.get::<String>(0))
        .collect::<sqlite_runtime::Result<_>>()?;
    assert_eq!(tables, ["kv", "kv_size"]);
    db.run(sql::PUT, params![&[0], b""])?;
    assert_eq!(driver.kv_storage_used("a")?, scanned(&mut *db));
    Ok(())
}
