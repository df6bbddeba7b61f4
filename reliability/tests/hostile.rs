//! Hostile and bad input: every KV limit at its boundary (typed error, nothing written),
//! actor ids that try path traversal, legacy files truncated at every byte offset,
//! random and mutated bytes, unknown versions and 2^63 length varints (an error for that
//! file, the rest migrate), and storage roots that are missing, a file, read-only, or
//! hold a corrupt database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{crash_child, runtime, seed, tempdir};
use fs_driver::limits::{MAX_KEYS, MAX_PUT_PAYLOAD_SIZE, MAX_VALUE_SIZE};
use fs_driver::state::{decode_state, encode_state, legacy};
use fs_driver::{
    DriverOptions, Error, FsDriver, InvalidActorId, KeyRole, LimitError, ListOptions,
    MigrationOptions, migrate_legacy,
};
use reliability_tests::Rng;
use reliability_tests::child::ChildRun;
use reliability_tests::fuzz_checks::sample_state;
use reliability_tests::legacy::generate_actors;
use reliability_tests::sqlite_check::read_kv;
use reliability_tests::tree::snapshot;

per_backend! {
    every_limit_at_its_boundary => every_limit_at_its_boundary;
    hostile_actor_ids_touch_nothing => hostile_actor_ids_touch_nothing;
    legacy_files_truncated_at_every_offset => legacy_files_truncated_at_every_offset;
    legacy_random_mutated_and_hostile_files => legacy_random_mutated_and_hostile_files;
    missing_file_and_read_only_roots => missing_file_and_read_only_roots;
    corrupt_database_of_one_actor => corrupt_database_of_one_actor;
}

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Entries whose payload (sum of key + 2 + value) is exactly `total`.
fn payload_of(total: usize) -> Entries {
    let mut entries = Vec::new();
    let mut left = total;
    let mut index = 0u8;
    while left > 0 {
        let value = (left - 3).min(MAX_VALUE_SIZE);
        entries.push((vec![b'p', index], vec![index; value - 1]));
        left -= 4 + value - 1;
        index += 1;
    }
    entries
}

