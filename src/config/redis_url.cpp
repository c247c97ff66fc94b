#include "videogate/config/config.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace videogate::config {

std::optional<redis_options> parse_redis_url(const std::string& url, std::string* error) {
  auto bad = [&](std::string why) -> std::optional<redis_options> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  auto u = boost::urls::parse_uri(url);
  if (!u) return bad("is not a URL (redis://[[user]:password@]host[:port][/db])");
  if (u->scheme() != "redis") return bad("must start with redis:// (TLS and unix sockets are not supported)");
  redis_options o;
  o.host = std::string(u->host_address());
  if (o.host.empty()) return bad("has no host");
  if (u->has_port()) {
    auto p = u->port();
    int port = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc{} || ptr != p.data() + p.size() || port < 1 || port > 65535)
      return bad("has a port that is not a number from 1 to 65535");
    o.port = port;
  }
  if (u->has_userinfo()) {
    o.username = std::string(u->user());
    o.password = std::string(u->password());
    if (o.password.empty() && !o.username.empty()) {
      // redis://secret@host: a password alone, the way many clients read it.
      o.password = std::move(o.username);
      o.username.clear();
    }
  }
  auto path = std::string(u->path());
  if (!path.empty() && path != "/") {
    auto db = std::string_view(path).substr(1);
    int n = 0;
    auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), n);
    if (ec != std::errc{} || ptr != db.data() + db.size() || n < 0 || n > 1023)
      return bad("has a database that is not a number (redis://host:port/0)");
    o.db = n;
  }
  if (u->has_query() || u->has_fragment()) return bad("must not have a query or a fragment");
  return o;
}

}  // namespace videogate::config
