//! The runtime suite: what every backend's `SqliteDatabase` must do.
//!
//! One concept per module; every case is a `fn(&Context) -> CaseResult` listed in
//! [`CASES`]. Cases use only their context's temporary directory.

// Test code: a failed assertion (a panic) fails the case, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::Case;

mod busy;
mod cache;
mod constraints;
mod errors;
mod exec;
mod guarded;
mod interop;
mod isolation;
mod journal;
mod lifecycle;
mod open;
mod params;
mod queries;
mod rows;
mod support;
mod transactions;
mod values;
mod visitor;

/// Every case of the runtime suite.
pub const CASES: &[Case] = cases![
    exec::exec_runs_every_statement,
    exec::exec_reports_error_in_second_statement,
    exec::exec_reports_constraint_in_batch,
    exec::exec_accepts_empty_and_comment_only_sql,
    exec::exec_runs_each_statement_to_completion,
    params::params_positional_run_get_all,
    params::params_named_colon requires NamedParameters,
    params::params_named_at requires NamedParameters,
    params::params_named_dollar requires NamedParameters,
    params::params_named_used_twice requires NamedParameters,
    params::params_numbered,
    params::params_count_mismatch_is_misuse,
    params::params_unknown_name_is_misuse requires NamedParameters,
    params::params_rebinding_a_cached_statement,
    queries::queries_query_row_and_param_macros,
    queries::run_reports_changes_and_last_insert_rowid,
    queries::run_executes_ddl_and_selects,
    queries::run_returning_clause requires Returning,
    queries::get_first_row_or_none,
    queries::get_leaves_no_statement_running,
    queries::all_returns_every_row_in_order,
    visitor::for_each_visits_rows_in_order,
    visitor::for_each_stops_at_break,
    visitor::for_each_propagates_visitor_error,
    visitor::for_each_early_break_on_huge_query,
    visitor::for_each_streams_many_rows,
    guarded::guarded_sql_runs_on_own_tables requires GuardedSql,
    guarded::guarded_sql_refuses_reserved_tables requires GuardedSql,
    guarded::guarded_sql_limits_and_time requires GuardedSql,
    guarded::guarded_sql_one_statement_per_call requires GuardedSql,
    values::values_integers_round_trip,
    values::values_reals_round_trip,
    values::values_negative_zero_keeps_sign,
    values::values_text_round_trip,
    values::values_text_with_nul_round_trip requires NulInText,
    values::values_empty_blob_is_not_null,
    values::values_blobs_round_trip,
    values::values_large_blob,
    values::values_typeof_bound_parameters,
    values::values_column_affinity,
    values::values_rows_feed_back_as_parameters,
    rows::rows_column_names,
    rows::rows_typed_access_by_name_and_index,
    rows::rows_type_mismatch_names_the_column,
    rows::rows_unknown_column_is_misuse,
    errors::errors_syntax_error,
    errors::errors_unknown_names,
    errors::errors_carry_the_backend_name,
    errors::errors_leave_the_connection_usable,
    errors::errors_non_utf8_column_name_is_not_a_panic,
    constraints::constraint_unique,
    constraints::constraint_primary_key,
    constraints::constraint_rowid,
    constraints::constraint_not_null,
    constraints::constraint_check,
    constraints::constraint_foreign_key,
    constraints::constraint_datatype_strict,
    constraints::constraint_trigger_raise,
    constraints::constraint_failed_statement_writes_nothing,
    busy::busy_writer_waits_for_timeout_then_fails,
    busy::busy_writer_succeeds_when_lock_released_in_time,
    busy::busy_deferred_upgrade_conflict,
    busy::busy_deferred_upgrade_while_locked,
    busy::busy_zero_timeout_fails_fast,
    busy::busy_readers_not_blocked_by_writer,
    journal::journal_defaults_to_wal_on_files requires LocalFiles,
    journal::journal_memory_databases_never_use_wal requires LocalFiles,
    journal::journal_mode_option_is_applied requires LocalFiles,
    journal::journal_busy_timeout_default_and_custom,
    journal::journal_synchronous_default_and_custom requires LocalFiles,
    journal::journal_other_settings_are_sqlite_defaults,
    journal::journal_foreign_keys_same_on_every_backend,
    isolation::isolation_handles_see_commits,
    isolation::isolation_uncommitted_writes_invisible,
    isolation::isolation_read_transaction_is_a_snapshot,
    isolation::isolation_memory_handles_are_private,
    isolation::isolation_concurrent_writers_on_threads,
    transactions::tx_commit_persists,
    transactions::tx_rollback_discards,
    transactions::tx_drop_rolls_back,
    transactions::tx_in_transaction_reflects_state,
    transactions::tx_savepoint_inner_rollback_keeps_outer,
    transactions::tx_savepoint_release_then_outer_rollback,
    transactions::tx_savepoints_three_levels,
    transactions::tx_failed_statement_keeps_transaction,
    transactions::tx_or_rollback_ends_transaction,
    transactions::tx_failed_commit_reports_constraint,
    transactions::tx_deferred_takes_no_lock_until_write,
    cache::cache_reuses_one_statement_per_sql requires StatementCacheStats,
    cache::cache_respects_capacity requires StatementCacheStats,
    cache::cache_capacity_zero_disables_caching requires StatementCacheStats,
    cache::cache_errors_leak_no_statements requires StatementCacheStats,
    cache::cache_keeps_statements_with_bound_limit_and_like requires StatementCacheStats,
    cache::cache_survives_schema_change,
    cache::cache_refreshed_not_duplicated_after_schema_change requires StatementCacheStats,
    lifecycle::lifecycle_closed_database_rejects_everything,
    lifecycle::lifecycle_close_rolls_back_open_transaction,
    lifecycle::lifecycle_close_with_cached_statements,
    lifecycle::lifecycle_drop_without_close,
    lifecycle::lifecycle_connection_moves_between_threads,
    lifecycle::lifecycle_open_close_many_times,
    open::open_missing_directory_is_cannot_open requires LocalFiles,
    open::open_read_only_missing_file,
    open::open_without_create_missing_file,
    open::open_read_only_rejects_writes requires LocalFiles,
    open::open_non_database_file_is_corrupt requires LocalFiles,
    open::open_empty_file_is_a_new_database,
    open::open_creates_and_reopens requires LocalFiles,
    open::open_path_with_special_characters requires LocalFiles,
    open::open_main_database_path_is_reported requires LocalFiles,
    open::open_immutable_reads_without_side_files requires LocalFiles,
    open::open_read_only_shm_reads_the_wal_and_writes_nothing requires LocalFiles,
    interop::interop_files_are_shared_by_all_backends requires LocalFiles,
    interop::interop_concurrent_handles_across_backends requires LocalFiles,
    interop::interop_same_sqlite_version requires LocalFiles,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn case_names_are_unique() {
        let names: BTreeSet<_> = super::CASES.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), super::CASES.len());
    }
}
