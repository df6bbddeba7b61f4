//! The checks behind the cargo-fuzz targets in `fuzz/`, kept here so that the test
//! suite replays them on a fixed corpus (`tests/fuzz_replay.rs`) on every `cargo test`.
//!
//! - [`check_legacy_decoder`]: any bytes given to the state and alarm decoders either
//!   fail with an error or decode to a value that re-encodes and decodes to itself; no
//!   strict prefix of an accepted input is accepted; nothing panics.
//! - [`check_kv_requests`]: bytes become a sequence of KV requests around every limit,
//!   run on an in-memory [`FsDriver`] and on a model of the spec. A request that breaks a
//!   limit must fail with one of the limits it breaks and change nothing; one that breaks
//!   none must succeed and agree with the model.

use std::collections::BTreeMap;
use std::sync::Arc;

use fs_driver::alarm::{decode_alarm, encode_alarm};
use fs_driver::limits::{MAX_KEY_SIZE, MAX_KEYS, MAX_PUT_PAYLOAD_SIZE, MAX_VALUE_SIZE};
use fs_driver::state::{ActorState, decode_state, encode_state, legacy};
use fs_driver::{DriverOptions, Error, FsDriver, KeyRole, LimitError, ListOptions};
use sqlite_runtime::SqliteRuntime;

/// Inputs longer than this skip the every-prefix check (it is quadratic).
const PREFIX_CHECK_MAX: usize = 512;

/// Decodes `data` as a state file and as an alarm file. Returns what is wrong, if
/// anything; a panic inside the decoders propagates (the fuzzer reports it).
pub fn check_legacy_decoder(data: &[u8]) -> Result<(), String> {
    if let Ok((version, state)) = decode_state(data) {
        if !(1..=3).contains(&version) {
            return Err(format!("state decoded with version {version}"));
        }
        let reencoded = match version {
            1 => {
                let persisted = state
                    .kv_storage
                    .first()
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default();
                legacy::encode_v1(&state, &persisted)
            }
            2 => legacy::encode_v2(&state),
            _ => encode_state(&state),
        };
        let again = decode_state(&reencoded)
            .map_err(|error| format!("re-encoded state does not decode: {error}"))?;
        if again != (version, state.clone()) {
            return Err(format!("state round trip differs: {state:?} vs {again:?}"));
        }
        if data.len() <= PREFIX_CHECK_MAX
            && let Some(len) = (0..data.len()).find(|&len| decode_state(&data[..len]).is_ok())
        {
            return Err(format!("a {len}-byte prefix of an accepted state decodes"));
        }
    }
    if let Ok((version, alarm)) = decode_alarm(data) {
        if !(1..=3).contains(&version) {
            return Err(format!("alarm decoded with version {version}"));
        }
        let again = decode_alarm(&encode_alarm(&alarm))
            .map_err(|error| format!("re-encoded alarm does not decode: {error}"))?;
        if again.1 != alarm {
            return Err(format!("alarm round trip differs: {alarm:?} vs {again:?}"));
        }
        if data.len() <= PREFIX_CHECK_MAX
            && let Some(len) = (0..data.len()).find(|&len| decode_alarm(&data[..len]).is_ok())
        {
            return Err(format!("a {len}-byte prefix of an accepted alarm decodes"));
        }
    }
    Ok(())
}

