#pragma once
/// @file Logging set-up (spdlog): text or JSON lines on stderr, level from the config.

#include "videogate/config/config.hpp"

namespace videogate::observe {

/// Configures the default spdlog logger. Call once at start-up, before any thread starts.
void setup_logging(const config::log_config& cfg);
/// Applies a reloaded log config (level, format) to the running logger. Any thread.
void reconfigure_logging(const config::log_config& cfg);

/// Escapes a string for a JSON log field.
std::string json_escape(std::string_view s);

}  // namespace videogate::observe
