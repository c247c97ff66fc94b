#pragma once
/// @file A request head as the server reads it: Beast's parser with the server's limits (head
/// size; the body cap judged from Content-Length before any body is read), turned into our
/// `request`. The server's sessions read heads off the socket through `head_reader`; the
/// fuzzer feeds it bytes. No Beast type in this header.

#include "videogate/http/message.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace videogate::http {

struct head_limits {
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 50 * 1024 * 1024;
};

/// What the server decides from a head alone.
enum class head_verdict {
  ok,             ///< read the body (if any) and handle it
  incomplete,     ///< more bytes are needed
  too_large,      ///< 431: the head exceeds max_header_bytes
  malformed,      ///< 400: not HTTP/1.x
  body_too_large, ///< 413: Content-Length above max_body_bytes
};

struct parsed_head {
  head_verdict verdict = head_verdict::incomplete;
  request req;  ///< method, target, headers (no body); valid when verdict is ok or body_too_large
  std::optional<std::uint64_t> content_length;
  bool keep_alive = true;
  bool expect_continue = false;
  std::size_t consumed = 0;  ///< bytes of the input that belong to the head
};

/// Parses a head from `bytes` (which may hold more: the start of the body).
parsed_head parse_request_head(std::string_view bytes, const head_limits& limits);

}  // namespace videogate::http
