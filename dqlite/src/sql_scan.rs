//! A light scan of SQL text, skipping string literals, quoted identifiers and comments:
//! how many statements it holds and where each is, what kind each is (a read, a write,
//! a transaction-control statement, a pragma), whether it uses `RETURNING`, and how
//! SQLite numbers its parameters. The guards use it to refuse what dqlite 1.11
//! mishandles; the runtime uses it to pick a request for each statement and to follow
//! transactions client-side.
//!
//! It is a tokenizer, not a parser: `CREATE TRIGGER … BEGIN … END` bodies are recognised
//! (their inner `;` do not end the statement) the way SQLite's `sqlite3_complete` does,
//! by the `END` keyword before a `;`; a `CASE … END;` inside a trigger body is taken
//! for the end of the trigger, so such text counts as more than one statement.

use std::ops::Range;

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
    let mut shape = SqlShape::default();
    for_each_statement(sql, |tokens| {
        shape.statements += 1;
        shape.returning |= tokens.iter().any(|token| token.is_word("RETURNING"));
    });
    shape
}

/// A token's class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A keyword, a bare identifier or a number (letters, digits, `_`, `$`, non-ASCII).
    Word,
    /// A parameter: `?`, `?NNN`, `:name`, `@name`, `$name` (or `#name`).
    Param,
    /// A string literal, `'…'`.
    String,
    /// A quoted identifier, `"…"`, `` `…` `` or `[…]`.
    Quoted,
    /// `;`.
    Semicolon,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `=`.
    Equals,
    /// `.`.
    Dot,
    /// Any other character (operators, commas).
    Other,
}

/// One token of SQL text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// Its class.
    pub kind: TokenKind,
    /// Its text, quotes included.
    pub text: &'a str,
    /// Where it starts in the scanned text.
    pub start: usize,
}

impl Token<'_> {
    /// Where it ends in the scanned text.
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }

    /// Whether it is the keyword `keyword` (ASCII case-insensitive).
    pub fn is_word(&self, keyword: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    /// The name it spells, as SQLite compares savepoint and pragma names: quotes
    /// removed (a doubled quote is one), ASCII letters in lower case.
    pub fn name(&self) -> String {
        let inner = match self.kind {
            TokenKind::Quoted | TokenKind::String => {
                let quote = self.text.chars().next().unwrap_or('"');
                let close = if quote == '[' { ']' } else { quote };
                let body = self.text.get(1..).unwrap_or_default();
                let body = body.strip_suffix(close).unwrap_or(body);
                if quote == '[' {
                    body.to_owned()
                } else {
                    let doubled: String = [close, close].iter().collect();
                    body.replace(&doubled, &close.to_string())
                }
            }
            _ => self.text.to_owned(),
        };
        inner.to_ascii_lowercase()
    }
}

/// The tokens of SQL text, comments and white space skipped.
#[derive(Clone, Debug)]
pub(crate) struct Tokens<'a> {
    sql: &'a str,
    i: usize,
}

/// The tokens of `sql`.
pub(crate) fn tokens(sql: &str) -> Tokens<'_> {
    Tokens { sql, i: 0 }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.sql.as_bytes();
        loop {
            let start = self.i;
            let byte = *bytes.get(start)?;
            let next = bytes.get(start + 1).copied();
            let (kind, end) = match byte {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                    self.i += 1;
                    continue;
                }
                b'-' if next == Some(b'-') => {
                    self.i = skip_until(bytes, start + 2, b"\n");
                    continue;
                }
                b'/' if next == Some(b'*') => {
                    self.i = skip_until(bytes, start + 2, b"*/");
                    continue;
                }
                b'\'' => (TokenKind::String, skip_quoted(bytes, start + 1, byte)),
                b'"' | b'`' => (TokenKind::Quoted, skip_quoted(bytes, start + 1, byte)),
                b'[' => (TokenKind::Quoted, skip_until(bytes, start + 1, b"]")),
                b';' => (TokenKind::Semicolon, start + 1),
                b'(' => (TokenKind::Open, start + 1),
                b')' => (TokenKind::Close, start + 1),
                b'=' => (TokenKind::Equals, start + 1),
                b'.' => (TokenKind::Dot, start + 1),
                b'?' | b':' | b'@' | b'$' | b'#' => (TokenKind::Param, skip_word(bytes, start + 1)),
                _ if is_word_byte(byte) => (TokenKind::Word, skip_word(bytes, start)),
                _ => (TokenKind::Other, start + 1),
            };
            self.i = end;
            // Token boundaries fall on ASCII bytes or the end of the text (bytes of
            // multi-byte characters are word bytes or inside quotes), so this never
            // fails; an empty token would only hide a bug.
            let text = self.sql.get(start..end)?;
            return Some(Token { kind, text, start });
        }
    }
}

