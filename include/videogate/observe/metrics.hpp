#pragma once
/// @file Prometheus counters and histograms, rendered in the text exposition format.
/// Thread-safe; cheap enough for the request path (one mutex per observation).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace videogate::observe {

/// Jobs created, completed and failed in one minute on one upstream (this process's count).
struct job_minute {
  std::int64_t minute = 0;  ///< minutes since the epoch
  unsigned created = 0, completed = 0, failed = 0;
};

/// How a read of a job (a client's retrieve or download, a remix, the watcher) was answered:
/// from the terminal cache, from the store (finished, or asked less than a poll interval ago),
/// or by going on to the shared poll (one status call for every reader in flight, unless the
/// poll finds the job finished or fresh, leased to another replica, or over the poll budget).
enum class job_read { terminal_cache, store, poll };

class metrics {
 public:
  metrics();
  /// A downstream request finished.
  void request(const std::string& route, int status, std::chrono::microseconds took);
  /// An upstream call finished: outcome is "ok" or an errc name.
  void upstream(const std::string& upstream, const std::string& op, const std::string& outcome,
                std::chrono::microseconds took);
  void job_created(const std::string& upstream);
  void job_finished(const std::string& upstream, bool completed);
  void content_bytes(std::size_t n);
  /// A config reload was applied (ok) or refused: counted, and kept as the last reload's
  /// result and time (start-up counts as a successful load).
  void reload(bool ok);
  void job_read_from(job_read how) noexcept { job_reads_[static_cast<int>(how)].fetch_add(1, std::memory_order_relaxed); }
  /// A webhook delivery attempt ended: "delivered", "retry" (will be tried again) or "failed"
  /// (given up: 410, or past retry_for).
  void webhook_delivery(const char* result);
  /// Webhook events waiting to be delivered (the outbox's pending ones, last counted).
  void webhook_backlog(long long n);
  long long webhook_backlog() const;
  /// Deliveries by result ("delivered", "retry", "failed"), this process's count.
  std::map<std::string, unsigned long long> webhook_deliveries() const;
  /// Per upstream, the minutes of the last hour that saw a job created or finished, oldest
  /// first (minutes with nothing are absent).
  std::map<std::string, std::vector<job_minute>> job_history(std::int64_t now_minute) const;
  /// The Prometheus text format. Every family is declared (HELP, TYPE) even before its first
  /// sample, so dashboards and alert rules can be checked against a fresh process.
  std::string render() const;

 private:
  struct histogram {
    std::vector<unsigned long long> buckets;  ///< cumulative at render, counts per bucket here
    unsigned long long count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, unsigned long long> counters_;  ///< "name{labels}" -> value
  std::map<std::string, histogram> histograms_;         ///< "name{labels" -> histogram (labels open)
  unsigned long long content_bytes_ = 0;
  long long webhook_backlog_ = 0;
  bool last_reload_ok_ = true;
  std::int64_t last_reload_at_s_ = 0;
  std::array<std::atomic<unsigned long long>, 3> job_reads_{};
  /// Per upstream, a ring of the last 60 minutes (index: minute % 60).
  std::map<std::string, std::array<job_minute, 60>> history_;
  job_minute& minute_of(const std::string& upstream);
  void observe(const std::string& name, const std::string& labels, double seconds);
};

}  // namespace videogate::observe
