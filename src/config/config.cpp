#include "videogate/config/config.hpp"

#include "videogate/core/duration.hpp"

#include <boost/url/parse.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>

namespace videogate::config {

namespace {

namespace urls = boost::urls;

// An upstream without `models:` serves these under their own names.
constexpr std::array<std::string_view, 2> identity_models{"sora-2", "sora-2-pro"};

constexpr std::array<std::string_view, 11> root_keys{
    "listen", "threads", "public_base_url", "limits", "clients", "admin",
    "log",    "store",   "ids",             "upstreams", "routes"};
constexpr std::array<std::string_view, 2> limits_keys{"max_body_bytes", "request_timeout"};
constexpr std::array<std::string_view, 3> client_keys{"name", "key", "models"};
constexpr std::array<std::string_view, 1> admin_keys{"key"};
constexpr std::array<std::string_view, 2> log_keys{"level", "format"};
constexpr std::array<std::string_view, 3> store_keys{"kind", "path", "sync"};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> store_syncs{{{"normal", "normal"}, {"full", "full"}}};
constexpr std::array<std::string_view, 1> ids_keys{"secret"};
constexpr std::array<std::string_view, 15> upstream_keys{
    "name",    "dialect",         "base_url", "request_format", "keys",
    "key_strategy", "max_jobs_per_key", "connect_timeout", "timeout", "poll_interval",
    "models",  "durations",       "defaults", "content",  "ca_file"};
constexpr std::array<std::string_view, 2> route_keys{"model", "upstreams"};

template <class E>
using choices = std::span<const std::pair<std::string_view, E>>;

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> log_levels{{
    {"trace", "trace"}, {"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> log_formats{{
    {"text", "text"}, {"json", "json"}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> store_kinds{{
    {"sqlite", "sqlite"}, {"memory", "memory"}}};
constexpr std::array<std::pair<std::string_view, dialect_kind>, 3> dialects{{
    {"openai", dialect_kind::openai},
    {"unified", dialect_kind::unified},
    {"freesora", dialect_kind::freesora}}};
constexpr std::array<std::pair<std::string_view, request_format>, 2> formats{{
    {"multipart", request_format::multipart}, {"json", request_format::json}}};
constexpr std::array<std::pair<std::string_view, key_strategy>, 3> strategies{{
    {"round_robin", key_strategy::round_robin},
    {"random", key_strategy::random},
    {"least_busy", key_strategy::least_busy}}};
constexpr std::array<std::pair<std::string_view, content_mode>, 2> content_modes{{
    {"proxy", content_mode::proxy}, {"redirect", content_mode::redirect}}};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = above;
    }
  }
  return row[b.size()];
}

std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (auto c : candidates) {
    auto d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing";
    default: return "an undefined value";
  }
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

int line_of(const YAML::Node& n) {
  int line = n.Mark().line;
  return line < 0 ? 0 : line + 1;
}

bool is_var_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::optional<unsigned long long> parse_unsigned(std::string_view s) {
  unsigned long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  auto v = parse_unsigned(s);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

// "host:port", "[v6]:port". Returns the reason when it is not one.
std::optional<std::string> parse_listen(const std::string& s, std::string& host, std::uint16_t& port) {
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return "unclosed '[' in IPv6 address";
    host = s.substr(1, close - 1);
    if (host.empty() || host.find(':') == std::string::npos) return "expected an IPv6 address in brackets";
    bool ok = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    if (!ok) return "invalid IPv6 address '" + host + "'";
    if (close + 1 >= s.size() || s[close + 1] != ':') return "expected host:port, e.g. [::1]:8080";
    port_text = std::string_view(s).substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) return "expected host:port, e.g. 0.0.0.0:8080";
    host = s.substr(0, colon);
    if (host.find(':') != std::string::npos) return "an IPv6 address needs brackets, e.g. [::1]:8080";
    if (host.empty()) return "missing host, e.g. 0.0.0.0:8080";
    bool ok = std::all_of(host.begin(), host.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    });
    if (!ok) return "invalid host '" + host + "'";
    port_text = std::string_view(s).substr(colon + 1);
  }
  auto p = parse_port(port_text);
  if (!p) return "invalid port '" + std::string(port_text) + "' (0-65535)";
  port = *p;
  return std::nullopt;
}

