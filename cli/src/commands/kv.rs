//! `sqlrt kv`: an actor's key-value store. Reads go through `fs_driver::read_actor` and
//! change nothing on disk; writes run the driver (which wakes the actor, then sleeps it).

use std::process::ExitCode;

use fs_driver::{DriverOptions, FsDriver, KvEntry, KvReader, ListOptions};
use serde_json::{Value, json};

use super::root::{RootUse, check_root, check_writable};
use super::{CliError, runtime};
use crate::args::{GlobalArgs, KvArgs, KvOp};
use crate::hex::{BytesArgs, display, encode};
use crate::output::print_json;

/// The name given to actors that `kv --create` makes.
const CREATED_ACTOR_NAME: &str = "sqlrt";

/// KV key `0x01`: rivetkit's persisted-actor record. rivetkit 2.2.1 writes this value for
/// a new actor without input (version 4, no input, not initialized, state = CBOR
/// `undefined`, no scheduled events) and refuses to start an actor without the key.
const PERSISTED_ACTOR_KEY: &[u8] = &[0x01];
const NEW_PERSISTED_ACTOR: &[u8] = &[0x04, 0x00, 0x00, 0x00, 0x01, 0xf7, 0x00];

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
    fs_driver::check_actor_id(&args.actor)
        .map_err(|reason| format!("invalid actor id {:?}: {reason}", args.actor))?;
    // Parse every argument before touching the root: bad input changes nothing.
    let request = Request::parse(args)?;
    let runtime = runtime(global)?;
    let purpose = if args.create {
        RootUse::Create
    } else {
        RootUse::Existing
    };
    check_root(&args.root, runtime.as_ref(), purpose)?;
    if args.create || matches!(request, Request::Write(_)) {
        check_writable(&args.root, &args.actor, runtime.as_ref())?;
    }
    let output = match request {
        Request::Read(read) => {
            if args.create {
                let driver = FsDriver::open(runtime.clone(), &args.root, DriverOptions::new())?;
                load_or_create(&driver, args, runtime.backend())?;
                driver.sleep_actor(&args.actor, None)?;
            }
            fs_driver::read_actor(runtime.as_ref(), &args.root, &args.actor, |kv| read.run(kv))
                .map_err(|error| explain(args, runtime.backend(), error))?
        }
        Request::Write(write) => {
            let driver = FsDriver::open(runtime.clone(), &args.root, DriverOptions::new())?;
            load_or_create(&driver, args, runtime.backend())?;
            let output = write.run(&driver, &args.actor);
            driver.sleep_actor(&args.actor, None)?;
            output.map_err(|error| explain(args, runtime.backend(), error))?
        }
    };
    output.print(global.json, raw(args), &args.actor)?;
    // A key that is not there fails `get`, as `git config --get` does.
    Ok(match output {
        Output::Values(values) if values.iter().any(|(_, value)| value.is_none()) => {
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    })
}

/// Whether `get --raw` was asked for.
fn raw(args: &KvArgs) -> bool {
    matches!(args.op, KvOp::Get { raw: true, .. })
}

/// Wakes the actor, creating it first with `--create`.
fn load_or_create(driver: &FsDriver, args: &KvArgs, backend: &str) -> Result<(), CliError> {
    match driver.load_actor(&args.actor) {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() && args.create => {
            driver.create_actor(
                &args.actor,
                CREATED_ACTOR_NAME,
                Vec::new(),
                &[(PERSISTED_ACTOR_KEY, NEW_PERSISTED_ACTOR)],
            )?;
            Ok(())
        }
        Err(error) => Err(explain(args, backend, error)),
    }
}

/// What a person can act on: a missing actor names where it was looked for and how to
/// create one; a key over the limit says how long a key may be here (rivetkit's
/// message, kept word for word, counts a 2-byte wrapper in its 2,048 bytes); other
/// errors pass through.
fn explain(args: &KvArgs, backend: &str, error: fs_driver::Error) -> CliError {
    if let Some(fs_driver::LimitError::KeyTooLong { .. }) = error.as_limit() {
        return format!(
            "{error}: a key may be at most {} bytes here (rivetkit counts a 2-byte wrapper in the limit)",
            fs_driver::limits::MAX_KEY_SIZE - 2
        )
        .into();
    }
    not_found(
        &args.root,
        &args.actor,
        backend,
        "pass --create to create it",
        error,
    )
}

/// A missing actor named with where it was looked for and how to create one; other
/// errors as they are.
pub fn not_found(
    root: &std::path::Path,
    actor: &str,
    backend: &str,
    hint: &str,
    error: fs_driver::Error,
) -> CliError {
    if !error.is_not_found() {
        return error.into();
    }
    let place = match std::env::var("DQLITE_CLUSTER") {
        Ok(cluster) if backend == "dqlite" => format!("on the dqlite cluster {cluster}"),
        _ => format!("on the {backend} backend"),
    };
    format!(
        "actor {actor:?} does not exist in `{}` {place} ({hint})",
        root.display()
    )
    .into()
}

/// A parsed operation: reads never run the driver.
enum Request {
    Read(ReadOp),
    Write(WriteOp),
}

enum ReadOp {
    Get(Vec<Vec<u8>>),
    ListPrefix(Vec<u8>, ListOptions),
    ListRange(Vec<u8>, Vec<u8>, ListOptions),
}

enum WriteOp {
    Put(Vec<(Vec<u8>, Vec<u8>)>),
    Delete(Vec<Vec<u8>>),
    DeleteRange(Vec<u8>, Vec<u8>),
}

