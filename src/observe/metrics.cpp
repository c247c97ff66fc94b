#include "videogate/observe/metrics.hpp"

#include "videogate/core/clock.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace videogate::observe {

namespace {
constexpr std::array<double, 12> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

std::string esc(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\' || c == '"') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    o += c;
  }
  return o;
}
}  // namespace

void metrics::observe(const std::string& name, const std::string& labels, double seconds) {
  auto& h = histograms_[name + "{" + labels];
  if (h.buckets.empty()) h.buckets.assign(bounds.size(), 0);
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) { ++h.buckets[i]; break; }
  ++h.count;
  h.sum += seconds;
}

void metrics::request(const std::string& route, int status, std::chrono::microseconds took) {
  std::lock_guard lk(mu_);
  ++counters_["videogate_http_requests_total{route=\"" + esc(route) + "\",status=\"" + std::to_string(status) + "\"}"];
  observe("videogate_http_request_duration_seconds", "route=\"" + esc(route) + "\"", static_cast<double>(took.count()) / 1e6);
}

void metrics::upstream(const std::string& upstream, const std::string& op, const std::string& outcome,
                       std::chrono::microseconds took) {
  std::lock_guard lk(mu_);
  auto l = "upstream=\"" + esc(upstream) + "\",operation=\"" + esc(op) + "\"";
  ++counters_["videogate_upstream_requests_total{" + l + ",outcome=\"" + esc(outcome) + "\"}"];
  observe("videogate_upstream_request_duration_seconds", l, static_cast<double>(took.count()) / 1e6);
}

void metrics::job_created(const std::string& upstream) {
  std::lock_guard lk(mu_);
  ++counters_["videogate_jobs_created_total{upstream=\"" + esc(upstream) + "\"}"];
  ++minute_of(upstream).created;
}

void metrics::job_finished(const std::string& upstream, bool completed) {
  std::lock_guard lk(mu_);
  ++counters_[std::string(completed ? "videogate_jobs_completed_total" : "videogate_jobs_failed_total") +
              "{upstream=\"" + esc(upstream) + "\"}"];
  auto& m = minute_of(upstream);
  ++(completed ? m.completed : m.failed);
}

void metrics::reload(bool ok) {
  std::lock_guard lk(mu_);
  ++counters_[std::string("videogate_config_reloads_total{result=\"") + (ok ? "ok" : "error") + "\"}"];
  last_reload_ok_ = ok;
  last_reload_at_s_ = clock::now_s();
}

void metrics::webhook_delivery(const char* result) {
  std::lock_guard lk(mu_);
  ++counters_[std::string("videogate_webhook_deliveries_total{result=\"") + result + "\"}"];
}

void metrics::webhook_backlog(long long n) {
  std::lock_guard lk(mu_);
  webhook_backlog_ = n;
}

void metrics::content_bytes(std::size_t n) {
  std::lock_guard lk(mu_);
  content_bytes_ += n;
}

