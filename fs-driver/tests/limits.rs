//! Every KV limit at its exact boundary, through the driver: the largest accepted
//! request succeeds, the smallest rejected one fails with the exact message and changes
//! nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{open, open_with, tempdir};
use fs_driver::limits::{MAX_KEY_SIZE, MAX_KEYS, MAX_PUT_PAYLOAD_SIZE, MAX_VALUE_SIZE};
use fs_driver::{DriverOptions, Error, FsDriver, KeyRole, LimitError, ListOptions};

const NO_ENTRIES: &[(&[u8], &[u8])] = &[];

fn actor(driver: &FsDriver) -> &'static str {
    driver
        .create_actor("a", "test", vec![], NO_ENTRIES)
        .unwrap();
    "a"
}

fn limit_of(result: Result<impl std::fmt::Debug, Error>) -> LimitError {
    match result {
        Err(Error::Limit(limit)) => limit,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

fn everything(driver: &FsDriver, id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    driver.kv_list_prefix(id, b"", ListOptions::new()).unwrap()
}

#[test]
fn key_size_boundary_for_every_operation() {
    let dir = tempdir();
    let driver = open(dir.path());
    let id = actor(&driver);
    let largest = vec![b'k'; MAX_KEY_SIZE - 2];
    let smallest_rejected = vec![b'k'; MAX_KEY_SIZE - 1];

    driver.kv_put(id, &[(&largest, b"v")]).unwrap();
    assert_eq!(
        driver.kv_get(id, &[&largest]).unwrap(),
        vec![Some(b"v".to_vec())]
    );
    driver
        .kv_list_prefix(id, &largest, ListOptions::new())
        .unwrap();
    driver
        .kv_list_range(id, &largest, &largest, ListOptions::new())
        .unwrap();
    driver.kv_delete_range(id, &largest, &largest).unwrap();
    driver.kv_delete(id, &[&largest]).unwrap();

    let message = |role: &str| format!("{role} is too long (max 2048 bytes)");
    let error = driver
        .kv_put(id, &[(&smallest_rejected, b"v")])
        .unwrap_err();
    assert_eq!(error.to_string(), message("key"));
    assert_eq!(
        limit_of(driver.kv_get(id, &[&smallest_rejected])),
        LimitError::KeyTooLong {
            role: KeyRole::Key,
            len: 2047
        }
    );
    assert_eq!(
        driver
            .kv_delete(id, &[&smallest_rejected])
            .unwrap_err()
            .to_string(),
        message("key")
    );
    assert_eq!(
        driver
            .kv_get_one(id, &smallest_rejected)
            .unwrap_err()
            .to_string(),
        message("key")
    );
    assert_eq!(
        driver
            .kv_list_prefix(id, &smallest_rejected, ListOptions::new())
            .unwrap_err()
            .to_string(),
        message("prefix key")
    );
    assert_eq!(
        driver
            .kv_list_range(id, &smallest_rejected, b"z", ListOptions::new())
            .unwrap_err()
            .to_string(),
        message("start key")
    );
    assert_eq!(
        driver
            .kv_list_range(id, b"a", &smallest_rejected, ListOptions::new())
            .unwrap_err()
            .to_string(),
        message("end key")
    );
    assert_eq!(
        driver
            .kv_delete_range(id, &smallest_rejected, b"z")
            .unwrap_err()
            .to_string(),
        message("start key")
    );
    assert_eq!(
        driver
            .kv_delete_range(id, b"a", &smallest_rejected)
            .unwrap_err()
            .to_string(),
        message("end key")
    );
    assert!(everything(&driver, id).is_empty());
}

#[test]
fn value_size_boundary() {
    let dir = tempdir();
    let driver = open(dir.path());
    let id = actor(&driver);
    let largest = vec![7u8; MAX_VALUE_SIZE];
    driver.kv_put(id, &[(b"big", &largest)]).unwrap();
    assert_eq!(driver.kv_get_one(id, b"big").unwrap(), Some(largest));
    let rejected = vec![7u8; MAX_VALUE_SIZE + 1];
    let error = driver
        .kv_put(
            id,
            &[(b"k".as_slice(), b"v".as_slice()), (b"big2", &rejected)],
        )
        .unwrap_err();
    assert_eq!(error.to_string(), "value is too large (max 128 KiB)");
    assert_eq!(
        error.as_limit(),
        Some(&LimitError::ValueTooLarge {
            len: MAX_VALUE_SIZE + 1
        })
    );
    // Nothing of the rejected batch was written.
    assert_eq!(driver.kv_get_one(id, b"k").unwrap(), None);
    assert_eq!(driver.kv_get_one(id, b"big2").unwrap(), None);
}

#[test]
fn keys_per_batch_boundary() {
    let dir = tempdir();
    let driver = open(dir.path());
    let id = actor(&driver);
    let batch: Vec<(Vec<u8>, Vec<u8>)> = (0..MAX_KEYS as u16)
        .map(|i| (i.to_be_bytes().to_vec(), b"v".to_vec()))
        .collect();
    driver.kv_put(id, &batch).unwrap();
    let keys: Vec<Vec<u8>> = batch.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(driver.kv_get(id, &keys).unwrap().len(), MAX_KEYS);

    let mut too_many = batch.clone();
    too_many.push((b"extra".to_vec(), b"v".to_vec()));
    let mut too_many_keys = keys.clone();
    too_many_keys.push(b"extra".to_vec());
    let message = "a maximum of 128 keys is allowed";
    assert_eq!(
        driver.kv_put(id, &too_many).unwrap_err().to_string(),
        "A maximum of 128 key-value entries is allowed"
    );
    assert_eq!(
        driver.kv_get(id, &too_many_keys).unwrap_err().to_string(),
        message
    );
    assert_eq!(
        driver
            .kv_delete(id, &too_many_keys)
            .unwrap_err()
            .to_string(),
        message
    );
    assert_eq!(
        limit_of(driver.kv_delete(id, &too_many_keys)),
        LimitError::TooManyKeys { count: 129 }
    );
    assert_eq!(driver.kv_get_one(id, b"extra").unwrap(), None);
    assert_eq!(everything(&driver, id).len(), MAX_KEYS);
    driver.kv_delete(id, &keys).unwrap();
    assert!(everything(&driver, id).is_empty());
}

/// Entries whose payload (sum of key + 2 + value) is exactly `total`.
fn payload_of(total: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut entries = Vec::new();
    let mut left = total;
    let mut index = 0u8;
    while left > 0 {
        let value = (left - 3).min(MAX_VALUE_SIZE);
        entries.push((vec![index], vec![index; value]));
        left -= 3 + value;
        index += 1;
    }
    entries
}

#[test]
fn put_payload_boundary() {
    let dir = tempdir();
    let driver = open(dir.path());
    let id = actor(&driver);
    let largest = payload_of(MAX_PUT_PAYLOAD_SIZE);
    driver.kv_put(id, &largest).unwrap();
    let mut rejected = payload_of(MAX_PUT_PAYLOAD_SIZE);
    for entry in &mut rejected {
        entry.0.push(0xaa); // new keys, one byte longer each...
    }
    // ...and one byte over the limit in total.
    let over: usize = rejected.iter().map(|(k, v)| k.len() + 2 + v.len()).sum();
    let mut trimmed = over - (MAX_PUT_PAYLOAD_SIZE + 1);
    for entry in &mut rejected {
        let cut = trimmed.min(entry.1.len());
        entry.1.truncate(entry.1.len() - cut);
        trimmed -= cut;
    }
    let error = driver.kv_put(id, &rejected).unwrap_err();
    assert_eq!(
        error.to_string(),
        "total payload is too large (max 976 KiB)"
    );
    assert_eq!(
        error.as_limit(),
        Some(&LimitError::PayloadTooLarge {
            size: MAX_PUT_PAYLOAD_SIZE + 1
        })
    );
    assert_eq!(everything(&driver, id), largest);
}

#[test]
fn storage_boundary_with_a_small_limit() {
    let dir = tempdir();
    let driver = open_with(dir.path(), DriverOptions::new().max_storage_bytes(100));
    let id = actor(&driver);
    // Stored: key + value = 60. The payload counts key + 2 + value.
    driver.kv_put(id, &[(b"k1", vec![0u8; 58])]).unwrap();
    assert_eq!(driver.kv_storage_used(id).unwrap(), 60);
    // 40 bytes remain: a payload of exactly 40 (2 + 2 + 36) fits.
    driver.kv_put(id, &[(b"k2", vec![0u8; 36])]).unwrap();
    assert_eq!(driver.kv_storage_used(id).unwrap(), 98);
    // 2 bytes remain; the smallest payload (empty key and value) is 2 bytes: fits.
    driver.kv_put(id, &[(b"", b"")]).unwrap();
    assert_eq!(driver.kv_storage_used(id).unwrap(), 98);
    // A 1-byte key makes a 3-byte payload: rejected with the exact message.
    let error = driver.kv_put(id, &[(b"x", b"")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not enough space left in storage (2 bytes remaining, current payload is 3 bytes)"
    );
    assert_eq!(
        error.as_limit(),
        Some(&LimitError::StorageFull {
            remaining: 2,
            payload: 3
        })
    );
    assert_eq!(driver.kv_get_one(id, b"x").unwrap(), None);
    // Freeing space makes room again, and the size survives a reload.
    driver.kv_delete(id, &[b"k1"]).unwrap();
    assert_eq!(driver.kv_storage_used(id).unwrap(), 38);
    driver.sleep_actor(id, None).unwrap();
    assert_eq!(driver.kv_storage_used(id).unwrap(), 38);
    driver.kv_put(id, &[(b"x", vec![0u8; 59])]).unwrap();
    assert_eq!(driver.kv_storage_used(id).unwrap(), 98);
}

#[test]
fn storage_limit_applies_to_initial_entries() {
    let dir = tempdir();
    let driver = open_with(dir.path(), DriverOptions::new().max_storage_bytes(10));
    let fits: &[(&[u8], &[u8])] = &[(b"ab", b"cdefgh")]; // payload 10
    driver.create_actor("ok", "t", vec![], fits).unwrap();
    let too_big: &[(&[u8], &[u8])] = &[(b"ab", b"cdefghi")]; // payload 11
    let error = driver.create_actor("no", "t", vec![], too_big).unwrap_err();
    assert_eq!(
        error.to_string(),
        "not enough space left in storage (10 bytes remaining, current payload is 11 bytes)"
    );
    // A rejected create leaves no actor behind.
    assert!(driver.load_actor("no").unwrap_err().is_not_found());
    assert!(!dir.path().join("state/no").exists());
    assert!(!dir.path().join("databases/no.db").exists());
}

#[test]
fn default_storage_limit_is_10_gib() {
    assert_eq!(
        DriverOptions::new().max_storage_bytes,
        10 * 1024 * 1024 * 1024
    );
}
