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
