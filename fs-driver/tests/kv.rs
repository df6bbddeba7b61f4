//! KV semantics: ordering, prefixes (0xFF), ranges, reverse, limits, deletes, tracked
//! storage size, statement reuse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{open, tempdir};
use fs_driver::{FsDriver, ListOptions};

const NO_ENTRIES: &[(&[u8], &[u8])] = &[];

fn setup(keys: &[&[u8]]) -> (tempfile::TempDir, FsDriver) {
    let dir = tempdir();
    let driver = open(dir.path());
    driver.create_actor("a", "t", vec![], NO_ENTRIES).unwrap();
    let batch: Vec<(Vec<u8>, Vec<u8>)> = keys.iter().map(|k| (k.to_vec(), k.to_vec())).collect();
    driver.kv_put("a", &batch).unwrap();
    (dir, driver)
}

fn keys(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
    entries.into_iter().map(|(k, _)| k).collect()
}

fn v(keys: &[&[u8]]) -> Vec<Vec<u8>> {
    keys.iter().map(|k| k.to_vec()).collect()
}

#[test]
fn blob_ordering_is_memcmp_then_shorter_first() {
    let (_dir, driver) = setup(&[b"b", b"a\xff", b"a", b"", b"a\x00", b"ab"]);
    let listed = keys(driver.kv_list_prefix("a", b"", ListOptions::new()).unwrap());
    assert_eq!(listed, v(&[b"", b"a", b"a\x00", b"ab", b"a\xff", b"b"]));
    let reversed = keys(
        driver
            .kv_list_prefix("a", b"", ListOptions::new().reverse(true))
            .unwrap(),
    );
    assert_eq!(reversed, v(&[b"b", b"a\xff", b"ab", b"a\x00", b"a", b""]));
}

