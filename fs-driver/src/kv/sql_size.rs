//! What an actor's own SQL takes, kept in O(1): the pages its writing statements added
//! (measured by [`super::actor_sql`]) in a record `kv_sql_size`, made at the first SQL
//! write, and the page geometry a connection reads once.

use sqlite_runtime::{ErrorKind, Params, SqliteDatabase};

use crate::error::{Error, Result};

const CREATE_SQL_SIZE: &str = "CREATE TABLE IF NOT EXISTS kv_sql_size (\
    id INTEGER PRIMARY KEY CHECK (id = 0), pages INTEGER NOT NULL)";
const HAS_SQL_SIZE: &str =
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'kv_sql_size'";
const SQL_PAGES: &str = "SELECT pages FROM kv_sql_size";
pub(super) const PAGE_COUNT: &str = "PRAGMA page_count";
const FREELIST_COUNT: &str = "PRAGMA freelist_count";
const PAGE_SIZE: &str = "PRAGMA page_size";
pub(super) const MAX_PAGE_COUNT: &str = "PRAGMA max_page_count";

/// What a connection knows of its database's SQL record and page geometry.
#[derive(Debug, Default)]
pub(crate) struct SqlPages {
    /// Whether `kv_sql_size` exists (`None`: not looked yet).
    recorded: Option<bool>,
    page_size: Option<u64>,
    /// `max_page_count` as the connection had it.
    max_pages: Option<i64>,
}

impl SqlPages {
    /// The bytes SQL takes (0 for a database that never ran a writing statement).
    pub(crate) fn bytes(&mut self, db: &mut dyn SqliteDatabase) -> Result<u64> {
        if !self.recorded(db)? {
            return Ok(0);
        }
        let pages = match int(db, SQL_PAGES) {
            Ok(pages) => u64::try_from(pages).unwrap_or(0),
            // Made by a transaction that was rolled back.
            Err(Error::Sqlite(error)) if error.kind() == ErrorKind::Sql => {
                self.recorded = Some(false);
                return Ok(0);
            }
            Err(error) => return Err(error),
        };
        Ok(pages.saturating_mul(self.page_size(db)?))
    }

    fn recorded(&mut self, db: &mut dyn SqliteDatabase) -> Result<bool> {
        if let Some(recorded) = self.recorded {
            return Ok(recorded);
        }
        let recorded = db.get(HAS_SQL_SIZE, Params::NONE)?.is_some();
        self.recorded = Some(recorded);
        Ok(recorded)
    }

    pub(super) fn page_size(&mut self, db: &mut dyn SqliteDatabase) -> Result<u64> {
        if let Some(size) = self.page_size {
            return Ok(size);
        }
        let size = u64::try_from(int(db, PAGE_SIZE)?).unwrap_or(4096).max(512);
        self.page_size = Some(size);
        Ok(size)
    }

    /// Makes the record unless it exists (inside the caller's transaction; asked each
    /// time, since a transaction that made it may have been rolled back).
    pub(super) fn ensure_recorded(&mut self, db: &mut dyn SqliteDatabase) -> Result<()> {
        db.run(CREATE_SQL_SIZE, Params::NONE)?;
        self.recorded = Some(true);
        Ok(())
    }

    pub(super) fn max_pages(&mut self, db: &mut dyn SqliteDatabase) -> Result<i64> {
        if let Some(max) = self.max_pages {
            return Ok(max);
        }
        let max = int(db, MAX_PAGE_COUNT)?;
        self.max_pages = Some(max);
        Ok(max)
    }
}

pub(super) fn int(db: &mut dyn SqliteDatabase, sql: &str) -> Result<i64> {
    Ok(db
        .query_row(sql, Params::NONE, |row| row.get::<Option<i64>>(0))?
        .flatten()
        .unwrap_or(0))
}

pub(super) fn pages_in_use(db: &mut dyn SqliteDatabase) -> Result<i64> {
    Ok(int(db, PAGE_COUNT)? - int(db, FREELIST_COUNT)?)
}
