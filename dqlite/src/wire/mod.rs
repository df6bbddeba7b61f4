//! dqlite's wire protocol (version 1, as spoken by dqlite 1.11): message framing,
//! request encoding and response decoding, without any I/O.
//!
//! Everything is little-endian and aligned to 8-byte words. A connection starts with
//! the client sending one word, the protocol version ([`PROTOCOL_VERSION`]); the server
//! does not answer it. Then each request is a [`Header`] and a body, answered by one
//! response (or by several ROWS messages for a query).
//!
//! Encoding refuses what the protocol cannot carry (text with NUL bytes, more than 255
//! parameters) with an [`EncodeError`]; decoding checks every length against the body
//! and reports a [`DecodeError`] for anything malformed.

mod codes;
mod decode;
mod encode;
mod header;
mod params;
mod request;
mod response;
mod rows;

pub use codes::{PROTOCOL_VERSION, ROWS_DONE, ROWS_PART, RequestType, ResponseType, value_type};
pub use decode::{Cursor, DecodeError};
pub use encode::EncodeError;
pub use header::{HEADER_LEN, Header, WORD, pad8};
pub use params::MAX_PARAMS;
pub use request::Request;
pub use response::{Response, decode_query_failure};
pub use rows::{RowsDecoder, RowsEnd};

#[cfg(test)]
mod captured_tests;
