#pragma once
/// @file The SQLite job store's tables and indexes (schema version 4, `PRAGMA user_version`),
/// and the column order of a job row. Private to jobs/: sqlite_store.cpp runs the schema, and
/// upgrades an older file before it (check_schema_version).

namespace videogate::jobs {

/// The jobs columns in the order every SELECT names them and row_to_record reads them.
extern const char* const sqlite_job_columns;
/// Creates what is missing (idempotent), then sets user_version.
extern const char* const sqlite_schema_sql;

}  // namespace videogate::jobs