fn every_limit_at_its_boundary(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let driver = FsDriver::open(
        runtime(backend),
        &root,
        DriverOptions::new().max_storage_bytes(3_000_000),
    )
    .unwrap();
    let none: &[(&[u8], &[u8])] = &[];
    let id = "limits";
    driver.create_actor(id, "l", vec![], none).unwrap();
    let db = root.join("databases").join(format!("{id}.db"));
    let rt = runtime(backend);
    let key = |len: usize| vec![b'k'; len];
    let many =
        |n: usize| -> Vec<Vec<u8>> { (0..n).map(|i| format!("m{i:04}").into_bytes()).collect() };
    let pairs =
        |keys: Vec<Vec<u8>>| -> Entries { keys.into_iter().map(|k| (k, b"v".to_vec())).collect() };
    type Op<'a> = Box<dyn Fn(&FsDriver) -> Result<(), Error> + 'a>;
    // (case, operation, the limit it breaks or None when it is exactly at the boundary)
    let cases: Vec<(&str, Op, Option<LimitError>)> = vec![
        (
            "put key 2046",
            Box::new(|d: &FsDriver| d.kv_put(id, &[(key(2046), b"v".to_vec())])),
            None,
        ),
        (
            "put key 2047",
            Box::new(|d: &FsDriver| d.kv_put(id, &[(key(2047), b"v".to_vec())])),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Key,
                len: 2047,
            }),
        ),
        (
            "get key 2046",
            Box::new(|d: &FsDriver| d.kv_get(id, &[key(2046)]).map(|_| ())),
            None,
        ),
        (
            "get key 2047",
            Box::new(|d: &FsDriver| d.kv_get(id, &[key(2047)]).map(|_| ())),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Key,
                len: 2047,
            }),
        ),
        (
            "get one key 2047",
            Box::new(|d: &FsDriver| d.kv_get_one(id, &key(2047)).map(|_| ())),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Key,
                len: 2047,
            }),
        ),
        (
            "delete key 2047",
            Box::new(|d: &FsDriver| d.kv_delete(id, &[key(2047)]).map(drop)),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Key,
                len: 2047,
            }),
        ),
        (
            "delete range start 2047",
            Box::new(|d: &FsDriver| d.kv_delete_range(id, &key(2047), b"z").map(drop)),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Start,
                len: 2047,
            }),
        ),
        (
            "delete range end 2047",
            Box::new(|d: &FsDriver| d.kv_delete_range(id, b"a", &key(2047)).map(drop)),
            Some(LimitError::KeyTooLong {
                role: KeyRole::End,
                len: 2047,
            }),
        ),
        (
            "list prefix 2047",
            Box::new(|d: &FsDriver| {
                d.kv_list_prefix(id, &key(2047), ListOptions::new())
                    .map(|_| ())
            }),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Prefix,
                len: 2047,
            }),
        ),
        (
            "list range start 2047",
            Box::new(|d: &FsDriver| {
                d.kv_list_range(id, &key(2047), b"z", ListOptions::new())
                    .map(|_| ())
            }),
            Some(LimitError::KeyTooLong {
                role: KeyRole::Start,
                len: 2047,
            }),
        ),
        (
            "list range end 2047",
            Box::new(|d: &FsDriver| {
                d.kv_list_range(id, b"a", &key(2047), ListOptions::new())
                    .map(|_| ())
            }),
            Some(LimitError::KeyTooLong {
                role: KeyRole::End,
                len: 2047,
            }),
        ),
        (
            "value 128 KiB",
            Box::new(|d: &FsDriver| d.kv_put(id, &[(b"val".to_vec(), vec![7; MAX_VALUE_SIZE])])),
            None,
        ),
        (
            "value 128 KiB + 1",
            Box::new(|d: &FsDriver| {
                d.kv_put(id, &[(b"val2".to_vec(), vec![7; MAX_VALUE_SIZE + 1])])
            }),
            Some(LimitError::ValueTooLarge {
                len: MAX_VALUE_SIZE + 1,
            }),
        ),
        (
            "put 128 keys",
            Box::new(|d: &FsDriver| d.kv_put(id, &pairs(many(MAX_KEYS)))),
            None,
        ),
        (
            "put 129 keys",
            Box::new(|d: &FsDriver| d.kv_put(id, &pairs(many(MAX_KEYS + 1)))),
            Some(LimitError::TooManyEntries {
                count: MAX_KEYS + 1,
            }),
        ),
        (
            "get 128 keys",
            Box::new(|d: &FsDriver| d.kv_get(id, &many(MAX_KEYS)).map(|_| ())),
            None,
        ),
        (
            "get 129 keys",
            Box::new(|d: &FsDriver| d.kv_get(id, &many(MAX_KEYS + 1)).map(|_| ())),
            Some(LimitError::TooManyKeys {
                count: MAX_KEYS + 1,
            }),
        ),
        (
            "delete 129 keys",
            Box::new(|d: &FsDriver| d.kv_delete(id, &many(MAX_KEYS + 1)).map(drop)),
            Some(LimitError::TooManyKeys {
                count: MAX_KEYS + 1,
            }),
        ),
        (
            "payload 976 KiB",
            Box::new(|d: &FsDriver| d.kv_put(id, &payload_of(MAX_PUT_PAYLOAD_SIZE))),
            None,
        ),
        (
            "payload 976 KiB + 1",
            Box::new(|d: &FsDriver| d.kv_put(id, &payload_of(MAX_PUT_PAYLOAD_SIZE + 1))),
            Some(LimitError::PayloadTooLarge {
                size: MAX_PUT_PAYLOAD_SIZE + 1,
            }),
        ),
        (
            "delete 128 keys",
            Box::new(|d: &FsDriver| d.kv_delete(id, &many(MAX_KEYS)).map(drop)),
            None,
        ),
    ];
    let mut checked = 0;
    for (name, op, limit) in &cases {
        let before = read_kv(&*rt, &db).unwrap();
        let used = driver.kv_storage_used(id).unwrap();
        match (op(&driver), limit) {
            (Ok(()), None) => {}
            (Err(Error::Limit(got)), Some(want)) => {
                assert_eq!(got, *want, "{backend}: {name}");
                assert_eq!(
                    read_kv(&*rt, &db).unwrap(),
                    before,
                    "{backend}: {name} wrote"
                );
                assert_eq!(
                    driver.kv_storage_used(id).unwrap(),
                    used,
                    "{backend}: {name}"
                );
            }
            (other, _) => panic!("{backend}: {name}: {other:?}, expected {limit:?}"),
        }
        checked += 1;
    }
    // Storage, with a 10 000-byte limit: a put whose payload (key + 2 + value) is
    // exactly what is left goes through; one byte more is refused.
    let small_root = dir.path().join("small");
    let small = FsDriver::open(
        runtime(backend),
        &small_root,
        DriverOptions::new().max_storage_bytes(10_000),
    )
    .unwrap();
    small.create_actor("s", "s", vec![], none).unwrap();
    let small_db = small_root.join("databases/s.db");
    let over: Entries = vec![(b"z".to_vec(), vec![0; 10_000 - 2])];
    assert_eq!(
        small.kv_put("s", &over).unwrap_err().as_limit(),
        Some(&LimitError::StorageFull {
            remaining: 10_000,
            payload: 10_001
        }),
        "{backend}"
    );
    assert_eq!(read_kv(&*rt, &small_db).unwrap(), Some(Default::default()));
    small
        .kv_put("s", &[(b"z".to_vec(), vec![0; 10_000 - 3])])
        .unwrap();
    assert_eq!(small.kv_storage_used("s").unwrap(), 10_000 - 2);
    let before = read_kv(&*rt, &small_db).unwrap();
    assert_eq!(
        small.kv_put("s", &[(b"a", b"")]).unwrap_err().as_limit(),
        Some(&LimitError::StorageFull {
            remaining: 2,
            payload: 3
        }),
        "{backend}"
    );
    assert_eq!(read_kv(&*rt, &small_db).unwrap(), before);
    // An empty key and value: payload 2, exactly what is left.
    small.kv_put("s", &[(b"", b"")]).unwrap();
    checked += 3;
    // Initial entries of a create are held to the same limits: no actor appears.
    let too_big = vec![(b"k".to_vec(), vec![0; MAX_VALUE_SIZE + 1])];
    assert!(matches!(
        driver.create_actor("never", "n", vec![], &too_big),
        Err(Error::Limit(LimitError::ValueTooLarge { .. }))
    ));
    assert!(!root.join("state/never").exists() && !root.join("databases/never.db").exists());
    checked += 1;
    eprintln!("{backend}: {checked} boundary cases");
}

