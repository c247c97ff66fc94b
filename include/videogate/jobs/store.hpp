#pragma once
/// @file The job store (DESIGN §4): SQLite by default, memory for tests, Redis for a fleet of
/// gateways (DESIGN §10).
/// The interface is synchronous and blocking; callers on I/O threads go through
/// `store_executor` (jobs/async_store.hpp), never call it directly.
/// Implementations are thread-safe.

#include "videogate/config/config.hpp"
#include "videogate/core/schema.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace videogate::jobs {

struct job_record {
  std::string id;           ///< the public video id (primary key)
  std::string client;       ///< client name, "" without client auth
  std::string upstream;     ///< upstream name
  std::string key_fp;       ///< fingerprint of the key that created it
  std::string upstream_id;  ///< vendor job id
  std::string model;        ///< public model asked for
  std::string prompt;
  std::string size;
  std::string seconds;      ///< what the upstream will produce
  /// queued | in_progress | completed | failed, or deleted: a tombstone kept where the vendor
  /// has no delete call, so the id stays gone (lists and the job watcher skip it).
  std::string status = "queued";
  int progress = 0;
  std::int64_t created_at = 0;                 ///< unix seconds
  std::optional<std::int64_t> completed_at;
  std::optional<std::int64_t> expires_at;
  std::optional<std::string> remixed_from_video_id;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::optional<std::string> content_url;      ///< where the vendor serves the result, if it says
  std::optional<std::string> idempotency_key;
  std::int64_t updated_at_ms = 0;              ///< when the vendor was last asked (unix ms)
  /// Consecutive polls the vendor answered "not found", and when the first of them was
  /// (unix ms): 3 spanning `lost_after` end the job as failed `vendor_lost` (DESIGN §4).
  int lost_polls = 0;
  std::int64_t lost_since_ms = 0;
  std::int64_t seq = 0;                        ///< insertion order, assigned by the store

  bool terminal() const { return video_status::terminal(status); }
};

/// An Idempotency-Key, recorded before the vendor is called (DESIGN §4).
struct idempotency_record {
  enum class state { pending, unknown, done };
  std::string client;
  std::string key;
  std::string fingerprint;  ///< of the request body: the same key with another body is refused
  state status = state::pending;  ///< pending: the vendor call is (or was, before a crash) under way
  std::string video_id;           ///< done: the job it made
  std::string message;            ///< unknown: what the client was told
  std::int64_t created_at = 0;    ///< unix seconds
};

/// What the store keeps of an upstream key's state (DESIGN §4), in wall-clock time so that it
/// means the same after a restart.
struct key_state_record {
  std::string upstream;
  std::string key_fp;
  int health = 0;               ///< routing::key_health
  std::int64_t until_ms = 0;    ///< unix ms: cooling until / next probe
  std::int64_t since_ms = 0;    ///< unix ms
  std::string reason;
  std::int64_t step_s = 0;
  int rate_limit_streak = 0;
  int transient_streak = 0;
  /// unix ms of the change this record describes: a shared store keeps the newest (fleet).
  std::int64_t updated_ms = 0;
};

/// A webhook event in the outbox (DESIGN §9): written in the same step as its job's terminal
/// state, delivered at least once, kept after delivery for the admin list.
struct outbox_event {
  enum class state { pending, delivered, failed };
  std::string id;                    ///< evt_…: one per video and type, ever
  std::string type;                  ///< video.completed | video.failed
  std::string video_id;
  std::string client;
  std::string body;                  ///< the JSON sent, the same bytes on every attempt
  std::int64_t created_at = 0;       ///< unix s
  state status = state::pending;
  int attempts = 0;
  std::string last_error;
  std::int64_t next_attempt_ms = 0;  ///< pending: when the next attempt is due (unix ms)
  std::int64_t first_attempt_ms = 0; ///< 0 until the first attempt; retry_for counts from it
  std::int64_t updated_ms = 0;       ///< unix ms of the last change (lists order by it)
};

const char* to_string(outbox_event::state s) noexcept;
std::optional<outbox_event::state> outbox_state_from(std::string_view s) noexcept;

struct list_query {
  std::string client;
  std::optional<std::string> after;  ///< a job id: return jobs after it in `order`
  int limit = 20;                    ///< 1..100
  bool descending = true;
};

struct list_page {
  std::vector<job_record> data;
  bool has_more = false;
};

/// One upstream's share of a job watcher pass (store::due).
struct due_query {
  std::string upstream;
  std::int64_t updated_before_ms = 0;
  int limit = 0;
};

class store {
 public:
  virtual ~store() = default;
  /// Inserts or replaces the record with the same id. Durable on return (sqlite: committed).
  /// `seq` is assigned on first insert and kept on replace. `events` join the outbox in the
  /// same step (an event whose id is there already is kept as it is: one per video and type).
  virtual void put(const job_record& r, const std::vector<outbox_event>& events) = 0;
  void put(const job_record& r) { put(r, {}); }
  /// put() of each record, in order, as one unit where the store can (one transaction).
  virtual void put_many(const std::vector<job_record>& rs) {
    for (auto& r : rs) put(r);
  }
  virtual std::optional<job_record> get(const std::string& id) = 0;
  /// The newest job of `client` created with `idempotency_key` at or after `not_before` (unix s).
  virtual std::optional<job_record> find_idempotent(const std::string& client, const std::string& key,
                                                    std::int64_t not_before) = 0;
  /// `after` unknown (or another client's) yields an empty page.
  virtual list_page list(const list_query& q) = 0;
  /// Replaces the record only if it exists and is not a tombstone: a poll that ends after a
  /// delete never brings the job back. Returns whether it replaced; `events` join the outbox
  /// in the same step, and only if it did.
  virtual bool update(const job_record& r, const std::vector<outbox_event>& events) = 0;
  bool update(const job_record& r) { return update(r, {}); }
  /// Returns false if there was no such id.
  virtual bool erase(const std::string& id) = 0;
  /// Jobs not yet terminal (for the job watcher), oldest first, those with seq > after_seq.
  virtual std::vector<job_record> unfinished(int limit, std::int64_t after_seq = 0) = 0;
  /// The job watcher's work for one pass: for each query, the unfinished jobs of its upstream
  /// last updated before its time, the least recently updated first, at most its limit
  /// (answers in query order). The default pages through unfinished() once for them all; a
  /// store with an index on it (SQLite) reads only what it returns.
  virtual std::vector<std::vector<job_record>> due(const std::vector<due_query>& queries);

