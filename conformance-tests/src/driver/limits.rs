//! The engine's KV limits, each at its exact boundary: the largest request accepted, the
//! smallest rejected with the engine's message, and nothing written by a rejection.

use fs_driver::{DriverOptions, KvEntry, ListOptions};

use super::support::{all, assert_limit, create, open, open_with};
use crate::{CaseResult, Context};

const KEY_MESSAGE: &str = "key is too long (max 2048 bytes)";

/// Keys of 2046 bytes (+2 = 2048) are accepted by every operation; 2047 bytes are
/// rejected with the message naming the argument (`key`, `start key`, `end key`,
/// `prefix key`).
pub(crate) fn limits_key_size_boundary(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let ok = vec![b'k'; 2046];
    let long = vec![b'k'; 2047];
    let ok_entry: Vec<KvEntry> = vec![(ok.clone(), b"v".to_vec())];
    let long_entry: Vec<KvEntry> = vec![(long.clone(), b"v".to_vec())];

    driver.kv_put("a", &ok_entry)?;
    assert_eq!(driver.kv_get("a", &[&ok])?, vec![Some(b"v".to_vec())]);
    assert_eq!(driver.kv_get_one("a", &ok)?, Some(b"v".to_vec()));
    assert_eq!(
        driver.kv_list_prefix("a", &ok, ListOptions::new())?,
        ok_entry
    );
    assert_eq!(
        driver.kv_list_range("a", &ok, &[0xff; 2046], ListOptions::new())?,
        ok_entry
    );
    driver.kv_delete_range("a", &[0xff; 2046], &[0xff; 2046])?;
    driver.kv_delete("a", &[&ok])?;
    assert!(all(&driver, "a").is_empty());

    assert_limit(driver.kv_put("a", &long_entry), KEY_MESSAGE, "put");
    assert_limit(driver.kv_get("a", &[&long]), KEY_MESSAGE, "get");
    assert_limit(driver.kv_get_one("a", &long), KEY_MESSAGE, "get one");
    assert_limit(driver.kv_delete("a", &[&long]), KEY_MESSAGE, "delete");
    assert_limit(
        driver.kv_delete_range("a", &long, b"z"),
        "start key is too long (max 2048 bytes)",
        "delete range start",
    );
    assert_limit(
        driver.kv_delete_range("a", b"a", &long),
        "end key is too long (max 2048 bytes)",
        "delete range end",
    );
    assert_limit(
        driver.kv_list_range("a", &long, b"z", ListOptions::new()),
        "start key is too long (max 2048 bytes)",
        "list range start",
    );
    assert_limit(
        driver.kv_list_range("a", b"a", &long, ListOptions::new()),
        "end key is too long (max 2048 bytes)",
        "list range end",
    );
    assert_limit(
        driver.kv_list_prefix("a", &long, ListOptions::new()),
        "prefix key is too long (max 2048 bytes)",
        "list prefix",
    );
    assert_limit(
        driver.create_actor("b", "n", Vec::new(), &long_entry),
        KEY_MESSAGE,
        "create with a long key",
    );
    assert!(
        !cx.dir().join("state/b").exists(),
        "a rejected create made an actor"
    );
    assert!(all(&driver, "a").is_empty());
    assert_eq!(driver.kv_storage_used("a")?, 0);
    Ok(())
}

/// Values of 131072 bytes are accepted, 131073 rejected.
pub(crate) fn limits_value_size_boundary(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let max = vec![0xabu8; 131_072];
    driver.kv_put("a", &[(&b"max"[..], &max[..])])?;
    assert_eq!(driver.kv_get_one("a", b"max")?, Some(max.clone()));
    let over = vec![0xcdu8; 131_073];
    assert_limit(
        driver.kv_put("a", &[(&b"over"[..], &over[..])]),
        "value is too large (max 128 KiB)",
        "put a value of 131073 bytes",
    );
    assert_limit(
        driver.kv_put("a", &[(&b"max"[..], &over[..])]),
        "value is too large (max 128 KiB)",
        "replace with a value of 131073 bytes",
    );
    assert_eq!(all(&driver, "a"), vec![(b"max".to_vec(), max)]);
    assert_eq!(driver.kv_storage_used("a")?, 3 + 131_072);
    Ok(())
}

