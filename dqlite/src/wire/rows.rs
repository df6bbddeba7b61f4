//! The body of a ROWS message.
//!
//! ```text
//! u64 column count, count × text column name,
//! rows: a header of 4-bit value types (column 0 in the low nibble of byte 0), padded to
//!       a word, then the values,
//! end:  ROWS_DONE (the result set is complete) or ROWS_PART (another ROWS message
//!       follows, pushed by the server without a new request).
//! ```
//!
//! Every ROWS message of a result set repeats the column names. A row header can never
//! look like an end marker: value types are at most 11, so a header byte is at most
//! `0xbb`.

use sqlite_runtime::ValueRef;
use sqlite_runtime::raw::RawValue;

use super::codes::{ROWS_DONE, ROWS_PART, value_type};
use super::decode::{Cursor, DecodeError};
use super::header::{WORD, pad8};

/// How a ROWS message ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowsEnd {
    /// The result set is complete.
    Done,
    /// Another ROWS message follows.
    Part,
}

/// Reads the rows of one ROWS message, borrowing values from its body.
#[derive(Clone, Debug)]
pub struct RowsDecoder<'a> {
    cursor: Cursor<'a>,
    names: Cursor<'a>,
    columns: usize,
    end: Option<RowsEnd>,
}

impl<'a> RowsDecoder<'a> {
    /// Reads the column count and names (checking that they are UTF-8) from a ROWS body.
    pub fn new(body: &'a [u8]) -> Result<Self, DecodeError> {
        Self::start(body, true)
    }

    /// Like [`new`](Self::new), but names need not be UTF-8 (a hostile schema can hold
    /// such names): read them with [`column_name_bytes`](Self::column_name_bytes) and
    /// the rows with [`next_raw_row`](Self::next_raw_row).
    pub fn new_raw(body: &'a [u8]) -> Result<Self, DecodeError> {
        Self::start(body, false)
    }

    fn start(body: &'a [u8], utf8_names: bool) -> Result<Self, DecodeError> {
        let mut cursor = Cursor::new(body);
        let declared = cursor.u64("column count")?;
        let columns = cursor.count(declared, WORD, "column")?;
        let names = cursor.clone();
        for _ in 0..columns {
            if utf8_names {
                cursor.text("column name")?;
            } else {
                cursor.text_bytes("column name")?;
            }
        }
        Ok(RowsDecoder {
            cursor,
            names,
            columns,
            end: None,
        })
    }

    /// The number of columns.
    pub fn column_count(&self) -> usize {
        self.columns
    }

    /// The column names, in order (for a decoder made with [`new`](Self::new)).
    pub fn column_names(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let mut cursor = self.names.clone();
        (0..self.columns).map_while(move |_| cursor.text("column name").ok())
    }

    /// The column names as the server sent them, in order, not checked for UTF-8.
    pub fn column_name_bytes(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let mut cursor = self.names.clone();
        (0..self.columns).map_while(move |_| cursor.text_bytes("column name").ok())
    }

    /// How the message ended, once [`next_row`](Self::next_row) returned `false`.
    pub fn end(&self) -> Option<RowsEnd> {
        self.end
    }

    /// Decodes the next row into `values` (cleared first). Returns `false` at the end
    /// marker, after which [`end`](Self::end) says which it was. Text that is not UTF-8
    /// is an error ([`next_raw_row`](Self::next_raw_row) leaves the check to the caller).
    ///
    /// Types that only rows carry map to the storage classes: UNIXTIME and BOOLEAN to
    /// integers, ISO8601 to text, except that an empty ISO8601 text (the server's
    /// encoding of NULL in a `DATE`/`DATETIME`/`TIMESTAMP` column) is NULL, as in
    /// go-dqlite.
    pub fn next_row(&mut self, values: &mut Vec<ValueRef<'a>>) -> Result<bool, DecodeError> {
        self.next_row_with(values, |raw| match raw {
            RawValue::Null => Ok(ValueRef::Null),
            RawValue::Integer(i) => Ok(ValueRef::Integer(i)),
            RawValue::Real(r) => Ok(ValueRef::Real(r)),
            RawValue::Blob(b) => Ok(ValueRef::Blob(b)),
            RawValue::Text(t) => std::str::from_utf8(t)
                .map(ValueRef::Text)
                .map_err(|_| DecodeError::InvalidUtf8 { what: "text value" }),
        })
    }

