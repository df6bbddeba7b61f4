//! `sqlrt shell`: an interactive prompt on an actor's own SQL, with its KV as
//! dot-commands. On a terminal it edits lines and keeps a history; with piped input it
//! runs every command to the end and exits 1 if any failed.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use fs_driver::{DriverOptions, FsDriver, ListOptions};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use sqlite_runtime::{Params, params};

use super::root::{RootUse, check_root, check_writable};
use super::sql::CREATE_HINT;
use super::{CliError, runtime};
use crate::args::{GlobalArgs, ShellArgs};
use crate::hex::{BytesArgs, display};
use crate::output::{one_line, print_json};
use crate::sql_values::{json_rows, table};

const PROMPT: &str = "sqlrt> ";
const CONTINUED: &str = "  ...> ";
const HISTORY_FILE: &str = ".sqlrt_history";

/// The actor's tables and views, without the driver's.
const TABLES_SQL: &str = "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') \
    AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'kv' AND name NOT LIKE 'kv\\_%' ESCAPE '\\' \
    ORDER BY name";
/// The actor's schema (optionally of one table), without the driver's.
const SCHEMA_SQL: &str = "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL \
    AND tbl_name <> 'kv' AND tbl_name NOT LIKE 'kv\\_%' ESCAPE '\\' \
    AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND (?1 IS NULL OR tbl_name = ?1) ORDER BY name";

const HELP: &str = "SQL statements end with `;` and may span lines.
.tables              the actor's tables and views
.schema [TABLE]      their CREATE statements
.get KEY             a KV value
.put KEY VALUE       puts one KV entry
.delete KEY          deletes one KV key
.list [PREFIX]       KV entries (by prefix)
.help                this text
.quit                leaves (as does end of input)
Keys and values: text (no spaces), hex:00ff, or @PATH.";

