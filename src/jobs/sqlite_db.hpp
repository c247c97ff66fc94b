#pragma once
// Private to src/jobs: a SQLite connection with the error handling and statement helpers the
// store uses (every failure a std::runtime_error naming the store and the step, never the
// bound values).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace videogate::jobs {

struct db_closer {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct stmt_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// Resets a prepared statement when a call is done with it, also on throw, so the next
/// call starts clean and no read transaction stays open.
class stmt_use {
 public:
  explicit stmt_use(sqlite3_stmt* s) : s_(s) {}
  ~stmt_use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  stmt_use(const stmt_use&) = delete;
  stmt_use& operator=(const stmt_use&) = delete;
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

/// One open database file (WAL-capable, extended result codes, a 5 s busy timeout).
class sqlite_db {
 public:
  explicit sqlite_db(const std::string& path);

 protected:
  [[noreturn]] void raise(std::string_view what) const;
  void check(int rc, std::string_view what) const {
    if (rc != SQLITE_OK) raise(what);
  }
  void exec(const char* sql, std::string_view what);
  stmt_ptr prepare(const std::string& sql);

  void bind_text(const stmt_use& s, int i, const std::string& v);
  void bind_opt_text(const stmt_use& s, int i, const std::optional<std::string>& v);
  void bind_int(const stmt_use& s, int i, std::int64_t v);
  void bind_opt_int(const stmt_use& s, int i, const std::optional<std::int64_t>& v);
  /// Steps once: true for a row, false when done, throws on error.
  bool step_row(const stmt_use& s, std::string_view what);
  void step_done(const stmt_use& s, std::string_view what);

  static std::string column_text(sqlite3_stmt* s, int i);
  static std::optional<std::string> column_opt_text(sqlite3_stmt* s, int i);
  static std::optional<std::int64_t> column_opt_int(sqlite3_stmt* s, int i);

  std::string path_;
  db_ptr db_;  // a base member: destroyed after the derived store's statements
};

}  // namespace videogate::jobs
