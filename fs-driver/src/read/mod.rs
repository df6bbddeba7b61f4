//! Reading a storage root without running an actor and without changing a byte on disk
//! (for command-line tools and inspection):
//!
//! - [`snapshot`]: how one database is opened so that reading it writes nothing;
//! - [`actor`]: one actor's KV entries ([`read_actor`], [`KvReader`]);
//! - [`root`]: every actor of a root with its sizes and records ([`inspect_root`]).

pub(crate) mod actor;
pub(crate) mod root;
pub(crate) mod snapshot;

pub use actor::{KvReader, read_actor};
pub use root::{ActorSummary, InspectReport, inspect_root};
