//! The SQL the driver runs on an actor's database, public so that benchmarks and tools
//! run exactly the same statements (and tests can find them in the statement cache).
//!
//! Every statement is a constant: a connection prepares each once and reuses it.

/// The table every actor database holds (rivetkit's).
pub const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)";
/// Whether the table holds any row (not a count).
pub const HAS_ANY: &str = "SELECT 1 FROM kv LIMIT 1";
/// The value of one key.
pub const GET: &str = "SELECT value FROM kv WHERE key = ?";
/// The sizes of the statements a batch is written or read with (see [`get_many`],
/// [`put_many`], [`delete_many`]): a connection prepares at most these few statements
/// of each kind.
pub const BATCH_SIZES: [usize; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// The statement of `kind` for `n` items, made once for each size of [`BATCH_SIZES`].
fn batch_statement(kind: usize, n: usize) -> &'static str {
    static TEXTS: std::sync::OnceLock<[Vec<String>; 3]> = std::sync::OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        let make = |one: &str, joiner: &str, text: &dyn Fn(&str) -> String| -> Vec<String> {
            BATCH_SIZES
                .iter()
                .map(|&size| text(&vec![one; size].join(joiner)))
                .collect()
        };
        [
            make("?", ", ", &|marks| {
                format!("SELECT key, value FROM kv WHERE key IN ({marks})")
            }),
            make("(?, ?)", ", ", &|rows| {
                format!("INSERT OR REPLACE INTO kv (key, value) VALUES {rows}")
            }),
            make("?", ", ", &|marks| {
                format!("DELETE FROM kv WHERE key IN ({marks})")
            }),
        ]
    });
    let index = BATCH_SIZES
        .iter()
        .position(|&size| size >= n)
        .unwrap_or(BATCH_SIZES.len() - 1);
    texts[kind][index].as_str()
}

/// The entries of up to `n` keys in one statement (`SELECT key, value FROM kv WHERE key
/// IN (?, …)`) with the smallest size of [`BATCH_SIZES`] that holds `n`; a shorter batch
/// repeats its last key.
pub fn get_many(n: usize) -> Option<&'static str> {
    (n <= 128).then(|| batch_statement(0, n))
}

/// The most entries one [`put_many`] statement takes: two parameters each, and dqlite
/// 1.11 takes at most 255 parameters per statement.
pub const PUT_MANY_MAX: usize = 64;

/// Inserts or replaces exactly `n` entries (`n` in [`BATCH_SIZES`]) in one statement,
/// as rivetkit's `INSERT OR REPLACE`: `(?, ?)` for each, key then value.
pub fn put_many(n: usize) -> &'static str {
    batch_statement(1, n)
}

/// Deletes exactly `n` keys (`n` in [`BATCH_SIZES`]) in one statement.
pub fn delete_many(n: usize) -> &'static str {
    batch_statement(2, n)
}

/// A whole put in one autocommit statement, for a remote engine where each statement is
/// a round trip: the entries packed in one blob (`?1`, see [`pack_entries`]) and where
/// each lies in it (`?2`, a JSON array of `[offset, key length, value length]`), written
/// only if the payload (`?3`) fits in the quota (`?4`) — the check a transaction would
/// make with its own read of the size. Writes nothing when the check fails.
pub const PUT_PACKED: &str = "INSERT OR REPLACE INTO kv (key, value) \
     SELECT substr(?1, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]')), \
            substr(?1, json_extract(e.value, '$[0]') + json_extract(e.value, '$[1]'), \
                   json_extract(e.value, '$[2]')) \
     FROM json_each(?2) AS e \
     WHERE (SELECT used FROM kv_size) + ?3 <= ?4 \
     ORDER BY e.key";

/// [`PUT_PACKED`] under a fence: also writes nothing unless the database's claim
/// (`kv_owner`) is still the lease holder's (`?5`, `?6`), read in the same statement as
/// the write, so under the same write lock.
pub const PUT_PACKED_FENCED: &str = "INSERT OR REPLACE INTO kv (key, value) \
     SELECT substr(?1, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]')), \
            substr(?1, json_extract(e.value, '$[0]') + json_extract(e.value, '$[1]'), \
                   json_extract(e.value, '$[2]')) \
     FROM json_each(?2) AS e \
     WHERE (SELECT used FROM kv_size) + ?3 <= ?4 \
       AND (SELECT owner = ?5 AND epoch = ?6 FROM kv_owner) \
     ORDER BY e.key";

/// The keys of a batch delete packed as [`pack_entries`] packs entries (with empty
/// values), deleted in one autocommit statement.
pub const DELETE_PACKED: &str = "DELETE FROM kv WHERE key IN (\
     SELECT substr(?1, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]')) \
     FROM json_each(?2) AS e)";

