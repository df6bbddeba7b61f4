//! The BARE primitives the state and alarm files use, and the u16 version prefix.
//!
//! The reader never trusts a length or a count: each is checked against the bytes left
//! before anything is allocated, so a hostile file cannot make the decoder allocate more
//! than the file's own size.

/// The longest a `uint` (unsigned LEB128) may be: ten bytes hold 64 bits.
pub const MAX_VARINT_LEN: usize = 10;

/// Why bytes could not be decoded. Offsets are from the start of the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended in the middle of a value.
    #[error("unexpected end of input at offset {offset}: {needed} more bytes needed")]
    UnexpectedEof {
        /// Where the value starts.
        offset: usize,
        /// How many bytes the value needs.
        needed: u64,
    },
    /// A `uint` continued past ten bytes.
    #[error("varint at offset {offset} is longer than 10 bytes")]
    VarintTooLong {
        /// Where the varint starts.
        offset: usize,
    },
    /// A ten-byte `uint` does not fit in 64 bits.
    #[error("varint at offset {offset} overflows 64 bits")]
    VarintOverflow {
        /// Where the varint starts.
        offset: usize,
    },
    /// A length or count claims more than the bytes that are left.
    #[error("length {length} at offset {offset} exceeds the {remaining} bytes left")]
    LengthOutOfBounds {
        /// Where the length prefix starts.
        offset: usize,
        /// The claimed length (or item count).
        length: u64,
        /// The bytes left after the prefix.
        remaining: usize,
    },
    /// A `str` is not valid UTF-8.
    #[error("string at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: usize,
    },
    /// An `optional` tag other than 0 or 1.
    #[error("invalid optional tag {tag} at offset {offset}")]
    InvalidOptionalTag {
        /// Where the tag is.
        offset: usize,
        /// The tag found.
        tag: u8,
    },
    /// The version prefix names a version this driver does not know.
    #[error("unknown version {0}")]
    UnknownVersion(u16),
    /// Bytes remain after the struct.
    #[error("{count} trailing bytes at offset {offset}")]
    TrailingBytes {
        /// Where the trailing bytes start.
        offset: usize,
        /// How many bytes remain.
        count: usize,
    },
}

/// Reads BARE values from a byte slice, front to back.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, offset: 0 }
    }

    /// The current offset.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(DecodeError::UnexpectedEof {
                offset: self.offset,
                needed: len as u64,
            });
        }
        let slice = &self.bytes[self.offset..self.offset + len];
        self.offset += len;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u16 (the version prefix).
    pub fn u16_le(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A BARE `u64`: eight bytes, little-endian.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A BARE `uint`: unsigned LEB128, at most ten bytes.
    pub fn uint(&mut self) -> Result<u64, DecodeError> {
        let start = self.offset;
        let mut value = 0u64;
        for index in 0..MAX_VARINT_LEN {
            let byte = match self.u8() {
                Ok(byte) => byte,
                Err(_) => {
                    return Err(DecodeError::UnexpectedEof {
                        offset: start,
                        needed: (index + 1) as u64,
                    });
                }
            };
            if index == MAX_VARINT_LEN - 1 {
                if byte & 0x80 != 0 {
                    return Err(DecodeError::VarintTooLong { offset: start });
                }
                if byte > 1 {
                    return Err(DecodeError::VarintOverflow { offset: start });
                }
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        // Unreachable: the tenth byte either ends the varint or is rejected above.
        Err(DecodeError::VarintTooLong { offset: start })
    }

    /// A length (or count) prefix, checked to fit in the bytes left when each unit takes
    /// at least `min_unit` bytes.
    fn length(&mut self, min_unit: usize) -> Result<usize, DecodeError> {
        let offset = self.offset;
        let length = self.uint()?;
        let remaining = self.remaining();
        let fits = usize::try_from(length)
            .ok()
            .and_then(|len| len.checked_mul(min_unit.max(1)))
            .is_some_and(|needed| needed <= remaining);
        if !fits {
            return Err(DecodeError::LengthOutOfBounds {
                offset,
                length,
                remaining,
            });
        }
        // `fits` guarantees the conversion succeeded.
        Ok(usize::try_from(length).unwrap_or(0))
    }

    /// A BARE `data`: a `uint` length, then the bytes (borrowed).
    pub fn data(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.length(1)?;
        self.take(len)
    }

    /// A BARE `str`: a `uint` length, then UTF-8 bytes.
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.length(1)?;
        let offset = self.offset;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { offset })
    }

    /// A `list` count, checked against the bytes left given that each item takes at
    /// least `min_item_len` bytes.
    pub fn list_len(&mut self, min_item_len: usize) -> Result<usize, DecodeError> {
        self.length(min_item_len)
    }

    /// An `optional` tag: `false` when absent, `true` when a value follows.
    pub fn optional_tag(&mut self) -> Result<bool, DecodeError> {
        let offset = self.offset;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::InvalidOptionalTag { offset, tag }),
        }
    }

    /// An `optional<u64>`.
    pub fn optional_u64(&mut self) -> Result<Option<u64>, DecodeError> {
        if self.optional_tag()? {
            self.u64().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Checks that every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                offset: self.offset,
                count,
            }),
        }
    }
}