// An http(s) base URL with a host; the trailing slash is dropped so paths append cleanly.
std::optional<std::string> normalize_base_url(std::string s, std::string& why) {
  auto r = urls::parse_uri(s);
  if (!r) {
    why = "not a valid URL";
    return std::nullopt;
  }
  if (r->scheme_id() != urls::scheme::http && r->scheme_id() != urls::scheme::https) {
    why = "must start with http:// or https://";
    return std::nullopt;
  }
  if (!r->has_authority() || r->encoded_host().empty()) {
    why = "missing host";
    return std::nullopt;
  }
  // Credentials in a URL end up in logs; keys belong in `keys:`.
  if (r->has_userinfo()) {
    why = "must not contain credentials";
    return std::nullopt;
  }
  if (r->has_query() || r->has_fragment()) {
    why = "must not have a query or a fragment";
    return std::nullopt;
  }
  if (r->has_port() && !parse_port(r->port())) {
    why = "invalid port '" + std::string(r->port()) + "'";
    return std::nullopt;
  }
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// A URL with credentials is not repeated: config errors end up in logs.
std::string url_error(const std::string& url, const std::string& why) {
  if (url.find('@') != std::string::npos) return "invalid URL: " + why;
  return "invalid URL '" + url + "': " + why;
}

bool parse_bool(std::string_view s, bool& out) {
  if (s == "true" || s == "True" || s == "TRUE") return out = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return out = false, true;
  return false;
}

std::optional<long long> parse_integer(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_number(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  // from_chars also reads "inf" and "nan"; YAML spells those differently, keep them strings.
  if (s.empty() || s.find_first_not_of("0123456789-.eE") != std::string_view::npos ||
      s.find_first_of("0123456789") == std::string_view::npos)
    return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// A node found (or not) under a key, with where errors about it point.
struct field {
  YAML::Node node;
  std::string path;
  int line = 0;
  bool found = false;

  bool has_value() const { return found && !node.IsNull(); }
};

using entries = std::vector<std::pair<std::string, field>>;

// What the upstream pass leaves for the route pass.
struct upstream_info {
  std::vector<std::string> model_order;  // as written, for default routes
  bool models_ok = true;
  int name_line = 0;
};

class loader {
 public:
  loader(std::string file, env_lookup env) : file_(std::move(file)), env_(env) {}

  load_result load(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      fail(e.mark.line < 0 ? 0 : e.mark.line + 1, "", "YAML syntax error: " + e.msg);
      return finish();
    } catch (const YAML::Exception& e) {
      fail(0, "", std::string("YAML error: ") + e.what());
      return finish();
    }
    field root_field{root, "", std::max(1, line_of(root)), true};
    if (root.IsNull()) root_field.found = false;  // an empty file: every key absent
    auto top = mapping(root_field, root_keys);
    if (!top) return finish();
    parse_root(*top, root_field);
    return finish();
  }

 private:
  void fail(int line, std::string path, std::string message) {
    errors_.push_back(config_error{file_, line, std::move(path), std::move(message)});
  }
  void fail(const field& f, std::string message) { fail(f.line, f.path, std::move(message)); }

  static field at(const entries& e, std::string_view key, const field& parent) {
    for (const auto& [k, f] : e)
      if (k == key) return f;
    return field{YAML::Node(), join(parent.path, key), parent.line, false};
  }

  // Reports a missing or empty required key; true when there is a value to read.
  bool require(const field& f) {
    if (!f.found) {
      auto dot = f.path.rfind('.');
      fail(f, "missing required key '" + f.path.substr(dot == std::string::npos ? 0 : dot + 1) + "'");
      return false;
    }
    if (f.node.IsNull()) {
      fail(f, "needs a value");
      return false;
    }
    return true;
  }

  // The entries of a mapping, with unknown (when `allowed` is not empty) and repeated keys
  // reported. An absent or null mapping has no entries; nullopt when `f` is not a mapping.
  std::optional<entries> mapping(const field& f, std::span<const std::string_view> allowed = {}) {
    entries out;
    if (!f.has_value()) return out;
    if (!f.node.IsMap()) {
      fail(f, "expected a mapping, got " + kind_of(f.node));
      return std::nullopt;
    }
    for (auto it = f.node.begin(); it != f.node.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out a temporary proxy, references into it dangle.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      int key_line = line_of(key) ? line_of(key) : f.line;
      if (!key.IsScalar()) {
        fail(key_line, f.path, "expected a string key, got " + kind_of(key));
        continue;
      }
      const std::string& name = key.Scalar();
      std::string path = join(f.path, name);
      if (name.empty()) {
        fail(key_line, path, "empty key");
        continue;
      }
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        fail(key_line, path,
             "unknown key '" + name + "' (did you mean '" + std::string(nearest(name, allowed)) + "'?)");
        continue;
      }
      auto dup = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == name; });
      if (dup != out.end()) {
        fail(key_line, path, "duplicate key '" + name + "' (first at line " + std::to_string(dup->second.line) + ")");
        continue;
      }
      // A null value has no useful mark of its own (yaml-cpp points past it): use the key's.
      int value_line = value.IsNull() || !line_of(value) ? key_line : line_of(value);
      out.emplace_back(name, field{value, path, value_line, true});
    }
    return out;
  }

  // The elements of a sequence; an absent or null one has none; nullopt when not a sequence.
  std::optional<std::vector<field>> sequence(const field& f) {
    std::vector<field> out;
    if (!f.has_value()) return out;
    if (!f.node.IsSequence()) {
      fail(f, "expected a sequence, got " + kind_of(f.node));
      return std::nullopt;
    }
    std::size_t i = 0;
    for (const auto& element : f.node) {
      int line = element.IsNull() || !line_of(element) ? f.line : line_of(element);
      out.push_back(field{element, index(f.path, i++), line, true});
    }
    return out;
  }

  // Expands ${VAR} and ${VAR:-default} (default also when VAR is empty, as a shell does).
  std::optional<std::string> expand(const std::string& in, const field& f) {
    std::string out;
    bool ok = true;
    std::size_t pos = 0;
    while (pos < in.size()) {
      auto dollar = in.find("${", pos);
      if (dollar == std::string::npos) break;
      out.append(in, pos, dollar - pos);
      auto close = in.find('}', dollar + 2);
      if (close == std::string::npos) {
        fail(f, "unterminated '${' in value");
        return std::nullopt;
      }
      std::string inner = in.substr(dollar + 2, close - dollar - 2);
      auto sep = inner.find(":-");
      std::string name = inner.substr(0, sep);
      if (!is_var_name(name)) {
        fail(f, "invalid environment variable name '" + name + "' in '${" + inner + "}'");
        ok = false;
      } else if (auto value = env_(name); value && (!value->empty() || sep == std::string::npos)) {
        out += *value;
      } else if (sep != std::string::npos) {
        out.append(inner, sep + 2);
      } else {
        fail(f, "environment variable '" + name + "' is not set (write ${" + name +
                    ":-default} to allow it unset)");
        ok = false;
      }
      pos = close + 1;
    }
    if (pos < in.size()) out.append(in, pos);
    if (!ok) return std::nullopt;
    return out;
  }

  // The expanded scalar under `f`; nullopt when absent, or (with an error) not a scalar.
  std::optional<std::string> text(const field& f) {
    if (!f.has_value()) return std::nullopt;
    if (!f.node.IsScalar()) {
      fail(f, "expected a scalar, got " + kind_of(f.node));
      return std::nullopt;
    }
    return expand(f.node.Scalar(), f);
  }

  std::optional<std::string> nonempty_text(const field& f) {
    auto s = text(f);
    if (s && s->empty()) {
      fail(f, "must not be empty");
      return std::nullopt;
    }
    return s;
  }

  std::optional<unsigned long long> integer(const field& f, unsigned long long lo, unsigned long long hi) {
    auto s = text(f);
    if (!s) return std::nullopt;
    auto v = parse_unsigned(*s);
    if (!v || *v < lo || *v > hi) {
      fail(f, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" +
                  *s + "'");
      return std::nullopt;
    }
    return v;
  }

  std::optional<milliseconds> duration(const field& f, bool allow_zero) {
    auto s = text(f);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) {
      fail(f, "invalid duration '" + *s + "' (expected e.g. 250ms, 30s, 5m, 1h)");
      return std::nullopt;
    }
    if (!allow_zero && d->count() == 0) {
      fail(f, "must be longer than 0");
      return std::nullopt;
    }
    return d;
  }

  template <class E>
  std::optional<E> choice(const field& f, choices<E> table) {
    auto s = text(f);
    if (!s) return std::nullopt;
    std::string names;
    for (const auto& [name, value] : table) {
      if (name == *s) return value;
      names += names.empty() ? std::string(name) : " | " + std::string(name);
    }
    fail(f, "invalid value '" + *s + "' (expected " + names + ")");
    return std::nullopt;
  }

  // A `defaults:` scalar with its YAML type: quoted scalars stay strings.
  std::optional<default_value> typed_scalar(const field& f) {
    if (!require(f)) return std::nullopt;
    auto s = text(f);
    if (!s) return std::nullopt;
    default_value v;
    v.text = *s;
    const std::string& tag = f.node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return v;
    if (parse_bool(*s, v.boolean)) {
      v.kind = default_value::type::boolean;
    } else if (auto i = parse_integer(*s)) {
      v.kind = default_value::type::integer;
      v.integer = *i;
      v.number = static_cast<double>(*i);
    } else if (auto d = parse_number(*s)) {
      v.kind = default_value::type::number;
      v.number = *d;
    }
    return v;
  }

  void parse_root(const entries& top, const field& root) {
    if (auto f = at(top, "listen", root); auto s = text(f)) {
      std::string host;
      std::uint16_t port = 0;
      if (auto why = parse_listen(*s, host, port)) {
        fail(f, "invalid listen address '" + *s + "': " + *why);
      } else {
        cfg_.listen_host = host;
        cfg_.listen_port = port;
      }
    }
    if (auto v = integer(at(top, "threads", root), 0, 1024)) cfg_.threads = static_cast<unsigned>(*v);
    if (auto f = at(top, "public_base_url", root); auto s = text(f)) {
      std::string why;
      if (s->empty()) {
        cfg_.public_base_url.clear();
      } else if (auto url = normalize_base_url(*s, why)) {
        cfg_.public_base_url = *url;
      } else {
        fail(f, url_error(*s, why));
      }
    }
    parse_limits(at(top, "limits", root));
    parse_admin(at(top, "admin", root));
    parse_log(at(top, "log", root));
    parse_store(at(top, "store", root));
    parse_ids(at(top, "ids", root));
    auto upstreams = at(top, "upstreams", root);
    if (require(upstreams)) parse_upstreams(upstreams);
    parse_routes(at(top, "routes", root));
    parse_clients(at(top, "clients", root));
  }

  void parse_limits(const field& f) {
    auto e = mapping(f, limits_keys);
    if (!e) return;
    if (auto v = integer(at(*e, "max_body_bytes", f), 1, std::numeric_limits<std::uint64_t>::max()))
      cfg_.limits.max_body_bytes = *v;
    if (auto d = duration(at(*e, "request_timeout", f), false)) cfg_.limits.request_timeout = *d;
  }

  void parse_admin(const field& f) {
    auto e = mapping(f, admin_keys);
    if (!e) return;
    if (auto s = text(at(*e, "key", f))) cfg_.admin.key = *s;
  }

  void parse_log(const field& f) {
    auto e = mapping(f, log_keys);
    if (!e) return;
    if (auto v = choice<std::string_view>(at(*e, "level", f), log_levels)) cfg_.log.level = *v;
    if (auto v = choice<std::string_view>(at(*e, "format", f), log_formats)) cfg_.log.format = *v;
  }

  void parse_store(const field& f) {
    auto e = mapping(f, store_keys);
    if (!e) return;
    if (auto v = choice<std::string_view>(at(*e, "kind", f), store_kinds)) cfg_.store.kind = *v;
    auto path = at(*e, "path", f);
    if (auto s = text(path)) {
      if (s->empty() && cfg_.store.kind == "sqlite") fail(path, "must not be empty for a sqlite store");
      cfg_.store.path = *s;
    }
    if (auto v = choice<std::string_view>(at(*e, "sync", f), store_syncs)) cfg_.store.sync = *v;
  }

  void parse_ids(const field& f) {
    auto e = mapping(f, ids_keys);
    if (!e) return;
    if (auto s = text(at(*e, "secret", f))) cfg_.ids.secret = *s;
  }

  void parse_upstreams(const field& f) {
    auto list = sequence(f);
    if (!list) return;
    if (list->empty()) {
      fail(f, "needs at least one upstream");
      return;
    }
    std::map<std::string, std::string> seen;  // name -> path
    for (const auto& element : *list) {
      upstream_config u;
      upstream_info info;
      parse_upstream(element, u, info);
      if (!u.name.empty()) {
        if (auto [it, fresh] = seen.emplace(u.name, element.path); !fresh)
          fail(info.name_line, join(element.path, "name"),
               "duplicate upstream name '" + u.name + "' (also " + it->second + ")");
      }
      cfg_.upstreams.push_back(std::move(u));
      infos_.push_back(std::move(info));
    }
  }

  void parse_upstream(const field& f, upstream_config& u, upstream_info& info) {
    auto e = mapping(f, upstream_keys);
    if (!e) {
      info.models_ok = false;
      return;
    }
    if (!f.has_value()) {
      fail(f, "expected a mapping, got nothing");
      info.models_ok = false;
      return;
    }
    if (auto name = at(*e, "name", f); require(name)) {
      info.name_line = name.line;
      if (auto s = nonempty_text(name)) u.name = *s;
    }
    if (auto d = at(*e, "dialect", f); require(d))
      if (auto v = choice<dialect_kind>(d, dialects)) u.dialect = *v;
    if (auto b = at(*e, "base_url", f); require(b)) {
      if (auto s = nonempty_text(b)) {
        std::string why;
        if (auto url = normalize_base_url(*s, why))
          u.base_url = *url;
        else
          fail(b, url_error(*s, why));
      }
    }
    if (auto rf = at(*e, "request_format", f); rf.has_value()) {
      if (auto v = choice<request_format>(rf, formats)) {
        u.format = *v;
        if (u.dialect != dialect_kind::openai) fail(rf, "applies to the openai dialect only");
      }
    }
    if (auto k = at(*e, "keys", f); require(k)) parse_keys(k, u);
    if (auto v = choice<key_strategy>(at(*e, "key_strategy", f), strategies)) u.strategy = *v;
    if (auto v = integer(at(*e, "max_jobs_per_key", f), 0, std::numeric_limits<std::uint32_t>::max()))
      u.max_jobs_per_key = static_cast<std::uint32_t>(*v);
    if (auto d = duration(at(*e, "connect_timeout", f), false)) u.connect_timeout = *d;
    if (auto d = duration(at(*e, "timeout", f), false)) u.timeout = *d;
    if (auto d = duration(at(*e, "poll_interval", f), true)) u.poll_interval = *d;
    parse_models(at(*e, "models", f), u, info);
    parse_durations(at(*e, "durations", f), u, info);
    if (auto defaults = mapping(at(*e, "defaults", f))) {
      for (const auto& [name, value] : *defaults)
        if (auto v = typed_scalar(value)) u.defaults.emplace(name, std::move(*v));
    }
    if (auto v = choice<content_mode>(at(*e, "content", f), content_modes)) u.content = *v;
    if (auto c = at(*e, "ca_file", f); c.has_value()) {
      if (auto s = nonempty_text(c)) {
        if (std::ifstream probe(*s); !probe) fail(c, "cannot read CA file '" + *s + "'");
        else u.ca_file = *s;
      }
    }
  }

  void parse_keys(const field& f, upstream_config& u) {
    auto list = sequence(f);
    if (!list) return;
    if (list->empty()) {
      fail(f, "needs at least one key");
      return;
    }
    std::map<std::string, std::string> seen;  // key -> path; the key itself never goes in a message
    for (const auto& element : *list) {
      if (!require(element)) continue;
      auto s = nonempty_text(element);
      if (!s) continue;
      if (auto [it, fresh] = seen.emplace(*s, element.path); !fresh) {
        fail(element, "duplicate key (same as " + it->second + ")");
        continue;
      }
      u.keys.push_back(std::move(*s));
    }
  }

  void parse_models(const field& f, upstream_config& u, upstream_info& info) {
    if (!f.found) {
      for (auto m : identity_models) {
        u.models.emplace(std::string(m), std::string(m));
        info.model_order.emplace_back(m);
      }
      return;
    }
    auto e = mapping(f);
    if (!e) {
      info.models_ok = false;
      return;
    }
    if (e->empty()) {
      fail(f, "must map at least one model (leave `models:` out for sora-2 and sora-2-pro)");
      info.models_ok = false;
      return;
    }
    for (const auto& [name, value] : *e) {
      if (!require(value)) {
        info.models_ok = false;
        continue;
      }
      auto s = nonempty_text(value);
      if (!s) {
        info.models_ok = false;
        continue;
      }
      u.models.emplace(name, *s);
      info.model_order.push_back(name);
    }
  }

  void parse_durations(const field& f, upstream_config& u, const upstream_info& info) {
    auto e = mapping(f);
    if (!e) return;
    for (const auto& [model, value] : *e) {
      if (info.models_ok && !u.models.contains(model)) {
        fail(value.line, value.path, "model '" + model + "' is not in this upstream's models");
        continue;
      }
      if (!require(value)) continue;
      auto list = sequence(value);
      if (!list) continue;
      if (list->empty()) {
        fail(value, "needs at least one duration in seconds");
        continue;
      }
      std::vector<int> seconds;
      bool ok = true;
      for (const auto& element : *list) {
        if (!require(element)) {
          ok = false;
          continue;
        }
        if (auto v = integer(element, 1, std::numeric_limits<int>::max()))
          seconds.push_back(static_cast<int>(*v));
        else
          ok = false;
      }
      if (!ok) continue;
      // Dialects round a request up to the next allowed value: keep them ascending.
      std::sort(seconds.begin(), seconds.end());
      seconds.erase(std::unique(seconds.begin(), seconds.end()), seconds.end());
      u.durations.emplace(model, std::move(seconds));
    }
  }

  void parse_routes(const field& f) {
    auto list = sequence(f);
    if (!list) return;
    if (list->empty()) {
      build_default_routes();
      return;
    }
    std::map<std::string, std::string> seen;  // model -> path
    for (const auto& element : *list) {
      auto e = mapping(element, route_keys);
      if (!e) continue;
      if (!element.has_value()) {
        fail(element, "expected a mapping, got nothing");
        continue;
      }
      route_config r;
      bool ok = true;
      if (auto m = at(*e, "model", element); require(m)) {
        if (auto s = nonempty_text(m)) {
          r.model = *s;
          if (auto [it, fresh] = seen.emplace(r.model, element.path); !fresh) {
            fail(m, "duplicate route for model '" + r.model + "' (also " + it->second + ")");
            ok = false;
          }
        } else {
          ok = false;
        }
      } else {
        ok = false;
      }
      auto ups = at(*e, "upstreams", element);
      if (!require(ups)) continue;
      auto names = sequence(ups);
      if (!names) continue;
      if (names->empty()) {
        fail(ups, "needs at least one upstream");
        continue;
      }
      for (const auto& n : *names) {
        if (!require(n)) continue;
        auto name = nonempty_text(n);
        if (!name) continue;
        if (std::find(r.upstreams.begin(), r.upstreams.end(), *name) != r.upstreams.end()) {
          fail(n, "upstream '" + *name + "' is listed twice");
          continue;
        }
        r.upstreams.push_back(*name);
        auto it = std::find_if(cfg_.upstreams.begin(), cfg_.upstreams.end(),
                               [&](const upstream_config& u) { return u.name == *name; });
        if (it == cfg_.upstreams.end()) {
          std::vector<std::string_view> known;
          for (const auto& u : cfg_.upstreams)
            if (!u.name.empty()) known.push_back(u.name);
          std::string hint = known.empty() ? "" : " (did you mean '" + std::string(nearest(*name, known)) + "'?)";
          fail(n, "unknown upstream '" + *name + "'" + hint);
        } else if (ok && infos_[static_cast<std::size_t>(it - cfg_.upstreams.begin())].models_ok &&
                   !it->models.contains(r.model)) {
          fail(n, "upstream '" + *name + "' does not map model '" + r.model + "' (add it to its models)");
        }
      }
      if (ok) cfg_.routes.push_back(std::move(r));
    }
  }

  // Each public model, in order of first appearance, served by every upstream that maps it.
  void build_default_routes() {
    cfg_.routes.clear();
    for (std::size_t i = 0; i < cfg_.upstreams.size(); ++i) {
      const auto& u = cfg_.upstreams[i];
      if (u.name.empty()) continue;
      for (const auto& model : infos_[i].model_order) {
        auto r = std::find_if(cfg_.routes.begin(), cfg_.routes.end(),
                              [&](const route_config& x) { return x.model == model; });
        if (r == cfg_.routes.end()) r = cfg_.routes.insert(cfg_.routes.end(), route_config{model, {}});
        r->upstreams.push_back(u.name);
      }
    }
  }

  void parse_clients(const field& f) {
    auto list = sequence(f);
    if (!list) return;
    auto served = cfg_.models();
    std::map<std::string, std::string> names, keys;  // value -> path
    for (const auto& element : *list) {
      auto e = mapping(element, client_keys);
      if (!e) continue;
      if (!element.has_value()) {
        fail(element, "expected a mapping, got nothing");
        continue;
      }
      client_config c;
      if (auto n = at(*e, "name", element); require(n)) {
        if (auto s = nonempty_text(n)) {
          c.name = *s;
          if (auto [it, fresh] = names.emplace(c.name, element.path); !fresh)
            fail(n, "duplicate client name '" + c.name + "' (also " + it->second + ")");
        }
      }
      if (auto k = at(*e, "key", element); require(k)) {
        if (auto s = nonempty_text(k)) {
          c.key = *s;
          if (auto [it, fresh] = keys.emplace(c.key, element.path); !fresh)
            fail(k, "duplicate client key (same as " + it->second + ".key)");
        }
      }
      if (auto m = at(*e, "models", element); m.found) {
        c.models.clear();
        if (!require(m)) continue;
        auto models = sequence(m);
        if (!models) continue;
        if (models->empty()) fail(m, "needs at least one model (\"*\" allows all)");
        for (const auto& mf : *models) {
          if (!require(mf)) continue;
          auto s = nonempty_text(mf);
          if (!s) continue;
          if (*s != "*" && std::find(served.begin(), served.end(), *s) == served.end())
            fail(mf, "model '" + *s + "' is not served by any route");
          c.models.push_back(*s);
        }
      }
      cfg_.clients.push_back(std::move(c));
    }
  }

  load_result finish() {
    load_result r;
    if (errors_.empty()) {
      cfg_.source = file_;
      r.cfg = std::make_shared<const config>(std::move(cfg_));
    } else {
      std::stable_sort(errors_.begin(), errors_.end(),
                       [](const config_error& a, const config_error& b) { return a.line < b.line; });
      r.errors = std::move(errors_);
    }
    return r;
  }

  std::string file_;
  env_lookup env_;
  config cfg_;
  std::vector<upstream_info> infos_;  // parallel to cfg_.upstreams
  std::vector<config_error> errors_;
};

