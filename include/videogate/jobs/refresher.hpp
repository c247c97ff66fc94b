#pragma once
/// @file The job refresher: a job as the vendor sees it now, at most once per poll_interval,
/// one vendor call for any number of concurrent pollers (client polls, content downloads,
/// remixes and the watcher alike); terminal states are never asked about again. It also
/// applies a vendor's answer to a stored job (status, progress, error, the key's job cap).
/// Thread-safe; coroutines run on the caller's executor.

#include "videogate/core/error.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/jobs/async_store.hpp"
#include "videogate/jobs/coalescer.hpp"
#include "videogate/jobs/ids.hpp"
#include "videogate/jobs/store.hpp"
#include "videogate/jobs/terminal_cache.hpp"
#include "videogate/routing/router.hpp"
#include "videogate/routing/upstream_call.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace videogate::observe { class metrics; }

namespace videogate::jobs {

class refresher : public std::enable_shared_from_this<refresher> {
 public:
  refresher(std::shared_ptr<async_store> store, std::shared_ptr<routing::upstream_caller> caller,
            std::shared_ptr<observe::metrics> metrics,
            std::unique_ptr<terminal_cache> terminal = make_memory_terminal_cache(),
            std::unique_ptr<coalescer<result<job_record>>> polls = std::make_unique<memory_coalescer<result<job_record>>>());

  /// The job `id` (its opened `f`) as known now: from the terminal cache, the store when it
  /// was asked about less than a poll interval ago, else from the vendor with the job's own
  /// key. A deleted job is not_found. Must be owned by a shared_ptr.
  boost::asio::awaitable<result<job_record>> refresh(std::shared_ptr<routing::router> snap, const std::string& id,
                                                     const id_fields& f);

  /// Applies a vendor's state to `j`. `counted`: the job is counted in its key's unfinished
  /// jobs (max_jobs_per_key), so reaching a terminal state frees that slot.
  void apply(const routing::router& rt, job_record& j, const dialects::job_state& s, bool counted = true);

  /// Ends `j` as failed `expired` when it is unfinished past its upstream's job_ttl (or
  /// `vendor_lost` when its upstream left the config). Returns whether it did; the caller saves.
  bool expire_if_due(const routing::router& rt, job_record& j, std::int64_t now_ms);

  /// Counts a "not found" answer for `j`; the third in a row spanning the upstream's lost_after
  /// ends it as failed `vendor_lost` (returns true). The caller saves.
  bool note_not_found(const routing::router& rt, job_record& j, std::int64_t now_ms);

  /// Writes `j` (a put when `insert`, else an update that never resurrects a tombstone) with
  /// the webhook event its end makes, if it just ended (`was_terminal` false) and its client
  /// has a webhook (DESIGN §9: the event is written in the same step as the terminal state).
  /// Returns what the update returned (true for a put).
  boost::asio::awaitable<bool> save(const routing::router& rt, job_record j, bool was_terminal, bool insert);

  /// Told (any thread) when a write carried webhook events: the sender looks at once.
  void on_events(std::function<void()> f) { events_written_ = std::move(f); }

  terminal_cache& terminal() noexcept { return *terminal_; }

 private:
  /// Ends `j` as failed with `code` (the gateway's own reason, not the vendor's), through apply.
  void end_failed(const routing::router& rt, job_record& j, std::string code, std::string message);
  /// Logs a vendor status word we do not know, once per upstream and word (DESIGN §2).
  void note_unknown_status(const std::string& upstream, const std::string& word);

  std::shared_ptr<async_store> store_;
  std::shared_ptr<routing::upstream_caller> caller_;
  std::shared_ptr<observe::metrics> metrics_;
  std::unique_ptr<terminal_cache> terminal_;
  std::unique_ptr<coalescer<result<job_record>>> polls_;
  std::function<void()> events_written_;
  std::mutex unknown_mu_;
  std::set<std::string> unknown_words_;
};

}  // namespace videogate::jobs
