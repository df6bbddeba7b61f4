//! Guarded SQL: statements from someone the connection's owner does not trust (an
//! actor's own SQL), compiled under a [`Guard`] that refuses what they may not do and
//! run within [`GuardLimits`].
//!
//! The guard is enforced by SQLite while it compiles each statement (an authorizer): a
//! statement that would read or write a reserved table, however it is reached (a view, a
//! trigger, a subquery), never runs. The decisions are plain data ([`GuardAction`] in,
//! allowed or a reason out), the same for every backend; a backend that can enforce them
//! has [`Capability::GuardedSql`](crate::Capability::GuardedSql).
//!
//! ```
//! use sqlite_runtime::{Guard, GuardAction};
//!
//! let guard = Guard::new(["kv"], ["kv_"]);
//! assert!(guard.check(&GuardAction::Read { table: "orders" }).is_ok());
//! assert!(guard.check(&GuardAction::Read { table: "KV" }).is_err());
//! assert!(guard.check(&GuardAction::CreateTable { name: "kv_shadow", temp: true }).is_err());
//! assert!(guard.check(&GuardAction::Pragma { name: "journal_mode", argument: Some("delete") }).is_err());
//! ```

use std::sync::Arc;
use std::time::Duration;

/// What guarded statements may hold and how long one may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardLimits {
    /// The longest statement text, in bytes.
    pub sql_length: usize,
    /// The most bound parameters of one statement.
    pub parameters: usize,
    /// The longest string or blob, and the longest row, in bytes.
    pub value_length: usize,
    /// The deepest expression tree.
    pub expression_depth: usize,
    /// The longest one statement may run before it is interrupted.
    pub time: Duration,
}

impl Default for GuardLimits {
    /// Cloudflare Durable Objects' limits: statements of 100 KB, 100 parameters, 2 MB
    /// values and rows; expressions 100 deep; 30 seconds per statement.
    fn default() -> Self {
        GuardLimits {
            sql_length: 100_000,
            parameters: 100,
            value_length: 2_000_000,
            expression_depth: 100,
            time: Duration::from_secs(30),
        }
    }
}

/// One thing a statement being compiled would do, as SQLite's authorizer reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardAction<'a> {
    /// Reads a column of `table`.
    Read {
        /// The table.
        table: &'a str,
    },
    /// Inserts into, updates or deletes from `table`.
    Write {
        /// The table.
        table: &'a str,
    },
    /// Creates a table or view (`temp`: in the connection's temporary schema, where it
    /// would shadow a table of the same name).
    CreateTable {
        /// Its name.
        name: &'a str,
        /// Whether it is temporary.
        temp: bool,
    },
    /// Creates, drops or alters an object that belongs to `table` (an index, a trigger),
    /// or the table itself.
    Schema {
        /// The object's name.
        name: &'a str,
        /// The table it belongs to (its own name for a table or view).
        table: &'a str,
    },
    /// A `PRAGMA`.
    Pragma {
        /// The pragma's name.
        name: &'a str,
        /// Its argument, if any.
        argument: Option<&'a str>,
    },
    /// Calls the SQL function `name`.
    Function {
        /// The function.
        name: &'a str,
    },
    /// `ANALYZE` of `table` (`None`: of every table).
    Analyze {
        /// The table.
        table: Option<&'a str>,
    },
    /// `BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`: transactions belong to
    /// the owner.
    Transaction,
    /// `ATTACH` or `DETACH`.
    Attach,
    /// Creates or drops a virtual table.
    VirtualTable,
    /// A `SELECT`, a recursive CTE: always allowed (bounded by the limits).
    Select,
    /// An action this version does not know (refused).
    Other(i32),
}

/// Pragmas guarded SQL may run: they read the schema of its own tables, or check the
/// database, and change nothing.
const READ_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
];

/// Functions guarded SQL may not call.
const REFUSED_FUNCTIONS: &[&str] = &["load_extension", "fts3_tokenizer"];

