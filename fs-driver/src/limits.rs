//! The KV limits (the Rivet engine's actor KV limits) and their exact messages.
//!
//! Every check here is pure: a request is validated completely before the database is
//! touched, so a rejected request changes nothing.

use std::fmt;

/// `key bytes + 2` must not exceed this.
pub const MAX_KEY_SIZE: usize = 2048;
/// The largest value, in bytes (128 KiB).
pub const MAX_VALUE_SIZE: usize = 131_072;
/// The most keys in one batch get, put or delete.
pub const MAX_KEYS: usize = 128;
/// The largest put payload: the sum of `key + 2 + value` (976 KiB).
pub const MAX_PUT_PAYLOAD_SIZE: usize = 999_424;
/// The default storage limit per actor: the sum of `key + value` over the table (10 GiB).
pub const DEFAULT_MAX_STORAGE_SIZE: u64 = 10 * 1024 * 1024 * 1024;
/// How many entries a list returns when no limit is given.
pub const DEFAULT_LIST_LIMIT: usize = 16_384;

/// Which argument a key limit applies to; it names the argument in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// A key of a batch get, put or delete: `key is too long ...`.
    Key,
    /// The start of a range: `start key is too long ...`.
    Start,
    /// The end of a range: `end key is too long ...`.
    End,
    /// A list prefix: `prefix key is too long ...`.
    Prefix,
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyRole::Key => "key",
            KeyRole::Start => "start key",
            KeyRole::End => "end key",
            KeyRole::Prefix => "prefix key",
        })
    }
}

/// A broken KV limit. `Display` is exactly the engine's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// `key bytes + 2 > 2048`.
    #[error("{role} is too long (max 2048 bytes)")]
    KeyTooLong {
        /// Which argument.
        role: KeyRole,
        /// The key's length in bytes.
        len: usize,
    },
    /// A value over 128 KiB.
    #[error("value is too large (max 128 KiB)")]
    ValueTooLarge {
        /// The value's length in bytes.
        len: usize,
    },
    /// More than 128 keys in one batch get or delete.
    #[error("a maximum of 128 keys is allowed")]
    TooManyKeys {
        /// How many keys the batch had.
        count: usize,
    },
    /// More than 128 entries in one batch put (rivetkit's wording, capital A).
    #[error("A maximum of 128 key-value entries is allowed")]
    TooManyEntries {
        /// How many entries the batch had.
        count: usize,
    },
    /// A put payload over 976 KiB.
    #[error("total payload is too large (max 976 KiB)")]
    PayloadTooLarge {
        /// The payload's size: the sum of `key + 2 + value`.
        size: usize,
    },
    /// The actor's storage would exceed its limit.
    #[error(
        "not enough space left in storage ({remaining} bytes remaining, current payload is {payload} bytes)"
    )]
    StorageFull {
        /// Bytes left before the limit.
        remaining: u64,
        /// The put payload (sum of `key + 2 + value`).
        payload: u64,
    },
}

/// Checks one key for `role`.
pub fn check_key(role: KeyRole, key: &[u8]) -> Result<(), LimitError> {
    if key.len() + 2 > MAX_KEY_SIZE {
        return Err(LimitError::KeyTooLong {
            role,
            len: key.len(),
        });
    }
    Ok(())
}

/// Checks the keys of a batch get or delete: count, then each key.
pub fn check_keys<K: AsRef<[u8]>>(keys: &[K]) -> Result<(), LimitError> {
    if keys.len() > MAX_KEYS {
        return Err(LimitError::TooManyKeys { count: keys.len() });
    }
    keys.iter()
        .try_for_each(|key| check_key(KeyRole::Key, key.as_ref()))
}

/// Checks a batch put against an actor of `used` bytes, in rivetkit 2.2.1's order (the
/// first broken limit is reported): entry count, total payload (the sum of
/// `key + 2 + value`), storage left, then entry by entry its key and its value. Returns
/// the payload size.
pub fn check_put<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    entries: &[(K, V)],
    used: u64,
    max_storage: u64,
) -> Result<u64, LimitError> {
    let payload = check_put_batch(entries)?;
    check_storage(used, payload, max_storage)?;
    for (key, value) in entries {
        check_key(KeyRole::Key, key.as_ref())?;
        if value.as_ref().len() > MAX_VALUE_SIZE {
            return Err(LimitError::ValueTooLarge {
                len: value.as_ref().len(),
            });
        }
    }
    Ok(payload)
}