/// Batches of 128 keys are accepted by put, get and delete; 129 are rejected, with
/// rivetkit 2.2.1's messages (puts count entries, gets and deletes keys).
pub(crate) fn limits_keys_per_batch(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let batch = |n: u16| -> Vec<KvEntry> {
        (0..n)
            .map(|i| (i.to_be_bytes().to_vec(), vec![1]))
            .collect()
    };
    let key_list = |n: u16| -> Vec<Vec<u8>> { (0..n).map(|i| i.to_be_bytes().to_vec()).collect() };
    driver.kv_put("a", &batch(128))?;
    assert_eq!(all(&driver, "a"), batch(128));
    assert_eq!(
        driver.kv_get("a", &key_list(128))?,
        vec![Some(vec![1]); 128]
    );

    let message = "a maximum of 128 keys is allowed";
    let more: Vec<KvEntry> = (0..129u16)
        .map(|i| ((1000 + i).to_be_bytes().to_vec(), vec![2]))
        .collect();
    let entries_message = "A maximum of 128 key-value entries is allowed";
    assert_limit(driver.kv_put("a", &more), entries_message, "put 129");
    assert_limit(driver.kv_get("a", &key_list(129)), message, "get 129");
    assert_limit(driver.kv_delete("a", &key_list(129)), message, "delete 129");
    assert_limit(
        driver.create_actor("b", "n", Vec::new(), &more),
        entries_message,
        "create with 129",
    );
    assert_eq!(all(&driver, "a"), batch(128), "nothing changed");

    driver.kv_delete("a", &key_list(128))?;
    assert!(all(&driver, "a").is_empty());
    Ok(())
}

/// A put whose payload (sum of key + 2 + value) is exactly 999424 bytes is accepted; one
/// byte more is rejected.
pub(crate) fn limits_put_payload_boundary(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let exact = |tag: u8| -> Vec<KvEntry> {
        // Seven values of 128 KiB with 2-byte keys, then the rest.
        let mut entries: Vec<KvEntry> =
            (0..7u8).map(|i| (vec![tag, i], vec![i; 131_072])).collect();
        let rest = 999_424 - 7 * (2 + 2 + 131_072) - (2 + 2);
        entries.push((vec![tag, 9], vec![9; rest]));
        entries
    };
    let accepted = exact(b'a');
    let payload: usize = accepted.iter().map(|(k, v)| k.len() + 2 + v.len()).sum();
    assert_eq!(payload, 999_424);
    driver.kv_put("a", &accepted)?;
    assert_eq!(all(&driver, "a"), accepted);

    let mut rejected = exact(b'b');
    if let Some(last) = rejected.last_mut() {
        last.1.push(0);
    }
    assert_limit(
        driver.kv_put("a", &rejected),
        "total payload is too large (max 976 KiB)",
        "put of 999425 bytes",
    );
    assert_eq!(all(&driver, "a"), accepted, "nothing written");
    let used: usize = accepted.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert_eq!(driver.kv_storage_used("a")?, used as u64);
    Ok(())
}

