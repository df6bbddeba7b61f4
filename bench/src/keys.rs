//! The key space, a deterministic PRNG and the operation streams of each workload.
//!
//! Entry `i` of an actor holding `n` entries has the 16-byte key
//! `bucket(i / 100) ‖ i` (two big-endian `u64`s) and a 100-byte value. A bucket's 8-byte
//! prefix therefore matches exactly [`BUCKET`] entries, and keys sort by `i`.

use serde::{Deserialize, Serialize};

/// Key length in bytes.
pub const KEY_LEN: usize = 16;
/// Value length in bytes.
pub const VALUE_LEN: usize = 100;
/// Entries per prefix bucket: what a prefix list returns and a range delete removes.
pub const BUCKET: u64 = 100;
/// Keys per batch get.
pub const BATCH_GET: usize = 16;
/// Entries per batch put.
pub const BATCH_PUT: usize = 128;
/// The limit of the range list.
pub const LIST_LIMIT: usize = 100;

/// A key.
pub type Key = [u8; KEY_LEN];
/// A value.
pub type Val = [u8; VALUE_LEN];

/// The key of entry `index`.
pub fn key(index: u64) -> Key {
    let mut key = [0u8; KEY_LEN];
    key[..8].copy_from_slice(&(index / BUCKET).to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The 8-byte prefix shared by the entries of `bucket`.
pub fn bucket_prefix(bucket: u64) -> [u8; 8] {
    bucket.to_be_bytes()
}

/// SplitMix64: small, fast, deterministic; good enough to pick keys and fill values.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: u64) -> u64 {
        // Multiply-shift: no modulo bias worth caring about at these sizes.
        ((u128::from(self.next_u64()) * u128::from(bound.max(1))) >> 64) as u64
    }

    /// A random value.
    pub fn value(&mut self) -> Val {
        let mut value = [0u8; VALUE_LEN];
        for chunk in value.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        value
    }
}

/// The prefilled value of entry `index` (deterministic).
pub fn initial_value(index: u64) -> Val {
    Rng::new(index ^ 0x5EED_0000_0000_0000).value()
}

