#include "health.hpp"

#include "videogate/observe/metrics.hpp"

namespace videogate::api {

namespace {

/// Key states as Prometheus gauges (read at scrape time from the pools).
std::string key_metrics(const routing::router& rt) {
  std::string out = "# HELP videogate_upstream_keys Upstream keys by state.\n# TYPE videogate_upstream_keys gauge\n";
  std::string jobs =
      "# HELP videogate_jobs_in_flight Unfinished jobs per upstream (as this process counts them per key).\n# TYPE videogate_jobs_in_flight gauge\n";
  auto now = routing::key_clock::now();
  for (auto& up : rt.upstreams()) {
    int counts[3] = {0, 0, 0};
    int unfinished = 0;
    for (auto& k : up->keys().view()) {
      ++counts[static_cast<int>(routing::shown_health(k.state, now))];
      unfinished += k.unfinished;
    }
    for (int h = 0; h < 3; ++h)
      out += "videogate_upstream_keys{upstream=\"" + up->cfg().name + "\",state=\"" +
             routing::to_string(static_cast<routing::key_health>(h)) + "\"} " + std::to_string(counts[h]) + "\n";
    jobs += "videogate_jobs_in_flight{upstream=\"" + up->cfg().name + "\"} " + std::to_string(unfinished) + "\n";
  }
  return out + jobs;
}

}  // namespace

// GET /healthz, GET /readyz
http::response health(std::string_view which) {
  return json_response(200, which == "healthz" ? R"({"status":"ok"})" : R"({"status":"ready"})");
}

boost::asio::awaitable<http::response> readiness(gateway& g) {
  if (g.store().shared()) {
    try {
      co_await g.store().ping();
    } catch (const std::exception&) {
      co_return json_response(503, R"({"status":"not ready","reason":"the shared store (Redis) does not answer"})");
    }
  }
  co_return health("readyz");
}

// GET /metrics
http::response metrics_page(const gateway& g, const routing::router& rt) {
  http::response r;
  r.body = g.metrics().render() + key_metrics(rt) +
           "# HELP videogate_store_errors_total Job store operations that failed.\n"
           "# TYPE videogate_store_errors_total counter\nvideogate_store_errors_total " +
           std::to_string(g.store().errors()) + "\n";
  r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  return r;
}

}  // namespace videogate::api