fn hostile_actor_ids_touch_nothing(backend: &str) {
    let dir = tempdir();
    // The root sits two levels down, so that an escape would land inside the tempdir.
    let root = dir.path().join("a").join("b").join("root");
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    let before = snapshot(dir.path());
    let long = "x".repeat(256);
    let long_utf8 = "é".repeat(128);
    let ids: Vec<(&str, InvalidActorId)> = vec![
        ("", InvalidActorId::Empty),
        (".", InvalidActorId::DotName),
        ("..", InvalidActorId::DotName),
        ("../escape", InvalidActorId::PathSeparator),
        ("../../../../etc/passwd", InvalidActorId::PathSeparator),
        ("/etc/passwd", InvalidActorId::PathSeparator),
        ("/", InvalidActorId::PathSeparator),
        ("a/../../b", InvalidActorId::PathSeparator),
        ("..\\..\\windows", InvalidActorId::PathSeparator),
        ("a\\b", InvalidActorId::PathSeparator),
        ("nul\0byte", InvalidActorId::Nul),
        ("\0", InvalidActorId::Nul),
        ("new\nline", InvalidActorId::ControlCharacter),
        ("esc\u{1b}[31m", InvalidActorId::ControlCharacter),
        ("del\u{7f}", InvalidActorId::ControlCharacter),
        ("c1\u{85}", InvalidActorId::ControlCharacter),
        ("x.tmp.y", InvalidActorId::TempMarker),
        (".tmp.", InvalidActorId::TempMarker),
        (&long, InvalidActorId::TooLong { len: 256 }),
        (&long_utf8, InvalidActorId::TooLong { len: 256 }),
    ];
    let none: &[(&[u8], &[u8])] = &[];
    let mut calls = 0;
    for (id, reason) in &ids {
        let mut check = |what: &str, result: Result<(), Error>| {
            calls += 1;
            match result {
                Err(Error::InvalidActorId {
                    reason: got,
                    id: named,
                }) => {
                    assert_eq!(got, *reason, "{backend}: {what} {id:?}");
                    assert_eq!(named, *id);
                }
                other => panic!("{backend}: {what} {id:?}: {other:?}"),
            }
        };
        check(
            "create",
            driver.create_actor(id, "n", vec![], none).map(|_| ()),
        );
        check("load", driver.load_actor(id).map(|_| ()));
        check("put", driver.kv_put(id, &[(b"k", b"v")]));
        check("get", driver.kv_get(id, &[b"k"]).map(|_| ()));
        check("get one", driver.kv_get_one(id, b"k").map(|_| ()));
        check("delete", driver.kv_delete(id, &[b"k"]).map(drop));
        check(
            "delete range",
            driver.kv_delete_range(id, b"a", b"b").map(drop),
        );
        check(
            "list prefix",
            driver
                .kv_list_prefix(id, b"", ListOptions::new())
                .map(|_| ()),
        );
        check(
            "list range",
            driver
                .kv_list_range(id, b"a", b"b", ListOptions::new())
                .map(|_| ()),
        );
        check("storage used", driver.kv_storage_used(id).map(|_| ()));
        check("sleep", driver.sleep_actor(id, None));
        check("destroy", driver.destroy_actor(id, None));
        check("set alarm", driver.set_alarm(id, 1));
        check("get alarm", driver.get_alarm(id).map(|_| ()));
        check("clear alarm", driver.clear_alarm(id));
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "{backend}: a rejected id touched the disk"
    );
    assert!(driver.list_actors(None, 10).unwrap().is_empty());
    eprintln!(
        "{backend}: {} hostile ids x 15 operations = {calls} calls rejected",
        ids.len()
    );
}

