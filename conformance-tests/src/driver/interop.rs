//! A storage root written through one backend is read and written through every other.

use fs_driver::{DriverOptions, FsDriver, KvEntry};

use super::support::{all, entries};
use crate::{CaseResult, Context};

fn binary_entries() -> Vec<KvEntry> {
    let mut e: Vec<KvEntry> = vec![
        (Vec::new(), b"empty key".to_vec()),
        (vec![0x00], vec![0x00; 3]),
        (vec![0xff, 0xff], Vec::new()),
        (b"big".to_vec(), (0..=255u8).cycle().take(100_000).collect()),
        (b"text".to_vec(), "héllo".as_bytes().to_vec()),
    ];
    e.sort();
    e
}

/// The driver writes actors, entries and an alarm through the backend under test; a
/// driver on every compiled backend then reads exactly the same data, and each adds an
/// entry that the backend under test reads back.
pub(crate) fn interop_root_shared_by_every_backend(cx: &Context) -> CaseResult {
    let here = cx.runtime().backend();
    {
        let driver = FsDriver::open(cx.runtime().clone(), cx.dir(), DriverOptions::new())?;
        driver.create_actor(
            "shared",
            "interop",
            vec![here.to_owned()],
            &binary_entries(),
        )?;
        driver.kv_put("shared", &entries(&[("written-by", here)]))?;
        driver.set_alarm("shared", 777)?;
        // Left running: dropping the driver closes the connection.
    }
    let mut expected = binary_entries();
    expected.push((b"written-by".to_vec(), here.as_bytes().to_vec()));
    expected.sort();
    let runtimes = cx.all_runtimes();
    assert!(!runtimes.is_empty());
    for runtime in &runtimes {
        let name = runtime.backend();
        let driver = FsDriver::open(runtime.clone(), cx.dir(), DriverOptions::new())?;
        assert_eq!(all(&driver, "shared"), expected, "read through {name}");
        assert_eq!(
            driver.get_alarm("shared")?,
            Some(777),
            "alarm through {name}"
        );
        let info = driver.load_actor("shared")?;
        assert_eq!(
            (info.name.as_str(), info.key),
            ("interop", vec![here.to_owned()])
        );
        let key = format!("from:{name}");
        driver.kv_put("shared", &entries(&[(&key, name)]))?;
        expected.push((key.into_bytes(), name.as_bytes().to_vec()));
        expected.sort();
        driver.sleep_actor("shared", None)?;
    }
    let driver = FsDriver::open(cx.runtime().clone(), cx.dir(), DriverOptions::new())?;
    assert_eq!(all(&driver, "shared"), expected, "read back through {here}");
    assert_eq!(
        driver.kv_storage_used("shared")?,
        expected
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum::<u64>()
    );
    Ok(())
}
