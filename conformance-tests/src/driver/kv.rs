//! Batch KV operations: put, get, delete, delete range, list prefix and range.

use fs_driver::{KvEntry, ListOptions};

use super::support::{all, assert_limit, create, entries, keys, memory, open};
use crate::{CaseResult, Context};

/// Batch put writes every entry and replaces existing keys; batch get answers one
/// result per key in the order asked (duplicates included), `None` for a missing key and
/// `Some(empty)` for an empty value.
pub(crate) fn kv_put_get_replace(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    driver.kv_put("a", &entries(&[("one", "1"), ("two", "2"), ("empty", "")]))?;
    driver.kv_put("a", &entries(&[("two", "deux"), ("three", "3")]))?;
    let got = driver.kv_get(
        "a",
        &[
            &b"three"[..],
            b"missing",
            b"one",
            b"two",
            b"empty",
            b"one",
            b"",
        ],
    )?;
    assert_eq!(
        got,
        vec![
            Some(b"3".to_vec()),
            None,
            Some(b"1".to_vec()),
            Some(b"deux".to_vec()),
            Some(Vec::new()),
            Some(b"1".to_vec()),
            None,
        ]
    );
    assert_eq!(
        driver.kv_get("a", &[] as &[&[u8]])?,
        Vec::<Option<Vec<u8>>>::new()
    );
    assert_eq!(driver.kv_get_one("a", b"two")?, Some(b"deux".to_vec()));
    assert_eq!(driver.kv_get_one("a", b"nope")?, None);

    // The same key twice in one batch: the later entry wins.
    driver.kv_put("a", &entries(&[("dup", "first"), ("dup", "second")]))?;
    assert_eq!(driver.kv_get_one("a", b"dup")?, Some(b"second".to_vec()));

    // The empty key is a key like any other.
    driver.kv_put("a", &entries(&[("", "root")]))?;
    assert_eq!(driver.kv_get_one("a", b"")?, Some(b"root".to_vec()));
    // An empty put is a no-op.
    let before = all(&driver, "a");
    driver.kv_put("a", &[] as &[(&[u8], &[u8])])?;
    assert_eq!(all(&driver, "a"), before);
    assert_eq!(
        keys(&before),
        vec![
            b"".to_vec(),
            b"dup".to_vec(),
            b"empty".to_vec(),
            b"one".to_vec(),
            b"three".to_vec(),
            b"two".to_vec(),
        ]
    );
    Ok(())
}

/// A batch put whose last entry breaks a limit writes none of its entries, not even the
/// valid ones before it; the same for a batch delete.
pub(crate) fn kv_batches_are_all_or_nothing(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("keep", "old")]));
    let long_key = vec![b'k'; 2047];
    let batch: Vec<KvEntry> = vec![
        (b"keep".to_vec(), b"new".to_vec()),
        (b"fresh".to_vec(), b"v".to_vec()),
        (long_key.clone(), b"v".to_vec()),
    ];
    assert_limit(
        driver.kv_put("a", &batch),
        "key is too long (max 2048 bytes)",
        "put with a long key last",
    );
    let big_value = vec![0u8; 131_073];
    let batch: Vec<(&[u8], &[u8])> = vec![(b"keep", b"new"), (b"fresh", &big_value)];
    assert_limit(
        driver.kv_put("a", &batch),
        "value is too large (max 128 KiB)",
        "put with a large value last",
    );
    assert_eq!(all(&driver, "a"), entries(&[("keep", "old")]));
    assert_eq!(driver.kv_storage_used("a")?, 7);

    assert_limit(
        driver.kv_delete("a", &[b"keep".to_vec(), long_key]),
        "key is too long (max 2048 bytes)",
        "delete with a long key last",
    );
    assert_eq!(all(&driver, "a"), entries(&[("keep", "old")]));

    // Reopened from disk: still only the original entry.
    driver.sleep_actor("a", None)?;
    assert_eq!(all(&driver, "a"), entries(&[("keep", "old")]));
    Ok(())
}

