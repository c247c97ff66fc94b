#pragma once
/// @file What the handlers share: the gateway's parts (`gateway`), what one request carries
/// through its handler (`context`), and the response builders every handler uses. Private to
/// api: nothing below api sees a request context.

#include "videogate/api/service.hpp"
#include "videogate/core/error.hpp"
#include "videogate/http/message.hpp"
#include "videogate/jobs/async_store.hpp"
#include "videogate/jobs/coalescer.hpp"
#include "videogate/jobs/ids.hpp"
#include "videogate/jobs/refresher.hpp"
#include "videogate/jobs/watcher.hpp"
#include "videogate/jobs/webhook_sender.hpp"
#include "videogate/routing/live.hpp"
#include "videogate/routing/router.hpp"
#include "videogate/routing/upstream_call.hpp"

#include <boost/url/url_view.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace videogate::observe { class metrics; }

namespace videogate::api {

class key_stamps;

/// The gateway's parts, made once by `service` and shared by every request.
struct gateway {
  explicit gateway(service_deps deps);

  service_deps d;
  std::shared_ptr<routing::live> live;
  jobs::id_codec ids;
  std::shared_ptr<routing::upstream_caller> caller;
  std::shared_ptr<jobs::refresher> refresher;
  std::shared_ptr<jobs::watcher> watcher;
  std::shared_ptr<jobs::webhook_sender> webhooks;
  /// In-flight idempotent creates: the same (client, Idempotency-Key) runs once.
  std::unique_ptr<jobs::coalescer<http::response>> creates;
  /// When each key's state last changed (fleet.hpp): shared states are taken only when newer.
  std::shared_ptr<key_stamps> stamps;

  /// Reloads the config (SIGHUP, POST /admin/reload): routing::live swaps it, then the
  /// service's on_reload hook and the reload metric. Any thread.
  reload_report reload();

  /// The last config load as the status page shows it: start-up, then each reload.
  struct load_status {
    std::int64_t at_ms = 0;
    bool applied = true;
    bool startup = true;
    std::string source;
    std::vector<std::string> errors;  ///< scrubbed of every key
    std::vector<std::string> needs_restart;
  };
  load_status last_load() const;
  const std::int64_t started_ms;
  /// Unfinished jobs per (upstream, key) as the store holds them, for max_jobs_per_key at
  /// start-up and for keys a reload brings in. Blocking: start-up and reload only.
  routing::unfinished_counts count_unfinished() const;
  /// Has every key ledger of `rt` save its key's state changes in the store (DESIGN §4).
  void keep_key_states(routing::router& rt);
  /// Puts the key states the store kept back into the current snapshot's ledgers (start-up).
  void restore_key_states();

  jobs::async_store& store() const noexcept { return *d.store; }
  observe::metrics& metrics() const noexcept { return *d.metrics; }

 private:
  std::mutex reload_mu_;  ///< reloads one at a time, with their recorded status
  mutable std::mutex load_mu_;
  load_status last_load_;
};

/// What one request carries through its handler.
struct context {
  /// The config snapshot this request runs on, from start to end (a reload swaps in a new one
  /// for later requests; this one stays alive as long as the request needs it).
  std::shared_ptr<routing::router> snap;
  std::string request_id;
  std::string client;  ///< client name; "" without client auth
  const config::client_config* client_cfg = nullptr;
  std::string route = "unknown";  ///< route template, for logs and metrics
  std::string upstream;           ///< for the access log
  std::string key_fp;
};

http::response json_response(int status, std::string body);

/// The OpenAI error envelope for `e` (the one errc table), scrubbed of every upstream key.
http::response error_response(const gateway& g, const context& ctx, const error& e);

/// The Video object, with `openai-poll-after-ms` while the job is unfinished.
http::response video_response(const routing::router& rt, const jobs::job_record& j);

/// The Bearer token of `Authorization`, or empty.
std::string_view bearer(const http::request& req);

/// Finds the client key (DESIGN §1 auth); no `clients:` configured: everyone is the "" client.
result<void> authenticate(const http::request& req, context& ctx);

/// Whether the request's client may use `model`.
result<void> allow_model(const context& ctx, const std::string& model);

/// Opens an id and checks that it belongs to this client. Forged, tampered and other
/// clients' ids are all the same 404.
result<jobs::id_fields> open_id(const gateway& g, const context& ctx, std::string_view id);

std::optional<std::string> query_param(const boost::urls::url_view& u, std::string_view name);

/// `s` as an int when it is one whole decimal integer (a leading '-' at most; no space, '+'
/// or trailing text), else nullopt. Callers check the range.
std::optional<int> whole_int(std::string_view s);

}  // namespace videogate::api
