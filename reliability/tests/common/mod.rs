//! Shared by the reliability test binaries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod served;

use std::sync::Arc;

use sqlite_runtime::SqliteRuntime;

/// One `#[test]` per compiled-in backend for each `module => function;` pair: the test
/// `module::rusqlite` calls `function("rusqlite")`, and so on.
#[macro_export]
macro_rules! per_backend {
    ($($module:ident => $body:ident;)*) => {
        $(
            mod $module {
                #[cfg(feature = "rusqlite")]
                #[test]
                fn rusqlite() {
                    super::$body("rusqlite");
                }
                #[cfg(feature = "sqlite")]
                #[test]
                fn sqlite() {
                    super::$body("sqlite");
                }
                #[cfg(feature = "sqlx")]
                #[test]
                fn sqlx() {
                    super::$body("sqlx");
                }
            }
        )*
    };
}

/// The runtime of a compiled-in backend.
pub fn runtime(name: &str) -> Arc<dyn SqliteRuntime> {
    reliability_tests::runtime_named(name).unwrap_or_else(|| panic!("{name} not compiled in"))
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// A stable seed per backend, so that each backend's run is reproducible.
pub fn seed(name: &str, salt: u64) -> u64 {
    name.bytes()
        .fold(salt ^ 0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        })
}

/// The path of the `crash-child` binary.
pub fn crash_child() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_BIN_EXE_crash-child"))
}
