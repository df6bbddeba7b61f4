//! Reads served by the lease holder: a copy of a leased actor's entries, kept in memory
//! while the driver's lease is certainly valid, so that a read on a remote engine costs
//! no request.
//!
//! Why it is sound: while this driver's registration is certainly live (its renewal
//! thread's last acknowledged renewal, plus the lease timeout, minus a margin for the
//! hosts' clocks; [`LeaseClock`]), no other driver can take its leases, so every write
//! to the actor is this driver's own and goes through its store, which applies its
//! acknowledged writes to the copy. Anything else drops the copy: a write it cannot
//! apply (a transaction, a group, actor SQL), a write that failed or whose outcome is
//! unknown, the lease no longer certain, a sleep. The next read then goes to the engine,
//! and reloads the copy when the lease is certain again.
//!
//! Copies share one memory budget ([`ReadCache`]); the least recently used ones are
//! dropped to make room, and an actor larger than a quarter of the budget is never
//! copied.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use crate::kv::lease_clock::LeaseClock;

/// The entries of one actor, in key order.
pub(crate) type Entries = BTreeMap<Vec<u8>, Vec<u8>>;

/// The memory budget shared by every actor's copy.
#[derive(Debug)]
pub(crate) struct ReadCache {
    limit: usize,
    used: AtomicUsize,
    epoch: AtomicU64,
    cells: Mutex<Cells>,
}

/// Every actor's cell, dead ones (actors asleep) included until the next pruning.
#[derive(Debug, Default)]
struct Cells {
    list: Vec<Weak<CacheCell>>,
    /// How many were alive at the last pruning: the list is pruned when it has grown to
    /// twice that, so that a wake costs O(1) amortized, not a pass over every actor.
    live: usize,
}

impl ReadCache {
    /// A budget of `limit` bytes (0: nothing is ever copied).
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(ReadCache {
            limit,
            used: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
            cells: Mutex::default(),
        })
    }

    /// Bytes held by copies now, and the budget.
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.used.load(Ordering::Relaxed), self.limit)
    }

    /// The largest actor (in bytes of keys and values) that is copied.
    pub(crate) fn largest_copied(&self) -> u64 {
        (self.limit / 4) as u64
    }

    /// A new, empty cell for one actor's copy, served while `clock` is certain in the
    /// `generation` the actor's lease was taken in.
    pub(crate) fn cell(self: &Arc<Self>, clock: LeaseClock, generation: u64) -> Arc<CacheCell> {
        let cell = Arc::new(CacheCell {
            budget: self.clone(),
            clock,
            generation,
            copy: Mutex::new(None),
            last_used: AtomicU64::new(0),
        });
        let mut cells = lock(&self.cells);
        if cells.list.len() >= 2 * cells.live.max(16) {
            cells.list.retain(|cell| cell.strong_count() > 0);
            cells.live = cells.list.len();
        }
        cells.list.push(Arc::downgrade(&cell));
        cell
    }

    /// Makes room for `bytes` more: the least recently used copies other than `keep`
    /// are dropped until the budget holds them (copies busy at this moment are skipped).
    fn make_room(&self, bytes: usize, keep: &CacheCell) {
        if self.used.load(Ordering::Relaxed) + bytes <= self.limit {
            return;
        }
        let mut others: Vec<Arc<CacheCell>> = lock(&self.cells)
            .list
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|cell| !std::ptr::eq(&**cell, keep))
            .collect();
        others.sort_by_key(|cell| cell.last_used.load(Ordering::Relaxed));
        for cell in others {
            if self.used.load(Ordering::Relaxed) + bytes <= self.limit {
                break;
            }
            if let Ok(mut copy) = cell.copy.try_lock()
                && let Some(dropped) = copy.take()
            {
                self.used.fetch_sub(dropped.bytes, Ordering::Relaxed);
            }
        }
    }
}

/// One actor's copy, its accounting and the clock that says whether it may be served.
#[derive(Debug)]
pub(crate) struct CacheCell {
    budget: Arc<ReadCache>,
    clock: LeaseClock,
    /// The clock's generation when the lease was taken: in another, the lease may have
    /// been lost in between, and nothing is copied or served again.
    generation: u64,
    copy: Mutex<Option<Snapshot>>,
    last_used: AtomicU64,
}

/// A copy taken out of its cell while a write runs: put back (with the write applied)
/// only when the write was acknowledged.
#[derive(Debug)]
pub(crate) struct Snapshot {
    entries: Entries,
    bytes: usize,
}

