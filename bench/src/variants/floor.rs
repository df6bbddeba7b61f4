//! A remote engine's floor: what one request costs, sent by its client directly. Every
//! read is one point `SELECT`, every write one single-row autocommit `INSERT OR REPLACE`
//! (one request, one commit), whatever the workload asks for: the driver's row in the
//! same cell is then measured against the least a request to the engine can cost.

use sqlite_runtime::{OpenOptions, SqliteDatabase, SqliteRuntime, Target, params};

use super::{Entry, Settings, Store};
use crate::Result;
use crate::keys::{Key, Val};
use crate::sql;

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

    /// One point `SELECT`: one request.
    fn select(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let row = self.db.get(sql::GET, params![key])?;
        Ok(row.map(|row| row.get::<Vec<u8>>(0)).transpose()?)
    }
}

impl Store for FloorStore {
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        self.select(key)
    }

    fn get_many(&mut self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let first = keys.first().ok_or("no key")?;
        Ok(vec![self.select(first)?])
    }

    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()> {
        let (key, value) = entries.first().ok_or("no entry")?;
        self.db.run(sql::PUT, params![&key[..], &value[..]])?;
        Ok(())
    }

    fn list_prefix(&mut self, prefix: &[u8]) -> Result<Vec<Entry>> {
        self.list_range(prefix, &[], 0)
    }

    fn list_range(&mut self, start: &[u8], _end: &[u8], _limit: usize) -> Result<Vec<Entry>> {
        Ok(self
            .select(start)?
            .map(|value| vec![(start.to_vec(), value)])
            .unwrap_or_default())
    }

    fn delete_range(&mut self, start: &[u8], _end: &[u8]) -> Result<Option<u64>> {
        // The write floor: one autocommit insert (the cell restores what it deletes).
        let value = [0u8; crate::keys::VALUE_LEN];
        self.db.run(sql::PUT, params![start, &value[..]])?;
        Ok(None)
    }

    fn sql_get(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        self.select(&crate::keys::key(u64::try_from(id).unwrap_or(0)))
    }

    fn close(mut self: Box<Self>) -> Result<()> {
        Ok(self.db.close()?)
    }
}
