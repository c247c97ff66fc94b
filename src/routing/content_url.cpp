#include "videogate/routing/content_url.hpp"

#include "videogate/http/address.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace videogate::routing {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string bare_host(std::string_view h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return lower(h);
}

error refuse(std::string why) {
  return fail(errc::content_url_refused, "The vendor's content URL was refused: " + std::move(why));
}

}  // namespace

bool host_matches(std::string_view host, std::string_view pattern) noexcept {
  if (pattern.starts_with("*.")) {
    auto domain = pattern.substr(1);  // ".example.com"
    return host.size() > domain.size() && host.ends_with(domain);
  }
  return host == pattern;
}

result<content_target> check_content_url(std::string_view url, const config::upstream_config& up) {
  if (url.empty()) return refuse("it is empty.");
  if (url.size() > 8192) return refuse("it is longer than 8192 characters.");
  // Nothing from a vendor reaches a header or a request line unchecked: no CR, LF, NUL, other
  // control characters or spaces (a URL carries them percent-encoded).
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return refuse("it contains control characters or spaces.");
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return refuse("it is not an absolute URL.");
  auto scheme = lower(parsed->scheme());
  if (scheme != "http" && scheme != "https") return refuse("its scheme is not http or https.");
  if (!parsed->has_authority() || parsed->encoded_host().empty()) return refuse("it has no host.");
  if (parsed->has_userinfo()) return refuse("it carries credentials.");
  auto host = bare_host(parsed->encoded_host());

  content_target t;
  t.url = std::string(url);
  std::string base_host;
  if (auto b = boost::urls::parse_uri(up.base_url)) base_host = bare_host(b->encoded_host());
  if (!base_host.empty() && host == base_host) {
    t.public_only = false;  // the upstream's own host, any port: trusted as its base_url is
    return t;
  }
  if (!up.content_hosts.empty() &&
      std::none_of(up.content_hosts.begin(), up.content_hosts.end(), [&](auto& p) { return host_matches(host, p); }))
    return refuse("its host is not one of the upstream's content_hosts.");
  t.public_only = !up.allow_private_addresses;
  if (t.public_only && http::is_ip_literal(host) && !http::is_public_address(boost::asio::ip::make_address(host)))
    return refuse("it points at a loopback, private, link-local or other non-public address.");
  return t;
}

}  // namespace videogate::routing
