//! The sqlx backend (being written).
