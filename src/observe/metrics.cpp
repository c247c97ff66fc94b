#include "videogate/observe/metrics.hpp"

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
}

void metrics::job_finished(const std::string& upstream, bool completed) {
  std::lock_guard lk(mu_);
  ++counters_[std::string(completed ? "videogate_jobs_completed_total" : "videogate_jobs_failed_total") +
              "{upstream=\"" + esc(upstream) + "\"}"];
}

void metrics::reload(bool ok) {
  std::lock_guard lk(mu_);
  ++counters_[std::string("videogate_config_reloads_total{result=\"") + (ok ? "ok" : "error") + "\"}"];
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

std::string metrics::render() const {
  std::lock_guard lk(mu_);
  std::ostringstream out;
  std::string last;
  auto type_line = [&](const std::string& name, const char* type, const char* help) {
    if (name == last) return;
    last = name;
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  for (auto& [k, v] : counters_) {
    auto name = k.substr(0, k.find('{'));
    type_line(name, "counter", "See README, section Metrics.");
    out << k << ' ' << v << '\n';
  }
  for (auto& [k, h] : histograms_) {
    auto brace = k.find('{');
    auto name = k.substr(0, brace);
    auto labels = k.substr(brace + 1);
    type_line(name, "histogram", "See README, section Metrics.");
    unsigned long long cum = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cum += h.buckets[i];
      out << name << "_bucket{" << labels << ",le=\"" << bounds[i] << "\"} " << cum << '\n';
    }
    out << name << "_bucket{" << labels << ",le=\"+Inf\"} " << h.count << '\n';
    out << name << "_sum{" << labels << "} " << h.sum << '\n';
    out << name << "_count{" << labels << "} " << h.count << '\n';
  }
  out << "# HELP videogate_content_bytes_total Video content bytes streamed to clients.\n"
      << "# TYPE videogate_content_bytes_total counter\nvideogate_content_bytes_total " << content_bytes_ << '\n';
  out << "# HELP videogate_webhook_backlog Webhook events waiting to be delivered.\n"
      << "# TYPE videogate_webhook_backlog gauge\nvideogate_webhook_backlog " << webhook_backlog_ << '\n';
  return out.str();
}

}  // namespace videogate::observe