/// What guarded SQL may not touch: reserved table names (exact, or by prefix; compared
/// without case, as SQLite compares names), and everything that changes the
/// connection's settings or leaves the database.
#[derive(Clone, Debug)]
pub struct Guard {
    /// Shared, so that a connection that keeps the guard its statements were compiled
    /// under tells it from the one it is handed by address, without comparing names.
    rules: Arc<Rules>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rules {
    names: Vec<String>,
    prefixes: Vec<String>,
    limits: GuardLimits,
}

impl PartialEq for Guard {
    fn eq(&self, other: &Guard) -> bool {
        Arc::ptr_eq(&self.rules, &other.rules) || self.rules == other.rules
    }
}

impl Eq for Guard {}

impl Guard {
    /// A guard reserving the tables named `names`, and those whose names start with one
    /// of `prefixes`, with the default [`GuardLimits`].
    pub fn new<N, P>(names: N, prefixes: P) -> Self
    where
        N: IntoIterator,
        N::Item: AsRef<str>,
        P: IntoIterator,
        P::Item: AsRef<str>,
    {
        let lowercase = |name: &str| name.to_ascii_lowercase();
        Guard {
            rules: Arc::new(Rules {
                names: names.into_iter().map(|n| lowercase(n.as_ref())).collect(),
                prefixes: prefixes
                    .into_iter()
                    .map(|p| lowercase(p.as_ref()))
                    .collect(),
                limits: GuardLimits::default(),
            }),
        }
    }

    /// The same guard with other limits.
    pub fn with_limits(mut self, limits: GuardLimits) -> Self {
        Arc::make_mut(&mut self.rules).limits = limits;
        self
    }

    /// The limits.
    pub fn limits(&self) -> &GuardLimits {
        &self.rules.limits
    }

    /// Whether `name` is reserved.
    pub fn is_reserved(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let rules = &self.rules;
        rules.names.contains(&name) || rules.prefixes.iter().any(|p| name.starts_with(p))
    }

    /// Whether guarded SQL may do `action`; the reason when it may not.
    pub fn check(&self, action: &GuardAction<'_>) -> Result<(), String> {
        let reserved = |name: &str, what: &str| {
            if self.is_reserved(name) {
                Err(format!("{what} {name:?} is reserved"))
            } else {
                Ok(())
            }
        };
        match *action {
            GuardAction::Select => Ok(()),
            GuardAction::Read { table } => reserved(table, "reading table"),
            GuardAction::Write { table } => reserved(table, "writing table"),
            GuardAction::CreateTable { name, .. } => reserved(name, "the name"),
            GuardAction::Schema { name, table } => {
                reserved(table, "table")?;
                reserved(name, "the name")
            }
            GuardAction::Pragma { name, argument } => {
                let name = name.to_ascii_lowercase();
                if !READ_PRAGMAS.contains(&name.as_str()) {
                    return Err(format!("PRAGMA {name} is not allowed"));
                }
                match argument {
                    Some(argument) => reserved(argument, "table"),
                    None => Ok(()),
                }
            }
            GuardAction::Function { name } => {
                if REFUSED_FUNCTIONS.contains(&name.to_ascii_lowercase().as_str()) {
                    Err(format!("function {name}() is not allowed"))
                } else {
                    Ok(())
                }
            }
            GuardAction::Analyze { table } => match table {
                Some(table) => reserved(table, "table"),
                None => Err("ANALYZE needs a table name".to_owned()),
            },
            GuardAction::Transaction => {
                Err("transaction statements are not allowed (use a transaction call)".to_owned())
            }
            GuardAction::Attach => Err("ATTACH and DETACH are not allowed".to_owned()),
            GuardAction::VirtualTable => Err("virtual tables are not allowed".to_owned()),
            GuardAction::Other(code) => Err(format!("action {code} is not allowed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_matched_without_case_and_by_prefix() {
        let guard = Guard::new(["kv"], ["kv_"]);
        assert!(guard.is_reserved("kv"));
        assert!(guard.is_reserved("Kv_Size"));
        assert!(!guard.is_reserved("kvs"));
        assert!(!guard.is_reserved("orders"));
    }

    #[test]
    fn only_reading_pragmas_on_own_tables_pass() {
        let guard = Guard::new(["kv"], ["kv_"]);
        let pragma = |name, argument| guard.check(&GuardAction::Pragma { name, argument });
        assert!(pragma("table_info", Some("orders")).is_ok());
        assert!(pragma("TABLE_INFO", Some("kv")).is_err());
        assert!(pragma("writable_schema", Some("1")).is_err());
        assert!(pragma("user_version", None).is_err());
    }

    #[test]
    fn triggers_and_indexes_on_reserved_tables_are_refused() {
        let guard = Guard::new(["kv"], ["kv_"]);
        let schema = |name, table| guard.check(&GuardAction::Schema { name, table });
        assert!(schema("t_ins", "orders").is_ok());
        assert!(schema("t_ins", "kv").is_err());
        assert!(schema("kv_size_after_insert", "kv").is_err());
        assert!(guard.check(&GuardAction::Transaction).is_err());
        assert!(guard.check(&GuardAction::Attach).is_err());
        assert!(
            guard
                .check(&GuardAction::Function {
                    name: "load_extension"
                })
                .is_err()
        );
        assert!(
            guard
                .check(&GuardAction::Function { name: "upper" })
                .is_ok()
        );
    }
}
