#pragma once
/// @file The job watcher: polls unfinished jobs in the background (each upstream's
/// poll_interval, a few at a time per upstream) so that key caps free up and terminal states
/// are recorded even when no client polls. It reads its work from the store, so it resumes
/// after a restart.

#include "videogate/jobs/async_store.hpp"
#include "videogate/jobs/ids.hpp"
#include "videogate/jobs/refresher.hpp"
#include "videogate/routing/live.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace videogate::jobs {

class watcher : public std::enable_shared_from_this<watcher> {
 public:
  watcher(std::shared_ptr<routing::live> live, std::shared_ptr<async_store> store, std::shared_ptr<refresher> refresh,
          id_codec ids, std::chrono::milliseconds period = std::chrono::milliseconds(1000));

  /// Starts the watcher on `ex` (a strand is best). Must be owned by a shared_ptr.
  void start(boost::asio::any_io_executor ex);
  /// Asks the watcher to stop after its current pass. Any thread.
  void stop() noexcept { stopping_ = true; }
  bool stopping() const noexcept { return stopping_; }
  /// An upstream's workers of a pass are done: the next pass may poll it again.
  void upstream_done(const std::string& upstream);

 private:
  static boost::asio::awaitable<void> run(std::shared_ptr<watcher> self);
  /// One pass: per upstream, the due unfinished jobs asked about longest ago (one period's
  /// poll budget of them), at most `per_upstream` polls at once per upstream; an upstream still
  /// busy from an earlier pass is left to finish (a hung vendor stalls only itself).
  boost::asio::awaitable<void> pass();
  /// Ends, at their TTL, jobs whose upstream is no longer configured (every orphan_sweep_every passes).
  boost::asio::awaitable<void> sweep_orphans(std::shared_ptr<routing::router> snap, std::int64_t now);
  bool claim_upstream(const std::string& upstream);

  std::shared_ptr<routing::live> live_;
  std::shared_ptr<async_store> store_;
  std::shared_ptr<refresher> refresh_;
  id_codec ids_;
  std::chrono::milliseconds period_;
  std::atomic<bool> stopping_{false};
  std::mutex busy_mu_;
  std::set<std::string> busy_;  ///< upstreams whose workers are still polling
  std::uint64_t passes_ = 0;
  static constexpr int per_upstream = 4;
  static constexpr int page_size = 1000;
  static constexpr int max_batch = 5000;  ///< due jobs taken per upstream per pass, at most
  static constexpr int orphan_sweep_every = 60;
};

}  // namespace videogate::jobs
