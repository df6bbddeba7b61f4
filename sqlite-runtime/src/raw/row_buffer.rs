//! A row's value buffer: on the stack for narrow rows, else a vector reused across rows
//! and calls.

use crate::{Result, ValueRef};

use super::RawRow;

/// Rows with at most this many columns are read into a buffer on the stack, so a
/// narrow query allocates nothing per row or per call.
const INLINE: usize = 8;

/// Reusable storage for the values of rows wider than [`INLINE`].
#[derive(Debug, Default)]
pub(crate) struct RowBuffer {
    spare: Vec<ValueRef<'static>>,
}

impl RowBuffer {
    /// Reads the first `count` columns of `row` (once, in order; text checked for
    /// UTF-8) and hands the values to `visit`. An error reading a column stops at once.
    #[inline]
    pub(crate) fn visit<'r, T>(
        &mut self,
        row: &'r dyn RawRow,
        count: usize,
        visit: impl FnOnce(&[ValueRef<'r>]) -> Result<T>,
    ) -> Result<T> {
        if count <= INLINE {
            let mut values = [ValueRef::Null; INLINE];
            let values = values.get_mut(..count).unwrap_or_default();
            for (index, slot) in values.iter_mut().enumerate() {
                *slot = row.column(index)?.to_value_ref()?;
            }
            return visit(values);
        }
        let mut values = recycle(std::mem::take(&mut self.spare));
        values.reserve(count);
        for index in 0..count {
            values.push(row.column(index)?.to_value_ref()?);
        }
        let result = visit(&values);
        // The borrowed values die with this row; keep only the allocation.
        self.spare = recycle(values);
        result
    }
}

/// Empties `values` and hands its allocation back for values of another lifetime: the
/// borrowed values of one row die with that row, the allocation serves the next. An
/// in-place collect of an emptied vector allocates nothing.
fn recycle<'b>(mut values: Vec<ValueRef<'_>>) -> Vec<ValueRef<'b>> {
    values.clear();
    values.into_iter().map(|_| ValueRef::Null).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawValue;
    use crate::{Error, ErrorKind};

    /// `count` columns holding their index as text; column `fail` cannot be read.
    struct Numbers {
        text: Vec<String>,
        fail: Option<usize>,
    }

    impl RawRow for Numbers {
        fn column_count(&self) -> usize {
            self.text.len()
        }
        fn column_name(&self, _: usize) -> Option<&[u8]> {
            None
        }
        fn column(&self, index: usize) -> Result<RawValue<'_>> {
            if Some(index) == self.fail {
                return Err(Error::new(ErrorKind::Corrupt, "bad"));
            }
            Ok(RawValue::Text(
                self.text.get(index).map_or(b"", |t| t.as_bytes()),
            ))
        }
    }

    fn numbers(count: usize, fail: Option<usize>) -> Numbers {
        Numbers {
            text: (0..count).map(|i| i.to_string()).collect(),
            fail,
        }
    }

    fn read_row(buffer: &mut RowBuffer, count: usize) -> Result<Vec<i64>> {
        buffer.visit(&numbers(count, None), count, |values| {
            Ok(values
                .iter()
                .filter_map(|v| match v {
                    ValueRef::Text(t) => t.parse().ok(),
                    _ => None,
                })
                .collect())
        })
    }

    #[test]
    fn narrow_and_wide_rows_read_every_value_in_order() -> Result<()> {
        let mut buffer = RowBuffer::default();
        for count in [0, 1, INLINE, INLINE + 1, 40, 3] {
            assert_eq!(
                read_row(&mut buffer, count)?,
                (0..count as i64).collect::<Vec<_>>()
            );
        }
        assert!(buffer.spare.capacity() >= 40);
        Ok(())
    }

    #[test]
    fn a_read_error_stops_the_row() {
        let mut buffer = RowBuffer::default();
        for count in [2, INLINE + 2] {
            let mut visited = false;
            let result = buffer.visit(&numbers(count, Some(1)), count, |_| {
                visited = true;
                Ok(())
            });
            assert!(result.is_err() && !visited);
        }
    }
}