fn write_state(root: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(root.join("state")).unwrap();
    std::fs::write(root.join("state").join(name), bytes).unwrap();
}

/// Migrates `root`, where `good` are well-formed actors and every other file is
/// expected to fail, and checks: each bad file is reported with its path as a decode
/// error, every good actor migrated exactly, and no legacy file changed.
fn migrate_and_check(backend: &str, root: &Path, good: &[(String, Entries)], bad: &[String]) {
    let rt = runtime(backend);
    let files_before = snapshot(&root.join("state"));
    let report = migrate_legacy(&*rt, root, MigrationOptions::default()).unwrap();
    let mut failed: Vec<String> = report
        .failures
        .iter()
        .map(|failure| {
            assert!(
                matches!(failure.error, Error::Decode { .. }),
                "{backend}: {:?}",
                failure.error
            );
            assert!(
                failure
                    .error
                    .to_string()
                    .contains(&failure.path.display().to_string())
            );
            failure
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    failed.sort();
    let mut expected_bad = bad.to_vec();
    expected_bad.sort();
    assert_eq!(failed, expected_bad, "{backend}: the failed files");
    for (id, entries) in good {
        let kv = read_kv(&*rt, &root.join("databases").join(format!("{id}.db"))).unwrap();
        let kv: Entries = kv.unwrap_or_default().into_iter().collect();
        let mut want = entries.clone();
        want.sort();
        assert_eq!(kv, want, "{backend}: {id}");
    }
    for name in bad {
        assert!(!root.join("databases").join(format!("{name}.db")).exists());
    }
    assert_eq!(
        snapshot(&root.join("state")),
        files_before,
        "{backend}: legacy files changed"
    );
}

/// The files truncated: the rivetkit fixtures, generated v1/v2/v3 files and a state
/// with every field set.
fn truncation_sources() -> Vec<(String, Vec<u8>)> {
    let mut sources = rivetkit_fixtures();
    for actor in generate_actors(11, 6, 4) {
        sources.push((format!("gen-v{}-{}", actor.version, actor.id), actor.bytes));
    }
    let full = sample_state();
    sources.push(("full-v3".into(), encode_state(&full)));
    sources.push(("full-v2".into(), legacy::encode_v2(&full)));
    sources.push(("full-v1".into(), legacy::encode_v1(&full, b"persisted")));
    sources
}

fn legacy_files_truncated_at_every_offset(backend: &str) {
    let dir = tempdir();
    let mut cases = 0;
    let sources = truncation_sources();
    assert!(sources.len() >= 9);
    for (index, (name, bytes)) in sources.iter().enumerate() {
        let (_, state) = decode_state(bytes).unwrap();
        let root = dir.path().join(format!("root-{index}"));
        let mut bad = Vec::new();
        for len in 0..bytes.len() {
            assert!(
                decode_state(&bytes[..len]).is_err(),
                "{name}: {len}-byte prefix decodes"
            );
            let file = format!("{name}-cut-{len:04}");
            write_state(&root, &file, &bytes[..len]);
            bad.push(file);
            cases += 1;
        }
        write_state(&root, name, bytes);
        let good = if state.kv_storage.is_empty() {
            Vec::new()
        } else {
            vec![(name.clone(), state.kv_storage.clone())]
        };
        migrate_and_check(backend, &root, &good, &bad);
    }
    eprintln!(
        "{backend}: {cases} truncated files from {} sources, each refused alone",
        sources.len()
    );
}

/// The varint of 2^63: nine continuation bytes, then 1.
const VARINT_2_63: [u8; 10] = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01];

/// A well-formed file with the length or count at `field` replaced by `varint`.
fn with_hostile_length(version: u16, field: usize, varint: &[u8]) -> Vec<u8> {
    // Built by hand, field by field, so the replaced length is exactly where it belongs.
    let mut out = version.to_le_bytes().to_vec();
    let push_len = |out: &mut Vec<u8>, index: usize, len: u8| {
        if index == field {
            out.extend_from_slice(varint);
        } else {
            out.push(len);
        }
    };
    push_len(&mut out, 0, 1); // actorId
    out.push(b'a');
    push_len(&mut out, 1, 1); // name
    out.push(b'n');
    push_len(&mut out, 2, 1); // key list count
    push_len(&mut out, 3, 1); // key[0]
    out.push(b'k');
    if version == 1 {
        push_len(&mut out, 4, 2); // persistedData
        out.extend_from_slice(b"pd");
    } else {
        push_len(&mut out, 4, 1); // kvStorage count
        push_len(&mut out, 5, 1); // entry key
        out.push(b'x');
        push_len(&mut out, 6, 1); // entry value
        out.push(b'y');
    }
    out.extend_from_slice(&1_700_000_000_000u64.to_le_bytes());
    if version == 3 {
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out
}

fn legacy_random_mutated_and_hostile_files(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    let mut rng = Rng::new(seed(backend, 42));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    // Random bytes; half of them start with a known version so the decoder goes deeper.
    for i in 0..1500 {
        let len = rng.index(200);
        let mut bytes = rng.bytes(len);
        if i % 2 == 0 && bytes.len() >= 2 {
            bytes[0] = rng.range(1, 3) as u8;
            bytes[1] = 0;
        }
        files.push((format!("random-{i:04}"), bytes));
    }
    // Valid files with one to four bytes changed.
    let sources = truncation_sources();
    for i in 0..1500 {
        let (_, source) = &sources[i % sources.len()];
        let mut bytes = source.clone();
        for _ in 0..rng.range(1, 4) {
            let at = rng.index(bytes.len());
            bytes[at] = rng.next_u64() as u8;
        }
        files.push((format!("mutated-{i:04}"), bytes));
    }
    // Unknown versions with otherwise valid bodies.
    let body = &encode_state(&sample_state())[2..];
    for version in [0u16, 4, 5, 0x0100, 0x7fff, 0xffff] {
        let mut bytes = version.to_le_bytes().to_vec();
        bytes.extend_from_slice(body);
        files.push((format!("version-{version}"), bytes));
    }
    // Every length and count claiming 2^63, 2^64 - 1, 2^32 or one byte too many.
    let huge: [&[u8]; 4] = [
        &VARINT_2_63,
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0x80, 0x80, 0x80, 0x80, 0x10],
        &[0x7f],
    ];
    for version in 1..=3u16 {
        let fields = if version == 1 { 5 } else { 7 };
        for field in 0..fields {
            for (h, varint) in huge.iter().enumerate() {
                let bytes = with_hostile_length(version, field, varint);
                assert!(
                    decode_state(&bytes).is_err(),
                    "v{version} field {field} varint {h}"
                );
                files.push((format!("huge-v{version}-f{field}-{h}"), bytes));
            }
        }
        // The untouched template decodes (the positions above are the real ones).
        assert!(decode_state(&with_hostile_length(version, usize::MAX, &[])).is_ok());
    }
    let mut good = Vec::new();
    for actor in generate_actors(seed(backend, 43), 6, 6) {
        write_state(&root, &actor.id, &actor.bytes);
        if !actor.entries.is_empty() {
            good.push((
                actor.id.clone(),
                actor.entries.into_iter().collect::<Entries>(),
            ));
        }
    }
    let mut bad = Vec::new();
    let mut decodable = 0;
    for (name, bytes) in &files {
        write_state(&root, name, bytes);
        match decode_state(bytes) {
            Err(_) => bad.push(name.clone()),
            Ok((_, state)) => {
                decodable += 1;
                if !state.kv_storage.is_empty() {
                    let mut dedup = std::collections::BTreeMap::new();
                    dedup.extend(state.kv_storage);
                    good.push((name.clone(), dedup.into_iter().collect()));
                }
            }
        }
    }
    migrate_and_check(backend, &root, &good, &bad);
    eprintln!(
        "{backend}: {} hostile files ({} refused, {decodable} happened to decode and migrated), 6 good actors migrated",
        files.len(),
        bad.len()
    );
}

/// Whether this process runs as root (who ignores permission bits).
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join(".uid-probe");
    std::fs::write(&probe, b"").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(&probe).unwrap();
    uid == 0
}

