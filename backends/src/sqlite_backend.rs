//! The `sqlite` crate backend (being written).
