//! The cases a backend skips for a capability it has or lacks, as data for the test
//! kit's declared skips ([`harness::run`](crate::harness::run)): listed here by name, so
//! that a case that starts or stops being skipped fails `skipped_set_matches_declared`
//! instead of going unnoticed.

/// Skipped by backends with [`LocalFiles`](sqlite_runtime::Capability::LocalFiles)
/// (every bundled backend): the cases of the driver on an engine without them.
pub const WITH_LOCAL_FILES: &[&str] = &[
    "driver::engine_records_are_rivetkits_bytes_in_the_index",
    "driver::engine_one_driver_runs_an_actor",
    "driver::engine_alarms_are_shared",
    "driver::engine_reads_and_inspection_without_a_driver",
    "driver::engine_reads_are_served_by_the_lease_holder",
    // Every local backend guards SQL (one `libsqlite3-sys`): the case for those that
    // cannot.
    "driver::sql_unsupported_without_guard",
];

/// Skipped by backends without [`GuardedSql`](sqlite_runtime::Capability::GuardedSql)
/// (a remote engine, whose authorizer is out of reach): the cases of guarded and actor
/// SQL.
pub const WITHOUT_GUARDED_SQL: &[&str] = &[
    "runtime::guarded_sql_runs_on_own_tables",
    "runtime::guarded_sql_refuses_reserved_tables",
    "runtime::guarded_sql_limits_and_time",
    "runtime::guarded_sql_one_statement_per_call",
    "driver::sql_statements_on_own_tables",
    "driver::sql_transactions_mix_sql_and_kv",
    "driver::sql_hostile_statements_are_refused",
    "driver::sql_quota_covers_sql_and_kv",
    "driver::sql_time_limit_interrupts",
    "driver::sql_destroy_removes_sql_data",
    "driver::sql_in_memory",
];

/// Skipped by backends without [`LocalFiles`](sqlite_runtime::Capability::LocalFiles)
/// (a remote engine): the cases that look at the files themselves (journal modes, what
/// an open does to files, paths, files shared by every local backend, rivetkit's layout,
/// the migration of its legacy files, files replaced or removed underneath).
pub const WITHOUT_LOCAL_FILES: &[&str] = &[
    // Journal modes and `synchronous` of local files (a replicated engine keeps its own).
    "runtime::journal_defaults_to_wal_on_files",
    "runtime::journal_memory_databases_never_use_wal",
    "runtime::journal_mode_option_is_applied",
    "runtime::journal_synchronous_default_and_custom",
    // The files an open creates, reads or refuses, and their paths.
    "runtime::open_missing_directory_is_cannot_open",
    "runtime::open_read_only_rejects_writes",
    "runtime::open_non_database_file_is_corrupt",
    "runtime::open_creates_and_reopens",
    "runtime::open_path_with_special_characters",
    "runtime::open_main_database_path_is_reported",
    "runtime::open_immutable_reads_without_side_files",
    "runtime::open_read_only_shm_reads_the_wal_and_writes_nothing",
    // One file, and one linked SQLite, shared by every local backend.
    "runtime::interop_files_are_shared_by_all_backends",
    "runtime::interop_concurrent_handles_across_backends",
    "runtime::interop_same_sqlite_version",
    // The driver's files: rivetkit's layout, its legacy files, files changed underneath.
    "driver::actors_longest_valid_id_works",
    "driver::actors_lifecycle_timestamps",
    "driver::files_state_v3_bytes",
    "driver::files_database_schema_and_wal",
    "driver::files_destroy_removes_every_file",
    "driver::files_create_ignores_leftover_database",
    "driver::files_temp_files",
    "driver::files_data_persists_across_reopen",
    "driver::alarms_set_get_clear_file_bytes",
    "driver::migration_real_fixtures",
    "driver::migration_is_idempotent",
    "driver::migration_sqlite_data_wins",
    "driver::migration_v1_v2_and_bad_files",
    "driver::migration_dry_run_and_disabled",
    "driver::interop_root_shared_by_every_backend",
    "driver::integrity_missing_database_is_an_error",
    "driver::integrity_writes_into_replaced_files_are_refused",
    "driver::integrity_half_done_destroy_is_gone_and_retry_finishes",
    "driver::integrity_state_file_of_another_actor_is_refused",
];
