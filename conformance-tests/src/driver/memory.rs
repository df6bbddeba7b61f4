//! Memory mode: the same API, private in-memory databases, nothing written to disk.

use std::path::Path;

use fs_driver::{DriverOptions, FsDriver, ListOptions};

use super::support::{
    NO_ENTRIES, all, assert_limit, create, entries, expect_err, files_under, memory,
};
use crate::{CaseResult, Context};

fn layout_dirs_present(dir: &Path) -> Vec<bool> {
    ["state", "databases", "alarms"]
        .iter()
        .map(|d| dir.join(d).exists())
        .collect()
}

/// A memory driver runs the whole API — actors, KV, lists, limits, alarms — and writes
/// nothing: no root, no files in the case's directory, no layout in the working
/// directory.
pub(crate) fn memory_same_api_nothing_on_disk(cx: &Context) -> CaseResult {
    let cwd = std::env::current_dir()?;
    let cwd_before = layout_dirs_present(&cwd);
    let driver = memory(cx);
    assert!(driver.is_memory());
    assert!(driver.root().is_none() && driver.layout().is_none());
    assert!(driver.migration_report().is_none());

    let info = driver.create_actor("m2", "mem", vec!["k".into()], &entries(&[("a", "1")]))?;
    create(&driver, "m1", &[]);
    create(&driver, "m3", &[]);
    let error = expect_err(
        driver.create_actor("m2", "again", Vec::new(), NO_ENTRIES),
        "create twice",
    );
    assert!(
        matches!(error, fs_driver::Error::ActorExists(_)),
        "{error:?}"
    );
    assert_eq!(driver.load_actor("m2")?, info);
    let ids: Vec<String> = driver
        .list_actors(None, 10)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["m1", "m2", "m3"]);
    let ids: Vec<String> = driver
        .list_actors(Some("m1"), 1)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["m2"]);

    driver.kv_put("m2", &entries(&[("b", "2"), ("c", ""), ("d", "4")]))?;
    assert_eq!(
        driver.kv_get("m2", &[&b"a"[..], b"c", b"x"])?,
        vec![Some(b"1".to_vec()), Some(Vec::new()), None]
    );
    driver.kv_delete("m2", &[&b"a"[..], b"zz"])?;
    driver.kv_delete_range("m2", b"d", b"e")?;
    assert_eq!(all(&driver, "m2"), entries(&[("b", "2"), ("c", "")]));
    assert_eq!(
        driver.kv_list_range("m2", b"a", b"z", ListOptions::new().reverse(true).limit(1))?,
        entries(&[("c", "")])
    );
    assert_eq!(driver.kv_storage_used("m2")?, 3);
    assert!(all(&driver, "m1").is_empty(), "actors share nothing");
    assert_limit(
        driver.kv_put("m1", &[(vec![0u8; 2047], Vec::new())]),
        "key is too long (max 2048 bytes)",
        "long key in memory mode",
    );

    // Sleep keeps the data (closing an in-memory database would erase it).
    driver.sleep_actor("m2", None)?;
    assert_eq!(all(&driver, "m2"), entries(&[("b", "2"), ("c", "")]));

    driver.set_alarm("m2", 10)?;
    driver.set_alarm("m3", 5)?;
    assert_eq!(driver.get_alarm("m2")?, Some(10));
    assert_eq!(
        driver.due_alarms(10).unwrap(),
        vec![("m3".to_owned(), 5), ("m2".to_owned(), 10)]
    );
    driver.clear_alarm("m3")?;
    assert_eq!(driver.due_alarms(10).unwrap(), vec![("m2".to_owned(), 10)]);

    // Destroy drops everything; re-creating gives an empty actor.
    driver.destroy_actor("m2", None)?;
    assert!(driver.load_actor("m2").is_err());
    assert_eq!(driver.get_alarm("m2")?, None);
    let ids: Vec<String> = driver
        .list_actors(None, 10)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["m1", "m3"]);
    create(&driver, "m2", &[]);
    assert!(all(&driver, "m2").is_empty());
    assert_eq!(driver.get_alarm("m2")?, None);

    assert!(
        files_under(cx.dir()).is_empty(),
        "{:?}",
        files_under(cx.dir())
    );
    assert_eq!(
        layout_dirs_present(&cwd),
        cwd_before,
        "memory mode made directories"
    );
    Ok(())
}

/// Two memory drivers share nothing; the storage limit applies in memory mode too.
pub(crate) fn memory_drivers_are_private(cx: &Context) -> CaseResult {
    let one = memory(cx);
    let two = FsDriver::memory(
        cx.runtime().clone(),
        DriverOptions::new().max_storage_bytes(10),
    );
    create(&one, "a", &entries(&[("k", "one")]));
    assert!(
        two.load_actor("a").is_err(),
        "a memory actor leaked into another driver"
    );
    create(&two, "a", &entries(&[("k", "two")]));
    assert_eq!(all(&one, "a"), entries(&[("k", "one")]));
    assert_eq!(all(&two, "a"), entries(&[("k", "two")]));
    assert_limit(
        two.kv_put("a", &entries(&[("x", "123456")])),
        "not enough space left in storage (6 bytes remaining, current payload is 9 bytes)",
        "storage limit in memory mode",
    );
    two.kv_put("a", &entries(&[("x", "123")]))?;
    assert_eq!(two.kv_storage_used("a")?, 8);
    assert_eq!(all(&two, "a"), entries(&[("k", "two"), ("x", "123")]));
    drop(one);
    assert_eq!(all(&two, "a"), entries(&[("k", "two"), ("x", "123")]));
    Ok(())
}
