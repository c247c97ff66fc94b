#pragma once
/// @file
/// Job state shared by every simulated dialect: each dialect renders the same timeline
/// (queued -> in_progress with rising progress -> completed | failed) in its own shape.
/// The timeline is counted in polls, not wall time, so tests stay deterministic.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace videogate::mock_vendor {

enum class job_status { queued, in_progress, completed, failed };

/// "queued", "in_progress", "completed", "failed".
std::string_view to_string(job_status s) noexcept;

/// One generation task.
struct job {
  std::string id;       ///< the dialect's public id (e.g. "video_…")
  std::string key;      ///< the key that created it: jobs are scoped to it
  std::string dialect;  ///< which dialect created it
  std::string model;
  std::string prompt;
  std::string size;
  std::string seconds;
  std::optional<std::string> remixed_from;
  boost::json::object request;  ///< dialect-specific extras as received (watermark, style, …)

  std::int64_t created_at = 0;  ///< unix seconds
  std::int64_t status_changed_ms = 0;  ///< unix milliseconds of the last status change
  /// When a status read first saw the job finished (0: not yet): with `status_changed_ms`, how
  /// long a poller took to learn of the end (/_mock/stats `lag_ms`).
  std::int64_t seen_finished_ms = 0;
  bool finished_by_poll = false;  ///< the read that saw the end made it (--complete-after-polls)
  std::optional<std::int64_t> completed_at;
  std::optional<std::int64_t> expires_at;
  job_status status = job_status::queued;
  int progress = 0;  ///< 0–100
  int polls = 0;     ///< status reads so far (also those after it finished)
  bool fail_at_end = false;  ///< ends `failed` instead of `completed` (the `fail-*` keys)
  std::string fail_code;      ///< with fail_at_end: the code it fails with (default "generation_failed")
  std::string fail_message;   ///< with fail_at_end: the reason (default "The video could not be generated")
  std::string error_code;     ///< set when failed
  std::string error_message;  ///< set when failed
  std::uint64_t seq = 0;      ///< creation order (lists)
  /// File name under the unauthenticated `/files/` route (dialects whose result is a URL),
  /// empty when the media is only served by the dialect's own API.
  std::string media_name;
  std::uint64_t request_seq = 0;  ///< `seq` of the logged request that made it (/_mock/requests)
  std::optional<std::string> idempotency_key;  ///< that request's Idempotency-Key header
  /// Where the vendor reports the finished job (fal `fal_webhook`, Replicate `webhook`, kie
  /// `callBackUrl`); empty when the create named none.
  std::string callback_url;
};

/// A character made from an uploaded video (openai `POST /v1/videos/characters`), scoped to
/// the key and dialect that made it like a job. Not a job: it has no time line.
struct character {
  std::string id;  ///< "char_…"
  std::string key;
  std::string dialect;
  std::string name;
  std::int64_t created_at = 0;    ///< unix seconds
  std::size_t video_size = 0;     ///< bytes of the uploaded video
  std::uint64_t request_seq = 0;  ///< `seq` of the logged request that made it (/_mock/requests)
};

/// One character as JSON (GET /_mock/characters).
boost::json::object to_json(const character& c);

/// All jobs of the process, keyed by id. Single-threaded: no locking.
class job_store {
public:
  explicit job_store(int complete_after_polls) : complete_after_polls_(complete_after_polls) {}

  /// A fresh random id `prefix` + 8-4-4-4-12 hex digits.
  std::string new_id(std::string_view prefix);

  /// Stores `j` (id, key, dialect and request fields set by the caller) as queued at `now`.
  job& create(job j);

  /// Jobs ever created (never goes down): tells whether a handler made one.
  std::uint64_t created_count() const noexcept { return next_seq_ - 1; }

  /// The job created last, if it still exists.
  job* newest() { return find_any(newest_id_); }

  /// The job `id` if it exists and belongs to `key` and `dialect`; else null (a 404).
  job* find(std::string_view id, std::string_view key, std::string_view dialect);

  /// The job `id` regardless of key (control endpoints).
  job* find_any(std::string_view id);

  /// The job whose `media_name` is `name`, regardless of key (the `/files/` route).
  const job* find_media(std::string_view name) const;

  /// Counts one status read and moves an unfinished job's timeline on: in_progress with progress
  /// polls*100/N before poll N, completed (or failed) at poll N = --complete-after-polls.
  void poll(job& j);

  /// Finishes at once: completed (progress 100, completed_at, expires_at).
  void complete(job& j);

  /// Finishes at once: failed with `code` / `message`.
  void fail(job& j, std::string code, std::string message);

  /// Called once each time a job enters `completed` or `failed` from another state (a poll,
  /// `complete`, `fail`, a cancel): the server sends the vendor's callback from here.
  std::function<void(const job&)> on_finish;

  bool erase(std::string_view id);

  /// Jobs of `key` and `dialect` in creation order.
  std::vector<const job*> list(std::string_view key, std::string_view dialect) const;

  /// Every job, creation order, as JSON (GET /_mock/jobs).
  boost::json::array to_json() const;

  /// Job counts and the poll lag of finished jobs (GET /_mock/stats): `{"jobs","unfinished",
  /// "lag_ms":{"n","p50","p99","max"}}`, the lag being seen_finished_ms - status_changed_ms
  /// over jobs finished by `complete`/`fail` and seen since (a poll that finishes a job sees it
  /// at once and is not counted).
  boost::json::object stats() const;

  void clear();

private:
  int complete_after_polls_;
  std::uint64_t next_seq_ = 1;
  std::string newest_id_;
  std::unordered_map<std::string, job> jobs_;
  std::unordered_map<std::string, std::string> media_index_;  ///< media_name -> id
  std::mt19937_64 rng_{std::random_device{}()};
};

/// One job as JSON, dialect-neutral (GET /_mock/jobs).
boost::json::object to_json(const job& j);

/// Current unix time in seconds.
std::int64_t unix_now();

/// Current unix time in milliseconds.
std::int64_t unix_now_ms();

}  // namespace videogate::mock_vendor