    /// [`next_row`](Self::next_row) with text as the server sent it, not checked for
    /// UTF-8.
    pub fn next_raw_row(&mut self, values: &mut Vec<RawValue<'a>>) -> Result<bool, DecodeError> {
        self.next_row_with(values, Ok)
    }

    fn next_row_with<V>(
        &mut self,
        values: &mut Vec<V>,
        convert: impl Fn(RawValue<'a>) -> Result<V, DecodeError>,
    ) -> Result<bool, DecodeError> {
        values.clear();
        if self.end.is_some() {
            return Ok(false);
        }
        let word = self.cursor.peek_u64().ok_or(DecodeError::Truncated {
            what: "row or end marker",
            needed: WORD as u64,
            available: self.cursor.remaining(),
        })?;
        if word == ROWS_DONE || word == ROWS_PART {
            self.cursor.u64("end marker")?;
            if !self.cursor.is_empty() {
                return Err(DecodeError::TrailingBytes {
                    count: self.cursor.remaining(),
                });
            }
            self.end = Some(if word == ROWS_DONE {
                RowsEnd::Done
            } else {
                RowsEnd::Part
            });
            return Ok(false);
        }
        if self.columns == 0 || matches!(word.to_le_bytes()[0], 0xee | 0xff) {
            return Err(DecodeError::BadMarker { word });
        }
        let header = self
            .cursor
            .bytes(pad8(self.columns.div_ceil(2)), "row header")?;
        values.reserve(self.columns);
        for column in 0..self.columns {
            let byte = header.get(column / 2).copied().unwrap_or_default();
            let code = if column % 2 == 0 {
                byte & 0x0f
            } else {
                byte >> 4
            };
            values.push(convert(self.value(code, column)?)?);
        }
        Ok(true)
    }

    fn value(&mut self, code: u8, column: usize) -> Result<RawValue<'a>, DecodeError> {
        let cursor = &mut self.cursor;
        Ok(match code {
            value_type::INTEGER | value_type::UNIXTIME | value_type::BOOLEAN => {
                RawValue::Integer(cursor.i64("integer value")?)
            }
            value_type::FLOAT => RawValue::Real(cursor.f64("float value")?),
            value_type::TEXT => RawValue::Text(cursor.text_bytes("text value")?),
            value_type::BLOB => RawValue::Blob(cursor.blob("blob value")?),
            value_type::NULL => {
                cursor.u64("null value")?;
                RawValue::Null
            }
            value_type::ISO8601 => match cursor.text_bytes("time value")? {
                b"" => RawValue::Null,
                text => RawValue::Text(text),
            },
            code => return Err(DecodeError::UnknownValueType { code, column }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(hex: &str) -> Vec<u8> {
        let hex: String = hex.split_whitespace().collect();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Column names, rows (values in `Debug` form) and the end marker.
    type Decoded = (Vec<String>, Vec<Vec<String>>, RowsEnd);

    fn decode_all(body: &[u8]) -> Result<Decoded, DecodeError> {
        let mut decoder = RowsDecoder::new(body)?;
        let names = decoder.column_names().map(str::to_owned).collect();
        let mut rows = Vec::new();
        let mut values = Vec::new();
        while decoder.next_row(&mut values)? {
            rows.push(values.iter().map(|v| format!("{v:?}")).collect());
        }
        Ok((names, rows, decoder.end().unwrap()))
    }

    /// Two columns `a`, `b`; rows (1, 'x') and (NULL, x'0102'); DONE.
    const TWO_ROWS: &str = "
        0200000000000000 6100000000000000 6200000000000000
        3100000000000000 0100000000000000 7800000000000000
        4500000000000000 0000000000000000 0200000000000000 0102000000000000
        ffffffffffffffff";

    #[test]
    fn decodes_rows_and_the_end_marker() {
        let (names, rows, end) = decode_all(&unhex(TWO_ROWS)).unwrap();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            rows,
            [["Integer(1)", "Text(\"x\")"], ["Null", "Blob([1, 2])"],]
        );
        assert_eq!(end, RowsEnd::Done);
    }

    #[test]
    fn raw_rows_leave_utf8_to_the_caller() {
        // One column named "a\xff" holding the text "\xfe".
        let body = unhex(
            "0100000000000000 61ff000000000000 0300000000000000 fe00000000000000 ffffffffffffffff",
        );
        assert_eq!(
            RowsDecoder::new(&body).unwrap_err(),
            DecodeError::InvalidUtf8 {
                what: "column name"
            }
        );
        let mut decoder = RowsDecoder::new_raw(&body).unwrap();
        assert_eq!(decoder.column_name_bytes().collect::<Vec<_>>(), [b"a\xff"]);
        let mut values = Vec::new();
        assert!(decoder.next_raw_row(&mut values).unwrap());
        assert_eq!(values, [RawValue::Text(b"\xfe")]);
        assert!(!decoder.next_raw_row(&mut values).unwrap());
        assert_eq!(decoder.end(), Some(RowsEnd::Done));
        // The checked decoder refuses the text.
        let utf8_name = unhex(
            "0100000000000000 6100000000000000 0300000000000000 fe00000000000000 ffffffffffffffff",
        );
        let mut decoder = RowsDecoder::new(&utf8_name).unwrap();
        assert_eq!(
            decoder.next_row(&mut Vec::new()).unwrap_err(),
            DecodeError::InvalidUtf8 { what: "text value" }
        );
    }

    #[test]
    fn part_marker_and_empty_batches() {
        let body = unhex("0100000000000000 7800000000000000 eeeeeeeeeeeeeeee");
        let (names, rows, end) = decode_all(&body).unwrap();
        assert_eq!(names, ["x"]);
        assert!(rows.is_empty());
        assert_eq!(end, RowsEnd::Part);
    }

    #[test]
    fn dqlite_only_types_map_to_storage_classes() {
        // Columns: real, unixtime, iso8601, iso8601 "" (NULL), boolean.
        let body = unhex(
            "0500000000000000
             6100000000000000 6200000000000000 6300000000000000 6400000000000000 6500000000000000
             92aa0b0000000000
             000000000000f83f 00f1536500000000 3230323400000000 0000000000000000 0100000000000000
             ffffffffffffffff",
        );
        let mut body = body;
        let (_, rows, _) = decode_all(&body).unwrap();
        assert_eq!(
            rows,
            [[
                "Real(1.5)",
                "Integer(1700000000)",
                "Text(\"2024\")",
                "Null",
                "Integer(1)"
            ]]
        );
        // An unknown type nibble is an error naming the column.
        body[8 * 6] = 0x72;
        assert_eq!(
            decode_all(&body).unwrap_err(),
            DecodeError::UnknownValueType { code: 7, column: 1 }
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        let good = unhex(TWO_ROWS);
        // Cut anywhere: an error, never a panic.
        for len in 0..good.len() {
            assert!(decode_all(&good[..len]).is_err(), "cut at {len}");
        }
        // Trailing bytes after the marker.
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[0; 8]);
        assert_eq!(
            decode_all(&trailing).unwrap_err(),
            DecodeError::TrailingBytes { count: 8 }
        );
        // A column count that cannot fit.
        let mut lying = good.clone();
        lying[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode_all(&lying).unwrap_err(),
            DecodeError::BadCount { .. }
        ));
        // Zero columns and something that is not a marker: no endless loop.
        let zero = unhex("0000000000000000 0100000000000000");
        assert!(matches!(
            decode_all(&zero).unwrap_err(),
            DecodeError::BadMarker { .. }
        ));
        // A near-marker.
        let near = unhex("0100000000000000 7800000000000000 ffffffffffffff00");
        assert!(matches!(
            decode_all(&near).unwrap_err(),
            DecodeError::BadMarker { .. }
        ));
    }

    #[test]
    fn every_byte_flip_is_handled() {
        let good = unhex(TWO_ROWS);
        for index in 0..good.len() {
            for value in [0x00, 0x01, 0x0f, 0x7f, 0x80, 0xee, 0xff] {
                let mut body = good.clone();
                body[index] = value;
                let _ = decode_all(&body);
            }
        }
    }
}
