//! Streaming a result set: ROWS messages, one after the other, into a row visitor.
//!
//! The server sends a result set as ROWS messages of about one page each; all but the
//! last end with PART, and the next one follows without a new request. The visitor sees
//! each row as borrowed values decoded in place from the message (no copy, no
//! allocation per row). When the visitor stops early (or fails) while more messages are
//! coming, the client sends INTERRUPT and reads until the server's EMPTY, so the
//! connection is ready for the next request (1.11 asserts, and the node dies, if any
//! other request arrives while a result set is pending).

use std::ops::ControlFlow;

use sqlite_runtime::raw::{RawRow, RawRowVisitor, RawValue};
use sqlite_runtime::{Error, Result, RowRef, RowVisitor, ValueRef};

use crate::error::failure_error;
use crate::transport::Transport;
use crate::wire::{
    DecodeError, ROWS_DONE, ROWS_PART, Request, Response, ResponseType, RowsDecoder, RowsEnd, WORD,
    decode_query_failure,
};

/// What a query returned besides its rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuerySummary {
    /// The column names (also when no row came).
    pub columns: Vec<String>,
    /// Rows handed to the visitor.
    pub rows: u64,
    /// ROWS messages received (more than one for a result set over about 4 KiB).
    pub batches: u32,
    /// Whether the visitor stopped before the end of the result set.
    pub stopped_early: bool,
}

/// How the visitor ended a batch early.
enum Stop {
    Break,
    Failed(Error),
}

/// Reads the ROWS messages answering a QUERY or QUERY_SQL already sent.
pub(crate) fn stream_rows(
    transport: &mut Transport,
    db: u32,
    visitor: &mut RowVisitor<'_>,
) -> Result<QuerySummary> {
    let mut summary = QuerySummary::default();
    loop {
        let kind = transport.receive()?;
        let batch = match Response::decode(kind, transport.input()) {
            Ok(Response::Rows { body }) => visit_batch(body, &mut summary, visitor),
            // The query failed on the server (possibly after earlier batches): the server
            // is done with it and the connection is usable.
            Ok(Response::Failure { .. }) => return Err(query_failure(transport)),
            Ok(other) => Err(DecodeError::UnexpectedResponse {
                expected: "ROWS",
                got: other.name(),
            }),
            Err(error) => Err(error),
        };
        let (end, stop) = batch.map_err(|error| transport.malformed(error))?;
        summary.batches += 1;
        if end == RowsEnd::Part && stop.is_some() {
            interrupt(transport, db)?;
        }
        match (end, stop) {
            (RowsEnd::Part, None) => continue,
            (RowsEnd::Done, None) => return Ok(summary),
            (_, Some(Stop::Break)) => {
                summary.stopped_early = true;
                return Ok(summary);
            }
            (_, Some(Stop::Failed(error))) => return Err(error),
        }
    }
}

/// Reads the ROWS messages answering a QUERY or QUERY_SQL already sent, handing each
/// row to `on_row` as a [`RawRow`]: names and text as the server sent them, unchecked
/// for UTF-8 (the caller checks what it reads). Returns how many rows were handed over.
pub(crate) fn stream_raw_rows(
    transport: &mut Transport,
    db: u32,
    on_row: &mut RawRowVisitor<'_>,
) -> Result<u64> {
    let mut rows = 0;
    let mut first_count = None;
    loop {
        let kind = transport.receive()?;
        let batch = match Response::decode(kind, transport.input()) {
            Ok(Response::Rows { body }) => {
                visit_raw_batch(body, &mut first_count, &mut rows, on_row)
            }
            Ok(Response::Failure { .. }) => return Err(query_failure(transport)),
            Ok(other) => Err(DecodeError::UnexpectedResponse {
                expected: "ROWS",
                got: other.name(),
            }),
            Err(error) => Err(error),
        };
        let (end, stop) = batch.map_err(|error| transport.malformed(error))?;
        if end == RowsEnd::Part && stop.is_some() {
            interrupt(transport, db)?;
        }
        match (end, stop) {
            (RowsEnd::Part, None) => continue,
            (RowsEnd::Done, None) | (_, Some(Stop::Break)) => return Ok(rows),
            (_, Some(Stop::Failed(error))) => return Err(error),
        }
    }
}

/// The error of the FAILURE just received for a query (see [`decode_query_failure`]
/// for how dqlite 1.11 garbles it).
fn query_failure(transport: &mut Transport) -> Error {
    match decode_query_failure(transport.input()) {
        Ok((code, message)) => failure_error(code, &message),
        Err(error) => transport.malformed(error),
    }
}

/// One row of a ROWS message, borrowed from it.
struct BatchRow<'r> {
    names: &'r [&'r [u8]],
    values: &'r [RawValue<'r>],
}

