//! rivetkit's own files, embedded so that every clone and every installed `sqlrt` has
//! them (they are rivetkit's data, kept byte for byte under `fixtures/`).

use std::io;
use std::path::Path;

/// State files written by rivetkit's file-system driver that still hold their KV entries
/// (legacy data the start-up migration copies into SQLite), as `(file name, bytes)`:
/// `legacy-actor-one` (`alpha`=`one`, `prefix:1`=`value:1`, `prefix:2`=`value:2`) and
/// `legacy-actor-two` (`beta`=`two`), both version 3.
pub const RIVETKIT_LEGACY_STATE: [(&str, &[u8]); 2] = [
    (
        "legacy-actor-one",
        include_bytes!("../fixtures/rivetkit-legacy/state/legacy-actor-one"),
    ),
    (
        "legacy-actor-two",
        include_bytes!("../fixtures/rivetkit-legacy/state/legacy-actor-two"),
    ),
];

/// Writes [`RIVETKIT_LEGACY_STATE`] into `root/state/`, creating the directories.
pub fn write_rivetkit_legacy_root(root: &Path) -> io::Result<()> {
    let state = root.join("state");
    std::fs::create_dir_all(&state)?;
    for (name, bytes) in RIVETKIT_LEGACY_STATE {
        std::fs::write(state.join(name), bytes)?;
    }
    Ok(())
}
