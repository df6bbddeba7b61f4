//! The variants compared: the raw C API, the driver on each backend, and each binding
//! used directly. All of them implement [`Store`] over the same SQL.

mod driver;
mod floor;
mod raw;
mod rusqlite_direct;
mod sqlx_direct;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlite_runtime::{SqliteRuntime, Synchronous};

use crate::Result;
use crate::keys::{Key, Val, Workload};
use crate::sql;

pub(crate) use raw::write_template;

/// How every connection of a pass is configured beyond the backends' defaults.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    /// `PRAGMA synchronous`.
    pub(crate) synchronous: Synchronous,
    /// `PRAGMA cache_size` in KiB; 0 keeps SQLite's default.
    pub(crate) cache_kib: u64,
}

impl Settings {
    /// The extra pragma every variant runs after its open, if any.
    pub(crate) fn cache_sql(&self) -> Option<String> {
        (self.cache_kib > 0).then(|| format!("PRAGMA cache_size = -{}", self.cache_kib))
    }
}

/// A listed entry.
pub(crate) type Entry = (Vec<u8>, Vec<u8>);

/// The KV operations every variant runs, with the driver's semantics.
pub(crate) trait Store: Send {
    /// Point get.
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>>;
    /// Batch get, one result per key.
    fn get_many(&mut self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>>;
    /// Put, as the driver does: one `BEGIN IMMEDIATE` transaction that reads the size,
    /// then inserts or replaces each entry.
    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()>;
    /// List by prefix with the driver's default limit: the range `[prefix, upper)`, as
    /// the driver scans it. The driver variant overrides this with the driver's own call.
    fn list_prefix(&mut self, prefix: &[u8]) -> Result<Vec<Entry>> {
        let upper = sql::prefix_upper_bound(prefix).ok_or("prefix without upper bound")?;
        self.list_range(prefix, &upper, sql::DEFAULT_LIST_LIMIT)
    }
    /// List `[start, end)` up to `limit`.
    fn list_range(&mut self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>>;
    /// Delete `[start, end)`; how many rows went, when the API tells.
    fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<Option<u64>>;
    /// SQL point query on the actor's own table ([`sql::SQL_GET`]): row `id`'s value.
    fn sql_get(&mut self, id: i64) -> Result<Option<Vec<u8>>>;
    /// Closes the connection.
    fn close(self: Box<Self>) -> Result<()>;
}

/// What kind of row a variant is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantKind {
    /// The SQLite C API, statements prepared once: the physical limit.
    Raw,
    /// The fs-driver on a backend.
    Driver,
    /// A binding used directly, without us.
    Direct,
    /// A remote engine's floor: one request per operation, sent by its client directly.
    Floor,
}

/// One variant to run.
#[derive(Clone)]
pub struct Variant {
    /// Its name in reports (`raw C API`, `driver/rusqlite`, `rusqlite direct`, ...).
    pub name: String,
    /// Its kind.
    pub kind: VariantKind,
    /// The backend behind a driver row.
    pub backend: Option<String>,
    maker: Maker,
}

#[derive(Clone)]
enum Maker {
    Raw,
    Driver(Arc<dyn SqliteRuntime>),
    Rusqlite,
    Sqlx,
    Floor(Arc<dyn SqliteRuntime>),
}

impl std::fmt::Debug for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variant").field("name", &self.name).finish()
    }
}

/// The durability settings a connection reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durability {
    /// `PRAGMA journal_mode`.
    pub journal_mode: String,
    /// `PRAGMA synchronous`, by name.
    pub synchronous: String,
}

impl Durability {
    pub(crate) fn new(journal_mode: String, synchronous: i64) -> Self {
        let synchronous = match synchronous {
            0 => "OFF".to_owned(),
            1 => "NORMAL".to_owned(),
            2 => "FULL".to_owned(),
            3 => "EXTRA".to_owned(),
            other => format!("unknown ({other})"),
        };
        Durability {
            journal_mode: journal_mode.to_uppercase(),
            synchronous,
        }
    }
}

impl Variant {
    /// The raw C API row.
    pub fn raw() -> Self {
        Variant {
            name: "raw C API".to_owned(),
            kind: VariantKind::Raw,
            backend: None,
            maker: Maker::Raw,
        }
    }

    /// The driver on `runtime`.
    pub fn driver(runtime: Arc<dyn SqliteRuntime>) -> Self {
        Variant {
            name: format!("driver/{}", runtime.backend()),
            kind: VariantKind::Driver,
            backend: Some(runtime.backend().to_owned()),
            maker: Maker::Driver(runtime),
        }
    }

    /// rusqlite used directly.
    pub fn rusqlite_direct() -> Self {
        Variant {
            name: "rusqlite direct".to_owned(),
            kind: VariantKind::Direct,
            backend: Some("rusqlite".to_owned()),
            maker: Maker::Rusqlite,
        }
    }

