//! Statement reuse: the KV statements are prepared once per connection and reused.

use fs_driver::{DriverOptions, FsDriver, ListOptions, sql};
use sqlite_runtime::StatementCacheStats;

use super::support::{create, open_with};
use crate::{CaseResult, Context};

/// The statements each KV operation runs (the driver's own SQL), besides the batch get
/// of two keys ([`sql::get_many`]) and the writes of batches, whose statements depend on
/// the engine ([`batch_writes`]).
const KV_STATEMENTS: [&str; 4] = [sql::GET, sql::RANGE_ASC, sql::RANGE_DESC, sql::FROM_ASC];

/// The statements of `one_round`'s writes: on local files, a transaction that reads the
/// size and writes each entry; on an engine without them (where each statement is a
/// request, and the actor is leased), one statement per write that checks the quota and
/// the fence itself.
fn batch_writes(local: bool) -> Vec<&'static str> {
    if local {
        vec![
            sql::BEGIN,
            sql::COMMIT,
            sql::USED_SIZE,
            sql::PUT,
            sql::DELETE,
            sql::DELETE_RANGE,
        ]
    } else {
        vec![
            sql::PUT_PACKED_FENCED,
            sql::DELETE_PACKED_FENCED,
            sql::DELETE_RANGE_FENCED,
        ]
    }
}

fn one_round(driver: &FsDriver, round: u32) -> CaseResult {
    for i in 0..10u32 {
        let key = format!("k{round}-{i}");
        driver.kv_put("a", &[(key.as_bytes(), b"v".as_slice())])?;
        driver.kv_put("a", &[(b"x".as_slice(), key.as_bytes()), (b"y", b"")])?;
        driver.kv_get("a", &[key.as_bytes(), b"missing"])?;
        driver.kv_get_one("a", key.as_bytes())?;
        driver.kv_delete("a", &[b"y"])?;
        driver.kv_delete_range("a", b"x", b"y")?;
        driver.kv_list_prefix("a", b"k", ListOptions::new().limit(3))?;
        driver.kv_list_prefix("a", b"\xff", ListOptions::new())?;
        driver.kv_list_range("a", b"a", b"z", ListOptions::new().reverse(true))?;
    }
    Ok(())
}

fn runs(stats: &StatementCacheStats, sql: &str) -> u64 {
    let matching: Vec<_> = stats.statements.iter().filter(|s| s.sql == sql).collect();
    assert_eq!(
        matching.len(),
        1,
        "`{sql}` should be prepared exactly once, found {matching:?}"
    );
    assert_eq!(matching[0].reprepares, 0, "`{sql}` was re-prepared");
    matching[0].runs
}

/// After many operations each KV statement is alive exactly once on the actor's
/// connection, and its run count grows with further operations (it is reused, not
/// re-prepared); the storage size is never summed by a scan (triggers keep it).
pub(crate) fn statements_kv_statements_are_reused(cx: &Context) -> CaseResult {
    // Reads from the engine, not from the lease holder's copy.
    let driver = open_with(cx, DriverOptions::new().read_cache_bytes(0));
    create(&driver, "a", &[]);
    one_round(&driver, 0)?;
    let local = cx
        .runtime()
        .capabilities()
        .has(sqlite_runtime::Capability::LocalFiles);
    let statements: Vec<&str> = KV_STATEMENTS
        .into_iter()
        .chain(sql::get_many(2))
        .chain(batch_writes(local))
        .collect();
    let first = driver.kv_statement_cache_stats("a")?;
    let before: Vec<u64> = statements.iter().map(|sql| runs(&first, sql)).collect();
    for (sql, runs) in statements.iter().zip(&before) {
        assert!(*runs >= 10, "`{sql}` ran {runs} times over 10 rounds");
    }
    one_round(&driver, 1)?;
    let second = driver.kv_statement_cache_stats("a")?;
    for (sql, old) in statements.iter().zip(&before) {
        let new = runs(&second, sql);
        assert!(new >= old + 10, "`{sql}`: {old} runs, then {new}");
    }
    assert!(
        second.statement(sql::SCAN_SIZE).is_none(),
        "storage summed by a scan: {second:?}"
    );
    Ok(())
}
