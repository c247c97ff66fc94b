// A URL a vendor put in its answer, from the dialect that reads it to the content fetch and the
// redirect (dialects::read_status -> content -> routing::check_content_url): whatever the
// bytes, a URL that passes is an absolute http(s) URL with no control characters (so it can
// go into a Location header or a request line as is), on content_hosts when set, and private
// only where the rules allow it.
#include "videogate/dialects/dialect.hpp"
#include "videogate/http/address.hpp"
#include "videogate/routing/content_url.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using videogate::config::dialect_kind;
  if (size < 1) return 0;
  static const std::unique_ptr<videogate::dialects::dialect> unified =
      videogate::dialects::make_dialect(dialect_kind::unified);
  static const std::unique_ptr<videogate::dialects::dialect> freesora =
      videogate::dialects::make_dialect(dialect_kind::freesora);
  const std::uint8_t flags = data[0];
  std::string url(reinterpret_cast<const char*>(data) + 1, size - 1);

  videogate::config::upstream_config up;
  up.name = "vendor";
  up.base_url = (flags & 1) ? "https://api.vendor.example" : "http://127.0.0.1:9090";
  if (flags & 2) up.content_hosts = {"cdn.example", "*.media.example"};
  up.allow_private_addresses = (flags & 4) != 0;

  // The URL arrives inside a completed status answer, JSON-escaped as a vendor would send it.
  boost::json::object body;
  std::string_view dialect;
  if (flags & 8) {
    dialect = "freesora";
    body["code"] = 0;
    body["data"] = boost::json::object{{"status", "succeeded"}, {"progress", 100}, {"result_url", url}};
  } else {
    dialect = "unified";
    body["id"] = "sora-2:task_1";
    body["status"] = "completed";
    body["video_url"] = url;
  }
  auto text = boost::json::serialize(body);
  auto& d = (flags & 8) ? *freesora : *unified;
  auto st = d.read_status(200, {{"Content-Type", "application/json"}}, text);
  if (!st || !st->content_url) return 0;
  auto call = d.content("task_1", videogate::content_variant::video, st->content_url, up);
  if (!call || call->absolute_url.empty()) return 0;
  auto checked = videogate::routing::check_content_url(call->absolute_url, up);
  if (!checked) {
    if (checked.error().code != videogate::errc::content_url_refused) __builtin_trap();
    return 0;
  }
  // Passed: safe in a header and a request line, absolute http(s), no credentials.
  for (unsigned char c : checked->url)
    if (c <= 0x20 || c == 0x7f) __builtin_trap();
  auto u = boost::urls::parse_absolute_uri(checked->url);
  if (!u) __builtin_trap();
  auto scheme = lower(u->scheme());
  if (scheme != "http" && scheme != "https") __builtin_trap();
  if (u->has_userinfo() || u->encoded_host().empty()) __builtin_trap();
  std::string host = lower(u->encoded_host());
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto base_host = lower(boost::urls::parse_uri(up.base_url)->encoded_host());
  bool own_host = host == base_host;
  if (!own_host && !up.content_hosts.empty() && !videogate::routing::host_matches(host, "cdn.example") &&
      !videogate::routing::host_matches(host, "*.media.example"))
    __builtin_trap();
  if (checked->public_only == (own_host || up.allow_private_addresses)) __builtin_trap();
  if (checked->public_only && videogate::http::is_ip_literal(host) &&
      !videogate::http::is_public_address(boost::asio::ip::make_address(host)))
    __builtin_trap();
  return 0;
}
