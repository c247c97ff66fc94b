#include "videogate/jobs/store.hpp"

#include "sqlite_checkpointer.hpp"
#include "sqlite_db.hpp"
#include "sqlite_schema.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace videogate::jobs {

namespace {

class sqlite_store final : public store, private sqlite_db {
 public:
  sqlite_store(const std::string& path, bool power_safe) : sqlite_db(path) {
    // Normal locking (not exclusive): a second connection of this process copies the WAL
    // into the database (checkpoints) on its own thread while this one goes on writing.
    exec("PRAGMA journal_mode = WAL", "enable WAL");
    // WAL + NORMAL: a committed put() is in the OS's hands before it returns, so it survives
    // kill -9 of this process (DESIGN §4); FULL adds an fsync per commit for power loss.
    exec(power_safe ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", "set synchronous");
    // Sized for a sidecar's memory (issue 18): 8 MiB of page cache holds the B-tree pages a
    // create and a poll touch (the tail of the tables, the upper index levels); no memory map,
    // whose touched pages would count as the process's resident memory as the file grows.
    exec("PRAGMA cache_size = -8192", "set cache size");
    exec("PRAGMA mmap_size = 0", "set mmap size");
    // Sorts and temporary indexes in memory: no temp files outside the store folder (a
    // read-only root file system in a container has no writable /tmp).
    exec("PRAGMA temp_store = MEMORY", "keep temporary tables in memory");
    check_schema_version();
    exec(sqlite_schema_sql, "create schema");
    if (path.empty() || path == ":memory:" || path.starts_with("file::memory:"))
      exec("PRAGMA wal_autocheckpoint = 1000", "set checkpoint interval");
    else
      checkpointer_ = std::make_unique<sqlite_checkpointer>(db_.get(), path);

    const std::string cols = sqlite_job_columns;
    insert_ = prepare(
        "INSERT INTO jobs (id, client, upstream, key_fp, upstream_id, model, prompt, size, seconds, "
        "status, progress, created_at, completed_at, expires_at, remixed_from_video_id, error_code, "
        "error_message, content_url, idempotency_key, updated_at_ms, seq, lost_polls, lost_since_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, NULL, ?21, ?22) "
        "ON CONFLICT (id) DO UPDATE SET client = excluded.client, upstream = excluded.upstream, "
        "key_fp = excluded.key_fp, upstream_id = excluded.upstream_id, model = excluded.model, "
        "prompt = excluded.prompt, size = excluded.size, seconds = excluded.seconds, "
        "status = excluded.status, progress = excluded.progress, created_at = excluded.created_at, "
        "completed_at = excluded.completed_at, expires_at = excluded.expires_at, "
        "remixed_from_video_id = excluded.remixed_from_video_id, error_code = excluded.error_code, "
        "error_message = excluded.error_message, content_url = excluded.content_url, "
        "idempotency_key = excluded.idempotency_key, updated_at_ms = excluded.updated_at_ms, "
        "lost_polls = excluded.lost_polls, lost_since_ms = excluded.lost_since_ms");
    update_ = prepare(
        "UPDATE jobs SET client = ?2, upstream = ?3, key_fp = ?4, upstream_id = ?5, model = ?6, prompt = ?7, "
        "size = ?8, seconds = ?9, status = ?10, progress = ?11, created_at = ?12, completed_at = ?13, "
        "expires_at = ?14, remixed_from_video_id = ?15, error_code = ?16, error_message = ?17, content_url = ?18, "
        "idempotency_key = ?19, updated_at_ms = ?20, lost_polls = ?21, lost_since_ms = ?22 "
        "WHERE id = ?1 AND status != 'deleted'");
    claim_ = prepare(
        "INSERT INTO idempotency (client, key, fingerprint, state, video_id, message, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (client, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = excluded.state, "
        "video_id = excluded.video_id, message = excluded.message, created_at = excluded.created_at "
        "WHERE idempotency.created_at < ?8");
    find_claim_ = prepare(
        "SELECT client, key, fingerprint, state, video_id, message, created_at FROM idempotency WHERE client = ?1 AND key = ?2");
    settle_ = prepare("UPDATE idempotency SET state = ?3, video_id = ?4, message = ?5 WHERE client = ?1 AND key = ?2");
    release_ = prepare("DELETE FROM idempotency WHERE client = ?1 AND key = ?2");
    prune_idempotency_ = prepare("DELETE FROM idempotency WHERE created_at < ?1");
    save_key_ = prepare(
        "INSERT INTO key_states (upstream, key_fp, health, until_ms, since_ms, reason, step_s, rate_limit_streak, "
        "transient_streak) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (upstream, key_fp) DO UPDATE SET "
        "health = excluded.health, until_ms = excluded.until_ms, since_ms = excluded.since_ms, reason = excluded.reason, "
        "step_s = excluded.step_s, rate_limit_streak = excluded.rate_limit_streak, "
        "transient_streak = excluded.transient_streak");
    key_states_ = prepare(
        "SELECT upstream, key_fp, health, until_ms, since_ms, reason, step_s, rate_limit_streak, transient_streak "
        "FROM key_states");
    get_ = prepare("SELECT " + cols + " FROM jobs WHERE id = ?1");
    find_idempotent_ = prepare("SELECT " + cols +
                                " FROM jobs WHERE client = ?1 AND idempotency_key = ?2 AND created_at >= ?3 AND status != 'deleted' "
                               "ORDER BY seq DESC LIMIT 1");
    cursor_seq_ = prepare("SELECT seq FROM jobs WHERE id = ?1 AND client = ?2");
    list_desc_ = prepare("SELECT " + cols + " FROM jobs WHERE client = ?1 AND seq < ?2 AND status != 'deleted' ORDER BY seq DESC LIMIT ?3");
    list_asc_ = prepare("SELECT " + cols + " FROM jobs WHERE client = ?1 AND seq > ?2 AND status != 'deleted' ORDER BY seq ASC LIMIT ?3");
    erase_ = prepare("DELETE FROM jobs WHERE id = ?1");
    const std::string event_cols =
        "id, type, video_id, client, body, created_at, status, attempts, last_error, next_attempt_ms, "
        "first_attempt_ms, updated_ms";
    add_event_ = prepare("INSERT INTO outbox (" + event_cols +
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING");
    save_event_ = prepare(
        "UPDATE outbox SET type = ?2, video_id = ?3, client = ?4, body = ?5, created_at = ?6, status = ?7, "
        "attempts = ?8, last_error = ?9, next_attempt_ms = ?10, first_attempt_ms = ?11, updated_ms = ?12 WHERE id = ?1");
    outbox_due_ = prepare("SELECT " + event_cols +
                          " FROM outbox WHERE status = 0 AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms LIMIT ?2");
    outbox_next_ = prepare("SELECT MIN(next_attempt_ms) FROM outbox WHERE status = 0");
    get_event_ = prepare("SELECT " + event_cols + " FROM outbox WHERE id = ?1");
    list_events_ = prepare("SELECT " + event_cols + " FROM outbox ORDER BY updated_ms DESC LIMIT ?1");
    list_events_by_status_ =
        prepare("SELECT " + event_cols + " FROM outbox WHERE status = ?2 ORDER BY updated_ms DESC LIMIT ?1");
    count_events_ = prepare("SELECT COUNT(*) FROM outbox WHERE status = ?1");
    put_media_ = prepare("INSERT OR REPLACE INTO media (token, mime, bytes, expires_ms) VALUES (?1, ?2, ?3, ?4)");
    get_media_ = prepare("SELECT mime, bytes FROM media WHERE token = ?1 AND expires_ms > ?2");
    prune_media_ = prepare("DELETE FROM media WHERE expires_ms < ?1");
    due_ = prepare("SELECT " + cols +
                   " FROM jobs WHERE status NOT IN ('completed', 'failed', 'deleted') AND upstream = ?1 AND "
                   "updated_at_ms < ?2 ORDER BY updated_at_ms ASC LIMIT ?3");
    unfinished_ = prepare("SELECT " + cols +
                           " FROM jobs WHERE status NOT IN ('completed', 'failed', 'deleted') AND seq > ?2 ORDER BY seq ASC LIMIT ?1");
  }

  using store::put;
  using store::update;

  void put(const job_record& r, const std::vector<outbox_event>& events) override {
    std::lock_guard lock(mutex_);
    if (events.empty()) return put_locked(r);
    transaction([&] {
      put_locked(r);
      add_events_locked(events);
    });
  }

  void put_many(const std::vector<job_record>& rs) override {
    std::lock_guard lock(mutex_);
    if (rs.size() == 1) return put_locked(rs.front());
    // One transaction for the batch: one WAL append and one commit instead of one per job.
    transaction([&] {
      for (auto& r : rs) put_locked(r);
    });
  }

  /// Runs `f` in one transaction (caller holds mutex_).
  template <class F>
  void transaction(F&& f) {
    exec("BEGIN IMMEDIATE", "begin a transaction");
    try {
      f();
      exec("COMMIT", "commit");
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void add_events_locked(const std::vector<outbox_event>& events) {
    for (auto& e : events) {
      stmt_use s(add_event_.get());
      bind_event(s, e);
      step_done(s, "add a webhook event");
    }
  }

  void bind_event(const stmt_use& s, const outbox_event& e) {
    bind_text(s, 1, e.id);
    bind_text(s, 2, e.type);
    bind_text(s, 3, e.video_id);
    bind_text(s, 4, e.client);
    bind_text(s, 5, e.body);
    bind_int(s, 6, e.created_at);
    bind_int(s, 7, static_cast<int>(e.status));
    bind_int(s, 8, e.attempts);
    bind_text(s, 9, e.last_error);
    bind_int(s, 10, e.next_attempt_ms);
    bind_int(s, 11, e.first_attempt_ms);
    bind_int(s, 12, e.updated_ms);
  }

  static outbox_event row_to_event(sqlite3_stmt* s) {
    outbox_event e;
    e.id = column_text(s, 0);
    e.type = column_text(s, 1);
    e.video_id = column_text(s, 2);
    e.client = column_text(s, 3);
    e.body = column_text(s, 4);
    e.created_at = sqlite3_column_int64(s, 5);
    e.status = static_cast<outbox_event::state>(std::clamp(sqlite3_column_int(s, 6), 0, 2));
    e.attempts = sqlite3_column_int(s, 7);
    e.last_error = column_text(s, 8);
    e.next_attempt_ms = sqlite3_column_int64(s, 9);
    e.first_attempt_ms = sqlite3_column_int64(s, 10);
    e.updated_ms = sqlite3_column_int64(s, 11);
    return e;
  }

  void put_media(const std::string& token, const std::string& mime, const std::string& bytes,
                 std::int64_t expires_ms) override {
    std::lock_guard lock(mutex_);
    {
      stmt_use p(prune_media_.get());
      bind_int(p, 1, expires_ms - 48LL * 3'600'000);  // long expired ones go as new ones come
      step_done(p, "forget expired images");
    }
    stmt_use s(put_media_.get());
    bind_text(s, 1, token);
    bind_text(s, 2, mime);
    check(sqlite3_bind_blob(s.get(), 3, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT), "bind an image");
    bind_int(s, 4, expires_ms);
    step_done(s, "keep an image");
  }

  std::optional<std::pair<std::string, std::string>> get_media(const std::string& token, std::int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    stmt_use s(get_media_.get());
    bind_text(s, 1, token);
    bind_int(s, 2, now_ms);
    if (!step_row(s, "read an image")) return std::nullopt;
    auto* blob = static_cast<const char*>(sqlite3_column_blob(s.get(), 1));
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 1));
    return std::make_pair(column_text(s.get(), 0), std::string(blob ? blob : "", n));
  }

  std::vector<outbox_event> outbox_due(std::int64_t now_ms, int limit) override {
    std::lock_guard lock(mutex_);
    stmt_use s(outbox_due_.get());
    bind_int(s, 1, now_ms);
    bind_int(s, 2, limit);
    std::vector<outbox_event> out;
    while (step_row(s, "read due webhook events")) out.push_back(row_to_event(s.get()));
    return out;
  }

  std::optional<std::int64_t> outbox_next_due() override {
    std::lock_guard lock(mutex_);
    stmt_use s(outbox_next_.get());
    if (!step_row(s, "read the next webhook event") || sqlite3_column_type(s.get(), 0) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s.get(), 0);
  }

  bool outbox_save(const outbox_event& e) override {
    std::lock_guard lock(mutex_);
    stmt_use s(save_event_.get());
    bind_event(s, e);
    step_done(s, "save a webhook event");
    return sqlite3_changes(db_.get()) > 0;
  }

  std::optional<outbox_event> outbox_get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    stmt_use s(get_event_.get());
    bind_text(s, 1, id);
    if (!step_row(s, "read a webhook event")) return std::nullopt;
    return row_to_event(s.get());
  }

  std::vector<outbox_event> outbox_list(std::optional<outbox_event::state> status, int limit) override {
    std::lock_guard lock(mutex_);
    stmt_use s((status ? list_events_by_status_ : list_events_).get());
    bind_int(s, 1, limit);
    if (status) bind_int(s, 2, static_cast<int>(*status));
    std::vector<outbox_event> out;
    while (step_row(s, "list webhook events")) out.push_back(row_to_event(s.get()));
    return out;
  }

  std::int64_t outbox_count(outbox_event::state status) override {
    std::lock_guard lock(mutex_);
    stmt_use s(count_events_.get());
    bind_int(s, 1, static_cast<int>(status));
    return step_row(s, "count webhook events") ? sqlite3_column_int64(s.get(), 0) : 0;
  }

  void put_locked(const job_record& r) {
    stmt_use s(insert_.get());
    bind_record(s, r);
    step_done(s, "put");
  }

  /// The record's fields as ?1..?22 (insert and update number them alike).
  void bind_record(const stmt_use& s, const job_record& r) {
    bind_text(s, 1, r.id);
    bind_text(s, 2, r.client);
    bind_text(s, 3, r.upstream);
    bind_text(s, 4, r.key_fp);
    bind_text(s, 5, r.upstream_id);
    bind_text(s, 6, r.model);
    bind_text(s, 7, r.prompt);
    bind_text(s, 8, r.size);
    bind_text(s, 9, r.seconds);
    bind_text(s, 10, r.status);
    bind_int(s, 11, r.progress);
    bind_int(s, 12, r.created_at);
    bind_opt_int(s, 13, r.completed_at);
    bind_opt_int(s, 14, r.expires_at);
    bind_opt_text(s, 15, r.remixed_from_video_id);
    bind_opt_text(s, 16, r.error_code);
    bind_opt_text(s, 17, r.error_message);
    bind_opt_text(s, 18, r.content_url);
    bind_opt_text(s, 19, r.idempotency_key);
    bind_int(s, 20, r.updated_at_ms);
    bind_int(s, 21, r.lost_polls);
    bind_int(s, 22, r.lost_since_ms);
  }

  bool update(const job_record& r, const std::vector<outbox_event>& events) override {
    std::lock_guard lock(mutex_);
    auto write = [&] {
      stmt_use s(update_.get());
      bind_record(s, r);
      step_done(s, "update");
      return sqlite3_changes(db_.get()) > 0;
    };
    if (events.empty()) return write();
    bool replaced = false;
    transaction([&] {
      replaced = write();
      if (replaced) add_events_locked(events);
    });
    return replaced;
  }

  std::optional<idempotency_record> claim_idempotency(const idempotency_record& r, std::int64_t not_before) override {
    std::lock_guard lock(mutex_);
    {
      stmt_use s(claim_.get());
      bind_text(s, 1, r.client);
      bind_text(s, 2, r.key);
      bind_text(s, 3, r.fingerprint);
      bind_int(s, 4, static_cast<int>(r.status));
      bind_text(s, 5, r.video_id);
      bind_text(s, 6, r.message);
      bind_int(s, 7, r.created_at);
      bind_int(s, 8, not_before);
      step_done(s, "claim idempotency key");
    }
    if (sqlite3_changes(db_.get()) > 0) {
      // Now and then, forget keys past their window.
      if (++claims_ % 1000 == 0) {
        stmt_use p(prune_idempotency_.get());
        bind_int(p, 1, not_before);
        step_done(p, "prune idempotency keys");
      }
      return std::nullopt;
    }
    stmt_use f(find_claim_.get());
    bind_text(f, 1, r.client);
    bind_text(f, 2, r.key);
    if (!step_row(f, "find idempotency key")) return std::nullopt;
    idempotency_record out;
    out.client = column_text(f.get(), 0);
    out.key = column_text(f.get(), 1);
    out.fingerprint = column_text(f.get(), 2);
    out.status = static_cast<idempotency_record::state>(sqlite3_column_int(f.get(), 3));
    out.video_id = column_text(f.get(), 4);
    out.message = column_text(f.get(), 5);
    out.created_at = sqlite3_column_int64(f.get(), 6);
    return out;
  }

  void settle_idempotency(const idempotency_record& r) override {
    std::lock_guard lock(mutex_);
    stmt_use s(settle_.get());
    bind_text(s, 1, r.client);
    bind_text(s, 2, r.key);
    bind_int(s, 3, static_cast<int>(r.status));
    bind_text(s, 4, r.video_id);
    bind_text(s, 5, r.message);
    step_done(s, "settle idempotency key");
  }

  void release_idempotency(const std::string& client, const std::string& key) override {
    std::lock_guard lock(mutex_);
    stmt_use s(release_.get());
    bind_text(s, 1, client);
    bind_text(s, 2, key);
    step_done(s, "release idempotency key");
  }

  void save_key_state(const key_state_record& k) override {
    std::lock_guard lock(mutex_);
    stmt_use s(save_key_.get());
    bind_text(s, 1, k.upstream);
    bind_text(s, 2, k.key_fp);
    bind_int(s, 3, k.health);
    bind_int(s, 4, k.until_ms);
    bind_int(s, 5, k.since_ms);
    bind_text(s, 6, k.reason);
    bind_int(s, 7, k.step_s);
    bind_int(s, 8, k.rate_limit_streak);
    bind_int(s, 9, k.transient_streak);
    step_done(s, "save key state");
  }

  std::vector<key_state_record> key_states() override {
    std::lock_guard lock(mutex_);
    stmt_use s(key_states_.get());
    std::vector<key_state_record> out;
    while (step_row(s, "key states")) {
      key_state_record k;
      k.upstream = column_text(s.get(), 0);
      k.key_fp = column_text(s.get(), 1);
      k.health = sqlite3_column_int(s.get(), 2);
      k.until_ms = sqlite3_column_int64(s.get(), 3);
      k.since_ms = sqlite3_column_int64(s.get(), 4);
      k.reason = column_text(s.get(), 5);
      k.step_s = sqlite3_column_int64(s.get(), 6);
      k.rate_limit_streak = sqlite3_column_int(s.get(), 7);
      k.transient_streak = sqlite3_column_int(s.get(), 8);
      out.push_back(std::move(k));
    }
    return out;
  }

  std::optional<job_record> get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    stmt_use s(get_.get());
    bind_text(s, 1, id);
    if (!step_row(s, "get")) return std::nullopt;
    return row_to_record(s.get());
  }

