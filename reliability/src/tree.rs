//! Snapshots of a directory tree, to check that an operation created, changed or
//! removed nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every path under a directory (relative), with the file's bytes (`None` for a
/// directory; symlinks are recorded with their target's bytes as `None` too).
pub type TreeSnapshot = BTreeMap<PathBuf, Option<Vec<u8>>>;

/// Snapshots everything under `dir` (an unreadable or missing `dir` gives an empty map).
pub fn snapshot(dir: &Path) -> TreeSnapshot {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(base: &Path, dir: &Path, out: &mut TreeSnapshot) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => {
                out.insert(relative, None);
                walk(base, &path, out);
            }
            Ok(kind) if kind.is_file() => {
                out.insert(relative, std::fs::read(&path).ok());
            }
            _ => {
                out.insert(relative, None);
            }
        }
    }
}
