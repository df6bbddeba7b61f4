//! Storage roots on the command line. A root is made on purpose: `--create` makes one in
//! a directory that does not exist yet or is empty, never in a directory that holds
//! other things (a source tree, `$HOME`); every other command needs an existing root, and
//! says so when a directory is not one (instead of reporting it empty). On a backend
//! without local files a root is a name on the engine, and nothing here applies.

use std::path::Path;

use sqlite_runtime::{Capability, SqliteRuntime};

use super::CliError;

/// The directories that make a directory a storage root: rivetkit's driver and ours
/// keep every actor's state file in `state/` and its database in `databases/`.
const ROOT_MARKERS: [&str; 2] = ["state", "databases"];

/// What a command does with its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootUse {
    /// Reads or writes an existing root.
    Existing,
    /// May make the root (`--create`): in a new or empty directory.
    Create,
}

/// Fails with one clear line, changing nothing, unless `root` is usable for `purpose`.
pub fn check_root(
    root: &Path,
    runtime: &dyn SqliteRuntime,
    purpose: RootUse,
) -> Result<(), CliError> {
    if !runtime.capabilities().has(Capability::LocalFiles) {
        // On a remote engine the root only names databases there.
        return Ok(());
    }
    let shown = root.display();
    match std::fs::metadata(root) {
        Ok(meta) if !meta.is_dir() => {
            return Err(format!("storage root `{shown}` is not a directory").into());
        }
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return match purpose {
                RootUse::Create => Ok(()),
                RootUse::Existing => Err(format!(
                    "storage root `{shown}` does not exist (make one with `sqlrt kv {shown} ACTOR put KEY VALUE --create`)"
                )
                .into()),
            };
        }
        Err(error) => return Err(format!("cannot use storage root `{shown}`: {error}").into()),
    }
    if ROOT_MARKERS.iter().any(|marker| root.join(marker).is_dir()) {
        return Ok(());
    }
    let entries = std::fs::read_dir(root)
        .map_err(|error| format!("cannot read storage root `{shown}`: {error}"))?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() && purpose == RootUse::Create {
        return Ok(());
    }
    names.sort();
    let found = match names.len() {
        0 => "it is empty".to_owned(),
        n => {
            let shown_names: Vec<String> = names.iter().take(3).map(|n| format!("`{n}`")).collect();
            let more = if n > 3 {
                format!(" and {} more", n - 3)
            } else {
                String::new()
            };
            format!("it holds {}{more}", shown_names.join(", "))
        }
    };
    Err(match purpose {
        RootUse::Create => format!(
            "`{shown}` is not a storage root ({found}, but no `state/` or `databases/`): nothing was written; pass a new or empty directory, or an existing root"
        ),
        RootUse::Existing => format!(
            "`{shown}` is not a storage root ({found}, but no `state/` or `databases/`); make one with `sqlrt kv {shown} ACTOR put KEY VALUE --create` in a new or empty directory"
        ),
    }
    .into())
}

/// Fails with one line naming the first file or directory of `root` that a write to
/// `actor` would need and cannot write (a read-only file system, an immutable file, no
/// permission), before anything is written. Missing ones are made by the write.
pub fn check_writable(
    root: &Path,
    actor: &str,
    runtime: &dyn SqliteRuntime,
) -> Result<(), CliError> {
    if !runtime.capabilities().has(Capability::LocalFiles) {
        return Ok(());
    }
    let database = root.join("databases").join(format!("{actor}.db"));
    let paths = [
        root.to_path_buf(),
        root.join("state"),
        root.join("databases"),
        root.join("alarms"),
        root.join("state").join(actor),
        database.clone(),
        database.with_extension("db-wal"),
    ];
    for path in paths.iter().filter(|path| path.exists()) {
        if let Err(error) = writable(path) {
            return Err(format!(
                "storage root `{}` is read-only: `{}` cannot be written ({error}); nothing was written",
                root.display(),
                path.display()
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(unix)]
fn writable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    match unsafe { libc::access(path.as_ptr(), libc::W_OK) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(unix))]
fn writable(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path)?.permissions().readonly() {
        true => Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
        false => Ok(()),
    }
}

/// `ms` milliseconds since the Unix epoch as an RFC 3339 UTC time.
pub fn format_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_milliseconds() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(format_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }
}