  std::optional<job_record> find_idempotent(const std::string& client, const std::string& key,
                                            std::int64_t not_before) override {
    std::lock_guard lock(mutex_);
    stmt_use s(find_idempotent_.get());
    bind_text(s, 1, client);
    bind_text(s, 2, key);
    bind_int(s, 3, not_before);
    if (!step_row(s, "find_idempotent")) return std::nullopt;
    return row_to_record(s.get());
  }

  list_page list(const list_query& q) override {
    const int limit = std::clamp(q.limit, 1, 100);
    std::lock_guard lock(mutex_);
    std::int64_t bound = q.descending ? std::numeric_limits<std::int64_t>::max() : 0;
    if (q.after) {
      stmt_use c(cursor_seq_.get());
      bind_text(c, 1, *q.after);
      bind_text(c, 2, q.client);
      if (!step_row(c, "list")) return {};
      bound = sqlite3_column_int64(c.get(), 0);
    }
    stmt_use s((q.descending ? list_desc_ : list_asc_).get());
    bind_text(s, 1, q.client);
    bind_int(s, 2, bound);
    bind_int(s, 3, limit + 1);  // one extra row tells whether there is a next page
    list_page page;
    while (step_row(s, "list")) page.data.push_back(row_to_record(s.get()));
    if (page.data.size() > static_cast<std::size_t>(limit)) {
      page.data.pop_back();
      page.has_more = true;
    }
    return page;
  }

