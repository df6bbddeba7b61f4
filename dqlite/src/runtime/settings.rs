//! What every server connection of a database gets: the settings of its
//! [`OpenOptions`], then the connection pragmas the caller ran, replayed after a
//! reconnection.

use std::time::Duration;

use sqlite_runtime::{OpenOptions, Params, Result};

use crate::connection::Connection;

/// `SQLITE_ROW`: what EXEC answers for a statement that returns rows.
const SQLITE_ROW: i32 = 100;

/// Pragmas that set something of the connection (not of the database): run again, as
/// the caller last ran them, on every new connection, so that a reconnection is not
/// seen. Database settings (`user_version`, `journal_mode`, ...) live in the database.
pub(crate) const CONNECTION_PRAGMAS: &[&str] = &[
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "case_sensitive_like",
    "cell_size_check",
    "foreign_keys",
    "ignore_check_constraints",
    "query_only",
    "recursive_triggers",
    "reverse_unordered_selects",
    "temp_store",
    "trusted_schema",
];

/// The settings every server connection gets from [`OpenOptions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) busy_timeout: Duration,
    foreign_keys: bool,
    query_only: bool,
}

impl Settings {
    /// What `options` ask of a connection: the busy timeout and foreign keys as every
    /// backend applies them, and `query_only` for read-only (and immutable) opens.
    /// Journal mode and `synchronous` belong to dqlite.
    pub(crate) fn new(options: &OpenOptions) -> Self {
        Settings {
            busy_timeout: options.busy_timeout,
            foreign_keys: options.foreign_keys,
            query_only: options.is_read_only(),
        }
    }

    /// The statements applying the settings, for one EXEC_SQL. The last one,
    /// `busy_timeout` (dqlite never waits for a lock itself: the client waits this
    /// long), returns the new value as a row, so the server answers "a row" once it has
    /// applied it.
    pub(crate) fn sql(&self) -> String {
        format!(
            "PRAGMA foreign_keys = {};{} PRAGMA busy_timeout = {}",
            if self.foreign_keys { "ON" } else { "OFF" },
            if self.query_only {
                " PRAGMA query_only = ON;"
            } else {
                ""
            },
            self.busy_timeout.as_millis()
        )
    }
}

/// Applies the settings and the replayed pragmas to a new server connection.
pub(crate) fn apply_settings(
    link: &mut Connection,
    settings: &Settings,
    replay: &[(String, String)],
) -> Result<()> {
    let statements =
        std::iter::once(settings.sql()).chain(replay.iter().map(|(_, sql)| sql.clone()));
    for sql in statements {
        match link.exec_sql(&sql, Params::NONE) {
            // A setter that returns the new value was applied all the same.
            Err(error) if error.extended_code() != Some(SQLITE_ROW) => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql_scan;

    #[test]
    fn settings_follow_the_options() {
        let defaults = Settings::new(&OpenOptions::new());
        assert_eq!(
            defaults.sql(),
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000"
        );
        let custom = Settings::new(
            &OpenOptions::new()
                .foreign_keys(false)
                .read_only(true)
                .busy_timeout(Duration::ZERO),
        );
        assert_eq!(
            custom.sql(),
            "PRAGMA foreign_keys = OFF; PRAGMA query_only = ON; PRAGMA busy_timeout = 0"
        );
        assert!(Settings::new(&OpenOptions::new().immutable(true)).query_only);
        assert_eq!(sqlite_scan_pieces(&defaults.sql()), 2);
    }

    fn sqlite_scan_pieces(sql: &str) -> usize {
        sql_scan::split(sql).len()
    }
}
