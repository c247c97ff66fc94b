#include "videogate/config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

// Where config text comes from (a file, the environment) and what a loaded config answers.

namespace videogate::config {

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
  if (line > 0) {
    // Appended piece by piece: with `"x" + std::string(...)` GCC 12 at -O2 warns -Wrestrict /
    // -Wstringop-overflow about a memcpy that cannot happen (GCC bug 105329).
    out += ':';
    out += std::to_string(line);
  }
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

}  // namespace videogate::config
