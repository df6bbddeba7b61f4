//! A remote engine's floor: what one request costs, sent by its client directly: a point
//! `SELECT`, and a single-row autocommit `INSERT OR REPLACE` (one request, one commit).
//! It runs only the `get` and `put` workloads ([`Variant::measures`](super::Variant::measures));
//! the driver's rows there are measured against it, and its batch put against the
//! floor's single insert.

use sqlite_runtime::{OpenOptions, SqliteDatabase, SqliteRuntime, Target, params};

use super::{Entry, Settings, Store};
use crate::Result;
use crate::keys::{Key, Val};
use crate::sql;

/// What the floor answers for a workload it does not run.
const NOT_MEASURED: &str = "the floor runs only point gets and single puts";

/// The floor's database: the driver's `kv` table with the template's entries.
pub(crate) struct FloorStore {
    db: Box<dyn SqliteDatabase>,
}

impl FloorStore {
    /// Opens `name` on `runtime`'s engine and fills it with `entries` entries (in
    /// transactions of the most rows one statement of the driver takes).
    pub(crate) fn open(
        runtime: &dyn SqliteRuntime,
        name: &std::path::Path,
        entries: u64,
        settings: Settings,
    ) -> Result<Self> {
        let options = OpenOptions::new().synchronous(settings.synchronous);
        let mut db = runtime.open(&Target::file(name), &options)?;
        db.exec(sql::CREATE_TABLE)?;
        let mut index = 0;
        while index < entries {
            let end = (index + 64).min(entries);
            db.exec("BEGIN IMMEDIATE")?;
            for i in index..end {
                let (key, value) = (crate::keys::key(i), crate::keys::initial_value(i));
                db.run(sql::PUT, params![&key[..], &value[..]])?;
            }
            db.exec("COMMIT")?;
            index = end;
        }
        Ok(FloorStore { db })
    }
}

impl Store for FloorStore {
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        let row = self.db.get(sql::GET, params![&key[..]])?;
        Ok(row.map(|row| row.get::<Vec<u8>>(0)).transpose()?)
    }

    fn get_many(&mut self, _keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        Err(NOT_MEASURED.into())
    }

    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()> {
        let [(key, value)] = entries else {
            return Err(NOT_MEASURED.into());
        };
        self.db.run(sql::PUT, params![&key[..], &value[..]])?;
        Ok(())
    }

    fn list_range(&mut self, _start: &[u8], _end: &[u8], _limit: usize) -> Result<Vec<Entry>> {
        Err(NOT_MEASURED.into())
    }

    fn delete_range(&mut self, _start: &[u8], _end: &[u8]) -> Result<Option<u64>> {
        Err(NOT_MEASURED.into())
    }

    fn sql_get(&mut self, _id: i64) -> Result<Option<Vec<u8>>> {
        Err(NOT_MEASURED.into())
    }

    fn close(mut self: Box<Self>) -> Result<()> {
        Ok(self.db.close()?)
    }
}
