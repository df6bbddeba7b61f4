//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
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

/// The read-only fixtures directory.
pub fn fixtures_state_dir() -> PathBuf {
    // fs-driver/ -> /work/main -> /work ; shared/ sits beside the repository.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        manifest.join("../../shared/fixtures/rivetkit-legacy/state"),
        manifest.join("../shared/fixtures/rivetkit-legacy/state"),
    ];
    candidates
        .iter()
        .find(|path| path.is_dir())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// Copies the rivetkit fixtures into `root/state/` (never writing to the originals).
/// Returns false when the fixtures are not available.
pub fn copy_fixtures(root: &Path) -> bool {
    let source = fixtures_state_dir();
    if !source.is_dir() {
        return false;
    }
    let state = root.join("state");
    std::fs::create_dir_all(&state).unwrap();
    for name in ["legacy-actor-one", "legacy-actor-two"] {
        let target = state.join(name);
        std::fs::copy(source.join(name), &target).unwrap();
        // The fixtures are read-only; the copies need not be.
        let mut permissions = std::fs::metadata(&target).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&target, permissions).unwrap();
    }
    true
}

/// `(key, value)` pairs from string literals.
pub fn entries(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
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
