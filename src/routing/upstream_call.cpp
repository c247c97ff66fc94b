#include "videogate/routing/upstream_call.hpp"

#include "videogate/observe/metrics.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace videogate::routing {

http::client_request upstream_request(const upstream& up, const dialects::upstream_call& call, const key_ref* key) {
  http::client_request r;
  r.method = call.method;
  r.url = call.absolute_url.empty() ? up.cfg().base_url + call.path : call.absolute_url;
  r.headers = call.headers;
  // A vendor-chosen URL (content on a CDN) never gets the key.
  if (key && call.absolute_url.empty()) r.headers.emplace_back("Authorization", up.dialect().authorization(key->secret));
  r.body = call.body;
  r.connect_timeout = up.cfg().connect_timeout;
  r.timeout = up.cfg().timeout;
  return r;
}

boost::asio::awaitable<result<http::client_response>> upstream_caller::send(upstream& up, const std::string& op,
                                                                            const dialects::upstream_call& call,
                                                                            const key_ref* key) {
  auto started = std::chrono::steady_clock::now();
  if (key) up.keys().request_started(*key);
  auto r = co_await client_->send(upstream_request(up, call, key));
  if (key) up.keys().request_finished(*key);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  std::string outcome =
      r ? (r->status < 400 ? "ok" : "http_" + std::to_string(r->status)) : std::string(to_string(r.error().code));
  metrics_->upstream(up.cfg().name, op, outcome, took);
  if (!r) spdlog::warn("upstream {} {} with key {} failed: {}", up.cfg().name, op, key ? key->fp : "-", r.error().message);
  co_return r;
}

void report(upstream& up, const key_ref* key, const error* e, bool probe) {
  if (!key) return;
  std::optional<std::chrono::seconds> retry_after;
  if (e) up.keys().ledger()->note_error(*key, *e);
  if (e && e->retry_after_s) retry_after = std::chrono::seconds(*e->retry_after_s);
  up.keys().report(*key, e ? event_for(e->code) : key_event::success, key_clock::now(), retry_after, probe);
}

}  // namespace videogate::routing
