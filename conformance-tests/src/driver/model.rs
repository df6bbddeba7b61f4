//! The property test: random sequences of KV operations applied to the driver and to an
//! in-memory ordered map, compared after every step.
//!
//! Keys and values come from a six-byte alphabet (0x00, 0x01, `a`, `b`, 0xFE, 0xFF) with
//! at most three bytes, so keys collide often, empty keys and values occur, and prefixes
//! of only 0xFF bytes are common. After every step the whole table (listed), the tracked
//! storage size and the step's own answer are compared with the model's. A failure is
//! shrunk by proptest and reported as the minimal sequence of operations, one per line.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use fs_driver::{DriverOptions, FsDriver, KvEntry, ListOptions};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use super::support::show;
use crate::{CaseResult, Context};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// One operation of a generated sequence.
#[derive(Clone)]
enum Op {
    Put(Vec<KvEntry>),
    Get(Vec<Vec<u8>>),
    Delete(Vec<Vec<u8>>),
    DeleteRange(Vec<u8>, Vec<u8>),
    ListPrefix(Vec<u8>, bool, Option<usize>),
    ListRange(Vec<u8>, Vec<u8>, bool, Option<usize>),
    /// Puts the actor to sleep (its database is closed and reopened on the next step).
    Sleep,
    /// Drops the driver and opens a fresh one on the same root (a sleep in memory mode).
    Reopen,
}

fn shown_list(keys: &[Vec<u8>]) -> String {
    let shown: Vec<String> = keys.iter().map(|k| show(k)).collect();
    format!("[{}]", shown.join(", "))
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = |reverse: &bool, limit: &Option<usize>| {
            let mut s = String::new();
            if *reverse {
                s.push_str(" reverse");
            }
            if let Some(limit) = limit {
                s.push_str(&format!(" limit {limit}"));
            }
            s
        };
        match self {
            Op::Put(entries) => write!(f, "put {}", show_entries(entries)),
            Op::Get(keys) => write!(f, "get {}", shown_list(keys)),
            Op::Delete(keys) => write!(f, "delete {}", shown_list(keys)),
            Op::DeleteRange(start, end) => {
                write!(f, "delete range [{}, {})", show(start), show(end))
            }
            Op::ListPrefix(prefix, reverse, limit) => {
                write!(f, "list prefix {}{}", show(prefix), options(reverse, limit))
            }
            Op::ListRange(start, end, reverse, limit) => write!(
                f,
                "list range [{}, {}){}",
                show(start),
                show(end),
                options(reverse, limit)
            ),
            Op::Sleep => f.write_str("sleep"),
            Op::Reopen => f.write_str("reopen"),
        }
    }
}

fn byte() -> impl Strategy<Value = u8> {
    proptest::sample::select(vec![0x00u8, 0x01, b'a', b'b', 0xfe, 0xff])
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    vec(byte(), 0..=3)
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    vec(byte(), 0..=4)
}

/// Two keys, put in order half the time so that ranges are not mostly empty.
fn bounds() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (key(), key(), any::<bool>()).prop_map(
        |(a, b, ordered)| {
            if ordered && a > b { (b, a) } else { (a, b) }
        },
    )
}

fn limit() -> impl Strategy<Value = Option<usize>> {
    proptest::option::of(0usize..=5)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => vec((key(), value()), 0..=6).prop_map(Op::Put),
        2 => vec(key(), 0..=6).prop_map(Op::Get),
        2 => vec(key(), 0..=4).prop_map(Op::Delete),
        2 => bounds().prop_map(|(start, end)| Op::DeleteRange(start, end)),
        2 => (vec(byte(), 0..=2), any::<bool>(), limit())
            .prop_map(|(prefix, reverse, limit)| Op::ListPrefix(prefix, reverse, limit)),
        2 => (bounds(), any::<bool>(), limit())
            .prop_map(|((start, end), reverse, limit)| Op::ListRange(start, end, reverse, limit)),
        1 => Just(Op::Sleep),
        1 => Just(Op::Reopen),
    ]
}

