#pragma once
// Private to src/http: the Beast parser setup and the judgment of a parsed head that the
// server's sessions and parse_request_head (the fuzzer's entry) share, so the fuzzer runs the
// server's own code.

#include "videogate/http/request_head.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace videogate::http::detail {

using head_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// The server's limits on a fresh parser: the head's size; no body limit while the head is
/// read (Beast would fail the head on a large Content-Length; `judge` weighs it instead).
inline void prepare(head_parser& p, const head_limits& l) {
  p.header_limit(l.max_header_bytes);
  p.body_limit(boost::none);
}

/// What a head holds: its method, target, names and values (the separators not counted).
inline std::size_t head_size(const request& r) {
  std::size_t n = r.method.size() + r.target.size();
  for (auto& [k, v] : r.headers) n += k.size() + v.size();
  return n;
}

/// Our request and the server's verdict from a parser whose head is done.
inline parsed_head judge(const head_parser& p, const head_limits& l) {
  parsed_head out;
  auto& head = p.get();
  out.req.method = std::string(head.method_string());
  out.req.target = std::string(head.target());
  for (auto& f : head) out.req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  if (auto len = p.content_length()) out.content_length = *len;
  out.keep_alive = p.keep_alive();
  // Beast's header_limit can let a head a little past the limit through (a fuzzer found a
  // 70-byte head under a 65-byte limit); the limit is ours, so it is checked here exactly, on
  // what the head holds.
  if (head_size(out.req) > l.max_header_bytes) {
    out.verdict = head_verdict::too_large;
    return out;
  }
  out.expect_continue = iequals(out.req.header("expect"), "100-continue");
  out.verdict = out.content_length && *out.content_length > l.max_body_bytes ? head_verdict::body_too_large
                                                                               : head_verdict::ok;
  return out;
}

}  // namespace videogate::http::detail
