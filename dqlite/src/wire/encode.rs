//! Encoding of request bodies: words, text, blobs and whole messages.

use super::codes::RequestType;
use super::header::{HEADER_LEN, Header, WORD, pad8};

/// Why a request cannot be encoded. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// SQL text contains a NUL byte: the server reads text up to the first NUL.
    #[error("the SQL text contains a NUL byte, which dqlite cannot carry")]
    NulInSql,
    /// A database name contains a NUL byte.
    #[error("the database name contains a NUL byte, which dqlite cannot carry")]
    NulInName,
    /// A text parameter contains a NUL byte.
    #[error(
        "text parameter {index} contains a NUL byte, which dqlite cannot carry (bind it as a blob)"
    )]
    NulInText {
        /// The parameter's position, counting from 1.
        index: usize,
    },
    /// More parameters than the protocol revision we speak allows.
    #[error(
        "{count} parameters given; dqlite 1.11 accepts at most {max} per statement",
        max = u8::MAX
    )]
    TooManyParams {
        /// How many were given.
        count: usize,
    },
    /// The message would be larger than a header can announce (32 GiB).
    #[error("the request is too large for a dqlite message ({bytes} bytes)")]
    TooLarge {
        /// The body size.
        bytes: usize,
    },
    /// A body that is not a whole number of words (a bug in this crate).
    #[error("internal error: a request body of {bytes} bytes is not word-aligned")]
    Unaligned {
        /// The body size.
        bytes: usize,
    },
}

/// What a text field holds: it decides which error a NUL byte is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TextRole {
    Sql,
    Name,
    Param(usize),
}

/// Appends a little-endian `u32` (only ever in pairs, so words stay aligned).
pub(crate) fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a word.
pub(crate) fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a signed word.
pub(crate) fn put_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a float as its IEEE-754 bits.
pub(crate) fn put_f64(out: &mut Vec<u8>, value: f64) {
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// Appends zeros up to the next word boundary of `out` counted from `start`.
pub(crate) fn pad_from(out: &mut Vec<u8>, start: usize) {
    let used = out.len().saturating_sub(start);
    out.resize(out.len() + (pad8(used) - used), 0);
}

/// Appends text: the bytes, a NUL, zeros up to a word boundary.
pub(crate) fn put_text(out: &mut Vec<u8>, text: &str, role: TextRole) -> Result<(), EncodeError> {
    if text.as_bytes().contains(&0) {
        return Err(match role {
            TextRole::Sql => EncodeError::NulInSql,
            TextRole::Name => EncodeError::NulInName,
            TextRole::Param(index) => EncodeError::NulInText { index },
        });
    }
    let start = out.len();
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    pad_from(out, start);
    Ok(())
}

/// Appends a blob: its length word, the bytes, zeros up to a word boundary.
pub(crate) fn put_blob(out: &mut Vec<u8>, blob: &[u8]) {
    put_u64(out, blob.len() as u64);
    let start = out.len();
    out.extend_from_slice(blob);
    pad_from(out, start);
}

/// Starts a message in `out` (cleared): a placeholder header, to be completed by
/// [`finish_message`] once the body is written.
pub(crate) fn start_message(out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[0; HEADER_LEN]);
}

/// Writes the header of the message in `out`, whose body follows the placeholder.
pub(crate) fn finish_message(
    out: &mut [u8],
    kind: RequestType,
    schema: u8,
) -> Result<(), EncodeError> {
    let body = out.len().saturating_sub(HEADER_LEN);
    if !body.is_multiple_of(WORD) {
        return Err(EncodeError::Unaligned { bytes: body });
    }
    let words = u32::try_from(body / WORD).map_err(|_| EncodeError::TooLarge { bytes: body })?;
    let header = Header {
        words,
        kind: kind.code(),
        schema,
        extra: 0,
    };
    if let Some(slot) = out.get_mut(..HEADER_LEN) {
        slot.copy_from_slice(&header.encode());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_nul_terminated_and_padded() {
        let mut out = Vec::new();
        put_text(&mut out, "", TextRole::Sql).unwrap();
        assert_eq!(out, [0; 8]);
        out.clear();
        put_text(&mut out, "abcdefg", TextRole::Sql).unwrap();
        assert_eq!(out, b"abcdefg\0");
        out.clear();
        // Eight bytes need a second word for the NUL.
        put_text(&mut out, "abcdefgh", TextRole::Sql).unwrap();
        assert_eq!(out, b"abcdefgh\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn text_with_nul_is_refused() {
        let mut out = Vec::new();
        assert_eq!(
            put_text(&mut out, "a\0b", TextRole::Param(2)),
            Err(EncodeError::NulInText { index: 2 })
        );
        assert_eq!(
            put_text(&mut out, "\0", TextRole::Name),
            Err(EncodeError::NulInName)
        );
        assert_eq!(
            put_text(&mut out, "x\0", TextRole::Sql),
            Err(EncodeError::NulInSql)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn blobs_are_length_prefixed_and_padded() {
        let mut out = Vec::new();
        put_blob(&mut out, b"");
        assert_eq!(out, [0; 8]);
        out.clear();
        put_blob(&mut out, b"\x00\x01\x02");
        assert_eq!(out, [3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn numbers_are_little_endian_words() {
        let mut out = Vec::new();
        put_i64(&mut out, -2);
        put_f64(&mut out, 1.5);
        put_u32(&mut out, 7);
        put_u32(&mut out, 1);
        assert_eq!(
            out,
            [
                0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // -2
                0, 0, 0, 0, 0, 0, 0xf8, 0x3f, // 1.5
                7, 0, 0, 0, 1, 0, 0, 0, // two u32
            ]
        );
    }

    #[test]
    fn finishing_writes_the_header() {
        let mut out = Vec::new();
        start_message(&mut out);
        put_u64(&mut out, 0);
        finish_message(&mut out, RequestType::Leader, 0).unwrap();
        assert_eq!(out, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn unaligned_body_is_refused() {
        let mut out = Vec::new();
        start_message(&mut out);
        out.push(1);
        assert_eq!(
            finish_message(&mut out, RequestType::Leader, 0),
            Err(EncodeError::Unaligned { bytes: 1 })
        );
    }
}
