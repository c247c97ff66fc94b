#pragma once
/// @file The downstream API (DESIGN §1) as the HTTP server sees it: one entry point per request
/// (request id, dispatch to the handlers, the access log and metrics), plus the gateway's
/// lifecycle (start-up state, the job watcher, reload). The handlers live one file per resource
/// beside it in src/api/. One service serves every session; handlers run on the session's
/// strand and keep blocking work (the store) on the store thread.

#include "videogate/config/config.hpp"
#include "videogate/config/reload.hpp"
#include "videogate/core/error.hpp"
#include "videogate/http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace videogate::jobs { class async_store; }
namespace videogate::http { class client; }
namespace videogate::observe { class metrics; }

namespace videogate::api {

struct service_deps {
  std::shared_ptr<const config::config> cfg;  ///< at start-up (restart-only keys keep its values)
  std::shared_ptr<jobs::async_store> store;
  std::shared_ptr<http::client> client;
  std::shared_ptr<observe::metrics> metrics;
  std::string id_secret;  ///< resolved ids.secret
  /// Reads the config again for a reload (SIGHUP, POST /admin/reload); empty: reload refused.
  std::function<config::load_result()> load_config;
  /// Runs after a reload swapped a new config in: for what lives outside the service
  /// (the server's limits, the log level and format).
  std::function<void(const config::config&)> on_reload;
};

/// What a reload did.
using reload_report = config::reload_report;

class service {
 public:
  explicit service(service_deps deps);
  ~service();

  /// Handles one request (route table, auth, handler, access log). Never throws.
  boost::asio::awaitable<http::response> handle(http::request& req);
  /// The OpenAI-style error response for a failure found outside a handler (server limits).
  http::response error_response(const http::request& req, const error& e) const;
  /// Looks at a request's head before its body is read: a `/v1` request without a valid
  /// client key is answered 401 here (logged like any request), so its body is never buffered.
  std::optional<http::response> check_head(const http::request& req);
  bool ready() const noexcept;
  /// Counts unfinished jobs per key from the store (max_jobs_per_key survives restarts).
  /// Blocking: call once at start-up, before serving.
  void load_state();
  /// Starts the background job watcher on `ex` (a strand is best).
  void start_watcher(boost::asio::any_io_executor ex);
  /// Asks the watcher to stop after its current pass.
  void stop();
  /// Reads the config again and swaps it in for requests that start from now on; requests in
  /// flight finish on the snapshot they began with. Key states carry over for keys that stay.
  /// An invalid config is refused (errors logged) and the running one stays. Any thread.
  reload_report reload();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace videogate::api
