#pragma once
/// @file Wall-clock time as the store and the Video object count it (DESIGN §6 "the clock").
/// One place, so that what reads the time is easy to find (decisions such as key states and
/// the failover plan take `now` as an argument instead).

#include <chrono>
#include <cstdint>

namespace videogate::clock {

/// Seconds since the epoch (Video `created_at`, `completed_at`).
inline std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Milliseconds since the epoch (a job's `updated_at_ms`).
inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace videogate::clock
