#pragma once
/// @file The live snapshot (DESIGN §6): the running config and its router, swapped whole on a
/// reload. Every request takes one snapshot when it starts and runs on it to its end; the
/// watcher takes one per pass. Thread-safe.

#include "videogate/config/config.hpp"
#include "videogate/config/reload.hpp"
#include "videogate/routing/router.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace videogate::routing {

/// Unfinished jobs per (upstream, key fingerprint), as the store counts them.
using unfinished_counts = std::map<std::pair<std::string, std::string>, int>;

/// Sets each key's unfinished-job count (max_jobs_per_key) from `counts`, for the keys of
/// `rt` that the counts name.
void apply_unfinished(router& rt, const unfinished_counts& counts);

class live {
 public:
  /// `started`: the config at start-up (restart-only keys keep its values).
  explicit live(std::shared_ptr<const config::config> started);

  std::shared_ptr<router> snapshot() const { return current_.load(); }

  /// What a reload needs from outside routing.
  struct reload_source {
    std::function<config::load_result()> load;  ///< empty: reload refused
    /// Unfinished jobs in the store; asked only when the new config brings keys new to the
    /// process (so their caps hold after a restart-then-reload).
    std::function<unfinished_counts()> count_unfinished;
    /// Runs right after the swap, before the reload is logged (the log format may change).
    std::function<void(const config::config&)> on_swap;
  };

  /// Loads the config again and swaps a new router in for requests that start from now on;
  /// key states carry over for keys that stay. An invalid config is refused (every error
  /// logged) and the running one stays. One reload at a time; any thread.
  config::reload_report reload(const reload_source& src);

 private:
  std::shared_ptr<const config::config> started_;
  std::atomic<std::shared_ptr<router>> current_;
  std::mutex reload_mu_;
};

}  // namespace videogate::routing
