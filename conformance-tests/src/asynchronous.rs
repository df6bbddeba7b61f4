//! The async suite: what [`sqlite_runtime::AsyncRuntime`] must do on every
//! backend: order per database, transactions whole on a worker, cancellation before a
//! start, a bounded queue, many databases on a few threads.

// Test code: a failed assertion (a panic) fails the case, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::Thread;

use sqlite_runtime::workers::WorkersOptions;
use sqlite_runtime::{
    AsyncDatabase, AsyncRuntime, Call, ErrorKind, OpenOptions, OwnedParams, Target, Value,
};

use crate::{Case, CaseResult, Context};

/// Every case of the async suite.
pub const CASES: &[Case] = cases![
    cases::operations_keep_their_order,
    cases::transactions_commit_roll_back_and_survive_panics,
    cases::an_operation_cannot_leave_a_transaction_open,
    cases::calls_dropped_before_they_start_never_run,
    cases::a_full_queue_is_overloaded_and_applies_nothing,
    cases::many_databases_share_two_threads,
    cases::a_batch_is_all_or_nothing,
];

/// Polls `future` on this thread until it is ready (an executor of a few lines: the
/// async layer needs none of its own).
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::park();
    }
}

fn runtime(cx: &Context, options: WorkersOptions) -> AsyncRuntime {
    AsyncRuntime::with_options(cx.runtime().clone(), options).unwrap()
}

fn open(runtime: &AsyncRuntime, cx: &Context, name: &str) -> AsyncDatabase {
    let db = block_on(runtime.open(Target::file(cx.path(name)), OpenOptions::new())).unwrap();
    block_on(db.exec("CREATE TABLE t (x INTEGER)")).unwrap();
    db
}

fn values(db: &AsyncDatabase) -> Vec<i64> {
    block_on(db.query("SELECT x FROM t ORDER BY rowid", OwnedParams::None))
        .unwrap()
        .iter()
        .map(|row| row.get::<i64>(0).unwrap())
        .collect()
}

fn insert(db: &AsyncDatabase, x: i64) -> Call<sqlite_runtime::RunResult> {
    db.execute("INSERT INTO t VALUES (?)", vec![Value::Integer(x)])
}

/// Holds a database's lane until `release` is sent: the operations queued behind it
/// have not started.
fn hold(db: &AsyncDatabase) -> (Call<()>, mpsc::Sender<()>) {
    let (release, released) = mpsc::channel::<()>();
    let (entered, inside) = mpsc::channel::<()>();
    let held = db.call(move |_| {
        let _ = entered.send(());
        let _ = released.recv();
        Ok(())
    });
    inside.recv().unwrap();
    (held, release)
}

mod cases {
    use super::*;

