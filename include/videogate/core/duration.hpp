#pragma once
/// @file Durations as the config writes them: "250ms", "30s", "5m", "1h".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace videogate {

/// Parses "250ms", "30s", "5m", "1h" (a non-negative integer and a unit). nullopt if malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The inverse, for messages and logs: 1500ms -> "1500ms", 30000ms -> "30s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace videogate
