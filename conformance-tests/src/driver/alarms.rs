//! Alarms: set, get, clear, persistence in `alarms/<id>`, due alarms.

use fs_driver::alarm::decode_alarm;

use super::support::{create, expect_err, open};
use crate::{CaseResult, Context};

/// Setting an alarm writes `alarms/<id>` as a version 3 `ActorAlarm` (the spec's worked
/// example byte for byte); setting again replaces it; clearing removes the file; clearing
/// without an alarm is fine.
pub(crate) fn alarms_set_get_clear_file_bytes(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a1", &[]);
    assert_eq!(driver.get_alarm("a1")?, None);
    driver.set_alarm("a1", 1_700_000_005_000)?;
    assert_eq!(driver.get_alarm("a1")?, Some(1_700_000_005_000));
    let path = cx.dir().join("alarms/a1");
    assert_eq!(
        std::fs::read(&path)?,
        [
            0x03, 0x00, 0x02, 0x61, 0x31, 0x88, 0xf7, 0x95, 0xff, 0xbc, 0x31
        ],
        "the spec's worked example"
    );
    driver.set_alarm("a1", 5)?;
    assert_eq!(driver.get_alarm("a1")?, Some(5));
    assert_eq!(std::fs::read(&path)?, [0x03, 0x00, 0x02, 0x61, 0x31, 0x05]);
    driver.set_alarm("a1", u64::MAX)?;
    let (version, alarm) = decode_alarm(&std::fs::read(&path)?)?;
    assert_eq!(
        (version, alarm.actor_id.as_str(), alarm.timestamp),
        (3, "a1", u64::MAX)
    );
    driver.clear_alarm("a1")?;
    assert_eq!(driver.get_alarm("a1")?, None);
    assert!(!path.exists(), "clear left the alarm file");
    driver.clear_alarm("a1")?;

    // Alarms need an existing actor.
    let error = expect_err(driver.set_alarm("nobody", 1), "alarm on a missing actor");
    assert!(error.is_not_found(), "{error:?}");
    assert!(!cx.dir().join("alarms/nobody").exists());
    // An alarm can be set on a sleeping actor.
    driver.sleep_actor("a1", None)?;
    driver.set_alarm("a1", 7)?;
    assert_eq!(driver.get_alarm("a1")?, Some(7));
    Ok(())
}

/// Alarms survive a fresh driver on the same root (read back from their files), and
/// `due_alarms` returns those at or before `now`, earliest first, ties by id.
pub(crate) fn alarms_persist_and_come_due(cx: &Context) -> CaseResult {
    let driver = open(cx);
    for (id, at) in [("c", 300), ("a", 200), ("b", 200), ("d", 400), ("e", 0)] {
        create(&driver, id, &[]);
        driver.set_alarm(id, at)?;
    }
    create(&driver, "none", &[]);
    driver.clear_alarm("e")?;
    let expect_due = |driver: &fs_driver::FsDriver| {
        assert_eq!(driver.due_alarms(199).unwrap(), Vec::<(String, u64)>::new());
        assert_eq!(
            driver.due_alarms(200).unwrap(),
            vec![("a".to_owned(), 200), ("b".to_owned(), 200)]
        );
        assert_eq!(
            driver.due_alarms(350).unwrap(),
            vec![
                ("a".to_owned(), 200),
                ("b".to_owned(), 200),
                ("c".to_owned(), 300)
            ]
        );
        assert_eq!(driver.due_alarms(u64::MAX).unwrap().len(), 4);
    };
    expect_due(&driver);
    drop(driver);
    let driver = open(cx);
    expect_due(&driver);
    assert_eq!(driver.get_alarm("d")?, Some(400));
    assert_eq!(driver.get_alarm("e")?, None);
    assert_eq!(driver.get_alarm("none")?, None);
    // Destroying an actor drops its alarm, in memory and on disk.
    driver.destroy_actor("a", None)?;
    assert_eq!(driver.get_alarm("a")?, None);
    assert_eq!(driver.due_alarms(200).unwrap(), vec![("b".to_owned(), 200)]);
    drop(driver);
    let driver = open(cx);
    assert_eq!(driver.due_alarms(200).unwrap(), vec![("b".to_owned(), 200)]);
    Ok(())
}
