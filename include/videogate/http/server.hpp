#pragma once
/// @file The downstream HTTP/1.1 server: Beast coroutine sessions with keep-alive, limits on
/// headers and body, a deadline per socket operation and per request, graceful shutdown.

#include "videogate/core/error.hpp"
#include "videogate/http/message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace videogate::http {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint64_t max_body_bytes = 50 * 1024 * 1024;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds request_timeout{60'000};  ///< reading the body + handling
  std::chrono::milliseconds idle_timeout{65'000};     ///< keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};    ///< per write of a streamed chunk
  std::chrono::milliseconds header_timeout{10'000};   ///< the whole request head, from its first byte
  std::uint32_t max_connections = 10'000;             ///< beyond it accept waits for a session to end
};

/// Limits a reload may change; each request reads them at its start.
struct server_limits {
  std::uint64_t max_body_bytes = 50 * 1024 * 1024;
  std::chrono::milliseconds request_timeout{60'000};
  std::chrono::milliseconds header_timeout{10'000};
  std::uint32_t max_connections = 10'000;
};

/// Handles one request; runs on the session's strand. Must not throw for expected failures.
using handler_fn = std::function<boost::asio::awaitable<response>(request&)>;
/// Builds the response for a failure the server itself detects (413, 408, 400 framing).
using error_fn = std::function<response(const request&, const error&)>;
/// Looks at a request's head before its body is read; a response refuses the request at
/// once (e.g. 401 for a wrong client key: the body is never buffered) and closes the
/// connection. Runs on the session's strand; must not throw.
using head_fn = std::function<std::optional<response>(const request&)>;

class server {
 public:
  server(boost::asio::io_context& ioc, server_options opts, handler_fn handler, error_fn on_error,
         head_fn on_head = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens; throws std::runtime_error naming the address on failure.
  /// Returns the bound port (useful with port 0).
  std::uint16_t start();
  /// Stops accepting; open sessions finish their current request, then close. Call from any
  /// thread. `done` runs (on the io_context) once every session has ended or `grace` passed.
  void stop(std::chrono::milliseconds grace, std::function<void()> done);
  std::size_t active_sessions() const;
  /// Changes the limits for requests (and connections) that start from now on (reload).
  void set_limits(const server_limits& l);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace videogate::http
