#include "yaml_reader.hpp"

#include "videogate/core/duration.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <numeric>

namespace videogate::config::detail {

namespace urls = boost::urls;

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

// Config errors end up in logs: a URL with credentials is not repeated, and a query or a
// fragment (where tokens hide) is cut off.
std::string url_error(const std::string& url, const std::string& why) {
  if (url.find('@') != std::string::npos) return "invalid URL: " + why;
  auto cut = url.find_first_of("?#");
  if (cut != std::string::npos) return "invalid URL '" + url.substr(0, cut) + "' (query not shown): " + why;
  return "invalid URL '" + url + "': " + why;
}


void yaml_reader::fail(int line, std::string path, std::string message) {
  errors_.push_back(config_error{file_, line, std::move(path), std::move(message)});
}

field yaml_reader::at(const entries& e, std::string_view key, const field& parent) {
  for (const auto& [k, f] : e)
    if (k == key) return f;
  return field{YAML::Node(), join(parent.path, key), parent.line, false};
}

bool yaml_reader::require(const field& f) {
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

std::optional<entries> yaml_reader::mapping(const field& f, std::span<const std::string_view> allowed) {
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

std::optional<std::vector<field>> yaml_reader::sequence(const field& f) {
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

std::optional<std::string> yaml_reader::expand(const std::string& in, const field& f) {
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

std::optional<std::string> yaml_reader::text(const field& f) {
  if (!f.has_value()) return std::nullopt;
  if (!f.node.IsScalar()) {
    fail(f, "expected a scalar, got " + kind_of(f.node));
    return std::nullopt;
  }
  return expand(f.node.Scalar(), f);
}

std::optional<std::string> yaml_reader::nonempty_text(const field& f) {
  auto s = text(f);
  if (s && s->empty()) {
    fail(f, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<unsigned long long> yaml_reader::integer(const field& f, unsigned long long lo, unsigned long long hi) {
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

std::optional<milliseconds> yaml_reader::duration(const field& f, bool allow_zero) {
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

std::optional<default_value> yaml_reader::typed_scalar(const field& f) {
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

std::optional<bool> yaml_reader::boolean(const field& f) {
  auto s = text(f);
  if (!s) return std::nullopt;
  bool b = false;
  if (!parse_bool(*s, b)) {
    fail(f, "expected true or false, got '" + *s + "'");
    return std::nullopt;
  }
  return b;
}

}  // namespace videogate::config::detail
