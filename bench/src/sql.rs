//! The SQL the driver runs, copied verbatim from `fs-driver/src/kv.rs` (its constants are
//! private), so that every variant runs exactly the same statements. A test checks that
//! each text still appears in the driver's source.

/// The `kv` table.
pub const CREATE_TABLE_SQL: &str =
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)";
/// Point get.
pub const GET_SQL: &str = "SELECT value FROM kv WHERE key = ?";
/// The size an entry takes before a put replaces it (storage accounting).
pub const OLD_SIZE_SQL: &str = "SELECT length(key) + length(value) FROM kv WHERE key = ?";
/// Insert or replace one entry.
pub const PUT_SQL: &str = "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)";
/// Delete `[start, end)`, returning each deleted entry's size.
pub const DELETE_RANGE_SQL: &str =
    "DELETE FROM kv WHERE key >= ? AND key < ? RETURNING length(key) + length(value)";
/// Ascending range scan (also used for prefixes). Like the driver, every variant stops
/// after the list's limit in Rust: a bound `LIMIT ?` makes SQLite 3.4x re-prepare the
/// statement on every execution.
pub const RANGE_ASC_SQL: &str =
    "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key ASC";
/// What the driver's write transactions begin with (`Transaction` in sqlite-runtime).
pub const BEGIN_SQL: &str = "BEGIN IMMEDIATE";
/// What they end with.
pub const COMMIT_SQL: &str = "COMMIT";

/// The driver's default list limit (`fs_driver::limits::DEFAULT_LIST_LIMIT`), what a
/// prefix list without an explicit limit stops at.
pub const DEFAULT_LIST_LIMIT: usize = fs_driver::limits::DEFAULT_LIST_LIMIT;

/// The smallest key greater than every key starting with `prefix` (the driver's
/// `prefix_upper_bound`); `None` when the prefix is all `0xff`.
pub fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    fs_driver::limits::prefix_upper_bound(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The driver's source, to check the copies against.
    const DRIVER_KV: &str = include_str!("../../fs-driver/src/kv.rs");
    const RUNTIME_TX: &str = include_str!("../../sqlite-runtime/src/transaction.rs");

    #[test]
    fn statements_are_the_drivers() {
        for sql in [
            CREATE_TABLE_SQL,
            GET_SQL,
            OLD_SIZE_SQL,
            PUT_SQL,
            DELETE_RANGE_SQL,
            RANGE_ASC_SQL,
        ] {
            assert!(
                DRIVER_KV.contains(&format!("\"{sql}\"")),
                "the driver no longer runs `{sql}`: update bench/src/sql.rs"
            );
        }
        for sql in [BEGIN_SQL, COMMIT_SQL] {
            assert!(RUNTIME_TX.contains(&format!("\"{sql}\"")), "{sql}");
        }
    }
}
