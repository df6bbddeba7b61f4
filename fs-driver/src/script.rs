//! Splitting a script of `;`-separated SQL statements into statements: a `;` ends a
//! statement unless it is inside a string, a quoted name, a comment, or the body of a
//! `CREATE TRIGGER` (which ends at `END;`). A wrong split can only make a statement fail
//! to compile: each piece is compiled by SQLite, one statement at a time.

/// The statements of `script`, each without its `;`; pieces holding only white space
/// and comments are left out.
pub fn statements(script: &str) -> Vec<&str> {
    let (mut pieces, rest) = scan(script);
    pieces.extend(rest);
    pieces
}

/// Whether `script` ends with a complete statement (its `;` followed by nothing but
/// white space and comments): what a prompt waits for before running what was typed.
pub fn is_complete(script: &str) -> bool {
    let (pieces, rest) = scan(script);
    rest.is_none() && !pieces.is_empty()
}

/// The statements ended by a `;`, and what follows the last one if it holds more than
/// white space and comments.
fn scan(script: &str) -> (Vec<&str>, Option<&str>) {
    let mut pieces = Vec::new();
    let bytes = script.as_bytes();
    let (mut start, mut i) = (0, 0);
    let mut words: Vec<String> = Vec::new();
    let mut substance = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                while i < bytes.len() && bytes[i] != close {
                    i += 1;
                }
                substance = true;
                words.push(String::new());
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 1;
            }
            b';' => {
                let last = words.last().map(String::as_str);
                if !is_trigger(&words) || last == Some("END") {
                    if substance {
                        pieces.push(&script[start..i]);
                    }
                    start = i + 1;
                    words.clear();
                    substance = false;
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let begin = i;
                while i + 1 < bytes.len()
                    && (bytes[i + 1].is_ascii_alphanumeric() || bytes[i + 1] == b'_')
                {
                    i += 1;
                }
                words.push(script[begin..=i].to_ascii_uppercase());
                substance = true;
            }
            c if c.is_ascii_whitespace() => {}
            _ => {
                substance = true;
                words.push(String::new());
            }
        }
        i += 1;
    }
    let rest = (substance && start < script.len()).then(|| &script[start..]);
    (pieces, rest)
}

/// Whether the statement's first words are `CREATE [TEMP|TEMPORARY] TRIGGER`.
fn is_trigger(words: &[String]) -> bool {
    match words {
        [create, trigger, ..] if create == "CREATE" && trigger == "TRIGGER" => true,
        [create, temp, trigger, ..] => {
            create == "CREATE" && (temp == "TEMP" || temp == "TEMPORARY") && trigger == "TRIGGER"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{is_complete, statements};

    #[test]
    fn splits_at_semicolons_outside_strings_comments_and_triggers() {
        let script = "CREATE TABLE t (x); INSERT INTO t VALUES ('a;b'); -- c; d\n\
            CREATE TEMP TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM t; SELECT 1; END;\
            /* ; */ ; SELECT \"x;\" FROM t";
        let pieces: Vec<&str> = statements(script).into_iter().map(str::trim).collect();
        assert_eq!(
            pieces,
            [
                "CREATE TABLE t (x)",
                "INSERT INTO t VALUES ('a;b')",
                "-- c; d\nCREATE TEMP TRIGGER g AFTER INSERT ON t BEGIN DELETE FROM t; SELECT 1; END",
                "SELECT \"x;\" FROM t",
            ]
        );
        assert!(statements(" ; -- nothing\n ;").is_empty());
    }

    #[test]
    fn complete_once_the_last_statement_is_ended() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- done\n"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete(
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1;"
        ));
        assert!(is_complete(
            "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END;"
        ));
        assert!(!is_complete("  "));
    }
}