    /// sqlx used directly.
    pub fn sqlx_direct() -> Self {
        Variant {
            name: "sqlx direct".to_owned(),
            kind: VariantKind::Direct,
            backend: Some("sqlx".to_owned()),
            maker: Maker::Sqlx,
        }
    }

    /// The floor of `runtime`'s engine (one without local files): a point `SELECT` and
    /// a single-row autocommit `INSERT`, one request each, sent by its client directly.
    pub fn floor(runtime: Arc<dyn SqliteRuntime>) -> Self {
        Variant {
            name: format!("{} floor (1 request)", runtime.backend()),
            kind: VariantKind::Floor,
            backend: Some(runtime.backend().to_owned()),
            maker: Maker::Floor(runtime),
        }
    }

    /// Whether the variant runs `workload`: the floor runs only the point get and the
    /// single put (what one request does), a driver on an engine without actor SQL no
    /// `sql_get`; the others run every workload.
    pub fn measures(&self, workload: Workload) -> bool {
        match &self.maker {
            Maker::Floor(_) => matches!(workload, Workload::Get | Workload::Put),
            Maker::Driver(runtime) => {
                workload != Workload::SqlGet
                    || runtime
                        .capabilities()
                        .has(sqlite_runtime::Capability::GuardedSql)
            }
            Maker::Raw | Maker::Rusqlite | Maker::Sqlx => true,
        }
    }

    /// Opens the variant on a copy of `template` inside `dir`.
    pub(crate) fn open(
        &self,
        dir: &Path,
        template: &Path,
        entries: u64,
        settings: Settings,
    ) -> Result<(Box<dyn Store>, Option<Durability>)> {
        let copy = dir.join("kv.db");
        match &self.maker {
            Maker::Raw => {
                std::fs::copy(template, &copy)?;
                let mut store = raw::RawStore::open(&copy, settings)?;
                let (mode, level) = store.durability()?;
                Ok((Box::new(store), Some(Durability::new(mode, level))))
            }
            Maker::Driver(runtime) => {
                let store = driver::DriverStore::open(
                    runtime.clone(),
                    &dir.join("root"),
                    (template, entries),
                    settings,
                )?;
                let durability = store.durability();
                // The copied table must be what the driver's accounting sees.
                let expected = entries * (crate::keys::KEY_LEN + crate::keys::VALUE_LEN) as u64;
                let used = store.storage_used()?;
                if used != expected {
                    return Err(format!(
                        "{}: the driver tracks {used} bytes, the table holds {expected}",
                        self.name
                    )
                    .into());
                }
                Ok((Box::new(store), durability))
            }
            Maker::Rusqlite => {
                std::fs::copy(template, &copy)?;
                let store = rusqlite_direct::RusqliteStore::open(&copy, settings)?;
                let durability = store.durability()?;
                Ok((Box::new(store), Some(durability)))
            }
            Maker::Floor(runtime) => {
                let store = floor::FloorStore::open(&**runtime, &copy, entries, settings)?;
                Ok((Box::new(store), None))
            }
            Maker::Sqlx => {
                std::fs::copy(template, &copy)?;
                let mut store = sqlx_direct::SqlxStore::open(&copy, settings)?;
                let durability = store.durability()?;
                Ok((Box::new(store), Some(durability)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{initial_value, key};

    /// Every variant reads the template's `items` rows, each row holding the value of the
    /// KV entry with the same index, and finds no row past the end.
    #[test]
    fn every_variant_reads_the_same_items() {
        let entries = 300;
        let variants = crate::available_variants(&crate::BenchConfig::tiny()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("template.db");
        write_template(&template, entries).unwrap();
        let settings = Settings {
            synchronous: Synchronous::Normal,
            cache_kib: 0,
        };
        for (index, variant) in variants.iter().enumerate() {
            let dir = dir.path().join(format!("v{index}"));
            std::fs::create_dir_all(&dir).unwrap();
            let (mut store, _) = variant.open(&dir, &template, entries, settings).unwrap();
            for id in [0, 1, 150, 299] {
                let expected = initial_value(id);
                let row = store.sql_get(id as i64).unwrap();
                assert_eq!(
                    row.as_deref(),
                    Some(&expected[..]),
                    "{} row {id}",
                    variant.name
                );
                let kv = store.get(&key(id)).unwrap();
                assert_eq!(kv, row, "{} entry {id}", variant.name);
            }
            assert_eq!(store.sql_get(300).unwrap(), None, "{}", variant.name);
            assert_eq!(store.sql_get(-1).unwrap(), None, "{}", variant.name);
            store.close().unwrap();
        }
    }
}