impl Snapshot {
    /// A copy of `entries`.
    pub(crate) fn new(entries: Entries) -> Self {
        let bytes = entries.iter().map(|(k, v)| entry_bytes(k, v)).sum();
        Snapshot { entries, bytes }
    }

    /// Applies an acknowledged put.
    pub(crate) fn put<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, entries: &[(K, V)]) {
        for (key, value) in entries {
            let (key, value) = (key.as_ref(), value.as_ref());
            self.bytes += entry_bytes(key, value);
            if let Some(old) = self.entries.insert(key.to_vec(), value.to_vec()) {
                self.bytes -= entry_bytes(key, &old);
            }
        }
    }

    /// Applies an acknowledged delete.
    pub(crate) fn delete<K: AsRef<[u8]>>(&mut self, keys: &[K]) {
        for key in keys {
            if let Some(old) = self.entries.remove(key.as_ref()) {
                self.bytes -= entry_bytes(key.as_ref(), &old);
            }
        }
    }

    /// Applies an acknowledged delete of `[start, end)`.
    pub(crate) fn delete_range(&mut self, start: &[u8], end: &[u8]) {
        if start >= end {
            return;
        }
        let keys: Vec<Vec<u8>> = self
            .entries
            .range(start.to_vec()..end.to_vec())
            .map(|(key, _)| key.clone())
            .collect();
        self.delete(&keys);
    }
}

fn entry_bytes(key: &[u8], value: &[u8]) -> usize {
    // What the map holds besides the bytes: two vectors and a tree slot, roughly.
    key.len() + value.len() + 64
}

impl CacheCell {
    /// Whether the copy may be served now; when not, it is dropped.
    fn certain(&self, copy: &mut Option<Snapshot>) -> bool {
        if self.clock.certain() == Some(self.generation) {
            return true;
        }
        self.release(copy);
        false
    }

    fn release(&self, copy: &mut Option<Snapshot>) {
        if let Some(dropped) = copy.take() {
            self.budget.used.fetch_sub(dropped.bytes, Ordering::Relaxed);
        }
    }

    /// Runs `read` on the copy when there is one and the lease is certain; `None`
    /// otherwise (the caller reads the engine).
    pub(crate) fn read<R>(&self, read: impl FnOnce(&Entries) -> R) -> Option<R> {
        let mut copy = lock(&self.copy);
        if copy.is_none() || !self.certain(&mut copy) {
            return None;
        }
        let epoch = self.budget.epoch.fetch_add(1, Ordering::Relaxed);
        self.last_used.store(epoch, Ordering::Relaxed);
        copy.as_ref().map(|copy| read(&copy.entries))
    }

    /// The largest actor that is copied (see [`ReadCache::largest_copied`]).
    pub(crate) fn largest_copied(&self) -> u64 {
        self.budget.largest_copied()
    }

    /// Whether a copy could be made now (the lease certain, none held yet, a budget).
    pub(crate) fn wants_copy(&self) -> bool {
        let mut copy = lock(&self.copy);
        self.budget.limit > 0 && copy.is_none() && self.certain(&mut copy)
    }

    /// Keeps `copy` (read from the engine, or taken out for a write and updated) if the
    /// lease is still certain and the budget can hold it.
    pub(crate) fn keep(&self, new: Snapshot) {
        if new.bytes > self.budget.limit / 4 {
            return;
        }
        self.budget.make_room(new.bytes, self);
        let mut copy = lock(&self.copy);
        if !self.certain(&mut copy) {
            return;
        }
        self.release(&mut copy);
        self.budget.used.fetch_add(new.bytes, Ordering::Relaxed);
        let epoch = self.budget.epoch.fetch_add(1, Ordering::Relaxed);
        self.last_used.store(epoch, Ordering::Relaxed);
        *copy = Some(new);
    }

    /// Takes the copy out (before a write): it is not served until put back.
    pub(crate) fn take(&self) -> Option<Snapshot> {
        let mut copy = lock(&self.copy);
        let taken = copy.take();
        if let Some(taken) = &taken {
            self.budget.used.fetch_sub(taken.bytes, Ordering::Relaxed);
        }
        taken
    }

    /// Drops the copy.
    pub(crate) fn clear(&self) {
        drop(self.take());
    }
}

