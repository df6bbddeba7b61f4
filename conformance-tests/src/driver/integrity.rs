//! Files that are missing, replaced or inconsistent are errors that name them, never an
//! empty actor, a write acknowledged into an unlinked file, or a second actor.

use fs_driver::Error;
use fs_driver::state::{decode_state, encode_state};

use super::support::{all, create, entries, expect_err, files_under, open};
use crate::{CaseResult, Context};

/// An actor whose database is gone is [`Error::DatabaseMissing`] naming the file, for
/// the driver and for read-only reads; nothing is created in its place.
pub(crate) fn integrity_missing_database_is_an_error(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "a", &entries(&[("k", "v")]));
    driver.sleep_actor("a", None)?;
    let path = cx.dir().join("databases/a.db");
    std::fs::remove_file(&path)?;
    let error = expect_err(driver.kv_get("a", &[b"k"]), "wake without a database");
    assert!(
        matches!(&error, Error::DatabaseMissing { id, path: missing } if id == "a" && *missing == path),
        "{error}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert!(
        !path.exists(),
        "a database was created in place of the missing one"
    );
    let error = expect_err(
        fs_driver::read_actor(&**cx.runtime(), cx.dir(), "a", |kv| kv.get(&[b"k"])),
        "read without a database",
    );
    assert!(matches!(error, Error::DatabaseMissing { .. }), "{error}");
    Ok(())
}

/// Writes into an awake actor whose database, `-wal` or `-shm` was removed or replaced
/// are refused ([`Error::DatabaseReplaced`], not applied); the actor reopens its files at
/// the next operation (a missing database is then [`Error::DatabaseMissing`]).
pub(crate) fn integrity_writes_into_replaced_files_are_refused(cx: &Context) -> CaseResult {
    let driver = open(cx);
    let dir = cx.dir().join("databases");
    for (id, victim) in [
        ("db", "db.db"),
        ("wal", "wal.db-wal"),
        ("shm", "shm.db-shm"),
    ] {
        create(&driver, id, &entries(&[("kept", "1")]));
        driver.kv_put(id, &entries(&[("before", "1")]))?;
        let path = dir.join(victim);
        assert!(path.exists(), "{victim} while awake");
        // Replaced by a copy: same bytes, another file.
        let bytes = std::fs::read(&path)?;
        std::fs::remove_file(&path)?;
        if victim.ends_with(".db") {
            // The database removed for good.
        } else {
            std::fs::write(&path, &bytes)?;
        }
        let error = expect_err(driver.kv_put(id, &entries(&[("after", "1")])), victim);
        assert!(
            matches!(&error, Error::DatabaseReplaced { path: p } if *p == path),
            "{victim}: {error}"
        );
        if victim.ends_with(".db") {
            let error = expect_err(driver.kv_get(id, &[b"kept"]), "after the refusal");
            assert!(matches!(error, Error::DatabaseMissing { .. }), "{error}");
        } else {
            // Reopened on the files now in place: what was committed is there, the
            // refused write is not.
            let got = all(&driver, id);
            assert_eq!(got, entries(&[("before", "1"), ("kept", "1")]), "{victim}");
            driver.kv_put(id, &entries(&[("later", "1")]))?;
        }
    }
    Ok(())
}

/// A destroy that stopped after its point of no return (the `destroyTs` tombstone
/// written, some files left) leaves an actor that is gone: not found, not listed; a
/// retry of the destroy removes what is left, and a create starts empty.
pub(crate) fn integrity_half_done_destroy_is_gone_and_retry_finishes(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "t", &entries(&[("k", "v")]));
    driver.set_alarm("t", 5)?;
    driver.sleep_actor("t", None)?;
    let state_path = cx.dir().join("state/t");
    let (_, mut state) = decode_state(&std::fs::read(&state_path)?)?;
    state.destroy_ts = Some(state.created_at + 1);
    std::fs::write(&state_path, encode_state(&state))?;
    assert!(expect_err(driver.load_actor("t"), "tombstoned").is_not_found());
    assert!(driver.list_actors(None, 10)?.is_empty());
    driver.destroy_actor("t", None)?;
    assert_eq!(files_under(cx.dir()), Vec::<String>::new());
    create(&driver, "t", &[]);
    assert!(all(&driver, "t").is_empty());
    Ok(())
}

/// A state file copied under another name (its `actorId` is not its name) is refused:
/// not listed, not loaded, reported by inspection; the original is untouched.
pub(crate) fn integrity_state_file_of_another_actor_is_refused(cx: &Context) -> CaseResult {
    let driver = open(cx);
    create(&driver, "original", &entries(&[("k", "v")]));
    driver.sleep_actor("original", None)?;
    std::fs::copy(cx.dir().join("state/original"), cx.dir().join("state/copy"))?;
    std::fs::copy(
        cx.dir().join("databases/original.db"),
        cx.dir().join("databases/copy.db"),
    )?;
    let listed: Vec<String> = driver
        .list_actors(None, 10)?
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, ["original"]);
    let error = expect_err(driver.load_actor("copy"), "a copied state file");
    assert!(matches!(error, Error::StateIdMismatch { .. }), "{error}");
    let report = fs_driver::inspect_root(&**cx.runtime(), cx.dir())?;
    assert_eq!(report.actors.len(), 1);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(all(&driver, "original"), entries(&[("k", "v")]));
    Ok(())
}
