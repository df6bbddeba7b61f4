//! The one-word header in front of every message.
//!
//! ```text
//! bytes 0..4  u32 LE  body size in 8-byte words
//! byte  4     u8      message type
//! byte  5     u8      schema (revision of the message layout; 0 for everything we send)
//! bytes 6..8  u16 LE  unused, 0
//! ```

/// The size of a word, the unit of alignment of every message.
pub const WORD: usize = 8;

/// The size of a header.
pub const HEADER_LEN: usize = 8;

/// A message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The body size in words.
    pub words: u32,
    /// The message type (a [`RequestType`](super::RequestType) or
    /// [`ResponseType`](super::ResponseType) code).
    pub kind: u8,
    /// The layout revision of the body.
    pub schema: u8,
    /// Unused by the protocol.
    pub extra: u16,
}

impl Header {
    /// The header's eight bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let words = self.words.to_le_bytes();
        let extra = self.extra.to_le_bytes();
        [
            words[0],
            words[1],
            words[2],
            words[3],
            self.kind,
            self.schema,
            extra[0],
            extra[1],
        ]
    }

    /// Reads a header from its eight bytes (every bit pattern is a header).
    pub fn decode(bytes: [u8; HEADER_LEN]) -> Self {
        let [w0, w1, w2, w3, kind, schema, e0, e1] = bytes;
        Header {
            words: u32::from_le_bytes([w0, w1, w2, w3]),
            kind,
            schema,
            extra: u16::from_le_bytes([e0, e1]),
        }
    }

    /// The body size in bytes (a `u64`: a header may announce up to 32 GiB).
    pub fn body_len(&self) -> u64 {
        u64::from(self.words) * WORD as u64
    }
}

/// `n` rounded up to a multiple of a word.
pub fn pad8(n: usize) -> usize {
    n.div_ceil(WORD).saturating_mul(WORD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_are_exact() {
        // A LEADER request: one word of body, type 0.
        let leader = Header {
            words: 1,
            kind: 0,
            schema: 0,
            extra: 0,
        };
        assert_eq!(leader.encode(), [1, 0, 0, 0, 0, 0, 0, 0]);
        let big = Header {
            words: 0x0102_0304,
            kind: 7,
            schema: 1,
            extra: 0xabcd,
        };
        assert_eq!(big.encode(), [4, 3, 2, 1, 7, 1, 0xcd, 0xab]);
        assert_eq!(Header::decode(big.encode()), big);
        assert_eq!(big.body_len(), 0x0102_0304 * 8);
    }

    #[test]
    fn largest_header_does_not_overflow() {
        let header = Header::decode([0xff; 8]);
        assert_eq!(header.body_len(), u64::from(u32::MAX) * 8);
    }

    #[test]
    fn padding() {
        assert_eq!(pad8(0), 0);
        assert_eq!(pad8(1), 8);
        assert_eq!(pad8(8), 8);
        assert_eq!(pad8(9), 16);
        // Saturates instead of overflowing (no real length comes near it).
        assert_eq!(pad8(usize::MAX), usize::MAX);
    }
}
