//! Key ordering: SQLite's BLOB order (memcmp, then shorter first), 0x00 and 0xFF bytes,
//! prefix upper bounds.

use fs_driver::{KvEntry, ListOptions};

use super::support::{all, create, keys, open, show};
use crate::{CaseResult, Context};

/// Keys full of 0x00, 0x01, 0x7F, 0x80 and 0xFF bytes, in a scrambled order.
fn tricky_keys() -> Vec<Vec<u8>> {
    vec![
        vec![0xff, 0xff],
        vec![0x80],
        b"a".to_vec(),
        vec![0x00],
        vec![0xff],
        Vec::new(),
        vec![0x00, 0x00],
        b"a\0".to_vec(),
        vec![0x7f, 0xff],
        b"ab".to_vec(),
        vec![0xff, 0x00],
        b"a\xff".to_vec(),
        vec![0x01],
        vec![0x00, 0xff],
        b"A".to_vec(),
        vec![0xfe, 0xff, 0xff],
        vec![0xff, 0xff, 0xff],
        vec![0x7f],
        b"aa".to_vec(),
        vec![0x80, 0x00],
    ]
}

fn put_all(driver: &fs_driver::FsDriver, keys: &[Vec<u8>]) -> Vec<KvEntry> {
    let batch: Vec<KvEntry> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), i.to_string().into_bytes()))
        .collect();
    driver.kv_put("a", &batch).expect("put the keys");
    let mut sorted = batch;
    sorted.sort();
    sorted
}

fn shown(keys: &[Vec<u8>]) -> Vec<String> {
    keys.iter().map(|k| show(k)).collect()
}

/// Listing returns keys in memcmp order with a shorter key before any key it is a
/// prefix of (Rust's `Vec<u8>` order is exactly that), unsigned bytes (0x80 and 0xFF
/// after 0x7F), 0x00 bytes being ordinary bytes, not terminators.
pub(crate) fn ordering_blob_memcmp_then_shorter(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let expected = put_all(&driver, &tricky_keys());
    for round in 0..2 {
        let listed = all(&driver, "a");
        assert_eq!(
            shown(&keys(&listed)),
            shown(&keys(&expected)),
            "ascending order (round {round})"
        );
        assert_eq!(listed, expected);
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(
            driver.kv_list_prefix("a", b"", ListOptions::new().reverse(true))?,
            reversed,
            "descending order (round {round})"
        );
        // Every key is distinct: `a`, `a\0` and `a\0\0`-like keys do not collide.
        for (key, value) in &expected {
            assert_eq!(
                driver.kv_get_one("a", key)?.as_ref(),
                Some(value),
                "{}",
                show(key)
            );
        }
        driver.sleep_actor("a", None)?;
    }
    Ok(())
}

/// A prefix made only of 0xFF bytes has no upper bound: it scans to the end of the key
/// space. A prefix ending in 0xFF bytes is bounded by incrementing its last byte that is
/// not 0xFF. A 0x00 byte in a prefix is matched literally.
pub(crate) fn ordering_prefix_bounds_with_ff_and_00(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let expected = put_all(&driver, &tricky_keys());
    let starting = |prefix: &[u8]| -> Vec<Vec<u8>> {
        keys(&expected)
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect()
    };
    let prefixes: Vec<Vec<u8>> = vec![
        vec![0xff],
        vec![0xff, 0xff],
        vec![0xff, 0xff, 0xff],
        vec![0xff, 0xff, 0xff, 0xff],
        vec![0xfe, 0xff],
        vec![0x7f],
        vec![0x00],
        vec![0x00, 0x00],
        b"a".to_vec(),
        b"a\0".to_vec(),
        b"a\xff".to_vec(),
        vec![0x80],
        Vec::new(),
    ];
    for prefix in &prefixes {
        for reverse in [false, true] {
            let mut want = starting(prefix);
            if reverse {
                want.reverse();
            }
            let got =
                keys(&driver.kv_list_prefix("a", prefix, ListOptions::new().reverse(reverse))?);
            assert_eq!(
                shown(&got),
                shown(&want),
                "prefix {} reverse {reverse}",
                show(prefix)
            );
        }
    }
    // With all-0xFF prefixes the scan really reaches the end: add keys past every other.
    driver.kv_put("a", &[(&[0xff, 0xff, 0xff, 0xff, 0x00][..], &b"end"[..])])?;
    let got = keys(&driver.kv_list_prefix("a", &[0xff, 0xff], ListOptions::new())?);
    assert_eq!(
        shown(&got),
        shown(&[
            vec![0xff, 0xff],
            vec![0xff, 0xff, 0xff],
            vec![0xff, 0xff, 0xff, 0xff, 0x00]
        ])
    );
    Ok(())
}

/// Range bounds compare as BLOBs too: `[a, a\0)` holds only `a`; `[\x00, \x01)` holds
/// every key starting with 0x00; an end of 0xFF excludes keys starting with 0xFF.
pub(crate) fn ordering_range_bounds_are_blobs(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &[]);
    let expected = put_all(&driver, &tricky_keys());
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"a".to_vec(), b"a\0".to_vec()),
        (vec![0x00], vec![0x01]),
        (Vec::new(), vec![0xff]),
        (vec![0xff], vec![0xff, 0xff, 0xff]),
        (vec![0x7f], vec![0x80, 0x00]),
        (b"a\0".to_vec(), b"a".to_vec()),
    ];
    for (start, end) in &cases {
        let want: Vec<Vec<u8>> = keys(&expected)
            .into_iter()
            .filter(|k| k >= start && k < end)
            .collect();
        let got = keys(&driver.kv_list_range("a", start, end, ListOptions::new())?);
        assert_eq!(
            shown(&got),
            shown(&want),
            "range [{}, {})",
            show(start),
            show(end)
        );
    }
    // Delete range uses the same order.
    driver.kv_delete_range("a", &[0x00], &[0x01])?;
    let want: Vec<Vec<u8>> = keys(&expected)
        .into_iter()
        .filter(|k| k.first() != Some(&0x00))
        .collect();
    assert_eq!(shown(&keys(&all(&driver, "a"))), shown(&want));
    Ok(())
}