fn options(reverse: bool, limit: Option<usize>) -> ListOptions {
    let options = ListOptions::new().reverse(reverse);
    match limit {
        Some(limit) => options.limit(limit),
        None => options,
    }
}

/// The model's answer to a list: `entries` (ascending) in the chosen direction, cut at
/// the limit.
fn model_list<'a>(
    entries: impl DoubleEndedIterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>,
    reverse: bool,
    limit: Option<usize>,
) -> Vec<KvEntry> {
    let limit = limit.unwrap_or(fs_driver::limits::DEFAULT_LIST_LIMIT);
    let owned = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
    if reverse {
        entries.rev().take(limit).map(owned).collect()
    } else {
        entries.take(limit).map(owned).collect()
    }
}

fn fail(step: usize, op: &Op, what: impl fmt::Display) -> TestCaseError {
    TestCaseError::fail(format!("step {step} ({op:?}): {what}"))
}

/// Turns a driver error at `step` into a test case failure naming the step.
fn to_err(step: usize, op: &Op) -> impl Fn(fs_driver::Error) -> TestCaseError + '_ {
    move |error| fail(step, op, error)
}

fn check_eq<T: PartialEq + fmt::Debug>(
    step: usize,
    op: &Op,
    what: &str,
    driver: T,
    model: T,
) -> Result<(), TestCaseError> {
    if driver == model {
        Ok(())
    } else {
        Err(fail(
            step,
            op,
            format!("{what}: the driver gave {driver:?}, the model {model:?}"),
        ))
    }
}

fn show_entries(entries: &[KvEntry]) -> String {
    let shown: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{} = {}", show(k), show(v)))
        .collect();
    format!("[{}]", shown.join(", "))
}

/// Like [`check_eq`] for entry lists, shown as byte strings.
fn check_entries(
    step: usize,
    op: &Op,
    what: &str,
    driver: Vec<KvEntry>,
    model: Vec<KvEntry>,
) -> Result<(), TestCaseError> {
    if driver == model {
        Ok(())
    } else {
        Err(fail(
            step,
            op,
            format!(
                "{what}: the driver gave {}, the model {}",
                show_entries(&driver),
                show_entries(&model)
            ),
        ))
    }
}

/// Where the sequences run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Files,
    Memory,
}

/// Runs one generated sequence on a fresh actor `id` and checks it step by step.
fn run_sequence(
    cx: &Context,
    mode: Mode,
    driver: &RefCell<FsDriver>,
    id: &str,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    driver
        .borrow()
        .create_actor(id, "model", Vec::new(), &[] as &[KvEntry])
        .map_err(|error| TestCaseError::fail(format!("create {id}: {error}")))?;
    for (step, op) in ops.iter().enumerate() {
        let err = to_err(step, op);
        match op {
            Op::Put(entries) => {
                driver.borrow().kv_put(id, entries).map_err(err)?;
                for (k, v) in entries {
                    model.insert(k.clone(), v.clone());
                }
            }
            Op::Get(keys) => {
                let got = driver.borrow().kv_get(id, keys).map_err(err)?;
                let want: Vec<Option<Vec<u8>>> =
                    keys.iter().map(|k| model.get(k).cloned()).collect();
                check_eq(step, op, "get", got, want)?;
                if let Some(first) = keys.first() {
                    let got = driver
                        .borrow()
                        .kv_get_one(id, first)
                        .map_err(to_err(step, op))?;
                    check_eq(step, op, "get one", got, model.get(first).cloned())?;
                }
            }
            Op::Delete(keys) => {
                driver.borrow().kv_delete(id, keys).map_err(err)?;
                for k in keys {
                    model.remove(k);
                }
            }
            Op::DeleteRange(start, end) => {
                driver
                    .borrow()
                    .kv_delete_range(id, start, end)
                    .map_err(err)?;
                if start < end {
                    model.retain(|k, _| !(k >= start && k < end));
                }
            }
            Op::ListPrefix(prefix, reverse, limit) => {
                let got = driver
                    .borrow()
                    .kv_list_prefix(id, prefix, options(*reverse, *limit))
                    .map_err(err)?;
                let matching = model.iter().filter(|(k, _)| k.starts_with(prefix));
                let want = model_list(matching.collect::<Vec<_>>().into_iter(), *reverse, *limit);
                check_entries(step, op, "list prefix", got, want)?;
            }
            Op::ListRange(start, end, reverse, limit) => {
                let got = driver
                    .borrow()
                    .kv_list_range(id, start, end, options(*reverse, *limit))
                    .map_err(err)?;
                let want = if start < end {
                    model_list(model.range(start.clone()..end.clone()), *reverse, *limit)
                } else {
                    Vec::new()
                };
                check_entries(step, op, "list range", got, want)?;
            }
            Op::Sleep => driver.borrow().sleep_actor(id, None).map_err(err)?,
            Op::Reopen => match mode {
                Mode::Memory => driver.borrow().sleep_actor(id, None).map_err(err)?,
                Mode::Files => {
                    // Drop the old driver first: one driver per root at a time.
                    let runtime = cx.runtime().clone();
                    let old =
                        driver.replace(FsDriver::memory(runtime.clone(), DriverOptions::new()));
                    drop(old);
                    let fresh = FsDriver::open(runtime, cx.dir(), DriverOptions::new())
                        .map_err(to_err(step, op))?;
                    *driver.borrow_mut() = fresh;
                }
            },
        }
        // After every step: the whole table and the tracked size.
        let listed = driver
            .borrow()
            .kv_list_prefix(id, b"", ListOptions::new())
            .map_err(to_err(step, op))?;
        let want: Vec<KvEntry> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        check_entries(step, op, "contents after the step", listed, want)?;
        let used = driver
            .borrow()
            .kv_storage_used(id)
            .map_err(to_err(step, op))?;
        let want: u64 = model.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        check_eq(step, op, "kv_storage_used after the step", used, want)?;
    }
    Ok(())
}