namespace {

struct family {
  const char* name;
  const char* type;
  const char* help;
};

/// The families kept in the counter and histogram maps, declared even without samples. Only
/// these are rendered: a new counter or histogram must be listed here.
constexpr family mapped_families[] = {
    {"videogate_http_requests_total", "counter", "Downstream requests by route template and status."},
    {"videogate_http_request_duration_seconds", "histogram", "Time from a request's head to its response head, by route."},
    {"videogate_upstream_requests_total", "counter",
     "Vendor calls by upstream, operation and outcome (ok, http_<status> or an error name)."},
    {"videogate_upstream_request_duration_seconds", "histogram", "Vendor call latency by upstream and operation."},
    {"videogate_jobs_created_total", "counter", "Jobs created, by upstream."},
    {"videogate_jobs_completed_total", "counter", "Jobs seen reaching completed, by upstream."},
    {"videogate_jobs_failed_total", "counter", "Jobs seen reaching failed, by upstream."},
    {"videogate_config_reloads_total", "counter", "Config reloads applied (ok) or refused (error)."},
    {"videogate_webhook_deliveries_total", "counter", "Webhook delivery attempts by result: delivered, retry, failed."},
};

void declare(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

metrics::metrics() : last_reload_at_s_(clock::now_s()) {}

job_minute& metrics::minute_of(const std::string& upstream) {
  auto now = clock::now_s() / 60;
  auto& m = history_[upstream][static_cast<std::size_t>(now % 60)];
  if (m.minute != now) m = job_minute{now};
  return m;
}

long long metrics::webhook_backlog() const {
  std::lock_guard lk(mu_);
  return webhook_backlog_;
}

std::map<std::string, unsigned long long> metrics::webhook_deliveries() const {
  std::lock_guard lk(mu_);
  std::map<std::string, unsigned long long> out;
  static const std::string prefix = "videogate_webhook_deliveries_total{result=\"";
  for (auto it = counters_.lower_bound(prefix); it != counters_.end() && it->first.starts_with(prefix); ++it)
    out[it->first.substr(prefix.size(), it->first.size() - prefix.size() - 2)] = it->second;
  return out;
}

std::map<std::string, std::vector<job_minute>> metrics::job_history(std::int64_t now_minute) const {
  std::lock_guard lk(mu_);
  std::map<std::string, std::vector<job_minute>> out;
  for (auto& [up, ring] : history_) {
    auto& v = out[up];
    for (auto& m : ring)
      if (m.minute > now_minute - 60 && m.minute <= now_minute) v.push_back(m);
    std::sort(v.begin(), v.end(), [](const job_minute& a, const job_minute& b) { return a.minute < b.minute; });
  }
  return out;
}

std::string metrics::render() const {
  std::lock_guard lk(mu_);
  std::ostringstream out;
  for (auto& f : mapped_families) {
    declare(out, f.name, f.type, f.help);
    std::string prefix = std::string(f.name) + "{";
    if (std::string_view(f.type) == "counter") {
      for (auto it = counters_.lower_bound(prefix); it != counters_.end() && it->first.starts_with(prefix); ++it)
        out << it->first << ' ' << it->second << '\n';
      continue;
    }
    for (auto it = histograms_.lower_bound(prefix); it != histograms_.end() && it->first.starts_with(prefix); ++it) {
      auto& h = it->second;
      auto labels = it->first.substr(prefix.size());
      unsigned long long cum = 0;
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        cum += h.buckets[i];
        out << f.name << "_bucket{" << labels << ",le=\"" << bounds[i] << "\"} " << cum << '\n';
      }
      out << f.name << "_bucket{" << labels << ",le=\"+Inf\"} " << h.count << '\n';
      out << f.name << "_sum{" << labels << "} " << h.sum << '\n';
      out << f.name << "_count{" << labels << "} " << h.count << '\n';
    }
  }
  declare(out, "videogate_job_reads_total", "counter",
          "Job reads by how they were answered: terminal_cache, store, or poll (went on to the shared poll, which asks "
          "the vendor unless the job proves finished, fresh, leased to another replica or over the poll budget).");
  static constexpr const char* sources[] = {"terminal_cache", "store", "poll"};
  for (int i = 0; i < 3; ++i)
    out << "videogate_job_reads_total{source=\"" << sources[i] << "\"} " << job_reads_[i].load(std::memory_order_relaxed)
        << '\n';
  declare(out, "videogate_content_bytes_total", "counter", "Video content bytes streamed to clients.");
  out << "videogate_content_bytes_total " << content_bytes_ << '\n';
  declare(out, "videogate_webhook_backlog", "gauge", "Webhook events waiting to be delivered.");
  out << "videogate_webhook_backlog " << webhook_backlog_ << '\n';
  declare(out, "videogate_config_last_reload_successful", "gauge",
          "1 when the last config load (start-up or reload) was applied, 0 when it was refused.");
  out << "videogate_config_last_reload_successful " << (last_reload_ok_ ? 1 : 0) << '\n';
  declare(out, "videogate_config_last_reload_timestamp_seconds", "gauge",
          "Unix time of the last config load attempt (start-up or reload).");
  out << "videogate_config_last_reload_timestamp_seconds " << last_reload_at_s_ << '\n';
  return out.str();
}

}  // namespace videogate::observe