#[test]
fn prefix_scans_handle_0xff() {
    let (_dir, driver) = setup(&[
        b"\x01",
        b"\x01\xff",
        b"\x01\xff\xff",
        b"\x02",
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\x01",
    ]);
    let list = |prefix: &[u8]| {
        keys(
            driver
                .kv_list_prefix("a", prefix, ListOptions::new())
                .unwrap(),
        )
    };
    assert_eq!(list(b"\x01"), v(&[b"\x01", b"\x01\xff", b"\x01\xff\xff"]));
    assert_eq!(list(b"\x01\xff"), v(&[b"\x01\xff", b"\x01\xff\xff"]));
    assert_eq!(
        list(b"\xff"),
        v(&[b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xff\x01"])
    );
    assert_eq!(list(b"\xff\xff"), v(&[b"\xff\xff", b"\xff\xff\x01"]));
    assert!(list(b"\x03").is_empty());
    let reversed = keys(
        driver
            .kv_list_prefix("a", b"\xff", ListOptions::new().reverse(true).limit(2))
            .unwrap(),
    );
    assert_eq!(reversed, v(&[b"\xff\xff\x01", b"\xff\xff"]));
}

#[test]
fn ranges_are_half_open_and_empty_when_inverted() {
    let (_dir, driver) = setup(&[b"a", b"b", b"c", b"d"]);
    let range =
        |s: &[u8], e: &[u8], o: ListOptions| keys(driver.kv_list_range("a", s, e, o).unwrap());
    assert_eq!(range(b"b", b"d", ListOptions::new()), v(&[b"b", b"c"]));
    assert_eq!(
        range(b"b", b"d", ListOptions::new().reverse(true)),
        v(&[b"c", b"b"])
    );
    assert_eq!(
        range(b"a", b"z", ListOptions::new().limit(3)),
        v(&[b"a", b"b", b"c"])
    );
    assert_eq!(
        range(b"a", b"z", ListOptions::new().limit(0)),
        Vec::<Vec<u8>>::new()
    );
    assert!(range(b"c", b"c", ListOptions::new()).is_empty());
    assert!(range(b"d", b"a", ListOptions::new()).is_empty());
    // delete range: [b, d) and inverted ranges do nothing.
    driver.kv_delete_range("a", b"d", b"a").unwrap();
    driver.kv_delete_range("a", b"c", b"c").unwrap();
    assert_eq!(range(b"", b"z", ListOptions::new()).len(), 4);
    driver.kv_delete_range("a", b"b", b"d").unwrap();
    assert_eq!(range(b"", b"z", ListOptions::new()), v(&[b"a", b"d"]));
    assert_eq!(driver.kv_storage_used("a").unwrap(), 4);
}

#[test]
fn default_list_limit_is_16384() {
    let dir = tempdir();
    let driver = open(dir.path());
    driver.create_actor("a", "t", vec![], NO_ENTRIES).unwrap();
    for chunk in 0..((16_384 + 10) / 128 + 1) as u32 {
        let batch: Vec<(Vec<u8>, Vec<u8>)> = (0..128u32)
            .map(|i| ((chunk * 128 + i).to_be_bytes().to_vec(), Vec::new()))
            .collect();
        driver.kv_put("a", &batch).unwrap();
    }
    let listed = driver.kv_list_prefix("a", b"", ListOptions::new()).unwrap();
    assert_eq!(listed.len(), 16_384);
    let mut count = 0;
    driver
        .kv_scan_range(
            "a",
            b"",
            &[0xff],
            ListOptions::new().limit(20_000),
            &mut |_, _| count += 1,
        )
        .unwrap();
    assert!(count > 16_384);
}

#[test]
fn batch_get_delete_semantics() {
    let (_dir, driver) = setup(&[b"a", b"b"]);
    assert_eq!(
        driver.kv_get("a", &[b"b".as_slice(), b"zz", b"a"]).unwrap(),
        vec![Some(b"b".to_vec()), None, Some(b"a".to_vec())]
    );
    assert_eq!(
        driver.kv_get::<&[u8]>("a", &[]).unwrap(),
        Vec::<Option<Vec<u8>>>::new()
    );
    driver.kv_delete::<&[u8]>("a", &[]).unwrap();
    driver
        .kv_delete("a", &[b"missing".as_slice(), b"a"])
        .unwrap();
    assert_eq!(driver.kv_get_one("a", b"a").unwrap(), None);
    assert_eq!(driver.kv_get_one("a", b"b").unwrap(), Some(b"b".to_vec()));
    // Replacing keeps one row; duplicate keys in a batch: the last wins.
    driver
        .kv_put("a", &[(b"b".as_slice(), b"1".as_slice()), (b"b", b"22")])
        .unwrap();
    assert_eq!(driver.kv_get_one("a", b"b").unwrap(), Some(b"22".to_vec()));
    assert_eq!(driver.kv_storage_used("a").unwrap(), 3);
    // Empty values and keys are values like any other.
    driver
        .kv_put("a", &[(b"".as_slice(), b"".as_slice())])
        .unwrap();
    assert_eq!(driver.kv_get_one("a", b"").unwrap(), Some(Vec::new()));
}

#[test]
fn tracked_size_matches_a_fresh_sum_and_a_model() {
    let dir = tempdir();
    let driver = open(dir.path());
    driver.create_actor("a", "t", vec![], NO_ENTRIES).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let op = next() % 4;
        let key = vec![(next() % 20) as u8];
        match op {
            0 | 1 => {
                let batch: Vec<(Vec<u8>, Vec<u8>)> = (0..(next() % 4 + 1))
                    .map(|_| (vec![(next() % 20) as u8], vec![7; (next() % 50) as usize]))
                    .collect();
                driver.kv_put("a", &batch).unwrap();
                for (k, v) in batch {
                    model.insert(k, v);
                }
            }
            2 => {
                driver.kv_delete("a", &[&key]).unwrap();
                model.remove(&key);
            }
            _ => {
                let end = vec![key[0].saturating_add((next() % 5) as u8)];
                driver.kv_delete_range("a", &key, &end).unwrap();
                model.retain(|k, _| !(k >= &key && k < &end));
            }
        }
        let expected: u64 = model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        assert_eq!(driver.kv_storage_used("a").unwrap(), expected);
    }
    let listed = driver.kv_list_prefix("a", b"", ListOptions::new()).unwrap();
    assert_eq!(listed, model.clone().into_iter().collect::<Vec<_>>());
    let tracked = driver.kv_storage_used("a").unwrap();
    driver.sleep_actor("a", None).unwrap();
    assert_eq!(
        driver.kv_storage_used("a").unwrap(),
        tracked,
        "SUM on reopen agrees"
    );
}

#[test]
fn statements_are_prepared_once_and_reused() {
    let (_dir, driver) = setup(&[b"a"]);
    for i in 0..50 {
        driver.kv_get_one("a", b"a").unwrap();
        driver.kv_put("a", &[(b"b", b"v")]).unwrap();
        // Lists with changing limits must not re-prepare their statement.
        driver
            .kv_list_prefix("a", b"b", ListOptions::new().limit(1 + i % 3))
            .unwrap();
    }
    let stats = driver.kv_statement_cache_stats("a").unwrap();
    let get = stats
        .statement("SELECT value FROM kv WHERE key = ?")
        .expect("the get statement is cached");
    assert!(get.runs >= 50, "{get:?}");
    let put = stats
        .statement("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)")
        .expect("the put statement is cached");
    assert!(put.runs >= 50, "{put:?}");
    let scan = stats
        .statements
        .iter()
        .find(|s| s.sql.starts_with("SELECT key, value FROM kv"))
        .expect("the scan statement is cached");
    assert!(scan.runs >= 49, "{scan:?}");
    for statement in &stats.statements {
        assert_eq!(statement.reprepares, 0, "re-prepared: {statement:?}");
    }
    // The storage size is summed once, when the database was opened, never per put.
    for statement in stats.statements.iter().filter(|s| s.sql.contains("SUM")) {
        assert!(statement.runs <= 1, "{statement:?}");
    }
}

#[test]
fn deletes_report_the_entries_they_removed() {
    let (_dir, driver) = setup(&[b"a", b"b", b"c", b"d"]);
    assert_eq!(driver.kv_delete("a", &[&b"a"[..], b"missing"]).unwrap(), 1);
    assert_eq!(driver.kv_delete("a", &[b"a"]).unwrap(), 0);
    assert_eq!(driver.kv_delete("a", NO_KEYS).unwrap(), 0);
    assert_eq!(driver.kv_delete_range("a", b"b", b"d").unwrap(), 2);
    assert_eq!(driver.kv_delete_range("a", b"z", b"a").unwrap(), 0);
    assert_eq!(
        keys(driver.kv_list_prefix("a", b"", ListOptions::new()).unwrap()),
        v(&[b"d"])
    );
}

const NO_KEYS: &[&[u8]] = &[];
