//! Storage roots on the command line: they must exist and be directories (on a backend
//! whose databases are local files).

use std::path::Path;

use sqlite_runtime::{Capability, SqliteRuntime};

use super::CliError;

/// Fails with one clear line unless `root` is an existing directory; on a backend
/// without local files any root is a name.
pub fn check_root(root: &Path, runtime: &dyn SqliteRuntime) -> Result<(), CliError> {
    if !runtime.capabilities().has(Capability::LocalFiles) {
        // On a remote engine the root only names databases there.
        return Ok(());
    }
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(format!("storage root `{}` is not a directory", root.display()).into()),
        Err(error) => Err(format!("cannot use storage root `{}`: {error}", root.display()).into()),
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
