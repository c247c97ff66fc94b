#pragma once
/// @file What a config reload did, and which changed keys only a restart applies. Pure: the
/// swap itself is `routing::live::reload`.

#include "videogate/config/config.hpp"

#include <string>
#include <vector>

namespace videogate::config {

/// What a reload did.
struct reload_report {
  bool applied = false;
  std::string source;                      ///< where the new config came from
  std::vector<std::string> errors;         ///< refused: every error, "file:line: path: message"
  std::vector<std::string> needs_restart;  ///< changed keys that keep their running value until a restart
};

/// The keys that take effect only at start-up and differ between `started` (the config the
/// process started with: listen, threads, store, ids, the CAs loaded into the TLS context) and
/// `next`, by their config path.
std::vector<std::string> restart_only_changes(const config& started, const config& next);

}  // namespace videogate::config
