//! The driver suite: what `fs-driver` must do on every backend.

use crate::Case;

/// Every case of the driver suite.
pub const CASES: &[Case] = &[];
