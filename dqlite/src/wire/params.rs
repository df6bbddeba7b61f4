//! The parameter tuple of EXEC, QUERY, EXEC_SQL and QUERY_SQL (schema 0).
//!
//! ```text
//! u8 count, count × u8 type, zeros up to a word boundary (counting the count byte),
//! then each value: INTEGER/FLOAT/NULL one word, TEXT and BLOB as in `encode`.
//! ```
//!
//! The tuple is left out entirely when there are no parameters, as go-dqlite does; the
//! server reads an exhausted body as "no parameters". Schema 1 (a `u32` count) exists
//! only on servers newer than 1.11, so at most 255 parameters can be sent.

use sqlite_runtime::ValueRef;

use super::codes::value_type;
use super::encode::{
    EncodeError, TextRole, pad_from, put_blob, put_f64, put_i64, put_text, put_u64,
};

/// The most parameters one request can carry.
pub const MAX_PARAMS: usize = u8::MAX as usize;

/// Appends the parameter tuple for `params` (nothing when there are none).
pub(crate) fn put_params(out: &mut Vec<u8>, params: &[ValueRef<'_>]) -> Result<(), EncodeError> {
    if params.is_empty() {
        return Ok(());
    }
    let count = u8::try_from(params.len()).map_err(|_| EncodeError::TooManyParams {
        count: params.len(),
    })?;
    let start = out.len();
    out.push(count);
    out.extend(params.iter().map(type_code));
    pad_from(out, start);
    for (position, value) in params.iter().enumerate() {
        match *value {
            ValueRef::Null => put_u64(out, 0),
            ValueRef::Integer(integer) => put_i64(out, integer),
            ValueRef::Real(real) => put_f64(out, real),
            ValueRef::Text(text) => put_text(out, text, TextRole::Param(position + 1))?,
            ValueRef::Blob(blob) => put_blob(out, blob),
        }
    }
    Ok(())
}

fn type_code(value: &ValueRef<'_>) -> u8 {
    match value {
        ValueRef::Null => value_type::NULL,
        ValueRef::Integer(_) => value_type::INTEGER,
        ValueRef::Real(_) => value_type::FLOAT,
        ValueRef::Text(_) => value_type::TEXT,
        ValueRef::Blob(_) => value_type::BLOB,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn encoded(params: &[ValueRef<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        put_params(&mut out, params).unwrap();
        out
    }

    #[test]
    fn no_params_means_no_tuple() {
        assert!(encoded(&[]).is_empty());
    }

    /// The same bytes as the Python probe's `enc_params([1, 'hi', None, b'\x01', 2.0])`.
    #[test]
    fn every_type_matches_the_reference_client() {
        let out = encoded(&[
            ValueRef::Integer(1),
            ValueRef::Text("hi"),
            ValueRef::Null,
            ValueRef::Blob(b"\x01"),
            ValueRef::Real(2.0),
        ]);
        assert_eq!(
            hex(&out),
            "0501030504020000\
             0100000000000000\
             6869000000000000\
             0000000000000000\
             0100000000000000\
             0100000000000000\
             0000000000000040"
        );
    }

    /// `enc_params([b'k1', b'v'])` in the probe.
    #[test]
    fn two_blobs_match_the_reference_client() {
        let out = encoded(&[ValueRef::Blob(b"k1"), ValueRef::Blob(b"v")]);
        assert_eq!(
            hex(&out),
            "0204040000000000\
             0200000000000000\
             6b31000000000000\
             0100000000000000\
             7600000000000000"
        );
    }

    #[test]
    fn seven_params_fit_one_header_word_eight_need_two() {
        let seven = [ValueRef::Null; 7];
        assert_eq!(encoded(&seven).len(), 8 + 7 * 8);
        let eight = [ValueRef::Integer(0); 8];
        let out = encoded(&eight);
        assert_eq!(out.len(), 16 + 8 * 8);
        assert_eq!(hex(&out[..16]), "08010101010101010100000000000000");
    }

    #[test]
    fn empty_blob_and_text_take_one_word() {
        assert_eq!(encoded(&[ValueRef::Blob(b"")]).len(), 16);
        assert_eq!(encoded(&[ValueRef::Text("")]).len(), 16);
    }

    #[test]
    fn limits_are_errors() {
        let many = vec![ValueRef::Null; MAX_PARAMS + 1];
        let mut out = Vec::new();
        assert_eq!(
            put_params(&mut out, &many),
            Err(EncodeError::TooManyParams { count: 256 })
        );
        assert!(put_params(&mut out, &many[..MAX_PARAMS]).is_ok());
        assert_eq!(
            put_params(&mut Vec::new(), &[ValueRef::Null, ValueRef::Text("a\0")]),
            Err(EncodeError::NulInText { index: 2 })
        );
    }
}