impl Drop for CacheCell {
    fn drop(&mut self) {
        let copy = self.copy.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(dropped) = copy.take() {
            self.budget.used.fetch_sub(dropped.bytes, Ordering::Relaxed);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_of(pairs: &[(&[u8], &[u8])]) -> Snapshot {
        Snapshot::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect(),
        )
    }

    #[test]
    fn a_copy_is_served_only_while_the_lease_is_certain_without_a_gap() {
        let clock = LeaseClock::new();
        let cache = ReadCache::new(10_000);
        // The lease taken in the generation the first renewal starts.
        let cell = cache.cell(clock.clone(), 1);
        assert!(!cell.wants_copy(), "no renewal yet: nothing is certain");
        clock.renewed_until_in(std::time::Duration::from_secs(60));
        assert_eq!(clock.certain(), Some(1));
        assert!(cell.wants_copy());
        cell.keep(copy_of(&[(b"a", b"1")]));
        assert_eq!(
            cell.read(|e| e.get(&b"a"[..]).cloned()),
            Some(Some(b"1".to_vec()))
        );
        // A renewal while certain continues the generation.
        clock.renewed_until_in(std::time::Duration::from_secs(60));
        assert!(cell.read(|_| ()).is_some());
        assert!(cache.usage().0 > 0);
        clock.expire();
        assert_eq!(cell.read(|e| e.len()), None);
        assert_eq!(cache.usage().0, 0, "an uncertain lease drops the copy");
        // Renewed after the gap: certain again, but the lease may have been taken over
        // in between, so this actor is not copied again.
        clock.renewed_until_in(std::time::Duration::from_secs(60));
        assert_eq!(clock.certain(), Some(2));
        assert!(!cell.wants_copy());
        cell.keep(copy_of(&[(b"a", b"2")]));
        assert_eq!(cell.read(|_| ()), None);
    }

    #[test]
    fn writes_apply_to_a_copy_taken_out() {
        let clock = LeaseClock::new();
        clock.renewed_until_in(std::time::Duration::from_secs(60));
        let cache = ReadCache::new(10_000);
        let cell = cache.cell(clock, 1);
        cell.keep(copy_of(&[(b"k", &[1; 100])]));
        let mut taken = cell.take().unwrap();
        assert_eq!(cell.read(|_| ()), None, "not served while taken out");
        assert_eq!(cache.usage().0, 0);
        taken.put(&[(b"l".as_slice(), [2; 30].as_slice())]);
        taken.delete(&[b"k"]);
        taken.put(&[(b"m".as_slice(), [3; 30].as_slice())]);
        taken.delete_range(b"m", b"n");
        taken.put(&[(b"l".as_slice(), [4; 10].as_slice())]);
        assert_eq!(taken.bytes, 1 + 10 + 64);
        cell.keep(taken);
        assert_eq!(
            cell.read(|e| e.clone()),
            Some(BTreeMap::from([(b"l".to_vec(), vec![4; 10])]))
        );
        assert_eq!(cache.usage().0, 1 + 10 + 64);
    }

    #[test]
    fn the_budget_drops_the_least_recently_used_copy() {
        let clock = LeaseClock::new();
        clock.renewed_until_in(std::time::Duration::from_secs(60));
        let cache = ReadCache::new(600);
        let cells: Vec<_> = (0..5u8)
            .map(|i| {
                let cell = cache.cell(clock.clone(), 1);
                cell.keep(copy_of(&[(&[i], &[i; 80])]));
                assert!(cell.read(|_| ()).is_some());
                cell
            })
            .collect();
        assert_eq!(
            cells[0].read(|_| ()),
            None,
            "the least recently used copy went"
        );
        assert!(cells[1..].iter().all(|cell| cell.read(|_| ()).is_some()));
        let (used, limit) = cache.usage();
        assert_eq!(used, 4 * (1 + 80 + 64));
        assert!(used <= limit);
        drop(cells);
        assert_eq!(cache.usage().0, 0);
    }

    #[test]
    fn an_actor_past_a_quarter_of_the_budget_is_not_copied() {
        let clock = LeaseClock::new();
        clock.renewed_until_in(std::time::Duration::from_secs(60));
        let cache = ReadCache::new(400);
        let cell = cache.cell(clock, 1);
        cell.keep(copy_of(&[(b"k", &[0; 100])]));
        assert_eq!(cell.read(|_| ()), None);
        assert_eq!(cache.largest_copied(), 100);
    }
}