/// Batch delete removes the listed keys, ignores missing ones (and duplicates), and an
/// empty list is a no-op.
pub(crate) fn kv_delete_batch(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(
        &driver,
        "a",
        &entries(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]),
    );
    driver.kv_delete("a", &[&b"b"[..], b"missing", b"d", b"b"])?;
    assert_eq!(all(&driver, "a"), entries(&[("a", "1"), ("c", "3")]));
    driver.kv_delete("a", &[] as &[&[u8]])?;
    assert_eq!(all(&driver, "a"), entries(&[("a", "1"), ("c", "3")]));
    driver.kv_delete("a", &[b"nothing here"])?;
    assert_eq!(all(&driver, "a"), entries(&[("a", "1"), ("c", "3")]));
    assert_eq!(driver.kv_storage_used("a")?, 4);
    driver.kv_delete("a", &[&b"a"[..], b"c"])?;
    assert!(all(&driver, "a").is_empty());
    assert_eq!(driver.kv_storage_used("a")?, 0);
    Ok(())
}

/// Delete range removes exactly `[start, end)`; `start >= end` is a no-op.
pub(crate) fn kv_delete_range_half_open(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let initial = entries(&[
        ("a", "1"),
        ("b", "2"),
        ("b\0", "3"),
        ("ba", "4"),
        ("c", "5"),
        ("d", "6"),
    ]);
    create(&driver, "a", &initial);
    // No-ops: start == end, start > end.
    driver.kv_delete_range("a", b"b", b"b")?;
    driver.kv_delete_range("a", b"d", b"a")?;
    driver.kv_delete_range("a", b"ba", b"b\0")?;
    assert_eq!(all(&driver, "a"), initial);
    // [b, c): b, b\0, ba go; c stays.
    driver.kv_delete_range("a", b"b", b"c")?;
    assert_eq!(
        all(&driver, "a"),
        entries(&[("a", "1"), ("c", "5"), ("d", "6")])
    );
    // An empty start covers everything below end.
    driver.kv_delete_range("a", b"", b"c")?;
    assert_eq!(all(&driver, "a"), entries(&[("c", "5"), ("d", "6")]));
    // A range with nothing in it.
    driver.kv_delete_range("a", b"c\0", b"d")?;
    assert_eq!(all(&driver, "a"), entries(&[("c", "5"), ("d", "6")]));
    driver.kv_delete_range("a", b"c", &[0xff])?;
    assert!(all(&driver, "a").is_empty());
    assert_eq!(driver.kv_storage_used("a")?, 0);
    Ok(())
}

fn sample() -> Vec<KvEntry> {
    entries(&[
        ("app", "0"),
        ("p", "1"),
        ("p:1", "2"),
        ("p:2", "3"),
        ("p:3", "4"),
        ("p;", "5"),
        ("q", "6"),
    ])
}

/// List prefix: keys starting with the prefix, ascending or descending, cut at the
/// limit (the first entries in the chosen direction); an empty prefix lists everything.
pub(crate) fn kv_list_prefix_reverse_limit(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &sample());
    let list = |prefix: &[u8], options| driver.kv_list_prefix("a", prefix, options);
    let p_colon = entries(&[("p:1", "2"), ("p:2", "3"), ("p:3", "4")]);
    assert_eq!(list(b"p:", ListOptions::new())?, p_colon);
    let mut reversed = p_colon.clone();
    reversed.reverse();
    assert_eq!(list(b"p:", ListOptions::new().reverse(true))?, reversed);
    assert_eq!(
        list(b"p:", ListOptions::new().limit(2))?,
        p_colon[..2].to_vec()
    );
    assert_eq!(
        list(b"p:", ListOptions::new().reverse(true).limit(2))?,
        reversed[..2].to_vec()
    );
    assert_eq!(list(b"p:", ListOptions::new().limit(0))?, Vec::new());
    assert_eq!(list(b"p:", ListOptions::new().limit(100))?, p_colon);
    // `p` is a prefix of itself.
    assert_eq!(
        keys(&list(b"p", ListOptions::new())?),
        keys(&sample()[1..6])
    );
    assert_eq!(list(b"p:4", ListOptions::new())?, Vec::new());
    assert_eq!(list(b"zzz", ListOptions::new())?, Vec::new());
    // An empty prefix lists everything, in both directions.
    assert_eq!(list(b"", ListOptions::new())?, sample());
    let mut everything = sample();
    everything.reverse();
    assert_eq!(list(b"", ListOptions::new().reverse(true))?, everything);
    assert_eq!(
        list(b"", ListOptions::new().reverse(true).limit(1))?,
        entries(&[("q", "6")])
    );

    // The visitor form sees the same entries.
    let mut visited = Vec::new();
    driver.kv_scan_prefix("a", b"p:", ListOptions::new().reverse(true), &mut |k, v| {
        visited.push((k.to_vec(), v.to_vec()));
    })?;
    assert_eq!(visited, reversed);
    Ok(())
}