    /// 500 inserts submitted at once, awaited in reverse: they ran in call order.
    pub(crate) fn operations_keep_their_order(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(2).queue_capacity(1000));
        let db = open(&runtime, cx, "order.db");
        let calls: Vec<_> = (0..500).map(|x| insert(&db, x)).collect();
        let mut rowids: Vec<i64> = calls
            .into_iter()
            .rev()
            .map(|call| block_on(call).unwrap().last_insert_rowid)
            .collect();
        rowids.reverse();
        assert!(rowids.windows(2).all(|w| w[0] < w[1]), "rowids {rowids:?}");
        assert_eq!(values(&db), (0..500).collect::<Vec<_>>());
        Ok(())
    }

    /// `Ok` commits, `Err` rolls back, a panic rolls back and is an error; the
    /// connection is usable and outside any transaction afterwards.
    pub(crate) fn transactions_commit_roll_back_and_survive_panics(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(1));
        let db = open(&runtime, cx, "tx.db");
        block_on(db.transaction(|tx| {
            tx.run("INSERT INTO t VALUES (1)", sqlite_runtime::Params::NONE)?;
            Ok(())
        }))?;
        let failed = block_on(db.transaction(|tx| -> sqlite_runtime::Result<()> {
            tx.run("INSERT INTO t VALUES (2)", sqlite_runtime::Params::NONE)?;
            tx.run(
                "INSERT INTO nowhere VALUES (3)",
                sqlite_runtime::Params::NONE,
            )?;
            Ok(())
        }));
        assert_eq!(failed.unwrap_err().kind(), ErrorKind::Sql);
        let panicked = block_on(db.transaction(|tx| -> sqlite_runtime::Result<()> {
            tx.run("INSERT INTO t VALUES (4)", sqlite_runtime::Params::NONE)?;
            panic!("the closure gives up");
        }));
        let error = panicked.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Misuse);
        assert!(
            error.to_string().contains("the closure gives up"),
            "{error}"
        );
        assert!(!block_on(db.call(|db| db.in_transaction()))?);
        block_on(insert(&db, 5))?;
        assert_eq!(values(&db), [1, 5]);
        Ok(())
    }

    /// A call that begins a transaction and returns is rolled back and fails: no
    /// transaction outlives an operation whose future may be gone.
    pub(crate) fn an_operation_cannot_leave_a_transaction_open(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(1));
        let db = open(&runtime, cx, "open.db");
        let left = block_on(db.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES (1);"));
        assert_eq!(left.unwrap_err().kind(), ErrorKind::Misuse);
        assert!(!block_on(db.call(|db| db.in_transaction()))?);
        assert!(values(&db).is_empty());
        // Another connection can write at once: no lock is held.
        let other = open_existing(&runtime, cx, "open.db");
        block_on(insert(&other, 2))?;
        assert_eq!(values(&db), [2]);
        Ok(())
    }

    fn open_existing(runtime: &AsyncRuntime, cx: &Context, name: &str) -> AsyncDatabase {
        block_on(runtime.open(Target::file(cx.path(name)), OpenOptions::new())).unwrap()
    }

    /// Behind a held lane, 100 inserts are queued and every other one's future is
    /// dropped: exactly the kept ones run.
    pub(crate) fn calls_dropped_before_they_start_never_run(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(1).queue_capacity(200));
        let db = open(&runtime, cx, "cancel.db");
        let (held, release) = hold(&db);
        let mut kept = Vec::new();
        for x in 0..100 {
            let call = insert(&db, x);
            if x % 2 == 0 {
                kept.push(call);
            }
        }
        release.send(()).unwrap();
        block_on(held)?;
        for call in kept {
            block_on(call)?;
        }
        assert_eq!(values(&db), (0..100).step_by(2).collect::<Vec<_>>());
        Ok(())
    }

    /// With a queue of 4 behind a held lane, the fifth call fails at once as
    /// `Overloaded` (retryable) and is never applied; the four are.
    pub(crate) fn a_full_queue_is_overloaded_and_applies_nothing(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(1).queue_capacity(4));
        let db = open(&runtime, cx, "full.db");
        let (held, release) = hold(&db);
        let queued: Vec<_> = (0..4).map(|x| insert(&db, x)).collect();
        let refused = block_on(insert(&db, 99)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Overloaded);
        assert!(refused.is_retryable());
        release.send(()).unwrap();
        block_on(held)?;
        for call in queued {
            block_on(call)?;
        }
        assert_eq!(values(&db), [0, 1, 2, 3]);
        Ok(())
    }

    /// 200 databases, each written and read, on a pool of two threads.
    pub(crate) fn many_databases_share_two_threads(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(2));
        let databases: Vec<AsyncDatabase> = (0..200)
            .map(|i| open(&runtime, cx, &format!("many-{i}.db")))
            .collect();
        let calls: Vec<_> = databases
            .iter()
            .enumerate()
            .flat_map(|(i, db)| (0..5).map(move |k| insert(db, i as i64 * 10 + k)))
            .collect();
        for call in calls {
            block_on(call)?;
        }
        for (i, db) in databases.iter().enumerate() {
            let base = i as i64 * 10;
            assert_eq!(values(db), (base..base + 5).collect::<Vec<_>>());
        }
        Ok(())
    }

    /// A batch whose third statement fails applies none of them.
    pub(crate) fn a_batch_is_all_or_nothing(cx: &Context) -> CaseResult {
        let runtime = runtime(cx, WorkersOptions::new().threads(1));
        let db = open(&runtime, cx, "batch.db");
        let statement =
            |sql: &str, x: i64| (sql.to_owned(), OwnedParams::from(vec![Value::Integer(x)]));
        let failed = block_on(db.batch(vec![
            statement("INSERT INTO t VALUES (?)", 1),
            statement("INSERT INTO t VALUES (?)", 2),
            statement("INSERT INTO missing VALUES (?)", 3),
        ]));
        assert!(failed.is_err());
        assert!(values(&db).is_empty());
        let done = block_on(db.batch(vec![
            statement("INSERT INTO t VALUES (?)", 1),
            statement("UPDATE t SET x = x + ?", 10),
        ]))?;
        assert_eq!(done.iter().map(|r| r.changes).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(values(&db), [11]);
        Ok(())
    }
}
