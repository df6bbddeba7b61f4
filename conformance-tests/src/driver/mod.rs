//! The driver suite: what `fs-driver` must do on every backend.
//!
//! One concept per module; every case is a `fn(&Context) -> CaseResult` listed in
//! [`CASES`], opening its driver on the case's own temporary directory through the
//! backend under test (or in memory). The legacy fixtures are copied into that directory,
//! never written in place.

// Test code: a failed assertion (a panic) fails the case, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::Case;

mod accounting;
mod actors;
mod alarms;
mod budget;
mod concurrency;
mod engine;
mod files;
mod integrity;
mod interop;
mod kv;
mod limits;
mod memory;
mod migration;
mod model;
mod ordering;
mod sql;
mod statements;
mod support;

/// Every case of the driver suite.
pub const CASES: &[Case] = cases![
    actors::actors_create_and_load,
    actors::actors_list_sorted_with_cursor,
    actors::actors_sleep_and_wake,
    actors::actors_destroy_and_recreate_empty,
    actors::actors_stop_hooks,
    actors::actors_invalid_ids_touch_nothing,
    actors::actors_longest_valid_id_works requires LocalFiles,
    actors::actors_lifecycle_timestamps requires LocalFiles,
    actors::actors_created_empty_work_at_once,
    kv::kv_put_get_replace,
    kv::kv_batches_are_all_or_nothing,
    kv::kv_delete_batch,
    kv::kv_delete_range_half_open,
    kv::kv_list_prefix_reverse_limit,
    kv::kv_list_range_reverse_limit,
    kv::kv_default_list_limit,
    ordering::ordering_blob_memcmp_then_shorter,
    ordering::ordering_prefix_bounds_with_ff_and_00,
    ordering::ordering_range_bounds_are_blobs,
    limits::limits_key_size_boundary,
    limits::limits_value_size_boundary,
    limits::limits_keys_per_batch,
    limits::limits_put_payload_boundary,
    limits::limits_storage_boundary,
    limits::limits_storage_used_tracks_the_table,
    files::files_state_v3_bytes requires LocalFiles,
    files::files_database_schema_and_wal requires LocalFiles,
    files::files_destroy_removes_every_file requires LocalFiles,
    files::files_create_ignores_leftover_database requires LocalFiles,
    files::files_temp_files requires LocalFiles,
    files::files_data_persists_across_reopen requires LocalFiles,
    alarms::alarms_set_get_clear_file_bytes requires LocalFiles,
    alarms::alarms_persist_and_come_due,
    migration::migration_real_fixtures requires LocalFiles,
    migration::migration_is_idempotent requires LocalFiles,
    migration::migration_sqlite_data_wins requires LocalFiles,
    migration::migration_v1_v2_and_bad_files requires LocalFiles,
    migration::migration_dry_run_and_disabled requires LocalFiles,
    memory::memory_same_api_nothing_on_disk,
    memory::memory_drivers_are_private,
    interop::interop_root_shared_by_every_backend requires LocalFiles,
    statements::statements_kv_statements_are_reused requires StatementCacheStats,
    concurrency::concurrency_threads_on_own_actors,
    concurrency::concurrency_shared_actors_with_sleeps,
    model::model_random_ops_on_files,
    model::model_random_ops_in_memory,
    budget::budget_eight_open_databases_for_a_hundred_actors,
    accounting::accounting_exact_for_every_writer,
    sql::sql_statements_on_own_tables requires GuardedSql,
    sql::sql_transactions_mix_sql_and_kv requires GuardedSql,
    sql::sql_hostile_statements_are_refused requires GuardedSql,
    sql::sql_quota_covers_sql_and_kv requires GuardedSql,
    sql::sql_time_limit_interrupts requires GuardedSql,
    sql::sql_destroy_removes_sql_data requires GuardedSql,
    sql::sql_in_memory requires GuardedSql,
    sql::sql_unsupported_without_guard unless GuardedSql,
    accounting::accounting_added_to_databases_without_it,
    integrity::integrity_missing_database_is_an_error requires LocalFiles,
    integrity::integrity_writes_into_replaced_files_are_refused requires LocalFiles,
    integrity::integrity_half_done_destroy_is_gone_and_retry_finishes requires LocalFiles,
    integrity::integrity_state_file_of_another_actor_is_refused requires LocalFiles,
    engine::engine_records_are_rivetkits_bytes_in_the_index unless LocalFiles,
    engine::engine_one_driver_runs_an_actor unless LocalFiles,
    engine::engine_alarms_are_shared unless LocalFiles,
    engine::engine_reads_and_inspection_without_a_driver unless LocalFiles,
    engine::engine_reads_are_served_by_the_lease_holder unless LocalFiles,
];