/// [`DELETE_PACKED`] under a fence (`?3`, `?4`, as [`PUT_PACKED_FENCED`]'s `?5`, `?6`).
pub const DELETE_PACKED_FENCED: &str = "DELETE FROM kv WHERE key IN (\
     SELECT substr(?1, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]')) \
     FROM json_each(?2) AS e) \
     AND (SELECT owner = ?3 AND epoch = ?4 FROM kv_owner)";

/// [`DELETE_RANGE`] under a fence (`?3`, `?4`), in one autocommit statement.
pub const DELETE_RANGE_FENCED: &str = "DELETE FROM kv WHERE key >= ?1 AND key < ?2 \
     AND (SELECT owner = ?3 AND epoch = ?4 FROM kv_owner)";

/// Packs `entries` for [`PUT_PACKED`]: every key then its value, back to back (and one
/// byte more), and the JSON array of `[offset, key length, value length]` (offsets from
/// 1, as `substr`).
pub fn pack_entries<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> (Vec<u8>, String) {
    use std::fmt::Write as _;

    let total: usize = entries
        .iter()
        .map(|(key, value)| key.as_ref().len() + value.as_ref().len())
        .sum();
    let mut blob = Vec::with_capacity(total + 1);
    let mut layout = String::with_capacity(entries.len() * 16 + 2);
    layout.push('[');
    for (index, (key, value)) in entries.iter().enumerate() {
        let (key, value) = (key.as_ref(), value.as_ref());
        if index > 0 {
            layout.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(layout, "[{},{},{}]", blob.len() + 1, key.len(), value.len());
        blob.extend_from_slice(key);
        blob.extend_from_slice(value);
    }
    layout.push(']');
    // Never empty: SQLite's `substr` of an empty blob is NULL, even for zero bytes.
    blob.push(0);
    (blob, layout)
}

/// Inserts or replaces one entry (as rivetkit does).
pub const PUT: &str = "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)";
/// Deletes one key.
pub const DELETE: &str = "DELETE FROM kv WHERE key = ?";
/// Deletes the keys in `[?1, ?2)`.
pub const DELETE_RANGE: &str = "DELETE FROM kv WHERE key >= ? AND key < ?";
// Lists carry no `LIMIT ?`: since SQLite 3.4x a bound LIMIT marks the statement for
// re-preparation on every new binding, which would defeat the statement cache. The scan
// stops after `limit` rows instead; the primary-key order needs no sort, so stopping
// early reads no more rows than a LIMIT would.
/// Entries with keys in `[?1, ?2)`, ascending.
pub const RANGE_ASC: &str = "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key ASC";
/// Entries with keys in `[?1, ?2)`, descending.
pub const RANGE_DESC: &str =
    "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC";
/// Entries with keys from `?1` on, ascending (a prefix with no upper bound).
pub const FROM_ASC: &str = "SELECT key, value FROM kv WHERE key >= ? ORDER BY key ASC";
/// Entries with keys from `?1` on, descending.
pub const FROM_DESC: &str = "SELECT key, value FROM kv WHERE key >= ? ORDER BY key DESC";
/// Every write runs in one transaction that takes the write lock at once.
pub const BEGIN: &str = "BEGIN IMMEDIATE";
/// Ends a write.
pub const COMMIT: &str = "COMMIT";
/// Undoes a write that failed.
pub const ROLLBACK: &str = "ROLLBACK";
/// Creates the storage-size table and its triggers (see the driver docs: the size is
/// kept by triggers, so it is exact whoever writes), and fills it with one scan, unless they
/// exist. Run inside a write transaction.
pub const INSTALL_SIZE: &str = "
CREATE TABLE IF NOT EXISTS kv_size (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    used INTEGER NOT NULL,
    pending INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS kv_size_before_insert BEFORE INSERT ON kv BEGIN
    UPDATE kv_size SET pending =
        COALESCE((SELECT length(key) + length(value) FROM kv WHERE key = NEW.key), 0);
END;
CREATE TRIGGER IF NOT EXISTS kv_size_after_insert AFTER INSERT ON kv BEGIN
    UPDATE kv_size SET used = used + length(NEW.key) + length(NEW.value) - pending, pending = 0;
END;
CREATE TRIGGER IF NOT EXISTS kv_size_before_update_key BEFORE UPDATE OF key ON kv
WHEN NEW.key IS NOT OLD.key BEGIN
    UPDATE kv_size SET pending =
        COALESCE((SELECT length(key) + length(value) FROM kv WHERE key = NEW.key), 0);
END;
CREATE TRIGGER IF NOT EXISTS kv_size_after_update AFTER UPDATE ON kv BEGIN
    UPDATE kv_size SET
        used = used - length(OLD.key) - length(OLD.value) + length(NEW.key) + length(NEW.value)
            - CASE WHEN NEW.key IS NOT OLD.key THEN pending ELSE 0 END,
        pending = 0;
END;
CREATE TRIGGER IF NOT EXISTS kv_size_after_delete AFTER DELETE ON kv BEGIN
    UPDATE kv_size SET used = used - length(OLD.key) - length(OLD.value);
END;
INSERT INTO kv_size (id, used, pending)
    SELECT 0, (SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv), 0
    WHERE NOT EXISTS (SELECT 1 FROM kv_size);
";

/// The kept storage size.
pub const USED_SIZE: &str = "SELECT used FROM kv_size";

/// The storage size by a scan of the table (for databases the size table cannot be added to, e.g.
/// read-only ones, and for checks).
pub const SCAN_SIZE: &str = "SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv";

#[cfg(test)]
mod tests {
    use super::*;
    use sqlite_runtime::{OpenOptions, Params, SqliteDatabase, SqliteRuntime, Target, params};
    use sqlite_runtime_backends::RusqliteRuntime;

    fn table() -> Box<dyn SqliteDatabase> {
        let mut db = RusqliteRuntime::new()
            .open(&Target::Memory, &OpenOptions::new())
            .unwrap();
        db.exec(CREATE_TABLE).unwrap();
        db.exec(&format!("BEGIN; {INSTALL_SIZE} COMMIT;")).unwrap();
        db
    }

    fn rows(db: &mut dyn SqliteDatabase) -> Vec<(Vec<u8>, Vec<u8>, String)> {
        let mut rows = Vec::new();
        db.for_each(
            "SELECT key, value, typeof(value) FROM kv ORDER BY key",
            Params::NONE,
            &mut |row| {
                rows.push((row.get(0)?, row.get(1)?, row.get(2)?));
                Ok(std::ops::ControlFlow::Continue(()))
            },
        )
        .unwrap();
        rows
    }

    fn used(db: &mut dyn SqliteDatabase) -> i64 {
        db.get(USED_SIZE, Params::NONE)
            .unwrap()
            .unwrap()
            .get(0)
            .unwrap()
    }

    /// The packed put writes what one `INSERT OR REPLACE` per entry would, in order (a
    /// key given twice keeps its last value), empty values as empty blobs, with the size
    /// kept by the triggers; past the quota it writes nothing.
    #[test]
    fn a_packed_put_writes_each_entry_as_one_insert_would() {
        let mut db = table();
        let entries: Vec<(&[u8], &[u8])> = vec![
            (b"b", b"first"),
            (b"a", b""),
            (b"b", b"second"),
            (b"\x00\xff", b"\x00\x01\x02"),
        ];
        let (blob, layout) = pack_entries(&entries);
        assert_eq!(layout, "[[1,1,5],[7,1,0],[8,1,6],[15,2,3]]");
        let ran = db
            .run(PUT_PACKED, params![&blob[..], &layout, 0i64, 1_000i64])
            .unwrap();
        assert!(ran.changes > 0);
        let blob_type = || "blob".to_owned();
        assert_eq!(
            rows(&mut *db),
            vec![
                (b"\x00\xff".to_vec(), b"\x00\x01\x02".to_vec(), blob_type()),
                (b"a".to_vec(), b"".to_vec(), blob_type()),
                (b"b".to_vec(), b"second".to_vec(), blob_type()),
            ]
        );
        let scanned: i64 = db
            .get(SCAN_SIZE, Params::NONE)
            .unwrap()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(used(&mut *db), scanned);
        // The quota check: `used + payload` past the maximum writes nothing.
        let (blob, layout) = pack_entries(&[(b"c", b"c")]);
        let over = db
            .run(
                PUT_PACKED,
                params![&blob[..], &layout, 100i64, scanned + 99],
            )
            .unwrap();
        assert_eq!(over.changes, 0);
        assert_eq!(rows(&mut *db).len(), 3);
    }

    /// Under a fence, a claim that is not the holder's (or no claim) writes nothing.
    #[test]
    fn a_fenced_packed_put_writes_only_for_the_claim_holder() {
        let mut db = table();
        db.exec(
            "CREATE TABLE kv_owner (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, \
             epoch INTEGER NOT NULL)",
        )
        .unwrap();
        let (blob, layout) = pack_entries(&[(b"k", b"v")]);
        let put = |db: &mut dyn SqliteDatabase, owner: &str, epoch: i64| {
            db.run(
                PUT_PACKED_FENCED,
                params![&blob[..], &layout, 3i64, 1_000i64, owner, epoch],
            )
            .unwrap()
            .changes
        };
        assert_eq!(put(&mut *db, "a", 1), 0, "no claim yet");
        db.exec("INSERT INTO kv_owner VALUES (0, 'a', 2)").unwrap();
        assert_eq!(put(&mut *db, "a", 1), 0, "an earlier epoch");
        assert_eq!(put(&mut *db, "b", 2), 0, "another driver");
        assert!(put(&mut *db, "a", 2) > 0);
        assert_eq!(rows(&mut *db).len(), 1);
    }
}
