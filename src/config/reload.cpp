#include "videogate/config/reload.hpp"

namespace videogate::config {

std::vector<std::string> restart_only_changes(const config& started, const config& next) {
  std::vector<std::string> out;
  if (started.listen_host != next.listen_host || started.listen_port != next.listen_port) out.push_back("listen");
  if (started.threads != next.threads) out.push_back("threads");
  if (started.store.kind != next.store.kind) out.push_back("store.kind");
  if (started.store.path != next.store.path) out.push_back("store.path");
  if (started.store.sync != next.store.sync) out.push_back("store.sync");
  // emplace_back: push_back of a literal longer than the short-string buffer trips GCC 12's
  // -Warray-bounds false positive at -O2 (as `"x" + std::string` does, GCC bug 105329).
  if (started.store.cache_bytes != next.store.cache_bytes) out.emplace_back("store.cache_bytes");
  if (started.ids.secret != next.ids.secret) out.push_back("ids.secret");
  // Extra CAs are loaded into the TLS context once, at start-up.
  for (auto& u : next.upstreams) {
    if (u.ca_file.empty()) continue;
    bool loaded = false;
    for (auto& r : started.upstreams) loaded = loaded || r.ca_file == u.ca_file;
    if (!loaded) out.push_back("upstreams[" + u.name + "].ca_file");
  }
  return out;
}

}  // namespace videogate::config
