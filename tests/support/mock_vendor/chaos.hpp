#pragma once
/// @file
/// The chaos mode (--chaos SEED) for fault soaks: requests of plain keys meet random faults.
/// Every draw comes from one generator seeded by SEED, so the same requests in the same order
/// meet the same faults.

#include <boost/json/object.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace videogate::mock_vendor {

/// The faults chaos injects (see README.md). `forget` is last: only status reads draw it.
enum class chaos_fault {
  rate_limited,     ///< 429, Retry-After: 1
  server_error,     ///< 500
  bad_gateway,      ///< 502 (a create still makes its job)
  gateway_timeout,  ///< 504 (a create still makes its job)
  reset,            ///< connection closed before any byte
  truncated,        ///< status line and headers, then half the body, then closed
  slow,             ///< the normal answer after 1.5 s
  garbage,          ///< 200 with an HTML body
  forget,           ///< a status read answers "not found"
};

/// Its name in /_mock/faults and in the request log: "429", "500", "502", "504", "reset",
/// "truncated", "slow", "garbage", "forget".
std::string_view to_string(chaos_fault f) noexcept;

class chaos {
public:
  /// Off (never injects) without a seed; `rate` is the chance, 0..1, that a request gets a fault.
  chaos(std::optional<std::uint64_t> seed, double rate);

  /// Whether this request gets a fault, and which (uniformly among those that apply; only a
  /// `status_read` can be forgotten). Counts what it injects.
  std::optional<chaos_fault> draw(bool status_read);

  /// Injected faults by name, every kind present: {"429":n,"500":n,…}.
  boost::json::object counts() const;

  /// Zeroes the counts, restarts the sequence from the seed and restores the rate given at
  /// start, so a soak after POST /_mock/reset replays the same faults.
  void reset();

  /// Changes the chance of a fault from now on (clamped to 0..1); 0 switches faults off
  /// without touching the counts or the sequence (POST /_mock/chaos, e.g. a soak's drain).
  void set_rate(double rate) noexcept;
  double rate() const noexcept { return rate_; }
  bool on() const noexcept { return seed_.has_value(); }
  std::uint64_t seed() const noexcept { return seed_.value_or(0); }

private:
  static constexpr std::size_t kinds = static_cast<std::size_t>(chaos_fault::forget) + 1;

  std::optional<std::uint64_t> seed_;
  double rate_;
  double initial_rate_;
  std::mt19937_64 rng_;
  std::array<std::uint64_t, kinds> counts_{};
};

}  // namespace videogate::mock_vendor
