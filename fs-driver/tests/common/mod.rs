//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use fs_driver::{DriverOptions, FsDriver};
use sqlite_runtime::SqliteRuntime;
use sqlite_runtime_backends::RusqliteRuntime;

/// The rusqlite runtime.
pub fn runtime() -> Arc<dyn SqliteRuntime> {
    Arc::new(RusqliteRuntime::new())
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// A driver on `root` with default options.
pub fn open(root: &Path) -> FsDriver {
    FsDriver::open(runtime(), root, DriverOptions::new()).expect("open driver")
}

/// A driver on `root` with `options`.
pub fn open_with(root: &Path, options: DriverOptions) -> FsDriver {
    FsDriver::open(runtime(), root, options).expect("open driver")
}

/// Writes two legacy state files into `root/state/`, the same actors as rivetkit's own
/// fixtures (version 3 with the KV entries inside; the real files are checked by the
/// conformance suite, `driver::migration_real_fixtures`): `legacy-actor-one` with
/// `alpha`, `prefix:1`, `prefix:2`, and `legacy-actor-two` with `beta`.
pub fn write_legacy_root(root: &Path) {
    use fs_driver::state::{ActorState, encode_state};
    let state = root.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let actors = [
        (
            "legacy-actor-one",
            "one",
            entries(&[
                ("alpha", "one"),
                ("prefix:1", "value:1"),
                ("prefix:2", "value:2"),
            ]),
        ),
        ("legacy-actor-two", "two", entries(&[("beta", "two")])),
    ];
    for (id, key, kv_storage) in actors {
        let bytes = encode_state(&ActorState {
            actor_id: id.to_owned(),
            name: "legacy".to_owned(),
            key: vec!["legacy".to_owned(), key.to_owned()],
            kv_storage,
            created_at: 1_700_000_000_000,
            ..ActorState::default()
        });
        std::fs::write(state.join(id), bytes).unwrap();
    }
}

/// `(key, value)` pairs from string literals.
pub fn entries(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// Every file under `dir`, relative, sorted (the root's lock files left out).
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // The root's lock files hold no actor's data.
                if path != base.join("locks") {
                    walk(base, &path, out);
                }
            } else {
                out.push(
                    path.strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