pub fn run(global: &GlobalArgs, args: &ShellArgs) -> Result<ExitCode, CliError> {
    fs_driver::check_actor_id(&args.actor)
        .map_err(|reason| format!("invalid actor id {:?}: {reason}", args.actor))?;
    let runtime = runtime(global)?;
    check_root(&args.root, runtime.as_ref(), RootUse::Existing)?;
    check_writable(&args.root, &args.actor, runtime.as_ref())?;
    let driver = FsDriver::open(runtime.clone(), &args.root, DriverOptions::new())?;
    driver.load_actor(&args.actor).map_err(|error| {
        super::kv::not_found(
            &args.root,
            &args.actor,
            runtime.backend(),
            CREATE_HINT,
            error,
        )
    })?;
    let mut session = Session {
        driver: &driver,
        actor: &args.actor,
        json: global.json,
        pending: String::new(),
        failed: false,
    };
    let interactive = std::io::stdin().is_terminal();
    let read = if interactive {
        session.interactive()
    } else {
        session.piped()
    };
    driver.sleep_actor(&args.actor, None)?;
    read?;
    Ok(if !interactive && session.failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// What the prompt does next.
enum Flow {
    Continue,
    Quit,
}

struct Session<'a> {
    driver: &'a FsDriver,
    actor: &'a str,
    json: bool,
    /// A statement typed so far, not yet ended by `;`.
    pending: String,
    failed: bool,
}

impl Session<'_> {
    fn interactive(&mut self) -> Result<(), CliError> {
        let mut editor = DefaultEditor::new()?;
        let history =
            std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(HISTORY_FILE));
        if let Some(history) = &history {
            // A first session has none yet.
            let _ = editor.load_history(history);
        }
        println!(
            "actor {:?}: SQL statements end with `;`; .help for commands",
            self.actor
        );
        loop {
            let prompt = if self.pending.is_empty() {
                PROMPT
            } else {
                CONTINUED
            };
            match editor.readline(prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    if let Flow::Quit = self.line(&line) {
                        break;
                    }
                }
                // Ctrl-C drops what was typed; Ctrl-D leaves.
                Err(ReadlineError::Interrupted) => self.pending.clear(),
                Err(ReadlineError::Eof) => break,
                Err(error) => return Err(error.into()),
            }
        }
        if let Some(history) = &history
            && let Err(error) = editor.save_history(history)
        {
            tracing::debug!(%error, "saving the shell history failed");
        }
        Ok(())
    }

    fn piped(&mut self) -> Result<(), CliError> {
        for line in std::io::stdin().lock().lines() {
            if let Flow::Quit = self.line(&line?) {
                return Ok(());
            }
        }
        if !self.pending.trim().is_empty() {
            // The last statement may lack its `;` at the end of input.
            let pending = std::mem::take(&mut self.pending);
            self.statements(&pending);
        }
        Ok(())
    }

    fn line(&mut self, line: &str) -> Flow {
        let trimmed = line.trim();
        if self.pending.is_empty() && trimmed.starts_with('.') {
            return self.command(trimmed);
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        if fs_driver::script::is_complete(&self.pending) {
            let pending = std::mem::take(&mut self.pending);
            self.statements(&pending);
        }
        Flow::Continue
    }

    fn statements(&mut self, script: &str) {
        for statement in fs_driver::script::statements(script) {
            match self.driver.sql_run(self.actor, statement, Params::NONE) {
                Ok((rows, _)) => self.print_rows(&rows),
                Err(error) => self.fail(&error),
            }
        }
    }

    fn command(&mut self, line: &str) -> Flow {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        let outcome = match (name, args.as_slice()) {
            (".quit" | ".exit", []) => return Flow::Quit,
            (".help", []) => {
                println!("{HELP}");
                Ok(())
            }
            (".tables", []) => self.query(TABLES_SQL, Params::NONE),
            (".schema", []) => self.query(SCHEMA_SQL, params![None::<&str>]),
            (".schema", [table]) => self.query(SCHEMA_SQL, params![*table]),
            (".get", [key]) => self.get(key),
            (".put", [key, value]) => self.put(key, value),
            (".delete", [key]) => self.delete(key),
            (".list", []) => self.list(""),
            (".list", [prefix]) => self.list(prefix),
            _ => Err(
                format!("unknown command or arguments: {line} (.help lists the commands)").into(),
            ),
        };
        if let Err(error) = outcome {
            self.fail(error.as_ref());
        }
        Flow::Continue
    }

    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<(), CliError> {
        let rows = self.driver.sql_query(self.actor, sql, params)?;
        self.print_rows(&rows);
        Ok(())
    }

    fn get(&self, key: &str) -> Result<(), CliError> {
        let key = BytesArgs::default().parse(key)?;
        match self.driver.kv_get_one(self.actor, &key)? {
            Some(value) => println!("{}", display(&value)),
            None => return Err(format!("not found: {}", display(&key)).into()),
        }
        Ok(())
    }

    fn put(&self, key: &str, value: &str) -> Result<(), CliError> {
        let mut bytes = BytesArgs::default();
        let entry = (bytes.parse(key)?, bytes.parse(value)?);
        self.driver.kv_put(self.actor, &[entry])?;
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), CliError> {
        let key = BytesArgs::default().parse(key)?;
        let removed = self.driver.kv_delete(self.actor, &[key])?;
        println!("{removed} removed");
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<(), CliError> {
        let prefix = BytesArgs::default().parse(prefix)?;
        for (key, value) in self
            .driver
            .kv_list_prefix(self.actor, &prefix, ListOptions::new())?
        {
            println!("{}\t{}", display(&key), display(&value));
        }
        Ok(())
    }

    fn print_rows(&self, rows: &[sqlite_runtime::Row]) {
        if self.json {
            print_json(&json_rows(rows));
        } else {
            print!("{}", table(rows));
        }
    }

    fn fail(&mut self, error: &(dyn std::error::Error + 'static)) {
        eprintln!("error: {}", one_line(error));
        self.failed = true;
    }
}
