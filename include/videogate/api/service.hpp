#pragma once
/// @file The downstream API (DESIGN §1): the route table and one handler per route.
/// One service serves every session; handlers run on the session's strand and keep blocking
/// work (the store) on the store thread.

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace videogate::jobs { class async_store; }
namespace videogate::http { class client; }
namespace videogate::observe { class metrics; }

namespace videogate::api {

struct service_deps {
  std::shared_ptr<const config::config> cfg;
  std::shared_ptr<jobs::async_store> store;
  std::shared_ptr<http::client> client;
  std::shared_ptr<observe::metrics> metrics;
  std::string id_secret;  ///< resolved ids.secret
};

class service {
 public:
  explicit service(service_deps deps);
  ~service();

  /// Handles one request (route table, auth, handler, access log). Never throws.
  boost::asio::awaitable<http::response> handle(http::request& req);
  /// The OpenAI-style error response for a failure found outside a handler (server limits).
  http::response error_response(const http::request& req, const error& e) const;
  bool ready() const noexcept;
  /// Counts unfinished jobs per key from the store (max_jobs_per_key survives restarts).
  /// Blocking: call once at start-up, before serving.
  void load_state();
  /// Starts the background job watcher on `ex` (a strand is best).
  void start_watcher(boost::asio::any_io_executor ex);
  /// Asks the watcher to stop after its current pass.
  void stop();

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace videogate::api
