#pragma once
/// @file Plain HTTP message types shared by the server, the handlers and the upstream client.
/// Beast stays out of this header so that the handlers and dialects compile quickly.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace videogate::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Case-insensitive ASCII comparison of header names.
bool iequals(std::string_view a, std::string_view b) noexcept;
/// The first value of `name` in `headers`, or empty.
std::string_view find_header(const header_list& headers, std::string_view name) noexcept;

/// A downstream request, fully read (the body is capped by limits.max_body_bytes).
struct request {
  std::string method;   ///< "GET", "POST", ...
  std::string target;   ///< as sent: path and query
  header_list headers;
  std::string body;
  std::string remote;   ///< peer address, for logs

  std::string_view header(std::string_view name) const noexcept { return find_header(headers, name); }
};

/// Sink for a streamed response body.
class body_writer {
 public:
  virtual ~body_writer() = default;
  /// Writes one chunk to the client; throws on a failed write (client gone, deadline).
  virtual boost::asio::awaitable<void> write(std::span<const char> chunk) = 0;
};

/// A response. Either `body` is sent as is, or, when `stream` is set, the head is sent with
/// `content_length` (chunked when unknown) and `stream` writes the body. A stream that throws
/// after the head is out ends the connection (the client sees a short body, never a lie).
struct response {
  int status = 200;
  header_list headers;
  std::string body;
  std::optional<std::uint64_t> content_length;
  std::function<boost::asio::awaitable<void>(body_writer&)> stream;

  response& set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

}  // namespace videogate::http