/// Runs `cases` generated sequences of up to `max_ops` operations with a fixed seed.
fn run_property(cx: &Context, mode: Mode, cases: u32, max_ops: usize, rng: TestRng) -> CaseResult {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let driver = RefCell::new(match mode {
        Mode::Files => FsDriver::open(cx.runtime().clone(), cx.dir(), DriverOptions::new())?,
        Mode::Memory => FsDriver::memory(cx.runtime().clone(), DriverOptions::new()),
    });
    let counter = std::cell::Cell::new(0u64);
    let started = Instant::now();
    let result = runner.run(&vec(op(), 1..=max_ops), |ops| {
        // A fresh actor per sequence (shrinking reruns too), destroyed afterwards so
        // the root stays small.
        let id = format!("model-{}", counter.get());
        counter.set(counter.get() + 1);
        let outcome = run_sequence(cx, mode, &driver, id.as_str(), &ops);
        let destroyed = driver.borrow().destroy_actor(&id, None);
        outcome?;
        destroyed.map_err(|error| TestCaseError::fail(format!("destroy {id}: {error}")))?;
        Ok(())
    });
    let elapsed = started.elapsed();
    match result {
        Ok(()) => {
            tracing::info!(
                "driver::model ({}, {}): {cases} sequences of up to {max_ops} ops in {elapsed:.2?}",
                cx.runtime().backend(),
                if mode == Mode::Files {
                    "files"
                } else {
                    "memory"
                },
            );
            Ok(())
        }
        Err(error) => Err(format!(
            "the driver disagrees with the ordered-map model ({} mode, backend {}): {error}",
            if mode == Mode::Files {
                "file"
            } else {
                "memory"
            },
            cx.runtime().backend()
        )
        .into()),
    }
}

/// The property test on a storage root: 64 sequences of up to 40 operations (sleeps and
/// fresh drivers included), seeded deterministically.
pub(crate) fn model_random_ops_on_files(cx: &Context) -> CaseResult {
    run_property(
        cx,
        Mode::Files,
        64,
        40,
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// The property test in memory mode, where operations are cheap: 256 sequences of up to
/// 60 operations from another fixed seed.
pub(crate) fn model_random_ops_in_memory(cx: &Context) -> CaseResult {
    let seed: Vec<u8> = (1..=32u8).collect();
    run_property(
        cx,
        Mode::Memory,
        256,
        60,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    )
}
