#pragma once
/// @file Reading the config's YAML with errors that name the file, the line, the key path and
/// the nearest valid key (DESIGN §3): the generic half of the config loader (mappings,
/// sequences, scalars, `${VAR}` expansion, durations, choices), and the scalar parsers it uses.
/// Private to src/config; `config.cpp` holds the schema.

#include "videogate/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace videogate::config::detail {

std::size_t edit_distance(std::string_view a, std::string_view b);
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates);
std::string kind_of(const YAML::Node& n);
std::string join(const std::string& path, std::string_view key);
std::string index(const std::string& path, std::size_t i);
int line_of(const YAML::Node& n);
bool is_var_name(std::string_view name);
std::optional<unsigned long long> parse_unsigned(std::string_view s);
bool parse_bool(std::string_view s, bool& out);
std::optional<long long> parse_integer(std::string_view s);
std::optional<double> parse_number(std::string_view s);
std::optional<std::uint16_t> parse_port(std::string_view s);
// "host:port", "[v6]:port". Returns the reason when it is not one.
std::optional<std::string> parse_listen(const std::string& s, std::string& host, std::uint16_t& port);
// An http(s) base URL with a host; the trailing slash is dropped so paths append cleanly.
std::optional<std::string> normalize_base_url(std::string s, std::string& why);
// A URL with credentials is not repeated: config errors end up in logs.
std::string url_error(const std::string& url, const std::string& why);

// A node found (or not) under a key, with where errors about it point.
struct field {
  YAML::Node node;
  std::string path;
  int line = 0;
  bool found = false;

  bool has_value() const { return found && !node.IsNull(); }
};

using entries = std::vector<std::pair<std::string, field>>;

template <class E>
using choices = std::span<const std::pair<std::string_view, E>>;

/// Reads one config text; every problem is collected in `errors_`, never thrown.
class yaml_reader {
 public:
  yaml_reader(std::string file, env_lookup env) : file_(std::move(file)), env_(env) {}

 protected:
  void fail(int line, std::string path, std::string message);
  void fail(const field& f, std::string message) { fail(f.line, f.path, std::move(message)); }

  static field at(const entries& e, std::string_view key, const field& parent);
  // Reports a missing or empty required key; true when there is a value to read.
  bool require(const field& f);
  // The entries of a mapping, with unknown (when `allowed` is not empty) and repeated keys
  // reported. An absent or null mapping has no entries; nullopt when `f` is not a mapping.
  std::optional<entries> mapping(const field& f, std::span<const std::string_view> allowed = {});
  // The elements of a sequence; an absent or null one has none; nullopt when not a sequence.
  std::optional<std::vector<field>> sequence(const field& f);
  // Expands ${VAR} and ${VAR:-default} (default also when VAR is empty, as a shell does).
  std::optional<std::string> expand(const std::string& in, const field& f);
  // The expanded scalar under `f`; nullopt when absent, or (with an error) not a scalar.
  std::optional<std::string> text(const field& f);
  std::optional<std::string> nonempty_text(const field& f);
  std::optional<unsigned long long> integer(const field& f, unsigned long long lo, unsigned long long hi);
  std::optional<milliseconds> duration(const field& f, bool allow_zero);
  std::optional<bool> boolean(const field& f);
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
  std::optional<default_value> typed_scalar(const field& f);

  std::string file_;
  env_lookup env_;
  std::vector<config_error> errors_;
};

}  // namespace videogate::config::detail
