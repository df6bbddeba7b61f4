//! A row's value buffer: on the stack for narrow rows, else a vector reused across rows.

use sqlite_runtime::{Result, ValueRef};

/// Rows with at most this many columns are read into a buffer on the stack, so a
/// narrow query allocates nothing per row or per call.
const INLINE: usize = 8;

/// Reusable storage for the values of rows wider than [`INLINE`].
#[derive(Default)]
pub(crate) struct RowBuffer {
    spare: Vec<ValueRef<'static>>,
}

impl RowBuffer {
    /// Reads the `count` values of one row with `read` (column by column, in order) and
    /// hands them to `visit`. An error from `read` stops at once.
    pub(crate) fn visit<'v, T>(
        &mut self,
        count: usize,
        mut read: impl FnMut(usize) -> Result<ValueRef<'v>>,
        visit: impl FnOnce(&[ValueRef<'v>]) -> Result<T>,
    ) -> Result<T> {
        if count <= INLINE {
            let mut values = [ValueRef::Null; INLINE];
            for (index, slot) in values[..count].iter_mut().enumerate() {
                *slot = read(index)?;
            }
            return visit(&values[..count]);
        }
        let mut values = recycle(std::mem::take(&mut self.spare));
        values.reserve(count);
        for index in 0..count {
            values.push(read(index)?);
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

    fn read_row(buffer: &mut RowBuffer, count: usize) -> Result<Vec<i64>> {
        let text: Vec<String> = (0..count).map(|i| i.to_string()).collect();
        buffer.visit(
            count,
            |index| Ok(ValueRef::Text(&text[index])),
            |values| {
                Ok(values
                    .iter()
                    .filter_map(|v| match v {
                        ValueRef::Text(t) => t.parse().ok(),
                        _ => None,
                    })
                    .collect())
            },
        )
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
            let error = buffer.visit(
                count,
                |index| match index {
                    1 => Err(sqlite_runtime::Error::new(
                        sqlite_runtime::ErrorKind::Corrupt,
                        "bad",
                    )),
                    _ => Ok(ValueRef::Null),
                },
                |_| -> Result<()> { panic!("visited a row that failed to read") },
            );
            assert!(error.is_err());
        }
    }
}