impl RawRow for BatchRow<'_> {
    fn column_count(&self) -> usize {
        self.values.len()
    }

    fn column_name(&self, index: usize) -> Option<&[u8]> {
        self.names.get(index).copied()
    }

    fn column(&self, index: usize) -> Result<RawValue<'_>> {
        self.values.get(index).copied().ok_or_else(|| {
            Error::new(
                sqlite_runtime::ErrorKind::Misuse,
                format!("column index {index} out of range"),
            )
        })
    }
}

/// Hands the rows of one ROWS body to `on_row` as raw rows.
fn visit_raw_batch(
    body: &[u8],
    first_count: &mut Option<usize>,
    rows: &mut u64,
    on_row: &mut RawRowVisitor<'_>,
) -> Result<(RowsEnd, Option<Stop>), DecodeError> {
    let mut decoder = RowsDecoder::new_raw(body)?;
    let count = *first_count.get_or_insert(decoder.column_count());
    if decoder.column_count() != count {
        return Err(DecodeError::ColumnCountChanged {
            first: count,
            now: decoder.column_count(),
        });
    }
    let names: Vec<&[u8]> = decoder.column_name_bytes().collect();
    let mut values: Vec<RawValue<'_>> = Vec::with_capacity(count);
    while decoder.next_raw_row(&mut values)? {
        *rows += 1;
        let row = BatchRow {
            names: &names,
            values: &values,
        };
        let stop = match on_row(&row) {
            Ok(ControlFlow::Continue(())) => continue,
            Ok(ControlFlow::Break(())) => Stop::Break,
            Err(error) => Stop::Failed(error),
        };
        return Ok((trailing_marker(body)?, Some(stop)));
    }
    let end = decoder.end().ok_or(DecodeError::BadMarker { word: 0 })?;
    Ok((end, None))
}

/// Hands the rows of one ROWS body to the visitor; returns how the body ends and
/// whether the visitor stopped.
fn visit_batch(
    body: &[u8],
    summary: &mut QuerySummary,
    visitor: &mut RowVisitor<'_>,
) -> Result<(RowsEnd, Option<Stop>), DecodeError> {
    let mut decoder = RowsDecoder::new(body)?;
    if summary.batches == 0 {
        summary.columns = decoder.column_names().map(str::to_owned).collect();
    } else if decoder.column_count() != summary.columns.len() {
        return Err(DecodeError::ColumnCountChanged {
            first: summary.columns.len(),
            now: decoder.column_count(),
        });
    }
    let mut values: Vec<ValueRef<'_>> = Vec::with_capacity(decoder.column_count());
    while decoder.next_row(&mut values)? {
        summary.rows += 1;
        let stop = match visitor(&RowRef::new(&summary.columns, &values)) {
            Ok(ControlFlow::Continue(())) => continue,
            Ok(ControlFlow::Break(())) => Stop::Break,
            Err(error) => Stop::Failed(error),
        };
        // The rest of this body is not decoded: its last word says whether more
        // messages follow.
        return Ok((trailing_marker(body)?, Some(stop)));
    }
    let end = decoder.end().ok_or(DecodeError::BadMarker { word: 0 })?;
    Ok((end, None))
}

/// The end marker in the last word of a ROWS body.
fn trailing_marker(body: &[u8]) -> Result<RowsEnd, DecodeError> {
    let word = body
        .len()
        .checked_sub(WORD)
        .and_then(|start| body.get(start..))
        .and_then(|last| <[u8; WORD]>::try_from(last).ok())
        .map(u64::from_le_bytes)
        .unwrap_or_default();
    match word {
        ROWS_DONE => Ok(RowsEnd::Done),
        ROWS_PART => Ok(RowsEnd::Part),
        word => Err(DecodeError::BadMarker { word }),
    }
}

/// Abandons the result set: INTERRUPT, then skip what the server still sends up to its
/// EMPTY.
fn interrupt(transport: &mut Transport, db: u32) -> Result<()> {
    transport.send(&Request::Interrupt { db })?;
    loop {
        let kind = transport.receive()?;
        match ResponseType::from_code(kind) {
            Some(ResponseType::Empty) => return Ok(()),
            // Batches already on their way, or the failure of the abandoned query.
            Some(ResponseType::Rows | ResponseType::Failure) => continue,
            other => {
                return Err(transport.malformed(DecodeError::UnexpectedResponse {
                    expected: "EMPTY",
                    got: other.map_or("an unknown response", ResponseType::name),
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_markers() {
        assert_eq!(trailing_marker(&[0xff; 16]), Ok(RowsEnd::Done));
        assert_eq!(trailing_marker(&[0xee; 8]), Ok(RowsEnd::Part));
        assert!(trailing_marker(&[0xee; 7]).is_err());
        assert!(trailing_marker(&[]).is_err());
        assert!(trailing_marker(&[0; 8]).is_err());
    }
}