fn missing_file_and_read_only_roots(backend: &str) {
    let dir = tempdir();
    // Missing: the driver documents that it creates the root and its directories.
    let missing = dir.path().join("does").join("not").join("exist");
    let driver = FsDriver::open(runtime(backend), &missing, DriverOptions::new()).unwrap();
    for sub in ["state", "databases", "alarms"] {
        assert!(missing.join(sub).is_dir());
    }
    drop(driver);
    // A file instead of a directory: the root itself, or one of its directories.
    let file_root = dir.path().join("file-root");
    std::fs::write(&file_root, b"not a directory").unwrap();
    let error = FsDriver::open(runtime(backend), &file_root, DriverOptions::new()).unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&file_root.display().to_string()),
        "{error}"
    );
    let state_file = dir.path().join("state-file");
    std::fs::create_dir_all(&state_file).unwrap();
    std::fs::write(state_file.join("state"), b"").unwrap();
    let error = FsDriver::open(runtime(backend), &state_file, DriverOptions::new()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&state_file.join("state").display().to_string()),
        "{error}"
    );
    assert_eq!(std::fs::read(state_file.join("state")).unwrap(), b"");

    // Read-only: a populated root whose directories are 0555 and files 0444. Root ignores
    // permission bits, so when the tests run as root the check runs in a child process
    // that drops to uid/gid 65534 (nobody).
    let ro = dir.path().join("read-only");
    {
        let driver = FsDriver::open(runtime(backend), &ro, DriverOptions::new()).unwrap();
        driver
            .create_actor("existing", "n", vec![], &[(b"k", b"v")])
            .unwrap();
    }
    let before = snapshot(&ro);
    let set_mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    for entry in before.keys() {
        let path = ro.join(entry);
        set_mode(&path, if path.is_dir() { 0o555 } else { 0o444 });
    }
    set_mode(&ro, 0o555);
    set_mode(dir.path(), 0o755);
    let output = if running_as_root(dir.path()) {
        run_as_nobody(backend, &ro)
    } else {
        let child =
            ChildRun::spawn(crash_child(), &[backend, ro.to_str().unwrap(), "probe"]).unwrap();
        Some(child.wait().unwrap())
    };
    for entry in before.keys() {
        let path = ro.join(entry);
        set_mode(&path, if path.is_dir() { 0o755 } else { 0o644 });
    }
    set_mode(&ro, 0o755);
    match output {
        None => eprintln!("{backend}: read-only root not checked: cannot run a child as nobody"),
        Some(output) => {
            let lines = output.lines.join("\n");
            // Creating an actor fails with an error naming the read-only path.
            assert!(
                lines.contains("create error") && lines.contains(&ro.display().to_string()),
                "{backend}: {lines}\n{}",
                output.stderr
            );
            eprintln!("{backend}: read-only root: {lines}");
        }
    }
    assert_eq!(
        snapshot(&ro),
        before,
        "{backend}: the read-only root changed"
    );
}