/// With a storage limit of 100 bytes: a payload filling it exactly is accepted; one more
/// byte is rejected with the remaining space and the payload in the message; deleting
/// frees space; `create_actor`'s initial entries are checked the same way.
pub(crate) fn limits_storage_boundary(cx: &Context) -> CaseResult {
    let driver = open_with(cx, DriverOptions::new().max_storage_bytes(100));
    // Payload 1 + 2 + 97 = 100: exactly the limit.
    let fill = vec![b'v'; 97];
    driver.create_actor("a", "n", Vec::new(), &[(&b"k"[..], &fill[..])])?;
    assert_eq!(driver.kv_storage_used("a")?, 98);
    assert_limit(
        driver.kv_put("a", &[(&b"x"[..], &b""[..])]),
        "not enough space left in storage (2 bytes remaining, current payload is 3 bytes)",
        "put past the limit",
    );
    // Replacing still counts the whole payload against what is left.
    assert_limit(
        driver.kv_put("a", &[(&b"k"[..], &fill[..])]),
        "not enough space left in storage (2 bytes remaining, current payload is 100 bytes)",
        "replace past the limit",
    );
    assert_eq!(all(&driver, "a"), vec![(b"k".to_vec(), fill.clone())]);
    // A payload of exactly the 2 bytes left is accepted (the empty key, empty value).
    driver.kv_put("a", &[(&b""[..], &b""[..])])?;
    assert_eq!(driver.kv_storage_used("a")?, 98);

    driver.kv_delete("a", &[b"k"])?;
    assert_eq!(driver.kv_storage_used("a")?, 0);
    let exact: Vec<KvEntry> = vec![(b"a".to_vec(), vec![1; 47]), (b"b".to_vec(), vec![2; 47])];
    driver.kv_put("a", &exact)?;
    assert_eq!(driver.kv_storage_used("a")?, 96);

    // Storage is per actor, and is checked on create before anything is written.
    let over = [b'v'; 98];
    assert_limit(
        driver.create_actor("b", "n", Vec::new(), &[(&b"k"[..], &over[..])]),
        "not enough space left in storage (100 bytes remaining, current payload is 101 bytes)",
        "create past the limit",
    );
    assert!(!cx.dir().join("state/b").exists());
    assert!(!cx.dir().join("databases/b.db").exists());
    driver.create_actor("b", "n", Vec::new(), &[(&b"k"[..], &fill[..])])?;

    // The tracked size survives a reopen: it is summed from the table.
    drop(driver);
    let driver = open_with(cx, DriverOptions::new().max_storage_bytes(100));
    assert_eq!(driver.kv_storage_used("a")?, 96);
    assert_limit(
        driver.kv_put("a", &[(&b"c"[..], &b"dd"[..])]),
        "not enough space left in storage (4 bytes remaining, current payload is 5 bytes)",
        "put past the limit after reopen",
    );
    driver.kv_put("a", &[(&b"c"[..], &b"d"[..])])?;
    assert_eq!(driver.kv_storage_used("a")?, 98);
    // Past the quota with a key too long too: the quota is reported, as rivetkit checks
    // it first (found by the KV fuzz target).
    let long_key = vec![b'k'; fs_driver::limits::MAX_KEY_SIZE + 1];
    assert_limit(
        driver.kv_put("a", &[(&long_key[..], &b""[..])]),
        &format!(
            "not enough space left in storage (2 bytes remaining, current payload is {} bytes)",
            long_key.len() + 2
        ),
        "a long key past the limit",
    );
    Ok(())
}

/// `kv_storage_used` is the sum of key + value over the table through puts, replaces,
/// deletes and delete ranges, and reads back the same after sleep and reopen.
pub(crate) fn limits_storage_used_tracks_the_table(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let mut expected = 0u64;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    driver.kv_put("a", &[(&b"aa"[..], &b"1234"[..]), (b"b", b"")])?;
    expected += 6 + 1;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    driver.kv_put("a", &[(&b"aa"[..], &b"1"[..])])?;
    expected -= 3;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    driver.kv_put("a", &[(&b"c"[..], &[0u8; 10][..]), (b"d", b"xyz")])?;
    expected += 11 + 4;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    driver.kv_delete("a", &[&b"b"[..], b"zzz"])?;
    expected -= 1;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    driver.kv_delete_range("a", b"c", b"e")?;
    expected -= 15;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    assert_eq!(expected, 3);
    driver.sleep_actor("a", None)?;
    assert_eq!(driver.kv_storage_used("a")?, expected);
    drop(driver);
    let driver = open(cx);
    assert_eq!(driver.kv_storage_used("a")?, expected);
    Ok(())
}