/// Calls `statement` with the tokens of each statement of `sql` that holds any, the
/// final `;` left out. A `CREATE TRIGGER` body's inner `;` do not end the statement.
fn for_each_statement<'a>(sql: &'a str, mut statement: impl FnMut(&[Token<'a>])) {
    let mut current: Vec<Token<'a>> = Vec::new();
    let mut trigger = false;
    for token in tokens(sql) {
        if token.kind == TokenKind::Semicolon {
            if current.is_empty() {
                continue;
            }
            let in_body = trigger && !current.last().is_some_and(|last| last.is_word("END"));
            if in_body {
                current.push(token);
                continue;
            }
            statement(&current);
            current.clear();
            trigger = false;
            continue;
        }
        current.push(token);
        if !trigger {
            trigger = is_create_trigger(&current);
        }
    }
    if !current.is_empty() {
        statement(&current);
    }
}

/// Whether `tokens` start `CREATE [TEMP|TEMPORARY] TRIGGER`.
fn is_create_trigger(tokens: &[Token<'_>]) -> bool {
    match tokens {
        [create, trigger, ..] if create.is_word("CREATE") && trigger.is_word("TRIGGER") => true,
        [create, temp, trigger, ..] => {
            create.is_word("CREATE")
                && (temp.is_word("TEMP") || temp.is_word("TEMPORARY"))
                && trigger.is_word("TRIGGER")
        }
        _ => false,
    }
}

/// What a statement is, as far as choosing a request and following transactions go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StatementKind {
    /// Returns rows and writes nothing: `SELECT`, `VALUES`, `WITH … SELECT`, `EXPLAIN …`.
    Read,
    /// `PRAGMA`: may return rows, may change a setting.
    Pragma {
        /// The pragma's name, lower case.
        name: String,
        /// Whether it is written `PRAGMA name = value` (a setter).
        assigns: bool,
        /// Whether it is written `PRAGMA name(value)`.
        called: bool,
    },
    /// `BEGIN …`.
    Begin,
    /// `COMMIT` or `END`.
    Commit,
    /// `ROLLBACK` (of the whole transaction).
    Rollback,
    /// `ROLLBACK TO` the savepoint named.
    RollbackTo(String),
    /// `SAVEPOINT` name.
    Savepoint(String),
    /// `RELEASE` the savepoint named.
    Release(String),
    /// Anything else: writes, schema changes, and whatever this scan does not know.
    /// `trigger` says it is a `CREATE TRIGGER`, whose body this scan may split wrongly.
    Write {
        /// Whether it is a `CREATE TRIGGER`.
        trigger: bool,
    },
}

/// One statement of a text: where it is and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Its bytes in the text, from its first token to its last (the `;` left out).
    pub range: Range<usize>,
    /// What it is.
    pub kind: StatementKind,
}

/// The statements of `sql`, in order.
pub(crate) fn split(sql: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for_each_statement(sql, |tokens| {
        if let (Some(first), Some(last)) = (tokens.first(), tokens.last()) {
            pieces.push(Piece {
                range: first.start..last.end(),
                kind: classify_tokens(tokens),
            });
        }
    });
    pieces
}

/// What the (first) statement of `sql` is.
pub(crate) fn classify(sql: &str) -> StatementKind {
    let mut kind = None;
    for_each_statement(sql, |tokens| {
        if kind.is_none() {
            kind = Some(classify_tokens(tokens));
        }
    });
    kind.unwrap_or(StatementKind::Write { trigger: false })
}

