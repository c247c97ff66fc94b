#include "videogate/http/request_head.hpp"

#include "head_parser.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

namespace bhttp = boost::beast::http;

namespace videogate::http {

parsed_head parse_request_head(std::string_view bytes, const head_limits& limits) {
  detail::head_parser parser;
  detail::prepare(parser, limits);
  parser.eager(false);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_header_done() && used < bytes.size()) {
    auto n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || n == 0) break;
  }
  parsed_head out;
  if (ec == bhttp::error::header_limit) {
    out.verdict = head_verdict::too_large;
  } else if (ec) {
    out.verdict = head_verdict::malformed;
  } else if (!parser.is_header_done()) {
    // Beast reports an over-long head only once it has seen that much.
    out.verdict = used >= limits.max_header_bytes ? head_verdict::too_large : head_verdict::incomplete;
  } else {
    out = detail::judge(parser, limits);
  }
  out.consumed = used;
  return out;
}

}  // namespace videogate::http