/// What an operation prints.
enum Output {
    Values(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    Entries(Vec<KvEntry>),
    Put {
        keys: usize,
    },
    Deleted {
        keys: usize,
        removed: u64,
    },
    DeletedRange {
        start: Vec<u8>,
        end: Vec<u8>,
        removed: u64,
    },
}

impl Request {
    fn parse(args: &KvArgs) -> Result<Self, CliError> {
        let mut bytes = BytesArgs::default();
        let mut parse = |text: &str| -> Result<Vec<u8>, CliError> { Ok(bytes.parse(text)?) };
        Ok(match &args.op {
            KvOp::Get { keys, raw } => {
                if *raw && keys.len() != 1 {
                    return Err("get --raw takes exactly one key".into());
                }
                Request::Read(ReadOp::Get(
                    keys.iter()
                        .map(|key| parse(key))
                        .collect::<Result<_, _>>()?,
                ))
            }
            KvOp::Put { pairs } => {
                if pairs.len() % 2 != 0 {
                    return Err(format!(
                        "put takes KEY VALUE pairs; `{}` has no value",
                        pairs.last().map_or("", String::as_str)
                    )
                    .into());
                }
                let entries = pairs
                    .chunks(2)
                    .map(|pair| Ok((parse(&pair[0])?, parse(&pair[1])?)))
                    .collect::<Result<_, CliError>>()?;
                Request::Write(WriteOp::Put(entries))
            }
            KvOp::Delete { keys } => Request::Write(WriteOp::Delete(
                keys.iter()
                    .map(|key| parse(key))
                    .collect::<Result<_, _>>()?,
            )),
            KvOp::DeleteRange { start, end } => {
                Request::Write(WriteOp::DeleteRange(parse(start)?, parse(end)?))
            }
            KvOp::List(list) => {
                let mut options = ListOptions::new().reverse(list.reverse);
                if let Some(limit) = list.limit {
                    options = options.limit(limit as usize);
                }
                Request::Read(match (&list.start, &list.end) {
                    (Some(start), Some(end)) => {
                        ReadOp::ListRange(parse(start)?, parse(end)?, options)
                    }
                    _ => ReadOp::ListPrefix(parse(list.prefix.as_deref().unwrap_or(""))?, options),
                })
            }
        })
    }
}

impl ReadOp {
    fn run(&self, kv: &mut KvReader<'_>) -> fs_driver::Result<Output> {
        Ok(match self {
            ReadOp::Get(keys) => Output::Values(keys.iter().cloned().zip(kv.get(keys)?).collect()),
            ReadOp::ListPrefix(prefix, options) => {
                Output::Entries(kv.list_prefix(prefix, *options)?)
            }
            ReadOp::ListRange(start, end, options) => {
                Output::Entries(kv.list_range(start, end, *options)?)
            }
        })
    }
}

impl WriteOp {
    fn run(self, driver: &FsDriver, actor: &str) -> fs_driver::Result<Output> {
        Ok(match self {
            WriteOp::Put(entries) => {
                driver.kv_put(actor, &entries)?;
                Output::Put {
                    keys: entries.len(),
                }
            }
            WriteOp::Delete(keys) => Output::Deleted {
                removed: driver.kv_delete(actor, &keys)?,
                keys: keys.len(),
            },
            WriteOp::DeleteRange(start, end) => Output::DeletedRange {
                removed: driver.kv_delete_range(actor, &start, &end)?,
                start,
                end,
            },
        })
    }
}

impl Output {
    fn print(&self, json: bool, raw: bool, actor: &str) -> Result<(), CliError> {
        match self {
            Output::Values(values) if raw => {
                if let Some((_, Some(value))) = values.first() {
                    std::io::Write::write_all(&mut std::io::stdout().lock(), value)?;
                }
            }
            Output::Values(values) if json => {
                let entries: Vec<Value> = values
                    .iter()
                    .map(|(key, value)| value.as_ref().map_or(Value::Null, |v| entry_json(key, v)))
                    .collect();
                print_json(&json!({ "actor": actor, "entries": entries }));
            }
            Output::Values(values) => {
                for (key, value) in values {
                    match value {
                        Some(value) => println!("{}\t{}", display(key), display(value)),
                        None => eprintln!("not found: {}", display(key)),
                    }
                }
            }
            Output::Entries(entries) if json => {
                let entries: Vec<Value> = entries.iter().map(|(k, v)| entry_json(k, v)).collect();
                print_json(&json!({ "actor": actor, "entries": entries }));
            }
            Output::Entries(entries) => {
                for (key, value) in entries {
                    println!("{}\t{}", display(key), display(value));
                }
            }
            Output::Put { keys } if json => {
                print_json(&json!({ "actor": actor, "op": "put", "keys": keys }));
            }
            Output::Put { .. } => {}
            Output::Deleted { keys, removed } if json => print_json(
                &json!({ "actor": actor, "op": "delete", "keys": keys, "removed": removed }),
            ),
            Output::DeletedRange {
                start,
                end,
                removed,
            } if json => print_json(
                &json!({ "actor": actor, "op": "delete-range", "start_hex": encode(start), "end_hex": encode(end), "removed": removed }),
            ),
            Output::Deleted { removed, .. } | Output::DeletedRange { removed, .. } => {
                println!(
                    "removed {removed} {}",
                    if *removed == 1 { "key" } else { "keys" }
                );
            }
        }
        Ok(())
    }
}