fn classify_tokens(tokens: &[Token<'_>]) -> StatementKind {
    let word = |index: usize, keyword: &str| tokens.get(index).is_some_and(|t| t.is_word(keyword));
    let Some(first) = tokens.first() else {
        return StatementKind::Write { trigger: false };
    };
    let keyword = |k: &str| first.is_word(k);
    if keyword("SELECT") || keyword("VALUES") || keyword("EXPLAIN") {
        return StatementKind::Read;
    }
    if keyword("WITH") {
        return with_statement(tokens);
    }
    if keyword("PRAGMA") {
        return pragma(tokens);
    }
    if keyword("BEGIN") {
        return StatementKind::Begin;
    }
    if keyword("COMMIT") || keyword("END") {
        return StatementKind::Commit;
    }
    if keyword("ROLLBACK") {
        // ROLLBACK [TRANSACTION] [TO [SAVEPOINT] name]
        let to = tokens.iter().position(|t| t.is_word("TO"));
        return match (to, tokens.last()) {
            (Some(_), Some(name)) => StatementKind::RollbackTo(name.name()),
            _ => StatementKind::Rollback,
        };
    }
    if keyword("SAVEPOINT") {
        return match tokens.get(1) {
            Some(name) => StatementKind::Savepoint(name.name()),
            None => StatementKind::Write { trigger: false },
        };
    }
    if keyword("RELEASE") {
        let name = if word(1, "SAVEPOINT") {
            tokens.get(2)
        } else {
            tokens.get(1)
        };
        return match name {
            Some(name) => StatementKind::Release(name.name()),
            None => StatementKind::Write { trigger: false },
        };
    }
    StatementKind::Write {
        trigger: is_create_trigger(tokens),
    }
}

/// `WITH …`: a read when the statement after the common table expressions (the first
/// `SELECT`, `VALUES`, `INSERT`, `UPDATE`, `DELETE` or `REPLACE` outside parentheses)
/// is a `SELECT` or `VALUES`.
fn with_statement(tokens: &[Token<'_>]) -> StatementKind {
    let mut depth = 0_usize;
    for token in tokens {
        match token.kind {
            TokenKind::Open => depth += 1,
            TokenKind::Close => depth = depth.saturating_sub(1),
            TokenKind::Word if depth == 0 => {
                if token.is_word("SELECT") || token.is_word("VALUES") {
                    return StatementKind::Read;
                }
                if ["INSERT", "UPDATE", "DELETE", "REPLACE"]
                    .iter()
                    .any(|k| token.is_word(k))
                {
                    return StatementKind::Write { trigger: false };
                }
            }
            _ => {}
        }
    }
    StatementKind::Write { trigger: false }
}

/// `PRAGMA [schema.]name [= value | (value)]`.
fn pragma(tokens: &[Token<'_>]) -> StatementKind {
    let mut rest = tokens.get(1..).unwrap_or_default();
    if let [_, dot, tail @ ..] = rest
        && dot.kind == TokenKind::Dot
    {
        rest = tail;
    }
    let name = rest.first().map(Token::name).unwrap_or_default();
    let after = rest.get(1).map(|t| t.kind);
    StatementKind::Pragma {
        name,
        assigns: after == Some(TokenKind::Equals),
        called: after == Some(TokenKind::Open),
    }
}

/// Whether `sql` has a `*` (or `table.*`) in a result column list: a statement whose
/// columns change with the schema. (`count(*)` and products are not.)
pub(crate) fn expands_star(sql: &str) -> bool {
    let mut previous: Option<Token<'_>> = None;
    for token in tokens(sql) {
        if token.kind == TokenKind::Other && token.text == "*" {
            let after_list_start = previous.is_some_and(|p| {
                p.kind == TokenKind::Dot
                    || (p.kind == TokenKind::Other && p.text == ",")
                    || p.is_word("SELECT")
                    || p.is_word("DISTINCT")
                    || p.is_word("ALL")
            });
            if after_list_start {
                return true;
            }
        }
        previous = Some(token);
    }
    false
}

/// How SQLite numbers the parameters of one statement, as its tokenizer and
/// `sqlite3ExprAssignVarNumber` do: `?` takes the number after the largest so far,
/// `?NNN` is number NNN, and a name (`:a`, `@a`, `$a`) seen before keeps its number,
/// else takes the next one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ParamNames {
    /// The largest parameter number (SQLite's `sqlite3_bind_parameter_count`).
    pub count: usize,
    /// Each name with its number, as SQLite's `sqlite3_bind_parameter_name` spells it.
    pub names: Vec<(String, usize)>,
    /// Whether the scan met a parameter it cannot number for sure (a Tcl-style
    /// `$a::b` or `$a(b)`, a malformed `?NNN`): the names must not be trusted.
    pub uncertain: bool,
}

impl ParamNames {
    /// The number of the parameter written `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, index)| *index)
    }
}

/// The largest `?NNN` SQLite accepts (`SQLITE_MAX_VARIABLE_NUMBER` default).
const MAX_VARIABLE_NUMBER: usize = 32_766;

/// Numbers the parameters of `sql` (one statement).
pub(crate) fn param_names(sql: &str) -> ParamNames {
    let mut params = ParamNames::default();
    let mut previous: Option<Token<'_>> = None;
    for token in tokens(sql) {
        // A Tcl-style suffix glued to a `$name` (`$a::b`, `$a(b)`), which SQLite reads
        // as part of the parameter's name.
        let glued_to_dollar = previous.is_some_and(|p| {
            p.kind == TokenKind::Param && p.text.starts_with('$') && p.end() == token.start
        });
        if glued_to_dollar
            && (token.kind == TokenKind::Open
                || (token.kind == TokenKind::Param && token.text.starts_with(':')))
        {
            params.uncertain = true;
        }
        previous = Some(token);
        if token.kind != TokenKind::Param {
            continue;
        }
        let text = token.text;
        if text == "?" {
            params.count += 1;
            continue;
        }
        if let Some(digits) = text.strip_prefix('?') {
            let number = digits
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| digits.parse::<usize>().ok())
                .flatten()
                .filter(|n| (1..=MAX_VARIABLE_NUMBER).contains(n));
            let Some(number) = number else {
                params.uncertain = true;
                continue;
            };
            let named = params.names.iter().any(|(_, index)| *index == number);
            if number > params.count {
                params.count = number;
                params.names.push((text.to_owned(), number));
            } else if !named {
                params.names.push((text.to_owned(), number));
            }
            continue;
        }
        if text.len() < 2 || text.starts_with('#') {
            // A bare `:`, `@`, `$` is a syntax error; `#` parameters are internal.
            params.uncertain = true;
            continue;
        }
        if params.index(text).is_none() {
            params.count += 1;
            params.names.push((text.to_owned(), params.count));
        }
    }
    params
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
            "'", "\"", "[", "`", "--", "/*", "/", "-", "?", ";", "é", "\u{0}", "$", "?é",
        ] {
            let _ = scan(sql);
            let _ = scan(&format!("SELECT {sql}"));
            let _ = split(sql);
            let _ = param_names(sql);
            let _ = classify(sql);
        }
    }

    #[test]
    fn splits_into_pieces_with_their_text() {
        let sql = "CREATE TABLE t (x); -- c\n INSERT INTO t VALUES (';') ;; SELECT * FROM t";
        let texts: Vec<&str> = split(sql).iter().map(|p| &sql[p.range.clone()]).collect();
        assert_eq!(
            texts,
            [
                "CREATE TABLE t (x)",
                "INSERT INTO t VALUES (';')",
                "SELECT * FROM t"
            ]
        );
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; SELECT 2";
        let pieces = split(trigger);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].kind, StatementKind::Write { trigger: true });
        assert_eq!(
            &trigger[pieces[0].range.clone()],
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END"
        );
    }

    #[test]
    fn classifies_statements() {
        use StatementKind::*;
        let write = Write { trigger: false };
        for (sql, kind) in [
            ("SELECT 1", Read),
            ("  values (1), (2)", Read),
            ("EXPLAIN QUERY PLAN SELECT 1", Read),
            (
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n",
                Read,
            ),
            (
                "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                write.clone(),
            ),
            (
                "WITH x AS NOT MATERIALIZED (VALUES (1)) DELETE FROM t",
                write.clone(),
            ),
            ("INSERT INTO t VALUES (1)", write.clone()),
            ("SELEC 1", write.clone()),
            ("BEGIN IMMEDIATE", Begin),
            ("begin", Begin),
            ("COMMIT TRANSACTION", Commit),
            ("END", Commit),
            ("ROLLBACK", Rollback),
            ("ROLLBACK TRANSACTION", Rollback),
            ("ROLLBACK TO sp1", RollbackTo("sp1".into())),
            (
                "ROLLBACK TRANSACTION TO SAVEPOINT \"Sp 2\"",
                RollbackTo("sp 2".into()),
            ),
            ("SAVEPOINT Raw", Savepoint("raw".into())),
            ("RELEASE raw", Release("raw".into())),
            ("RELEASE SAVEPOINT [a]", Release("a".into())),
            ("RELEASE 'it''s'", Release("it's".into())),
            (
                "PRAGMA foreign_keys",
                Pragma {
                    name: "foreign_keys".into(),
                    assigns: false,
                    called: false,
                },
            ),
            (
                "PRAGMA main.user_version = 3",
                Pragma {
                    name: "user_version".into(),
                    assigns: true,
                    called: false,
                },
            ),
            (
                "PRAGMA table_info(t)",
                Pragma {
                    name: "table_info".into(),
                    assigns: false,
                    called: true,
                },
            ),
            (
                "CREATE TEMP TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; END",
                Write { trigger: true },
            ),
            ("", write.clone()),
        ] {
            assert_eq!(classify(sql), kind, "{sql}");
        }
    }

    #[test]
    fn finds_star_expansions() {
        for sql in [
            "SELECT * FROM t",
            "select distinct * from t",
            "SELECT a, * FROM t",
            "SELECT t.* FROM t",
            "SELECT x FROM (SELECT * FROM t)",
        ] {
            assert!(expands_star(sql), "{sql}");
        }
        for sql in [
            "SELECT count(*) FROM t",
            "SELECT a * b FROM t",
            "SELECT 2*3",
            "SELECT '*' FROM t",
            "SELECT \"*\" FROM t",
        ] {
            assert!(!expands_star(sql), "{sql}");
        }
    }

    #[test]
    fn numbers_parameters_like_sqlite() {
        let numbered = param_names("SELECT ?2 AS b, ?1 AS a, ?2 || ?1");
        assert_eq!(numbered.count, 2);
        assert_eq!(numbered.index("?2"), Some(2));
        assert_eq!(numbered.index("?1"), Some(1));
        let mixed = param_names("SELECT ?2, ?");
        assert_eq!(mixed.count, 3);
        let named = param_names("INSERT INTO t VALUES (:key, @value, $x, :key, ?)");
        assert_eq!(named.count, 4);
        assert_eq!(named.index(":key"), Some(1));
        assert_eq!(named.index("@value"), Some(2));
        assert_eq!(named.index("$x"), Some(3));
        assert_eq!(named.index("key"), None);
        assert_eq!(named.index("@key"), None);
        assert!(!named.uncertain);
        let after = param_names("SELECT ?3, :a");
        assert_eq!((after.count, after.index(":a")), (4, Some(4)));
        let twice = param_names("SELECT :x * 10 + :x");
        assert_eq!(twice.count, 1);
        let literal = param_names("SELECT ':no', \"@no\" -- $no\n, ?");
        assert_eq!((literal.count, literal.names.len()), (1, 0));
        assert!(!param_names("SELECT 1 WHERE 1=:k AND 2=$j").uncertain);
        assert!(param_names("SELECT $a::b").uncertain);
        assert!(param_names("SELECT $a(b)").uncertain);
        assert!(param_names("SELECT ?0").uncertain);
        assert!(param_names("SELECT ?x").uncertain);
    }
}
