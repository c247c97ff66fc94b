#include "sqlite_db.hpp"

#include <stdexcept>

namespace videogate::jobs {

sqlite_db::sqlite_db(const std::string& path) : path_(path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);  // sqlite3_open_v2 hands out a handle even on failure; it must be closed
  if (rc != SQLITE_OK) {
    throw std::runtime_error("job store: cannot open SQLite database '" + path +
                             "': " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  check(sqlite3_busy_timeout(db_.get(), 5000), "set busy timeout");
}

void sqlite_db::raise(std::string_view what) const {
  // sqlite3_errmsg names the failure (e.g. "database is locked", "disk I/O error"), never
  // the bound values, so it is safe for logs.
  throw std::runtime_error("job store '" + path_ + "': " + std::string(what) +
                           " failed: " + sqlite3_errmsg(db_.get()));
}

void sqlite_db::exec(const char* sql, std::string_view what) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    const std::string detail = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    throw std::runtime_error("job store '" + path_ + "': " + std::string(what) + " failed: " + detail);
  }
}

stmt_ptr sqlite_db::prepare(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size() + 1),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  stmt_ptr s(raw);
  if (rc != SQLITE_OK) raise("prepare statement");
  return s;
}

void sqlite_db::bind_text(const stmt_use& s, int i, const std::string& v) {
  // SQLITE_STATIC: the string outlives the step; stmt_use clears the binding afterwards.
  check(sqlite3_bind_text64(s.get(), i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8), "bind");
}
void sqlite_db::bind_opt_text(const stmt_use& s, int i, const std::optional<std::string>& v) {
  if (v) {
    bind_text(s, i, *v);
  } else {
    check(sqlite3_bind_null(s.get(), i), "bind");
  }
}
void sqlite_db::bind_int(const stmt_use& s, int i, std::int64_t v) {
  check(sqlite3_bind_int64(s.get(), i, static_cast<sqlite3_int64>(v)), "bind");
}
void sqlite_db::bind_opt_int(const stmt_use& s, int i, const std::optional<std::int64_t>& v) {
  if (v) {
    bind_int(s, i, *v);
  } else {
    check(sqlite3_bind_null(s.get(), i), "bind");
  }
}

/// Steps once: true for a row, false when done, throws on error.
bool sqlite_db::step_row(const stmt_use& s, std::string_view what) {
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(what);
}
void sqlite_db::step_done(const stmt_use& s, std::string_view what) {
  if (sqlite3_step(s.get()) != SQLITE_DONE) raise(what);
}

std::string sqlite_db::column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  const int n = sqlite3_column_bytes(s, i);  // after column_text, as SQLite asks
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}
std::optional<std::string> sqlite_db::column_opt_text(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return column_text(s, i);
}
std::optional<std::int64_t> sqlite_db::column_opt_int(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(s, i);
}

}  // namespace videogate::jobs
