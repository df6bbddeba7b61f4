//! The SQL the driver runs, taken from the driver itself (`fs_driver::sql`), so that
//! every variant runs exactly the same statements: a put is `BEGIN IMMEDIATE`, the size
//! read, one `INSERT OR REPLACE` per entry (with the size triggers), `COMMIT`. The
//! `sql_get` workload's statements are the bench's own: they play an application's SQL
//! on the actor's own table.

pub use fs_driver::sql::{
    BEGIN, COMMIT, CREATE_TABLE, DELETE_RANGE, GET, INSTALL_SIZE, PUT, RANGE_ASC, USED_SIZE,
};

/// The driver's default list limit (`fs_driver::limits::DEFAULT_LIST_LIMIT`), what a
/// prefix list without an explicit limit stops at.
pub const DEFAULT_LIST_LIMIT: usize = fs_driver::limits::DEFAULT_LIST_LIMIT;

/// The smallest key greater than every key starting with `prefix` (the driver's
/// `prefix_upper_bound`); `None` when the prefix is all `0xff`.
pub fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    fs_driver::limits::prefix_upper_bound(prefix)
}

/// The actor's own table of the `sql_get` workload, beside the driver's `kv`: row `id`
/// holds entry `id`'s initial value. It is the actor's (its name is not reserved), so the
/// driver reaches it through its guarded actor SQL.
pub const CREATE_ITEMS: &str =
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, value BLOB NOT NULL)";

/// Fills one row of the `items` table (in the template's transaction).
pub const INSERT_ITEM: &str = "INSERT INTO items (id, value) VALUES (?, ?)";

/// The `sql_get` workload's statement: a point query by rowid on the actor's own table.
pub const SQL_GET: &str = "SELECT value FROM items WHERE id = ?";
