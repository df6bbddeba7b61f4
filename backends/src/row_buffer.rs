//! A row's value buffer, reused across rows.

use sqlite_runtime::ValueRef;

/// Empties `values` and hands its allocation back for values of another lifetime: the
/// borrowed values of one row die with that row, the allocation serves the next. An
/// in-place collect of an emptied vector allocates nothing.
pub(crate) fn recycle<'b>(mut values: Vec<ValueRef<'_>>) -> Vec<ValueRef<'b>> {
    values.clear();
    values.into_iter().map(|_| ValueRef::Null).collect()
}
