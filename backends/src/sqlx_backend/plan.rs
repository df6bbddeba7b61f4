//! What the backend knows about one SQL text: its parameters, read from SQLite, and the
//! text sqlx is given.
//!
//! sqlx binds parameters by position only and rejects `:name` and `@name` placeholders
//! (and reads `$N` as "argument N", where SQLite numbers `$N` in order of appearance).
//! So each new SQL text is prepared once on the raw handle (`sqlite3_prepare_v2`) to read
//! its parameter count and names; when it has named or numbered placeholders, every
//! placeholder is rewritten to `?K`, K being SQLite's own index for it, which sqlx binds
//! exactly as SQLite numbers them. The probe statement is finalized at once.

use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Arc;

use libsqlite3_sys as ffi;
use sqlite_runtime::raw::StatementCache;
use sqlite_runtime::{Error, ErrorKind, Result};

use super::NAME;

/// The parameter layout of one statement and the SQL sent to sqlx.
#[derive(Debug)]
pub(super) struct Plan {
    /// The SQL handed to sqlx: the caller's text, or its rewrite.
    pub(super) sql: Arc<str>,
    /// `names[i]` is the name of parameter `i + 1` (with its prefix), `None` for `?`.
    names: Vec<Option<String>>,
}

impl Plan {
    /// The number of parameters.
    pub(super) fn parameter_count(&self) -> usize {
        self.names.len()
    }

    /// The index (`1`-based) of the parameter named `name` (prefix included).
    pub(super) fn parameter_index(&self, name: &str) -> Option<usize> {
        let position = self.names.iter().position(|n| n.as_deref() == Some(name))?;
        Some(position + 1)
    }
}

/// Plans by SQL text, the least recently used forgotten first.
#[derive(Debug)]
pub(super) struct Plans(StatementCache<Arc<Plan>>);

const MAX_PLANS: usize = 1024;

impl Default for Plans {
    fn default() -> Self {
        Plans(StatementCache::new(MAX_PLANS))
    }
}

impl Plans {
    pub(super) fn get(&mut self, sql: &str) -> Option<Arc<Plan>> {
        self.0.get(sql).cloned()
    }

    pub(super) fn insert(&mut self, sql: &str, plan: Arc<Plan>) {
        // Capacity is never 0, so the plan is kept.
        let _ = self.0.insert(sql, plan);
    }

    /// The caller's SQL for a statement text SQLite reports, when the backend changed it
    /// (rewritten placeholders, or the surrounding whitespace sqlx trims).
    pub(super) fn original_of(&self, prepared: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(original, plan)| plan.sql.trim() == prepared && *original != prepared)
            .map(|(original, _)| original)
    }
}

/// Prepares `sql` on `db` to read its parameters (and check it: one statement, column
/// names in UTF-8, on which sqlx's worker thread would panic and the query then silently
/// return no rows), then finalizes it.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
pub(super) unsafe fn probe(db: *mut ffi::sqlite3, sql: &str) -> Result<Plan> {
    // SAFETY: per the caller; the names are read before the statement is finalized.
    let names = unsafe {
        crate::c_api::check_statement(NAME, db, sql, |statement| parameter_names(statement))
    }?;
    plan(sql, names.unwrap_or_default())
}

/// # Safety
/// `statement` must be a valid prepared statement.
unsafe fn parameter_names(statement: *mut ffi::sqlite3_stmt) -> Vec<Option<String>> {
    // SAFETY: per the caller.
    let count = unsafe { ffi::sqlite3_bind_parameter_count(statement) };
    (1..=count)
        .map(|index| {
            // SAFETY: per the caller; the name lives as long as the statement.
            let name = unsafe { ffi::sqlite3_bind_parameter_name(statement, index) };
            (!name.is_null())
                // SAFETY: a non-null name is NUL-terminated.
                .then(|| {
                    unsafe { CStr::from_ptr(name) }
                        .to_string_lossy()
                        .into_owned()
                })
        })
        .collect()
}