/// The first two checks of a put, which need no storage size: entry count, then total
/// payload. Returns the payload size.
pub fn check_put_batch<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    entries: &[(K, V)],
) -> Result<u64, LimitError> {
    if entries.len() > MAX_KEYS {
        return Err(LimitError::TooManyEntries {
            count: entries.len(),
        });
    }
    let payload: usize = entries
        .iter()
        .map(|(key, value)| key.as_ref().len() + 2 + value.as_ref().len())
        .sum();
    if payload > MAX_PUT_PAYLOAD_SIZE {
        return Err(LimitError::PayloadTooLarge { size: payload });
    }
    Ok(payload as u64)
}

/// Checks that `payload` fits in what is left of `max_storage` when `used` bytes are
/// taken.
pub fn check_storage(used: u64, payload: u64, max_storage: u64) -> Result<(), LimitError> {
    let remaining = max_storage.saturating_sub(used);
    if payload > remaining {
        return Err(LimitError::StorageFull { remaining, payload });
    }
    Ok(())
}

/// The exclusive upper bound of a prefix scan: the prefix with its last byte that is not
/// 0xFF incremented and everything after it dropped; `None` (scan to the end) when the
/// prefix is empty or made only of 0xFF bytes.
pub fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&byte| byte != 0xff)?;
    let mut upper = prefix[..=last].to_vec();
    upper[last] += 1;
    Some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_engines() {
        let cases: &[(LimitError, &str)] = &[
            (
                LimitError::KeyTooLong {
                    role: KeyRole::Key,
                    len: 2047,
                },
                "key is too long (max 2048 bytes)",
            ),
            (
                LimitError::KeyTooLong {
                    role: KeyRole::Start,
                    len: 2047,
                },
                "start key is too long (max 2048 bytes)",
            ),
            (
                LimitError::KeyTooLong {
                    role: KeyRole::End,
                    len: 2047,
                },
                "end key is too long (max 2048 bytes)",
            ),
            (
                LimitError::KeyTooLong {
                    role: KeyRole::Prefix,
                    len: 2047,
                },
                "prefix key is too long (max 2048 bytes)",
            ),
            (
                LimitError::ValueTooLarge { len: 131_073 },
                "value is too large (max 128 KiB)",
            ),
            (
                LimitError::TooManyKeys { count: 129 },
                "a maximum of 128 keys is allowed",
            ),
            (
                LimitError::TooManyEntries { count: 129 },
                "A maximum of 128 key-value entries is allowed",
            ),
            (
                LimitError::PayloadTooLarge { size: 999_425 },
                "total payload is too large (max 976 KiB)",
            ),
            (
                LimitError::StorageFull {
                    remaining: 10,
                    payload: 12,
                },
                "not enough space left in storage (10 bytes remaining, current payload is 12 bytes)",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), *message);
        }
    }

    #[test]
    fn key_boundary() {
        assert_eq!(check_key(KeyRole::Key, &[0; 2046]), Ok(()));
        assert_eq!(
            check_key(KeyRole::Prefix, &[0; 2047]),
            Err(LimitError::KeyTooLong {
                role: KeyRole::Prefix,
                len: 2047
            })
        );
    }

    #[test]
    fn put_boundaries() {
        let max_value = vec![0u8; MAX_VALUE_SIZE];
        assert_eq!(
            check_put(&[(b"k", &max_value)], 0, DEFAULT_MAX_STORAGE_SIZE),
            Ok(1 + 2 + 131_072)
        );
        let too_big = vec![0u8; MAX_VALUE_SIZE + 1];
        assert!(matches!(
            check_put(&[(b"k", &too_big)], 0, DEFAULT_MAX_STORAGE_SIZE),
            Err(LimitError::ValueTooLarge { len: 131_073 })
        ));
        let keys: Vec<(Vec<u8>, Vec<u8>)> = (0..128u8).map(|i| (vec![i], Vec::new())).collect();
        assert_eq!(check_put(&keys, 0, DEFAULT_MAX_STORAGE_SIZE), Ok(128 * 3));
        let mut more = keys.clone();
        more.push((vec![200], Vec::new()));
        assert_eq!(
            check_put(&more, 0, DEFAULT_MAX_STORAGE_SIZE),
            Err(LimitError::TooManyEntries { count: 129 })
        );
        assert_eq!(
            check_keys(&vec![b"k"; 129]),
            Err(LimitError::TooManyKeys { count: 129 })
        );
    }

    #[test]
    fn payload_boundary() {
        // 7 values of 128 KiB with 1-byte keys: 7 * 131075 = 917525; fill the rest.
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = (0..7u8)
            .map(|i| (vec![i], vec![0; MAX_VALUE_SIZE]))
            .collect();
        let rest = MAX_PUT_PAYLOAD_SIZE - 7 * (1 + 2 + MAX_VALUE_SIZE) - 3;
        entries.push((vec![9], vec![0; rest]));
        assert_eq!(
            check_put(&entries, 0, DEFAULT_MAX_STORAGE_SIZE),
            Ok(MAX_PUT_PAYLOAD_SIZE as u64)
        );
        if let Some(last) = entries.last_mut() {
            last.1.push(0);
        }
        assert_eq!(
            check_put(&entries, 0, DEFAULT_MAX_STORAGE_SIZE),
            Err(LimitError::PayloadTooLarge {
                size: MAX_PUT_PAYLOAD_SIZE + 1
            })
        );
    }

    /// rivetkit 2.2.1's order: count, payload, storage, then per entry key and value.
    #[test]
    fn put_reports_the_first_broken_limit_in_rivetkits_order() {
        let long_key = vec![0u8; MAX_KEY_SIZE - 1];
        let big_value = vec![0u8; MAX_VALUE_SIZE + 1];
        let max = DEFAULT_MAX_STORAGE_SIZE;
        // 129 entries, one with a key too long: the count.
        let mut many: Vec<(Vec<u8>, Vec<u8>)> = (0..129u8).map(|i| (vec![i], vec![])).collect();
        many[5].0 = long_key.clone();
        assert_eq!(
            check_put(&many, 0, max),
            Err(LimitError::TooManyEntries { count: 129 })
        );
        // A key too long and a payload over 976 KiB: the payload.
        let mut heavy: Vec<(Vec<u8>, Vec<u8>)> = (0..8u8)
            .map(|i| (vec![i], vec![0; MAX_VALUE_SIZE]))
            .collect();
        heavy[0].0 = long_key.clone();
        assert!(matches!(
            check_put(&heavy, 0, max),
            Err(LimitError::PayloadTooLarge { .. })
        ));
        // A key too long on a full actor: the storage.
        assert!(matches!(
            check_put(&[(&long_key, &b"v"[..])], max, max),
            Err(LimitError::StorageFull { remaining: 0, .. })
        ));
        // One entry with a key too long and a value too large: the key.
        assert_eq!(
            check_put(&[(&long_key, &big_value)], 0, max),
            Err(LimitError::KeyTooLong {
                role: KeyRole::Key,
                len: MAX_KEY_SIZE - 1
            })
        );
        // Entry 1's value too large, entry 2's key too long: entry 1.
        assert_eq!(
            check_put(
                &[(&b"a"[..], &big_value[..]), (&long_key, &b""[..])],
                0,
                max
            ),
            Err(LimitError::ValueTooLarge {
                len: MAX_VALUE_SIZE + 1
            })
        );
    }

    #[test]
    fn storage_boundary() {
        assert_eq!(check_storage(90, 10, 100), Ok(()));
        assert_eq!(
            check_storage(90, 11, 100),
            Err(LimitError::StorageFull {
                remaining: 10,
                payload: 11
            })
        );
        assert_eq!(
            check_storage(150, 1, 100),
            Err(LimitError::StorageFull {
                remaining: 0,
                payload: 1
            })
        );
    }

    #[test]
    fn prefix_upper_bounds() {
        assert_eq!(prefix_upper_bound(b""), None);
        assert_eq!(prefix_upper_bound(&[0xff, 0xff]), None);
        assert_eq!(prefix_upper_bound(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_upper_bound(&[0x01, 0xff]), Some(vec![0x02]));
        assert_eq!(
            prefix_upper_bound(&[0x01, 0xfe, 0xff, 0xff]),
            Some(vec![0x01, 0xff])
        );
    }
}
