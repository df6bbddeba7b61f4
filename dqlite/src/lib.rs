//! A dqlite backend for sqlite-runtime (work in progress).