/// Appends BARE values to a buffer.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// A little-endian u16 (the version prefix).
    pub fn u16_le(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A BARE `u64`.
    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A BARE `uint`.
    pub fn uint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    /// A BARE `data`.
    pub fn data(&mut self, bytes: &[u8]) {
        self.uint(bytes.len() as u64);
        self.bytes.extend_from_slice(bytes);
    }

    /// A BARE `str`.
    pub fn str(&mut self, value: &str) {
        self.data(value.as_bytes());
    }

    /// A `list` count.
    pub fn list_len(&mut self, len: usize) {
        self.uint(len as u64);
    }

    /// An `optional<u64>`.
    pub fn optional_u64(&mut self, value: Option<u64>) {
        match value {
            None => self.bytes.push(0),
            Some(value) => {
                self.bytes.push(1);
                self.u64(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_uint(value: u64) -> Vec<u8> {
        let mut writer = Writer::new();
        writer.uint(value);
        writer.into_bytes()
    }

    #[test]
    fn uint_round_trips_at_every_width() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let bytes = encode_uint(value);
            let mut reader = Reader::new(&bytes);
            assert_eq!(reader.uint(), Ok(value));
            assert_eq!(reader.finish(), Ok(()));
        }
        assert_eq!(encode_uint(300), [0xac, 0x02]);
        assert_eq!(encode_uint(u64::MAX).len(), 10);
    }

    #[test]
    fn uint_rejects_eleven_bytes_and_overflow() {
        let mut long = vec![0x80; 10];
        long.push(0x00);
        assert_eq!(
            Reader::new(&long).uint(),
            Err(DecodeError::VarintTooLong { offset: 0 })
        );
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        assert_eq!(
            Reader::new(&overflow).uint(),
            Err(DecodeError::VarintOverflow { offset: 0 })
        );
        assert_eq!(
            Reader::new(&[0x80, 0x80]).uint(),
            Err(DecodeError::UnexpectedEof {
                offset: 0,
                needed: 3
            })
        );
    }

    #[test]
    fn lengths_are_checked_before_allocating() {
        // A data length claiming about 2^63 bytes, followed by three bytes.
        let mut bytes = vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        bytes.extend_from_slice(b"abc");
        assert!(matches!(
            Reader::new(&bytes).data(),
            Err(DecodeError::LengthOutOfBounds { remaining: 3, .. })
        ));
        // A list of 3 items of at least 2 bytes each does not fit in 5 bytes.
        assert!(matches!(
            Reader::new(&[3, 0, 0, 0, 0, 0]).list_len(2),
            Err(DecodeError::LengthOutOfBounds {
                length: 3,
                remaining: 5,
                ..
            })
        ));
        assert_eq!(Reader::new(&[3, 0, 0, 0, 0, 0, 0]).list_len(2), Ok(3));
    }

    #[test]
    fn strings_must_be_utf8() {
        assert_eq!(Reader::new(&[2, b'h', b'i']).str(), Ok("hi"));
        assert_eq!(
            Reader::new(&[1, 0xff]).str(),
            Err(DecodeError::InvalidUtf8 { offset: 1 })
        );
    }

    #[test]
    fn optionals_and_trailing_bytes() {
        let mut writer = Writer::new();
        writer.optional_u64(None);
        writer.optional_u64(Some(7));
        let bytes = writer.into_bytes();
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.optional_u64(), Ok(None));
        assert_eq!(reader.optional_u64(), Ok(Some(7)));
        assert_eq!(reader.finish(), Ok(()));
        assert_eq!(
            Reader::new(&[2]).optional_u64(),
            Err(DecodeError::InvalidOptionalTag { offset: 0, tag: 2 })
        );
        let mut reader = Reader::new(&[0, 9]);
        assert_eq!(reader.optional_u64(), Ok(None));
        assert_eq!(
            reader.finish(),
            Err(DecodeError::TrailingBytes {
                offset: 1,
                count: 1
            })
        );
    }
}