/// Reads fuzz bytes as small decisions; zeros once exhausted.
struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    fn exhausted(&self) -> bool {
        self.at >= self.data.len()
    }

    /// A length: small most of the time, else one at or around a boundary.
    fn len(&mut self, boundaries: &[usize]) -> usize {
        let byte = self.byte();
        if byte < 0xa0 {
            usize::from(byte % 8)
        } else {
            boundaries[usize::from(byte) % boundaries.len()]
        }
    }

    /// Bytes of length `len`: a two-byte head from the input (a small alphabet, 0x00 and
    /// 0xff included, so keys collide and prefixes matter) and a fill byte.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        const ALPHABET: [u8; 5] = [0x00, 0x01, b'a', b'b', 0xff];
        let mut out = Vec::with_capacity(len);
        for _ in 0..len.min(2) {
            out.push(ALPHABET[usize::from(self.byte()) % ALPHABET.len()]);
        }
        let fill = ALPHABET[usize::from(self.byte()) % ALPHABET.len()];
        out.resize(len, fill);
        out
    }

    fn key(&mut self) -> Vec<u8> {
        let len = self.len(&[
            MAX_KEY_SIZE - 3,
            MAX_KEY_SIZE - 2,
            MAX_KEY_SIZE - 1,
            MAX_KEY_SIZE,
            16,
        ]);
        self.bytes(len)
    }

    fn value(&mut self) -> Vec<u8> {
        let len = self.len(&[
            MAX_VALUE_SIZE - 1,
            MAX_VALUE_SIZE,
            MAX_VALUE_SIZE + 1,
            1000,
            100,
        ]);
        self.bytes(len)
    }

    fn count(&mut self) -> usize {
        self.len(&[MAX_KEYS - 1, MAX_KEYS, MAX_KEYS + 1, 8, 16])
    }

    fn list_options(&mut self) -> ListOptions {
        let flags = self.byte();
        let options = ListOptions::new().reverse(flags & 1 == 1);
        match flags >> 1 & 3 {
            0 => options,
            _ => options.limit(usize::from(flags >> 3)),
        }
    }
}

/// What [`check_kv_requests`] ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvStats {
    /// Requests that succeeded.
    pub accepted: usize,
    /// Requests rejected with a limit error (and checked to have changed nothing).
    pub rejected: usize,
}

struct Model {
    store: BTreeMap<Vec<u8>, Vec<u8>>,
    used: u64,
    max_storage: u64,
}

impl Model {
    fn key_violation(role: KeyRole, key: &[u8]) -> Option<LimitError> {
        (key.len() + 2 > MAX_KEY_SIZE).then_some(LimitError::KeyTooLong {
            role,
            len: key.len(),
        })
    }

    fn keys_violations(keys: &[Vec<u8>]) -> Vec<LimitError> {
        let mut out = Vec::new();
        if keys.len() > MAX_KEYS {
            out.push(LimitError::TooManyKeys { count: keys.len() });
        }
        out.extend(
            keys.iter()
                .filter_map(|key| Self::key_violation(KeyRole::Key, key)),
        );
        out
    }