  /// Records `r` for (client, key) unless a record for them made at or after `not_before`
  /// exists: then that record is returned and nothing is written. Atomic.
  virtual std::optional<idempotency_record> claim_idempotency(const idempotency_record& r, std::int64_t not_before) = 0;
  /// Sets the outcome of a claimed key (done with its video, or unknown with its message).
  virtual void settle_idempotency(const idempotency_record& r) = 0;
  /// Forgets a claimed key whose request certainly made nothing (refused, invalid): a retry may create.
  virtual void release_idempotency(const std::string& client, const std::string& key) = 0;

  // ---- Images the gateway serves to vendors that take image URLs only (DESIGN §2).
  /// Keeps an uploaded image under an unguessable token until `expires_ms` (unix ms).
  virtual void put_media(const std::string& token, const std::string& mime, const std::string& bytes,
                         std::int64_t expires_ms) = 0;
  /// The image's (mime, bytes), unless unknown or expired at `now_ms`.
  virtual std::optional<std::pair<std::string, std::string>> get_media(const std::string& token, std::int64_t now_ms) = 0;

  // ---- The webhook outbox (DESIGN §9).
  /// Pending events due at `now_ms`, soonest first.
  virtual std::vector<outbox_event> outbox_due(std::int64_t now_ms, int limit) = 0;
  /// When the soonest pending event is due (unix ms), if any is pending.
  virtual std::optional<std::int64_t> outbox_next_due() = 0;
  /// Writes an event's new state (after an attempt, or queued again); false if unknown.
  virtual bool outbox_save(const outbox_event& e) = 0;
  virtual std::optional<outbox_event> outbox_get(const std::string& id) = 0;
  /// Events, newest change first; `status` empty: all.
  virtual std::vector<outbox_event> outbox_list(std::optional<outbox_event::state> status, int limit) = 0;
  virtual std::int64_t outbox_count(outbox_event::state status) = 0;

  /// Keeps `k` (a shared store keeps it only if it is newer, by updated_ms, than the one it has).
  virtual void save_key_state(const key_state_record& k) = 0;
  virtual std::vector<key_state_record> key_states() = 0;
  /// The key states of one upstream.
  virtual std::vector<key_state_record> key_states_of(const std::string& upstream);

  // ---- Decisions a fleet shares (DESIGN §10). A store of one process (memory, SQLite) takes
  // ---- every lease and slot: the process decides alone, with its own locks and counts.

  /// Whether several gateways share this store: callers then take caps, probes, polls and
  /// key states through it rather than from their own memory.
  virtual bool shared() const noexcept { return false; }
  /// Takes the lease `name` for `ttl_ms` unless another holder has it (one vendor poll per job
  /// per interval, one probe per key). Returns whether this process holds it now.
  virtual bool take_lease(const std::string& name, std::int64_t ttl_ms);
  /// Gives back a lease this process holds (another holder's is left alone).
  virtual void drop_lease(const std::string& name);
  /// Reserves one of `cap` slots of a key for a create about to be sent: unfinished jobs of the
  /// key plus live reservations stay below `cap`. The reservation ends at `ttl_ms` from now,
  /// or when released; a job stored unfinished with this key counts on its own.
  virtual bool claim_slot(const std::string& upstream, const std::string& key_fp, int cap, const std::string& token,
                          std::int64_t ttl_ms);
  virtual void release_slot(const std::string& upstream, const std::string& key_fp, const std::string& token);
  /// One of the `per_second` status calls `upstream` may get in the current second (all
  /// gateways sharing the store together). Thread-safe; a local store counts this process.
  virtual bool take_poll_budget(const std::string& upstream, int per_second);
  /// Throws when the store cannot be reached (readiness).
  virtual void ping() {}
  /// The id secret the gateways share: `candidate` unless one is already kept (then that one).
  virtual std::string shared_secret(const std::string& candidate) { return candidate; }

 private:
  std::mutex budget_mu_;
  std::map<std::string, std::deque<std::int64_t>> budget_;  ///< upstream -> times (ms) of the polls of the last second
};

/// Where a Redis store is: config::redis_options (store.url, store.prefix).
using config::parse_redis_url;
using config::redis_options;

/// Opens (creating if needed) a SQLite store at `path` in WAL mode. `power_safe`: fsync every
/// commit (synchronous=FULL); otherwise commits survive a process crash or kill -9 but the
/// last ones may be lost on power loss (synchronous=NORMAL).
/// Throws std::runtime_error with a clear message if it cannot.
std::unique_ptr<store> open_sqlite_store(const std::string& path, bool power_safe = false);
std::unique_ptr<store> make_memory_store();
/// A store in Redis, shared by every gateway that names the same server and prefix. Connects
/// lazily and again after a failure: a call while Redis is unreachable throws error_exception
/// with errc::store_unavailable. Thread-safe (a connection per concurrent caller).
std::unique_ptr<store> open_redis_store(const redis_options& opts);

}  // namespace videogate::jobs
