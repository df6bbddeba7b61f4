//! The numbered batches of the crash test and their verification.
//!
//! Batch `n` is one atomic [`kv_put`](fs_driver::FsDriver::kv_put) of
//! [`KEYS_PER_BATCH`] entries: [`SLOT_KEYS`] fixed keys `slot/<j>` overwritten with `n`
//! (so a torn replace shows as slots holding different batches), and the new keys
//! `batch/<n>/<j>` (so a torn insert shows as an incomplete group). Every value starts
//! with `n` and is padded with a pattern derived from `(n, j)`, so a damaged value is
//! noticed too. Batches are written in order, so the batches present must be exactly
//! `1..=highest`, and every slot must hold `highest`.

use std::collections::BTreeMap;

/// Entries in one batch.
pub const KEYS_PER_BATCH: usize = 8;
/// Of those, the fixed keys overwritten by every batch.
pub const SLOT_KEYS: usize = 4;
/// Bytes per value.
pub const VALUE_LEN: usize = 64;
/// The actor the crash test writes to.
pub const CRASH_ACTOR: &str = "crash-actor";

/// The value of entry `j` of batch `n`.
pub fn batch_value(n: u64, j: usize) -> Vec<u8> {
    let mut value = n.to_be_bytes().to_vec();
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (j as u64);
    while value.len() < VALUE_LEN {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        value.push((x >> 56) as u8);
    }
    value
}

/// The key of the `j`-th new entry of batch `n`.
pub fn batch_key(n: u64, j: usize) -> Vec<u8> {
    format!("batch/{n:010}/{j}").into_bytes()
}

/// The `j`-th slot key.
pub fn slot_key(j: usize) -> Vec<u8> {
    format!("slot/{j}").into_bytes()
}

/// The entries of batch `n`.
pub fn batch_entries(n: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let slots = (0..SLOT_KEYS).map(|j| (slot_key(j), batch_value(n, j)));
    let fresh =
        (SLOT_KEYS..KEYS_PER_BATCH).map(|j| (batch_key(n, j - SLOT_KEYS), batch_value(n, j)));
    slots.chain(fresh).collect()
}

/// What a verified store holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchSummary {
    /// The highest batch present (0 when none).
    pub highest: u64,
    /// The sum of `key + value` over the entries (what the driver tracks).
    pub bytes: u64,
}

fn batch_number(value: &[u8]) -> Option<u64> {
    value
        .get(..8)
        .and_then(|head| <[u8; 8]>::try_from(head).ok())
        .map(u64::from_be_bytes)
}

/// Checks that `entries` (the actor's whole store) holds complete batches `1..=highest`
/// and nothing else, every slot holding `highest`. Returns what it found, or what is
/// wrong.
pub fn verify_batches(entries: &[(Vec<u8>, Vec<u8>)]) -> Result<BatchSummary, String> {
    let mut slots = BTreeMap::new();
    let mut groups: BTreeMap<u64, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
    let mut bytes = 0u64;
    for (key, value) in entries {
        bytes += (key.len() + value.len()) as u64;
        let text = String::from_utf8_lossy(key);
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            ["slot", j] => {
                let j: usize = j.parse().map_err(|_| format!("bad slot key {text:?}"))?;
                slots.insert(j, value.clone());
            }
            ["batch", n, j] => {
                let n: u64 = n.parse().map_err(|_| format!("bad batch key {text:?}"))?;
                let j: usize = j.parse().map_err(|_| format!("bad batch key {text:?}"))?;
                groups.entry(n).or_default().push((j, value.clone()));
            }
            _ => return Err(format!("unexpected key {text:?}")),
        }
    }
    let highest = groups.keys().next_back().copied().unwrap_or(0);
    let expected: Vec<u64> = (1..=highest).collect();
    let present: Vec<u64> = groups.keys().copied().collect();
    if present != expected {
        let missing: Vec<u64> = expected
            .iter()
            .filter(|n| !groups.contains_key(n))
            .copied()
            .collect();
        return Err(format!(
            "batches present are not 1..={highest}: missing {missing:?}"
        ));
    }
    for (n, group) in &groups {
        let mut js: Vec<usize> = group.iter().map(|(j, _)| *j).collect();
        js.sort_unstable();
        if js != (0..KEYS_PER_BATCH - SLOT_KEYS).collect::<Vec<_>>() {
            return Err(format!("batch {n} is partial: keys {js:?}"));
        }
        for (j, value) in group {
            if *value != batch_value(*n, j + SLOT_KEYS) {
                return Err(format!("batch {n} key {j} holds a wrong value"));
            }
        }
    }
    if highest == 0 {
        if !slots.is_empty() {
            return Err(format!(
                "slots written without any batch: {:?}",
                slots.keys()
            ));
        }
    } else {
        if slots.len() != SLOT_KEYS {
            return Err(format!(
                "{} slots present, expected {SLOT_KEYS}",
                slots.len()
            ));
        }
        for (j, value) in &slots {
            if *value != batch_value(highest, *j) {
                return Err(format!(
                    "slot {j} holds batch {:?}, expected batch {highest} (half-applied batch)",
                    batch_number(value)
                ));
            }
        }
    }
    Ok(BatchSummary { highest, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(batches: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut store = BTreeMap::new();
        for n in 1..=batches {
            store.extend(batch_entries(n));
        }
        store
    }

    fn entries(store: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
        store.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[test]
    fn complete_batches_verify() {
        assert_eq!(verify_batches(&[]).map(|s| s.highest), Ok(0));
        assert_eq!(
            verify_batches(&entries(&store(5))).map(|s| s.highest),
            Ok(5)
        );
    }

    #[test]
    fn partial_batches_are_caught() {
        let mut torn = store(5);
        torn.remove(&batch_key(5, 1));
        assert!(verify_batches(&entries(&torn)).is_err());
        let mut torn_slot = store(5);
        torn_slot.insert(slot_key(2), batch_value(4, 2));
        assert!(verify_batches(&entries(&torn_slot)).is_err());
        let mut gap = store(5);
        for j in 0..KEYS_PER_BATCH - SLOT_KEYS {
            gap.remove(&batch_key(3, j));
        }
        assert!(verify_batches(&entries(&gap)).is_err());
        let mut damaged = store(2);
        damaged.insert(batch_key(1, 0), vec![0; VALUE_LEN]);
        assert!(verify_batches(&entries(&damaged)).is_err());
    }
}