    /// Every limit the put breaks, in the order rivetkit 2.2.1 checks them (the first is
    /// the one reported): entry count, payload, storage, then each entry's key and value.
    fn put_violations(&self, entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<LimitError> {
        let mut out = Vec::new();
        if entries.len() > MAX_KEYS {
            out.push(LimitError::TooManyEntries {
                count: entries.len(),
            });
        }
        let payload: usize = entries.iter().map(|(k, v)| k.len() + 2 + v.len()).sum();
        if payload > MAX_PUT_PAYLOAD_SIZE {
            out.push(LimitError::PayloadTooLarge { size: payload });
        }
        let remaining = self.max_storage.saturating_sub(self.used);
        if payload as u64 > remaining {
            out.push(LimitError::StorageFull {
                remaining,
                payload: payload as u64,
            });
        }
        for (key, value) in entries {
            out.extend(Self::key_violation(KeyRole::Key, key));
            if value.len() > MAX_VALUE_SIZE {
                out.push(LimitError::ValueTooLarge { len: value.len() });
            }
        }
        out
    }

    fn remove(&mut self, key: &[u8]) {
        if let Some(value) = self.store.remove(key) {
            self.used -= (key.len() + value.len()) as u64;
        }
    }

    fn put(&mut self, entries: &[(Vec<u8>, Vec<u8>)]) {
        for (key, value) in entries {
            self.remove(key);
            self.used += (key.len() + value.len()) as u64;
            self.store.insert(key.clone(), value.clone());
        }
    }

    fn list(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        prefix: Option<&[u8]>,
        options: ListOptions,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let selected = self.store.iter().filter(|(key, _)| {
            key.as_slice() >= start
                && end.is_none_or(|end| key.as_slice() < end)
                && prefix.is_none_or(|prefix| key.starts_with(prefix))
        });
        let mut out: Vec<_> = selected.map(|(k, v)| (k.clone(), v.clone())).collect();
        if options.reverse {
            out.reverse();
        }
        out.truncate(
            options
                .limit
                .unwrap_or(fs_driver::limits::DEFAULT_LIST_LIMIT),
        );
        out
    }

    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.store
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The result of one request against what the model allows.
fn judge<T>(
    what: &str,
    result: fs_driver::Result<T>,
    violations: &[LimitError],
) -> Result<Option<T>, String> {
    match (result, violations.is_empty()) {
        (Ok(value), true) => Ok(Some(value)),
        (Ok(_), false) => Err(format!("{what}: accepted despite {violations:?}")),
        (Err(Error::Limit(limit)), false) if violations.first() == Some(&limit) => Ok(None),
        (Err(error), _) => Err(format!(
            "{what}: failed with {error:?}; limits broken: {violations:?}"
        )),
    }
}

/// Runs the requests encoded in `data` on an in-memory driver of `runtime` and on the
/// model; returns what was run, or the first disagreement.
pub fn check_kv_requests(runtime: Arc<dyn SqliteRuntime>, data: &[u8]) -> Result<KvStats, String> {
    let mut input = Input { data, at: 0 };
    let max_storage = match input.byte() % 4 {
        0 => 4096,
        1 => 300_000,
        _ => fs_driver::limits::DEFAULT_MAX_STORAGE_SIZE,
    };
    let driver = FsDriver::memory(runtime, DriverOptions::new().max_storage_bytes(max_storage));
    let id = "fuzz";
    let none: &[(&[u8], &[u8])] = &[];
    driver
        .create_actor(id, "fuzz", Vec::new(), none)
        .map_err(|error| format!("create: {error}"))?;
    let mut model = Model {
        store: BTreeMap::new(),
        used: 0,
        max_storage,
    };
    let mut stats = KvStats::default();
    let mut ops = 0;
    while !input.exhausted() && ops < 64 {
        ops += 1;
        let op = input.byte() % 7;
        let mut wrote = false;
        let accepted = match op {
            0 => {
                let count = input.count();
                let entries: Vec<(Vec<u8>, Vec<u8>)> =
                    (0..count).map(|_| (input.key(), input.value())).collect();
                let violations = model.put_violations(&entries);
                wrote = true;
                let done = judge("put", driver.kv_put(id, &entries), &violations)?;
                if done.is_some() {
                    model.put(&entries);
                }
                done.is_some()
            }
            1 | 2 => {
                let keys: Vec<Vec<u8>> = if op == 1 {
                    let count = input.count();
                    (0..count).map(|_| input.key()).collect()
                } else {
                    vec![input.key()]
                };
                let violations = Model::keys_violations(&keys);
                let got = if op == 1 {
                    judge("get", driver.kv_get(id, &keys), &violations)?
                } else {
                    judge("get one", driver.kv_get_one(id, &keys[0]), &violations)?
                        .map(|value| vec![value])
                };
                if let Some(got) = &got {
                    let expected: Vec<Option<Vec<u8>>> = keys
                        .iter()
                        .map(|key| model.store.get(key).cloned())
                        .collect();
                    if *got != expected {
                        return Err("get disagrees with the model".into());
                    }
                }
                got.is_some()
            }
            3 => {
                let count = input.count();
                let keys: Vec<Vec<u8>> = (0..count).map(|_| input.key()).collect();
                let violations = Model::keys_violations(&keys);
                wrote = true;
                let done = judge("delete", driver.kv_delete(id, &keys), &violations)?;
                if done.is_some() {
                    keys.iter().for_each(|key| model.remove(key));
                }
                done.is_some()
            }
            4 => {
                let (start, end) = (input.key(), input.key());
                let violations: Vec<LimitError> = [
                    Model::key_violation(KeyRole::Start, &start),
                    Model::key_violation(KeyRole::End, &end),
                ]
                .into_iter()
                .flatten()
                .collect();
                wrote = true;
                let done = judge(
                    "delete range",
                    driver.kv_delete_range(id, &start, &end),
                    &violations,
                )?;
                if done.is_some() && start < end {
                    let doomed: Vec<Vec<u8>> = model
                        .list(
                            &start,
                            Some(&end),
                            None,
                            ListOptions::new().limit(usize::MAX),
                        )
                        .into_iter()
                        .map(|(key, _)| key)
                        .collect();
                    doomed.iter().for_each(|key| model.remove(key));
                }
                done.is_some()
            }
            5 => {
                let prefix = input.key();
                let options = input.list_options();
                let violations: Vec<LimitError> = Model::key_violation(KeyRole::Prefix, &prefix)
                    .into_iter()
                    .collect();
                let got = judge(
                    "list prefix",
                    driver.kv_list_prefix(id, &prefix, options),
                    &violations,
                )?;
                if let Some(got) = &got
                    && *got != model.list(&prefix, None, Some(&prefix), options)
                {
                    return Err(format!("list prefix {prefix:?} disagrees with the model"));
                }
                got.is_some()
            }
            _ => {
                let (start, end) = (input.key(), input.key());
                let options = input.list_options();
                let violations: Vec<LimitError> = [
                    Model::key_violation(KeyRole::Start, &start),
                    Model::key_violation(KeyRole::End, &end),
                ]
                .into_iter()
                .flatten()
                .collect();
                let got = judge(
                    "list range",
                    driver.kv_list_range(id, &start, &end, options),
                    &violations,
                )?;
                if let Some(got) = &got {
                    let expected = if start < end {
                        model.list(&start, Some(&end), None, options)
                    } else {
                        Vec::new()
                    };
                    if *got != expected {
                        return Err("list range disagrees with the model".into());
                    }
                }
                got.is_some()
            }
        };
        if accepted {
            stats.accepted += 1;
        } else {
            stats.rejected += 1;
        }
        let used = driver
            .kv_storage_used(id)
            .map_err(|error| format!("storage used: {error}"))?;
        if used != model.used {
            return Err(format!(
                "op {ops}: tracked size {used}, model {}",
                model.used
            ));
        }
        if wrote && !accepted {
            let all = driver
                .kv_list_prefix(id, b"", ListOptions::new().limit(usize::MAX))
                .map_err(|error| format!("list: {error}"))?;
            if all != model.entries() {
                return Err(format!("op {ops}: a rejected request changed the store"));
            }
        }
    }
    let all = driver
        .kv_list_prefix(id, b"", ListOptions::new().limit(usize::MAX))
        .map_err(|error| format!("list: {error}"))?;
    if all != model.entries() {
        return Err("the final store disagrees with the model".into());
    }
    Ok(stats)
}

/// An [`ActorState`] with every field set, for corpus seeds.
pub fn sample_state() -> ActorState {
    ActorState {
        actor_id: "seed".into(),
        name: "name".into(),
        key: vec!["k1".into(), String::new()],
        kv_storage: vec![
            (b"a".to_vec(), b"1".to_vec()),
            (vec![0xff, 0x00], Vec::new()),
        ],
        created_at: 1_700_000_000_000,
        start_ts: Some(1),
        connectable_ts: None,
        sleep_ts: Some(u64::MAX),
        destroy_ts: None,
    }
}