  bool erase(const std::string& id) override {
    std::lock_guard lock(mutex_);
    stmt_use s(erase_.get());
    bind_text(s, 1, id);
    step_done(s, "erase");
    return sqlite3_changes(db_.get()) > 0;
  }

  std::vector<std::vector<job_record>> due(const std::vector<due_query>& queries) override {
    std::vector<std::vector<job_record>> out(queries.size());
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (queries[i].limit <= 0) continue;
      stmt_use s(due_.get());
      bind_text(s, 1, queries[i].upstream);
      bind_int(s, 2, queries[i].updated_before_ms);
      bind_int(s, 3, queries[i].limit);
      while (step_row(s, "due")) out[i].push_back(row_to_record(s.get()));
    }
    return out;
  }

  std::vector<job_record> unfinished(int limit, std::int64_t after_seq) override {
    std::vector<job_record> out;
    if (limit <= 0) return out;
    std::lock_guard lock(mutex_);
    stmt_use s(unfinished_.get());
    bind_int(s, 1, limit);
    bind_int(s, 2, after_seq);
    while (step_row(s, "unfinished")) out.push_back(row_to_record(s.get()));
    return out;
  }

 private:
  /// A file from the first builds (schema 1) is refused with a clear message rather than
  /// half-used: the layout of its table differs.
  void check_schema_version() {
    stmt_ptr v = prepare("PRAGMA user_version");
    int version = sqlite3_step(v.get()) == SQLITE_ROW ? sqlite3_column_int(v.get(), 0) : 0;
    if (version == 1)
      throw std::runtime_error("job store '" + path_ + "' was created by an older videogate (schema 1); move it away to start a new one");
    // Schema 2 lacks the not-found poll counters: add them (the new tables come with the schema).
    if (version == 2) {
      exec("ALTER TABLE jobs ADD COLUMN lost_polls INTEGER NOT NULL DEFAULT 0", "upgrade the schema");
      exec("ALTER TABLE jobs ADD COLUMN lost_since_ms INTEGER NOT NULL DEFAULT 0", "upgrade the schema");
    }
  }

