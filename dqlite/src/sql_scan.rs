//! A light scan of SQL text: how many statements it holds and whether it uses
//! `RETURNING`, skipping string literals, quoted identifiers, comments and parameter
//! names. The guards use it to refuse what dqlite 1.11 mishandles.
//!
//! It is a tokenizer, not a parser: `CREATE TRIGGER … BEGIN … END` bodies are recognised
//! (their inner `;` do not end the statement) the way SQLite's `sqlite3_complete` does,
//! by the `END` keyword before a `;`; a `CASE … END;` inside a trigger body is taken
//! for the end of the trigger, so such text counts as more than one statement.

/// What [`scan`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SqlShape {
    /// Statements holding at least one token (empty ones between `;` not counted).
    pub statements: usize,
    /// Whether the keyword `RETURNING` appears outside literals and comments.
    pub returning: bool,
}

/// Scans `sql`.
pub(crate) fn scan(sql: &str) -> SqlShape {
    let bytes = sql.as_bytes();
    let mut state = State::default();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        i = match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => i + 1,
            b'-' if next == Some(b'-') => skip_until(bytes, i + 2, b"\n"),
            b'/' if next == Some(b'*') => skip_until(bytes, i + 2, b"*/"),
            b'\'' | b'"' | b'`' => {
                state.token(None);
                skip_quoted(bytes, i + 1, byte)
            }
            b'[' => {
                state.token(None);
                skip_until(bytes, i + 1, b"]")
            }
            b';' => {
                state.semicolon();
                i + 1
            }
            b'?' | b':' | b'@' | b'$' | b'#' => {
                state.token(None);
                skip_word(bytes, i + 1)
            }
            _ if is_word_byte(byte) => {
                let end = skip_word(bytes, i);
                state.token(bytes.get(i..end));
                end
            }
            _ => {
                state.token(None);
                i + 1
            }
        };
    }
    state.finish()
}

#[derive(Default)]
struct State {
    shape: SqlShape,
    /// Tokens in the current statement.
    tokens: usize,
    /// The statement so far is `CREATE` or `CREATE TEMP`/`TEMPORARY`.
    create_prefix: bool,
    /// The statement is `CREATE [TEMP] TRIGGER`.
    trigger: bool,
    /// The last token was the keyword `END`.
    after_end: bool,
}

impl State {
    fn token(&mut self, word: Option<&[u8]>) {
        self.tokens += 1;
        let is = |keyword: &str| word.is_some_and(|w| w.eq_ignore_ascii_case(keyword.as_bytes()));
        if is("RETURNING") {
            self.shape.returning = true;
        }
        if self.tokens == 1 {
            self.create_prefix = is("CREATE");
        } else if self.create_prefix {
            if is("TRIGGER") {
                self.trigger = true;
                self.create_prefix = false;
            } else {
                self.create_prefix = self.tokens == 2 && (is("TEMP") || is("TEMPORARY"));
            }
        }
        self.after_end = is("END");
    }

    fn semicolon(&mut self) {
        if self.tokens == 0 {
            return;
        }
        if self.trigger && !self.after_end {
            // A statement inside the trigger's body.
            self.token(None);
            return;
        }
        self.end_statement();
    }

    fn end_statement(&mut self) {
        self.shape.statements += 1;
        self.tokens = 0;
        self.create_prefix = false;
        self.trigger = false;
        self.after_end = false;
    }

    fn finish(mut self) -> SqlShape {
        if self.tokens > 0 {
            self.end_statement();
        }
        self.shape
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

fn skip_word(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).copied().is_some_and(is_word_byte) {
        i += 1;
    }
    i
}

/// The index after the first `end` at or after `i` (the end of the text if none).
fn skip_until(bytes: &[u8], i: usize, end: &[u8]) -> usize {
    bytes
        .get(i..)
        .and_then(|rest| rest.windows(end.len()).position(|window| window == end))
        .map_or(bytes.len(), |at| i + at + end.len())
}

/// The index after the closing `quote` (a doubled quote is part of the literal).
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while let Some(&byte) = bytes.get(i) {
        if byte == quote {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(sql: &str) -> usize {
        scan(sql).statements
    }

    #[test]
    fn counts_statements() {
        assert_eq!(statements(""), 0);
        assert_eq!(statements("  ;; -- nothing\n /* at all */"), 0);
        assert_eq!(statements("SELECT 1"), 1);
        assert_eq!(statements("SELECT 1;"), 1);
        assert_eq!(statements("SELECT 1; -- c\n /* x */ ;  "), 1);
        assert_eq!(statements("SELECT 1; SELECT 2"), 2);
        assert_eq!(
            statements("CREATE TABLE a(x); INSERT INTO a VALUES (1);"),
            2
        );
        assert_eq!(statements("SELECT 'é'; SELECT 2"), 2);
    }

    #[test]
    fn semicolons_inside_literals_and_comments_do_not_count() {
        assert_eq!(
            statements("SELECT ';', \"a;b\", [c;d], `e;f`, 'it''s;' -- ;\n"),
            1
        );
        assert_eq!(statements("SELECT 1 /* ; */"), 1);
        assert_eq!(statements("SELECT 'unterminated; SELECT 2"), 1);
        assert_eq!(statements("SELECT 1 /* unterminated; SELECT 2"), 1);
    }

    #[test]
    fn trigger_bodies_are_one_statement() {
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                       UPDATE t SET x = 1; DELETE FROM u; END";
        assert_eq!(statements(trigger), 1);
        assert_eq!(statements(&format!("{trigger}; SELECT 1")), 2);
        assert_eq!(
            statements("create temp trigger tr after insert on t begin select 1; end;"),
            1
        );
        assert_eq!(
            statements(
                "CREATE TEMPORARY TRIGGER tr BEFORE DELETE ON t BEGIN SELECT 1; END; SELECT 2;"
            ),
            2
        );
        // Not a trigger: `;` ends it.
        assert_eq!(statements("CREATE TABLE trigger_log(x); SELECT 1"), 2);
    }

    #[test]
    fn finds_returning_only_as_a_keyword() {
        assert!(scan("INSERT INTO t VALUES (1) RETURNING id").returning);
        assert!(scan("delete from t returning *").returning);
        assert!(scan("UPDATE t SET x = 1\nReturning x;").returning);
        assert!(
            !scan("SELECT 'returning', \"returning\", [returning], :returning, $returning -- returning")
                .returning
        );
        assert!(!scan("SELECT returning_count FROM t").returning);
        assert!(!scan("SELECT 1 /* RETURNING */").returning);
    }

    #[test]
    fn any_text_is_scanned_without_panicking() {
        for sql in [
            "'", "\"", "[", "`", "--", "/*", "/", "-", "?", ";", "é", "\u{0}",
        ] {
            let _ = scan(sql);
            let _ = scan(&format!("SELECT {sql}"));
        }
    }
}