fn plan(sql: &str, names: Vec<Option<String>>) -> Result<Plan> {
    if names.iter().all(Option::is_none) {
        return Ok(Plan {
            sql: Arc::from(sql),
            names,
        });
    }
    let rewritten = rewrite(sql, &names).ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            "cannot map the statement's named parameters to positions for sqlx",
        )
    })?;
    Ok(Plan {
        sql: Arc::from(rewritten),
        names,
    })
}

/// Rewrites every placeholder of `sql` as `?K` with SQLite's index K, or `None` when the
/// placeholders found do not match what SQLite reported.
fn rewrite(sql: &str, names: &[Option<String>]) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    let mut i = 0;
    // SQLite's numbering: `?` takes max+1, `?N` takes N, a name keeps its first index.
    let mut max = 0usize;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' | b'`' => i = skip_quoted(bytes, i, c),
            b'[' => i = find(bytes, i + 1, b"]").map_or(bytes.len(), |end| end + 1),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = find(bytes, i, b"\n").map_or(bytes.len(), |end| end + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |end| end + 2);
            }
            b'?' | b':' | b'@' | b'$' => {
                let end = placeholder_end(bytes, i);
                if end == i + 1 && c != b'?' {
                    i += 1;
                    continue;
                }
                let token = &sql[i..end];
                let index = if c == b'?' {
                    if end == i + 1 {
                        max += 1;
                        max
                    } else {
                        let n: usize = token[1..].parse().ok()?;
                        max = max.max(n);
                        n
                    }
                } else if let Some(&index) = seen.get(token) {
                    index
                } else {
                    max += 1;
                    seen.insert(token, max);
                    max
                };
                // Check against SQLite's own view of the statement.
                let expected = names.get(index.checked_sub(1)?)?;
                let matches = if c == b'?' && end == i + 1 {
                    // A bare `?` has no name, unless a `?N` elsewhere names the same index.
                    expected.as_deref().is_none_or(|name| {
                        name.strip_prefix('?') == Some(index.to_string().as_str())
                    })
                } else {
                    expected.as_deref() == Some(token)
                };
                if !matches {
                    return None;
                }
                out.push_str(&sql[copied..i]);
                out.push('?');
                out.push_str(&index.to_string());
                copied = end;
                i = end;
            }
            _ if is_id_char(c) => {
                while i < bytes.len() && (is_id_char(bytes[i]) || bytes[i] == b'$') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    if max != names.len() {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

fn is_id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The end of the placeholder starting at `start` (`?`, `?NNN`, `:name`, `@name`,
/// `$name`, `$a::b(c)`).
fn placeholder_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    if bytes[start] == b'?' {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        return i;
    }
    loop {
        while i < bytes.len() && (is_id_char(bytes[i]) || bytes[i] == b'$') {
            i += 1;
        }
        if bytes[start] == b'$' && bytes.get(i) == Some(&b':') && bytes.get(i + 1) == Some(&b':') {
            i += 2;
            continue;
        }
        break;
    }
    if bytes[start] == b'$'
        && i > start + 1
        && bytes.get(i) == Some(&b'(')
        && let Some(close) = find(bytes, i, b")")
    {
        i = close + 1;
    }
    i
}

fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[Option<&str>]) -> Vec<Option<String>> {
        list.iter().map(|n| n.map(str::to_owned)).collect()
    }

    #[test]
    fn rewrites_named_and_numbered_placeholders() {
        let sql = "SELECT :a, @b, $c, :a, '?x :y', \"q:z\", -- :c\n ? /* @d */";
        let got = rewrite(sql, &names(&[Some(":a"), Some("@b"), Some("$c"), None]));
        assert_eq!(
            got.as_deref(),
            Some("SELECT ?1, ?2, ?3, ?1, '?x :y', \"q:z\", -- :c\n ?4 /* @d */")
        );
        let got = rewrite(
            "SELECT ?2, ?, $x::y(z)",
            &names(&[None, Some("?2"), None, Some("$x::y(z)")]),
        );
        assert_eq!(got.as_deref(), Some("SELECT ?2, ?3, ?4"));
    }

    #[test]
    fn mismatch_with_sqlite_is_refused() {
        assert_eq!(rewrite("SELECT :a", &names(&[Some(":b")])), None);
        assert_eq!(rewrite("SELECT :a", &names(&[Some(":a"), None])), None);
    }
}
