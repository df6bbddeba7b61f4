//! Helpers of the reliability suite (`reliability/tests/*.rs`) and of the cargo-fuzz
//! targets (`fuzz/`): the backends to run on, a deterministic random generator, the
//! numbered batches of the crash test, generated legacy storage roots, file-tree
//! snapshots, and the fuzz checks (which the tests also replay on a fixed corpus).
//!
//! The crash tests drive the `crash-child` binary of this package, which writes through
//! [`fs_driver::FsDriver`] and is killed with `SIGKILL` at random moments.

pub mod backends;
pub mod batches;
pub mod faults;
pub mod fuzz_checks;
pub mod legacy;
pub mod rng;
pub mod tree;

pub use backends::{BackendRuntime, compiled_runtimes, runtime_named};
pub use rng::Rng;
pub mod child;
pub mod sqlite_check;
