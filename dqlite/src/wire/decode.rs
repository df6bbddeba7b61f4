//! Decoding of response bodies: a bounds-checked cursor and the errors it reports.
//!
//! Nothing here trusts the server: every length is checked against what is left of the
//! body before it is used, so a malformed body is an error, never a panic or a large
//! allocation.

use super::header::{WORD, pad8};

/// Why a response cannot be decoded. The connection is unusable afterwards: the rest of
/// the stream cannot be framed with confidence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body ended inside a field.
    #[error("truncated {what}: {needed} bytes needed, {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes it needs.
        needed: u64,
        /// Bytes left in the body.
        available: usize,
    },
    /// A text field has no NUL terminator.
    #[error("unterminated text in {what}")]
    UnterminatedText {
        /// The field being read.
        what: &'static str,
    },
    /// A text field is not UTF-8.
    #[error("text in {what} is not UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        what: &'static str,
    },
    /// A count cannot be right: its items would not fit in the body.
    #[error("{what} count {count} does not fit in the {available} bytes left")]
    BadCount {
        /// What is counted.
        what: &'static str,
        /// The count read.
        count: u64,
        /// Bytes left in the body.
        available: usize,
    },
    /// A row holds a value type this client does not know.
    #[error("unknown value type {code} in column {column}")]
    UnknownValueType {
        /// The type code.
        code: u8,
        /// The column (0-based).
        column: usize,
    },
    /// A ROWS message does not end with the DONE or PART word.
    #[error("ROWS message without an end marker (found word {word:#018x})")]
    BadMarker {
        /// The word found where a marker or a row was expected.
        word: u64,
    },
    /// Bytes after the end marker of a ROWS message.
    #[error("{count} bytes after the end of a ROWS message")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A later ROWS message of one result set has another number of columns.
    #[error("the result set had {first} columns, a later batch has {now}")]
    ColumnCountChanged {
        /// The count of the first batch.
        first: usize,
        /// The count of this batch.
        now: usize,
    },
    /// A response type this client does not know.
    #[error("unknown response type {code}")]
    UnknownResponseType {
        /// The type code.
        code: u8,
    },
    /// A known response type that does not answer the request sent.
    #[error("expected a {expected} response, got {got}")]
    UnexpectedResponse {
        /// What the request is answered with.
        expected: &'static str,
        /// What came.
        got: &'static str,
    },
    /// A header announcing a body above the configured maximum.
    #[error("a response of {bytes} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced size.
        bytes: u64,
        /// The limit.
        max: usize,
    },
}

/// A bounds-checked reader over a response body.
#[derive(Clone, Debug)]
pub struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `body`.
    pub fn new(body: &'a [u8]) -> Self {
        Cursor { rest: body }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Takes `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(DecodeError::Truncated {
                what,
                needed: n as u64,
                available: self.rest.len(),
            });
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.bytes(N, what)?;
        let mut array = [0; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// Reads a word.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Reads a signed word.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.array(what).map(i64::from_le_bytes)
    }

    /// Reads a float word.
    pub fn f64(&mut self, what: &'static str) -> Result<f64, DecodeError> {
        self.u64(what).map(f64::from_bits)
    }

    /// The next word, without consuming it.
    pub fn peek_u64(&self) -> Option<u64> {
        let bytes = self.rest.get(..WORD)?;
        let mut word = [0; WORD];
        word.copy_from_slice(bytes);
        Some(u64::from_le_bytes(word))
    }

    /// Reads text as raw bytes: up to the NUL, then past the padding.
    pub fn text_bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self
            .rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or(DecodeError::UnterminatedText { what })?;
        let field = self.bytes(pad8(len + 1), what)?;
        Ok(field.get(..len).unwrap_or_default())
    }

    /// Reads UTF-8 text.
    pub fn text(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        let bytes = self.text_bytes(what)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { what })
    }

    /// Reads a blob: its length word, the bytes, the padding.
    pub fn blob(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let declared = self.u64(what)?;
        let available = self.rest.len();
        let len = usize::try_from(declared)
            .ok()
            .filter(|&len| pad8(len) <= available && len <= available)
            .ok_or(DecodeError::Truncated {
                what,
                needed: declared,
                available,
            })?;
        let field = self.bytes(pad8(len), what)?;
        Ok(field.get(..len).unwrap_or_default())
    }

    /// Checks that `count` items of at least `min_size` bytes each can fit in what is
    /// left, and returns it as a `usize`: counts are checked before anything is
    /// allocated for them.
    pub fn count(
        &self,
        count: u64,
        min_size: usize,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        let available = self.rest.len();
        usize::try_from(count)
            .ok()
            .filter(|&n| {
                n.checked_mul(min_size)
                    .is_some_and(|size| size <= available)
            })
            .ok_or(DecodeError::BadCount {
                what,
                count,
                available,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_words_and_pairs() {
        let body = [
            1, 0, 0, 0, 2, 0, 0, 0, // u32 pair
            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // -2
        ];
        let mut cursor = Cursor::new(&body);
        assert_eq!(cursor.u32("a").unwrap(), 1);
        assert_eq!(cursor.u32("b").unwrap(), 2);
        assert_eq!(cursor.peek_u64(), Some(u64::MAX - 1));
        assert_eq!(cursor.i64("c").unwrap(), -2);
        assert!(cursor.is_empty());
        assert_eq!(cursor.peek_u64(), None);
        assert!(matches!(
            cursor.u64("d"),
            Err(DecodeError::Truncated {
                what: "d",
                needed: 8,
                available: 0
            })
        ));
    }

    #[test]
    fn text_is_read_to_the_nul_and_past_the_padding() {
        let body = b"hello\0\0\0abcdefgh\0\0\0\0\0\0\0\0";
        let mut cursor = Cursor::new(body);
        assert_eq!(cursor.text("t").unwrap(), "hello");
        assert_eq!(cursor.text("t").unwrap(), "abcdefgh");
        assert!(cursor.is_empty());
    }

    #[test]
    fn bad_text_is_an_error() {
        assert_eq!(
            Cursor::new(b"abc").text("t"),
            Err(DecodeError::UnterminatedText { what: "t" })
        );
        // The NUL is there but the padding is cut off.
        assert!(matches!(
            Cursor::new(b"abc\0").text("t"),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            Cursor::new(b"\xff\xfe\0\0\0\0\0\0").text("t"),
            Err(DecodeError::InvalidUtf8 { what: "t" })
        );
        assert_eq!(
            Cursor::new(b"\xff\xfe\0\0\0\0\0\0").text_bytes("t"),
            Ok(&b"\xff\xfe"[..])
        );
    }

    #[test]
    fn blobs_are_bounded_by_the_body() {
        let mut body = vec![3, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0];
        assert_eq!(Cursor::new(&body).blob("b").unwrap(), [7, 8, 9]);
        body[0] = 9; // more than is left
        assert!(matches!(
            Cursor::new(&body).blob("b"),
            Err(DecodeError::Truncated { needed: 9, .. })
        ));
        let huge = u64::MAX.to_le_bytes();
        assert!(matches!(
            Cursor::new(&huge).blob("b"),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(Cursor::new(&[0; 8]).blob("b").unwrap(), b"");
    }

    #[test]
    fn counts_are_checked_against_the_body() {
        let cursor = Cursor::new(&[0; 16]);
        assert_eq!(cursor.count(2, 8, "x"), Ok(2));
        assert!(cursor.count(3, 8, "x").is_err());
        assert!(cursor.count(u64::MAX, 8, "x").is_err());
        assert!(cursor.count(u64::MAX / 2, 24, "x").is_err());
    }
}
