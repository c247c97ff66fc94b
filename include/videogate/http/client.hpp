#pragma once
/// @file The upstream HTTP client: async, keep-alive connections pooled per host, TLS verified
/// against the system CAs (plus an optional CA file), connect and request deadlines, a cap on
/// buffered answers, and streamed bodies for content (a 1 GiB video is never held in memory).
/// Thread-safe: one client serves every session; each call runs on the caller's executor.

#include "videogate/core/error.hpp"
#include "videogate/http/message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace videogate::http {

struct client_request {
  std::string method = "GET";
  std::string url;  ///< absolute: http(s)://host[:port]/path?query
  header_list headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{60'000};  ///< per read/write of the exchange
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  /// Connect only to public addresses (a URL a vendor chose, DESIGN §8): the resolved
  /// addresses are filtered before connecting, so a name that resolves (or rebinds) to a
  /// private one reaches nothing; none left is content_url_refused.
  bool public_only = false;
};

struct client_response {
  int status = 0;
  header_list headers;
  std::string body;
  std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
};

/// A response whose body is read piece by piece. Destroying it before the end drops the
/// connection (it is never returned to the pool half-read).
class client_stream {
 public:
  virtual ~client_stream() = default;
  int status = 0;
  header_list headers;
  std::optional<std::uint64_t> content_length;
  std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
  /// Reads up to `buf.size()` body bytes; 0 at the end. Throws error_exception on failure.
  virtual boost::asio::awaitable<std::size_t> read_some(std::span<char> buf) = 0;
};

struct client_options {
  std::vector<std::string> ca_files;  ///< extra trusted CAs (PEM), in addition to the system store
  std::size_t max_idle_per_host = 64;
  std::chrono::milliseconds idle_timeout{15'000};  ///< drop pooled connections idle longer
  std::size_t max_idle_hosts = 256;  ///< hosts with pooled connections (vendor-chosen CDN hosts vary)
};

class client {
 public:
  client(boost::asio::any_io_executor ex, client_options opts = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends the request and reads the whole answer (capped). Failures come back as
  /// upstream_unavailable (connect, reset), upstream_timeout (with after_send set once the
  /// request was written), or bad_upstream_response (malformed HTTP, answer too large).
  boost::asio::awaitable<result<client_response>> send(client_request req);
  /// Sends the request and returns once the answer's head has arrived.
  boost::asio::awaitable<result<std::unique_ptr<client_stream>>> open(client_request req);

  struct impl;  ///< implementation detail (public only for the .cpp's stream type)

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace videogate::http