/// A benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Point get of a random existing key.
    Get,
    /// Batch get of 16 random existing keys.
    BatchGet,
    /// Put of one entry (overwriting a random existing key).
    Put,
    /// Batch put of 128 entries (overwriting random existing keys), one transaction.
    BatchPut,
    /// List of a prefix matching exactly 100 entries (default limit).
    ListPrefix,
    /// List of a range from a random key to the end, limit 100.
    ListRange,
    /// Delete of a range of 100 consecutive entries (re-inserted untimed afterwards).
    DeleteRange,
    /// 90% point get / 10% single put.
    Mixed,
    /// SQL point query of a random row of the actor's own table (`items`), not KV.
    SqlGet,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 9] = [
        Workload::Get,
        Workload::BatchGet,
        Workload::Put,
        Workload::BatchPut,
        Workload::ListPrefix,
        Workload::ListRange,
        Workload::DeleteRange,
        Workload::Mixed,
        Workload::SqlGet,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::BatchGet => "batch_get",
            Workload::Put => "put",
            Workload::BatchPut => "batch_put",
            Workload::ListPrefix => "list_prefix",
            Workload::ListRange => "list_range",
            Workload::DeleteRange => "delete_range",
            Workload::Mixed => "mixed",
            Workload::SqlGet => "sql_get",
        }
    }

    /// The workload called `name` (also accepts `-` for `_`).
    pub fn from_name(name: &str) -> Option<Workload> {
        let name = name.replace('-', "_");
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Whether it writes (and so runs under each `synchronous` level).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Workload::Put | Workload::BatchPut | Workload::DeleteRange | Workload::Mixed
        )
    }

    /// Whether it is a KV workload: the driver's KV API, what the report's geometric
    /// mean summarizes. `sql_get` runs the actor's own SQL instead.
    pub fn is_kv(self) -> bool {
        !matches!(self, Workload::SqlGet)
    }

    /// What one operation does, for the report.
    pub fn description(self) -> &'static str {
        match self {
            Workload::Get => "point get, random existing key",
            Workload::BatchGet => "batch get of 16 random keys",
            Workload::Put => "put of 1 entry (overwrite), autocommit",
            Workload::BatchPut => "batch put of 128 entries (overwrite), 1 transaction",
            Workload::ListPrefix => "list prefix -> 100 entries",
            Workload::ListRange => "list range, limit 100",
            Workload::DeleteRange => "delete range of 100 (re-inserted untimed)",
            Workload::Mixed => "90% get / 10% put",
            Workload::SqlGet => "SQL point query on the actor's own table, random row",
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One operation, generated before the clock starts.
#[derive(Clone, Debug)]
pub enum Op {
    /// Point get.
    Get(Key),
    /// Batch get.
    GetMany(Vec<Key>),
    /// Put (one entry: autocommit; more: one transaction).
    Put(Vec<(Key, Val)>),
    /// List by prefix, default limit.
    ListPrefix([u8; 8]),
    /// List `[start, end)` with a limit.
    ListRange {
        /// First key.
        start: Key,
        /// Exclusive end.
        end: Key,
    },
    /// Delete `[start, end)` (one bucket); `restore` puts its entries back, untimed.
    DeleteRange {
        /// The bucket's prefix.
        start: [u8; 8],
        /// The next bucket's prefix.
        end: [u8; 8],
        /// The deleted entries, to put back after the measurement.
        restore: Vec<(Key, Val)>,
    },
    /// SQL point query of the row with this id in the actor's own table.
    SqlGet(i64),
}

/// The operations of one workload on an actor of `entries` entries. Every variant gets
/// its own stream with the same seed, so all of them run the same operations.
#[derive(Clone, Debug)]
pub struct OpStream {
    workload: Workload,
    entries: u64,
    rng: Rng,
}

impl OpStream {
    /// A stream of `workload` operations over `entries` entries.
    pub fn new(workload: Workload, entries: u64, seed: u64) -> Self {
        OpStream {
            workload,
            entries: entries.max(BUCKET),
            rng: Rng::new(seed),
        }
    }

    fn random_key(&mut self) -> Key {
        key(self.rng.below(self.entries))
    }

    fn put(&mut self, count: usize) -> Op {
        Op::Put(
            (0..count)
                .map(|_| (self.random_key(), self.rng.value()))
                .collect(),
        )
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Op {
        let buckets = self.entries / BUCKET;
        match self.workload {
            Workload::Get => Op::Get(self.random_key()),
            Workload::BatchGet => Op::GetMany((0..BATCH_GET).map(|_| self.random_key()).collect()),
            Workload::Put => self.put(1),
            Workload::BatchPut => self.put(BATCH_PUT),
            Workload::ListPrefix => Op::ListPrefix(bucket_prefix(self.rng.below(buckets))),
            Workload::ListRange => Op::ListRange {
                start: key(self.rng.below(self.entries - LIST_LIMIT as u64 + 1)),
                end: [0xff; KEY_LEN],
            },
            Workload::DeleteRange => {
                let bucket = self.rng.below(buckets);
                Op::DeleteRange {
                    start: bucket_prefix(bucket),
                    end: bucket_prefix(bucket + 1),
                    restore: (bucket * BUCKET..(bucket + 1) * BUCKET)
                        .map(|i| (key(i), self.rng.value()))
                        .collect(),
                }
            }
            Workload::Mixed => {
                if self.rng.below(10) == 0 {
                    self.put(1)
                } else {
                    Op::Get(self.random_key())
                }
            }
            // Row ids are the entry indices, so every id in `0..entries` exists.
            Workload::SqlGet => Op::SqlGet(self.rng.below(self.entries) as i64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_prefix_matches_exactly_its_entries() {
        let prefix = bucket_prefix(3);
        let upper = crate::sql::prefix_upper_bound(&prefix).unwrap_or_default();
        let matching = (0..1000u64)
            .map(key)
            .filter(|k| k.as_slice() >= prefix.as_slice() && k.as_slice() < upper.as_slice())
            .count();
        assert_eq!(matching, BUCKET as usize);
        assert!(key(1) < key(2) && key(99) < key(100) && key(100) < key(1000));
    }

    #[test]
    fn streams_are_deterministic() {
        let mut a = OpStream::new(Workload::Mixed, 1000, 7);
        let mut b = OpStream::new(Workload::Mixed, 1000, 7);
        for _ in 0..100 {
            assert_eq!(format!("{:?}", a.next_op()), format!("{:?}", b.next_op()));
        }
        for name in ["get", "batch-get", "mixed"] {
            assert!(Workload::from_name(name).is_some());
        }
    }

    #[test]
    fn sql_get_is_listed_and_reads_existing_rows() {
        for name in ["sql_get", "sql-get"] {
            assert_eq!(Workload::from_name(name), Some(Workload::SqlGet));
        }
        assert_eq!(Workload::ALL.last(), Some(&Workload::SqlGet));
        assert!(!Workload::SqlGet.writes() && !Workload::SqlGet.is_kv());
        assert!(Workload::ALL.iter().filter(|w| !w.is_kv()).count() == 1);
        let mut stream = OpStream::new(Workload::SqlGet, 1000, 7);
        for _ in 0..1000 {
            match stream.next_op() {
                Op::SqlGet(id) => assert!((0..1000).contains(&id), "{id}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
