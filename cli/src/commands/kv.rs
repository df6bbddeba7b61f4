//! `sqlrt kv`: an actor's key-value store.

use std::process::ExitCode;

use fs_driver::{DriverOptions, FsDriver, ListOptions};
use serde_json::{Value, json};

use super::root::check_root;
use super::{CliError, runtime};
use crate::args::{GlobalArgs, KvArgs, KvOp};
use crate::hex::{display, encode, parse_bytes};
use crate::output::print_json;

/// The name given to actors that `kv --create` makes.
const CREATED_ACTOR_NAME: &str = "sqlrt";

fn parse_all(texts: &[String]) -> Result<Vec<Vec<u8>>, CliError> {
    texts
        .iter()
        .map(|t| parse_bytes(t).map_err(Into::into))
        .collect()
}

/// An entry as JSON: hex always, text when the bytes are UTF-8.
fn entry_json(key: &[u8], value: &[u8]) -> Value {
    let mut entry = json!({ "key_hex": encode(key), "value_hex": encode(value) });
    if let Ok(key) = std::str::from_utf8(key) {
        entry["key"] = json!(key);
    }
    if let Ok(value) = std::str::from_utf8(value) {
        entry["value"] = json!(value);
    }
    entry
}

pub fn run(global: &GlobalArgs, args: &KvArgs) -> Result<ExitCode, CliError> {
    check_root(&args.root)?;
    fs_driver::check_actor_id(&args.actor)
        .map_err(|reason| format!("invalid actor id {:?}: {reason}", args.actor))?;
    // Parse every argument before touching the root: bad input changes nothing.
    let op = ParsedOp::parse(&args.op)?;
    let driver = FsDriver::open(runtime(global)?, &args.root, DriverOptions::new())?;
    match driver.load_actor(&args.actor) {
        Ok(_) => {}
        Err(error) if error.is_not_found() && args.create => {
            driver.create_actor::<&[u8], &[u8]>(
                &args.actor,
                CREATED_ACTOR_NAME,
                Vec::new(),
                &[],
            )?;
        }
        Err(error) if error.is_not_found() => {
            return Err(format!(
                "actor {:?} does not exist in `{}` (pass --create to create it)",
                args.actor,
                args.root.display()
            )
            .into());
        }
        Err(error) => return Err(error.into()),
    }
    let result = op.apply(&driver, &args.actor, global.json);
    driver.sleep_actor(&args.actor, None)?;
    result
}

enum ParsedOp {
    Get(Vec<Vec<u8>>),
    Put(Vec<(Vec<u8>, Vec<u8>)>),
    Delete(Vec<Vec<u8>>),
    DeleteRange(Vec<u8>, Vec<u8>),
    ListPrefix(Vec<u8>, ListOptions),
    ListRange(Vec<u8>, Vec<u8>, ListOptions),
}

impl ParsedOp {
    fn parse(op: &KvOp) -> Result<Self, CliError> {
        Ok(match op {
            KvOp::Get { keys } => ParsedOp::Get(parse_all(keys)?),
            KvOp::Put { pairs } => {
                if pairs.len() % 2 != 0 {
                    return Err(format!(
                        "put takes KEY VALUE pairs; `{}` has no value",
                        pairs.last().map_or("", String::as_str)
                    )
                    .into());
                }
                let bytes = parse_all(pairs)?;
                let mut entries = Vec::with_capacity(bytes.len() / 2);
                let mut items = bytes.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    entries.push((key, value));
                }
                ParsedOp::Put(entries)
            }
            KvOp::Delete { keys } => ParsedOp::Delete(parse_all(keys)?),
            KvOp::DeleteRange { start, end } => {
                ParsedOp::DeleteRange(parse_bytes(start)?, parse_bytes(end)?)
            }
            KvOp::List {
                prefix,
                start,
                end,
                reverse,
                limit,
            } => {
                let mut options = ListOptions::new().reverse(*reverse);
                if let Some(limit) = limit {
                    options = options.limit(*limit as usize);
                }
                match (prefix, start, end) {
                    (_, Some(start), Some(end)) => {
                        ParsedOp::ListRange(parse_bytes(start)?, parse_bytes(end)?, options)
                    }
                    (prefix, _, _) => {
                        ParsedOp::ListPrefix(parse_bytes(prefix.as_deref().unwrap_or(""))?, options)
                    }
                }
            }
        })
    }

    fn apply(self, driver: &FsDriver, actor: &str, json: bool) -> Result<ExitCode, CliError> {
        match self {
            ParsedOp::Get(keys) => {
                let values = driver.kv_get(actor, &keys)?;
                if json {
                    let entries: Vec<Value> = keys
                        .iter()
                        .zip(&values)
                        .map(|(key, value)| {
                            value.as_ref().map_or(Value::Null, |v| entry_json(key, v))
                        })
                        .collect();
                    print_json(&json!({ "actor": actor, "entries": entries }));
                } else {
                    for (key, value) in keys.iter().zip(&values) {
                        match value {
                            Some(value) => println!("{}\t{}", display(key), display(value)),
                            None => eprintln!("not found: {}", display(key)),
                        }
                    }
                }
            }
            ParsedOp::Put(entries) => {
                driver.kv_put(actor, &entries)?;
                report(json, actor, "put", entries.len());
            }
            ParsedOp::Delete(keys) => {
                driver.kv_delete(actor, &keys)?;
                report(json, actor, "delete", keys.len());
            }
            ParsedOp::DeleteRange(start, end) => {
                driver.kv_delete_range(actor, &start, &end)?;
                if json {
                    print_json(
                        &json!({ "actor": actor, "op": "delete-range", "start_hex": encode(&start), "end_hex": encode(&end) }),
                    );
                }
            }
            ParsedOp::ListPrefix(prefix, options) => {
                print_entries(
                    json,
                    actor,
                    &driver.kv_list_prefix(actor, &prefix, options)?,
                );
            }
            ParsedOp::ListRange(start, end, options) => {
                print_entries(
                    json,
                    actor,
                    &driver.kv_list_range(actor, &start, &end, options)?,
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn report(json: bool, actor: &str, op: &str, count: usize) {
    if json {
        print_json(&json!({ "actor": actor, "op": op, "keys": count }));
    }
}

fn print_entries(json: bool, actor: &str, entries: &[(Vec<u8>, Vec<u8>)]) {
    if json {
        let entries: Vec<Value> = entries.iter().map(|(k, v)| entry_json(k, v)).collect();
        print_json(&json!({ "actor": actor, "entries": entries }));
    } else {
        for (key, value) in entries {
            println!("{}\t{}", display(key), display(value));
        }
    }
}
