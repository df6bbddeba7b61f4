//! Helpers shared by the driver cases.

use std::fmt::Debug;
use std::path::Path;

use fs_driver::{DriverOptions, Error, FsDriver, KvEntry, ListOptions};

use crate::Context;

/// No initial entries, for `create_actor`.
pub(crate) const NO_ENTRIES: &[(&[u8], &[u8])] = &[];

/// A driver on the case's own directory with default options, through the backend
/// under test.
pub(crate) fn open(cx: &Context) -> FsDriver {
    open_with(cx, DriverOptions::new())
}

/// A driver on the case's own directory with `options`.
pub(crate) fn open_with(cx: &Context, options: DriverOptions) -> FsDriver {
    FsDriver::open(cx.runtime().clone(), cx.dir(), options).expect("open the driver")
}

/// An in-memory driver through the backend under test.
pub(crate) fn memory(cx: &Context) -> FsDriver {
    FsDriver::memory(cx.runtime().clone(), DriverOptions::new())
}

/// Every entry of the actor, ascending, with no limit that could cut the list short.
pub(crate) fn all(driver: &FsDriver, id: &str) -> Vec<KvEntry> {
    driver
        .kv_list_prefix(id, b"", ListOptions::new().limit(usize::MAX))
        .expect("list every entry")
}

/// `(key, value)` pairs from string literals.
pub(crate) fn entries(pairs: &[(&str, &str)]) -> Vec<KvEntry> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

/// The keys of `entries`.
pub(crate) fn keys(entries: &[KvEntry]) -> Vec<Vec<u8>> {
    entries.iter().map(|(k, _)| k.clone()).collect()
}

/// Creates actor `id` (name `test`, no key) with `initial` entries.
pub(crate) fn create(driver: &FsDriver, id: &str, initial: &[KvEntry]) {
    driver
        .create_actor(id, "test", Vec::new(), initial)
        .unwrap_or_else(|error| panic!("create actor {id:?}: {error}"));
}

/// The error of `result`; panics (failing the case) when it is `Ok`.
pub(crate) fn expect_err<T: Debug>(result: fs_driver::Result<T>, what: &str) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected an error, got Ok({value:?})"),
        Err(error) => error,
    }
}

/// Asserts that `result` failed with a limit error displaying exactly `message`.
pub(crate) fn assert_limit<T: Debug>(result: fs_driver::Result<T>, message: &str, what: &str) {
    let error = expect_err(result, what);
    assert!(
        error.as_limit().is_some(),
        "{what}: expected a limit error, got {error:?}"
    );
    assert_eq!(error.to_string(), message, "{what}: wrong message");
}

/// Every file under `dir`, relative to it, sorted; the root's lock files (`locks/`,
/// no actor's data) are left out.
pub(crate) fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path != base.join("locks") {
                    walk(base, &path, out);
                }
            } else if let Ok(relative) = path.strip_prefix(base) {
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The names of the fixture state files.
pub(crate) const FIXTURES: [&str; 2] = [
    crate::fixtures::RIVETKIT_LEGACY_STATE[0].0,
    crate::fixtures::RIVETKIT_LEGACY_STATE[1].0,
];

/// Writes rivetkit's legacy state files into `root/state/`. Returns the bytes of each,
/// in [`FIXTURES`] order.
pub(crate) fn copy_fixtures(root: &Path) -> Vec<Vec<u8>> {
    crate::fixtures::write_rivetkit_legacy_root(root).expect("write the fixtures");
    crate::fixtures::RIVETKIT_LEGACY_STATE
        .iter()
        .map(|(_, bytes)| bytes.to_vec())
        .collect()
}

/// Bytes shown as a Rust byte-string literal, for readable failure messages.
pub(crate) fn show(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for &byte in bytes {
        out.extend(std::ascii::escape_default(byte).map(char::from));
    }
    out.push('"');
    out
}
