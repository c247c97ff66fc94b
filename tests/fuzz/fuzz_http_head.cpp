// Request heads from any client (http/request_head, the server's own parser setup and
// judgment): any bytes must give a verdict, never a crash or a request that breaks the
// server's limits. Then what the gateway does with a head before routing it: the target as an
// origin-form URL, the Authorization header.
#include "videogate/http/request_head.hpp"

#include <boost/url/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using videogate::http::head_verdict;
  if (size < 1) return 0;
  // The first byte picks small limits now and then, so the limit paths are reached too.
  videogate::http::head_limits limits;
  if (data[0] & 1) limits.max_header_bytes = 64 + data[0];
  if (data[0] & 2) limits.max_body_bytes = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto h = videogate::http::parse_request_head(bytes, limits);
  if (h.consumed > bytes.size()) __builtin_trap();
  if (h.verdict == head_verdict::ok || h.verdict == head_verdict::body_too_large) {
    if (h.req.method.empty()) __builtin_trap();
    std::size_t head_bytes = h.req.method.size() + h.req.target.size();
    for (auto& [k, v] : h.req.headers) {
      head_bytes += k.size() + v.size();
      for (unsigned char c : k + v)
        if (c == '\r' || c == '\n') __builtin_trap();  // a header smuggled inside another
    }
    if (head_bytes > limits.max_header_bytes) __builtin_trap();  // the head limit held
    if (h.verdict == head_verdict::ok && h.content_length && *h.content_length > limits.max_body_bytes) __builtin_trap();
    if (h.verdict == head_verdict::body_too_large && !(h.content_length && *h.content_length > limits.max_body_bytes))
      __builtin_trap();
    if (auto u = boost::urls::parse_origin_form(h.req.target))
      for (auto seg : u->segments()) (void)seg.size();
    (void)h.req.header("authorization");
  }
  return 0;
}
