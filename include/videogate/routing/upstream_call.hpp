#pragma once
/// @file One vendor call with one key (DESIGN §6 "the upstream call"): the HTTP request built
/// from a dialect's call and the upstream's config, the key's in-flight count, the metric and
/// the warning line, and what the answer teaches the key pool. Shared by the handlers, the job
/// refresher and the watcher, so that none of them includes another.

#include "videogate/core/error.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/http/client.hpp"
#include "videogate/routing/router.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <utility>

namespace videogate::observe { class metrics; }

namespace videogate::routing {

/// The HTTP request for `call` on `up`: `{base_url}{path}` with the key as a Bearer token, or
/// the call's absolute URL (a vendor's content URL) without any key; the upstream's timeouts.
http::client_request upstream_request(const upstream& up, const dialects::upstream_call& call, const key_ref* key);

/// Sends vendor calls through the pooled client. Any executor; thread-safe.
class upstream_caller {
 public:
  upstream_caller(std::shared_ptr<http::client> client, std::shared_ptr<observe::metrics> metrics)
      : client_(std::move(client)), metrics_(std::move(metrics)) {}

  /// Sends `call` with `key` (null: no key), counts it in flight on the key, records the
  /// metric `op` and logs a transport failure (never the key: its fingerprint).
  boost::asio::awaitable<result<http::client_response>> send(upstream& up, const std::string& op,
                                                             const dialects::upstream_call& call, const key_ref* key);

  http::client& client() noexcept { return *client_; }
  observe::metrics& metrics() noexcept { return *metrics_; }

 private:
  std::shared_ptr<http::client> client_;
  std::shared_ptr<observe::metrics> metrics_;
};

/// Tells the key pool what an answer said about `key` (DESIGN §5); `e` null: success.
/// `probe`: the answer is to the key's half-open probe.
void report(upstream& up, const key_ref* key, const error* e, bool probe = false);

template <class R>
void report_result(upstream& up, const key_ref* key, const R& r, bool probe = false) {
  if (r) {
    report(up, key, nullptr, probe);
  } else {
    auto e = r.error();
    report(up, key, &e, probe);
  }
}

/// Gives an unanswered half-open probe back when it goes out of scope (request ended, client
/// gone, shutdown), so the key is probed again rather than never. `answered()` once the probe's
/// answer was reported.
class probe_guard {
 public:
  probe_guard(key_pool* pool, const key_ref* key) : pool_(pool), key_(key) {}
  probe_guard(probe_guard&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), key_(o.key_) {}
  probe_guard(const probe_guard&) = delete;
  probe_guard& operator=(const probe_guard&) = delete;
  probe_guard& operator=(probe_guard&&) = delete;
  ~probe_guard() {
    if (pool_) pool_->release_probe(*key_);
  }
  const key_ref* key() const noexcept { return key_; }
  void answered() noexcept { pool_ = nullptr; }

 private:
  key_pool* pool_;
  const key_ref* key_;
};

}  // namespace videogate::routing
