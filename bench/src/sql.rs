//! The SQL the driver runs, taken from the driver itself (`fs_driver::sql`), so that
//! every variant runs exactly the same statements: a put is `BEGIN IMMEDIATE`, the size
//! read, one `INSERT OR REPLACE` per entry (with the size triggers), `COMMIT`.

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