  static job_record row_to_record(sqlite3_stmt* s) {
    job_record r;
    r.id = column_text(s, 0);
    r.client = column_text(s, 1);
    r.upstream = column_text(s, 2);
    r.key_fp = column_text(s, 3);
    r.upstream_id = column_text(s, 4);
    r.model = column_text(s, 5);
    r.prompt = column_text(s, 6);
    r.size = column_text(s, 7);
    r.seconds = column_text(s, 8);
    r.status = column_text(s, 9);
    r.progress = sqlite3_column_int(s, 10);
    r.created_at = sqlite3_column_int64(s, 11);
    r.completed_at = column_opt_int(s, 12);
    r.expires_at = column_opt_int(s, 13);
    r.remixed_from_video_id = column_opt_text(s, 14);
    r.error_code = column_opt_text(s, 15);
    r.error_message = column_opt_text(s, 16);
    r.content_url = column_opt_text(s, 17);
    r.idempotency_key = column_opt_text(s, 18);
    r.updated_at_ms = sqlite3_column_int64(s, 19);
    r.seq = sqlite3_column_int64(s, 20);
    r.lost_polls = sqlite3_column_int(s, 21);
    r.lost_since_ms = sqlite3_column_int64(s, 22);
    return r;
  }

  std::mutex mutex_;
  stmt_ptr insert_;
  stmt_ptr get_;
  stmt_ptr find_idempotent_;
  stmt_ptr cursor_seq_;
  stmt_ptr list_desc_;
  stmt_ptr list_asc_;
  stmt_ptr erase_;
  stmt_ptr unfinished_;
  stmt_ptr due_;

  stmt_ptr update_;
  stmt_ptr claim_;
  stmt_ptr find_claim_;
  stmt_ptr settle_;
  stmt_ptr release_;
  stmt_ptr prune_idempotency_;
  stmt_ptr save_key_;
  stmt_ptr key_states_;
  stmt_ptr add_event_, save_event_, outbox_due_, outbox_next_, get_event_, list_events_, list_events_by_status_,
      count_events_, put_media_, get_media_, prune_media_;
  std::uint64_t claims_ = 0;
  /// Copies the WAL back on a thread of its own (null for an in-memory database); stopped
  /// before the connection (a base) closes.
  std::unique_ptr<sqlite_checkpointer> checkpointer_;
};

}  // namespace

std::unique_ptr<store> open_sqlite_store(const std::string& path, bool power_safe) {
  return std::make_unique<sqlite_store>(path, power_safe);
}

}  // namespace videogate::jobs
