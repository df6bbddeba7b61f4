//! SQLite version numbers, as `sqlite_version()` prints them.

use std::fmt;
use std::str::FromStr;

/// An SQLite version such as `3.50.2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SqliteVersion {
    /// Always 3 for SQLite 3.
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The patch level.
    pub patch: u32,
}

impl SqliteVersion {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        SqliteVersion {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for SqliteVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The text was not a version of the form `X.Y.Z`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an SQLite version (expected X.Y.Z)")]
pub struct ParseVersionError(String);

impl FromStr for SqliteVersion {
    type Err = ParseVersionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.trim().split('.').map(str::parse::<u32>);
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) => {
                Ok(SqliteVersion::new(major, minor, patch))
            }
            _ => Err(ParseVersionError(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v: SqliteVersion = "3.50.2".parse().unwrap();
        assert_eq!(v, SqliteVersion::new(3, 50, 2));
        assert!(v > SqliteVersion::new(3, 45, 0));
        assert!(SqliteVersion::new(3, 9, 0) < SqliteVersion::new(3, 10, 0));
        assert!("3.50".parse::<SqliteVersion>().is_err());
        assert!("3.50.2.1".parse::<SqliteVersion>().is_err());
        assert!("x.y.z".parse::<SqliteVersion>().is_err());
    }
}