// Kept byte for byte equal to config/demo.yaml (a unit test compares them).
const char* const demo_text = R"yaml(# videogate demo: the gateway in front of the bundled simulated vendors (videogate-mock-vendor),
# so a first run shows create -> poll -> download with no vendor account.
# No `clients:`: /v1 needs no client key (a sidecar on loopback). Do not expose this config.
# Every ${VAR:-default} below can be overridden from the environment.
listen: "${VIDEOGATE_LISTEN:-127.0.0.1:8080}"
store:
  kind: sqlite
  path: "${VIDEOGATE_DB:-videogate-demo.db}"
upstreams:
  # Later issues add `unified` and `freesora` mock upstreams beside this one
  # (the mock vendor serves all three dialects on the same port).
  - name: mock-openai
    dialect: openai
    base_url: "${VIDEOGATE_MOCK_URL:-http://127.0.0.1:9090}"
    keys: ["demo-key-1", "demo-key-2"]
    poll_interval: 250ms
    models: { sora-2: sora-2, sora-2-pro: sora-2-pro }
)yaml";

}  // namespace

const upstream_config* config::find_upstream(std::string_view name) const {
  for (const auto& u : upstreams)
    if (u.name == name) return &u;
  return nullptr;
}

std::vector<std::string> config::models() const {
  std::vector<std::string> out;
  for (const auto& r : routes)
    if (std::find(out.begin(), out.end(), r.model) == out.end()) out.push_back(r.model);
  return out;
}

const route_config* config::find_route(std::string_view model) const {
  for (const auto& r : routes)
    if (r.model == model) return &r;
  return nullptr;
}

std::string config_error::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::optional<std::string> process_env(const std::string& name) {
  // Read once at startup, before any thread could call setenv.
  if (const char* v = std::getenv(name.c_str())) return std::string(v);
  return std::nullopt;
}

load_result load_text(const std::string& text, const std::string& file, env_lookup env) {
  return loader(file, env ? env : &process_env).load(text);
}

load_result load_file(const std::string& path, env_lookup env) {
  load_result r;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    r.errors.push_back(config_error{path, 0, "", "cannot read config file: it is a directory"});
    return r;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    r.errors.push_back(config_error{
        path, 0, "", "cannot open config file: " + std::error_code(err, std::generic_category()).message()});
    return r;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    r.errors.push_back(config_error{path, 0, "", "cannot read config file"});
    return r;
  }
  return load_text(buffer.str(), path, env);
}

const std::string& demo_yaml() {
  static const std::string text = demo_text;
  return text;
}

}  // namespace videogate::config
