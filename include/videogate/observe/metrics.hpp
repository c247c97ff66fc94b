#pragma once
/// @file Prometheus counters and histograms, rendered in the text exposition format.
/// Thread-safe; cheap enough for the request path (one mutex per observation).

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace videogate::observe {

class metrics {
 public:
  /// A downstream request finished.
  void request(const std::string& route, int status, std::chrono::microseconds took);
  /// An upstream call finished: outcome is "ok" or an errc name.
  void upstream(const std::string& upstream, const std::string& op, const std::string& outcome,
                std::chrono::microseconds took);
  void job_created(const std::string& upstream);
  void job_finished(const std::string& upstream, bool completed);
  void content_bytes(std::size_t n);
  /// A config reload was applied (ok) or refused.
  void reload(bool ok);
  /// A webhook delivery attempt ended: "delivered", "retry" (will be tried again) or "failed"
  /// (given up: 410, or past retry_for).
  void webhook_delivery(const char* result);
  /// Webhook events waiting to be delivered (the outbox's pending ones, last counted).
  void webhook_backlog(long long n);
  /// The Prometheus text format.
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
  void observe(const std::string& name, const std::string& labels, double seconds);
};

}  // namespace videogate::observe