/// Runs `crash-child BACKEND ROOT probe` as uid/gid 65534, or `None` when it cannot be
/// started (e.g. the binary is not readable by that user).
fn run_as_nobody(backend: &str, root: &Path) -> Option<reliability_tests::child::ChildOutput> {
    use std::os::unix::process::CommandExt;
    let output = std::process::Command::new(crash_child())
        .args([backend, root.to_str().unwrap(), "probe"])
        .uid(65534)
        .gid(65534)
        .output()
        .ok()?;
    if output.stdout.is_empty() {
        return None;
    }
    Some(reliability_tests::child::ChildOutput {
        lines: String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        success: output.status.success(),
    })
}

fn corrupt_database_of_one_actor(backend: &str) {
    let dir = tempdir();
    let root = dir.path().join("root");
    {
        let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
        for id in ["good", "corrupt", "empty-file", "wrong-header"] {
            driver
                .create_actor(id, "n", vec![], &[(b"k", id.as_bytes())])
                .unwrap();
        }
    }
    let db = |id: &str| root.join("databases").join(format!("{id}.db"));
    let mut rng = Rng::new(seed(backend, 9));
    for id in ["corrupt", "wrong-header", "empty-file"] {
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db(id).display()));
        }
    }
    std::fs::write(db("corrupt"), rng.bytes(8192)).unwrap();
    let mut header = std::fs::read(db("wrong-header")).unwrap();
    header[..16].copy_from_slice(b"NOT SQLITE FMT\0\0");
    std::fs::write(db("wrong-header"), &header).unwrap();
    let corrupt_bytes = std::fs::read(db("corrupt")).unwrap();
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    for id in ["corrupt", "wrong-header"] {
        let error = driver.kv_get(id, &[b"k"]).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, Error::Sqlite(_)),
            "{backend}: {id}: {error:?}"
        );
        assert!(
            text.contains(&db(id).display().to_string()),
            "{backend}: {id}: the error does not name the file: {text}"
        );
        // The actor stays broken (not silently emptied), and the others work.
        assert!(driver.kv_put(id, &[(b"k2", b"v")]).is_err());
    }
    assert_eq!(
        std::fs::read(db("corrupt")).unwrap(),
        corrupt_bytes,
        "{backend}: the corrupt file was rewritten"
    );
    assert_eq!(
        driver.kv_get("good", &[b"k"]).unwrap(),
        vec![Some(b"good".to_vec())]
    );
    driver.kv_put("good", &[(b"k2", b"v2")]).unwrap();
    driver
        .create_actor("new", "n", vec![], &[(b"k", b"v")])
        .unwrap();
    assert_eq!(
        driver.kv_get("new", &[b"k"]).unwrap(),
        vec![Some(b"v".to_vec())]
    );
    // A zero-length database is a valid empty SQLite file: the actor reads as empty.
    std::fs::write(db("empty-file"), b"").unwrap();
    drop(driver);
    let driver = FsDriver::open(runtime(backend), &root, DriverOptions::new()).unwrap();
    assert_eq!(driver.kv_get("empty-file", &[b"k"]).unwrap(), vec![None]);
    assert_eq!(
        driver.kv_get("good", &[b"k2"]).unwrap(),
        vec![Some(b"v2".to_vec())]
    );
}

/// rivetkit's own legacy state files: names and bytes.
fn rivetkit_fixtures() -> Vec<(String, Vec<u8>)> {
    conformance_tests::fixtures::RIVETKIT_LEGACY_STATE
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
        .collect()
}