/// List range: keys in `[start, end)`, with direction and limit; `start >= end` lists
/// nothing.
pub(crate) fn kv_list_range_reverse_limit(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &sample());
    let list = |start: &[u8], end: &[u8], options| driver.kv_list_range("a", start, end, options);
    let expected = entries(&[("p", "1"), ("p:1", "2"), ("p:2", "3")]);
    assert_eq!(list(b"p", b"p:3", ListOptions::new())?, expected);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(
        list(b"p", b"p:3", ListOptions::new().reverse(true))?,
        reversed
    );
    assert_eq!(
        list(b"p", b"p:3", ListOptions::new().limit(2))?,
        expected[..2].to_vec()
    );
    assert_eq!(
        list(b"p", b"p:3", ListOptions::new().reverse(true).limit(2))?,
        reversed[..2].to_vec()
    );
    // Start is inclusive even when absent; end is exclusive even when present.
    assert_eq!(
        list(b"o", b"p:1", ListOptions::new())?,
        entries(&[("p", "1")])
    );
    assert_eq!(list(b"", &[0xff], ListOptions::new())?, sample());
    // Empty: start == end, start > end.
    assert_eq!(list(b"p", b"p", ListOptions::new())?, Vec::new());
    assert_eq!(list(b"q", b"a", ListOptions::new())?, Vec::new());
    assert_eq!(
        list(b"q", b"a", ListOptions::new().reverse(true))?,
        Vec::new()
    );
    let mut visited = Vec::new();
    driver.kv_scan_range(
        "a",
        b"p:",
        b"q",
        ListOptions::new().limit(3),
        &mut |k, v| visited.push((k.to_vec(), v.to_vec())),
    )?;
    assert_eq!(
        visited,
        entries(&[("p:1", "2"), ("p:2", "3"), ("p:3", "4")])
    );
    Ok(())
}

/// Without a limit a list returns at most 16384 entries (the first ones in the chosen
/// direction); an explicit larger limit returns them all. Run in memory mode and on
/// files.
pub(crate) fn kv_default_list_limit(cx: &Context) -> CaseResult {
    const TOTAL: u32 = 16_384 + 20;
    let key = |i: u32| i.to_be_bytes().to_vec();
    for driver in [memory(cx), open(cx)] {
        create(&driver, "a", &[]);
        let all_keys: Vec<Vec<u8>> = (0..TOTAL).map(key).collect();
        for chunk in all_keys.chunks(128) {
            let batch: Vec<(&[u8], &[u8])> =
                chunk.iter().map(|k| (k.as_slice(), &b""[..])).collect();
            driver.kv_put("a", &batch)?;
        }
        let listed = driver.kv_list_prefix("a", b"", ListOptions::new())?;
        assert_eq!(listed.len(), 16_384);
        assert_eq!(keys(&listed), all_keys[..16_384].to_vec());
        let listed = driver.kv_list_prefix("a", b"", ListOptions::new().reverse(true))?;
        assert_eq!(listed.len(), 16_384);
        assert_eq!(listed[0].0, key(TOTAL - 1));
        assert_eq!(listed[16_383].0, key(TOTAL - 16_384));
        let listed = driver.kv_list_range("a", &key(0), &key(TOTAL), ListOptions::new())?;
        assert_eq!(listed.len(), 16_384);
        let listed = driver.kv_list_prefix("a", b"", ListOptions::new().limit(TOTAL as usize))?;
        assert_eq!(listed.len(), TOTAL as usize);
        assert_eq!(
            driver
                .kv_list_range("a", &key(0), &key(TOTAL), ListOptions::new().limit(20_000))?
                .len(),
            TOTAL as usize
        );
    }
    Ok(())
}
