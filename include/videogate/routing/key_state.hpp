#pragma once
/// @file The state of one upstream key (DESIGN §5) as a pure state machine: an event and the
/// time in, the next state out. No I/O, no clock of its own: unit-tested with plain values.

#include <chrono>
#include <optional>
#include <string>

namespace videogate::routing {

using key_clock = std::chrono::steady_clock;

enum class key_health { healthy, cooling, disabled };

/// What one request with the key taught us.
enum class key_event {
  success,        ///< the vendor accepted the key (any answer that is not about the key)
  rate_limited,   ///< 429 (with an optional Retry-After)
  invalid_key,    ///< 401 / 403 / "invalid key"
  out_of_credit,  ///< 402 / quota / credit / balance
  transient,      ///< 5xx, connect failure, timeout
};

struct key_policy {
  std::chrono::seconds rate_limit_cooldown{30};   ///< 429 without Retry-After, first time
  std::chrono::seconds max_rate_limit_cooldown{600};
  int transient_limit = 3;                        ///< this many in a row -> cooling
  std::chrono::seconds transient_cooldown{30};
  std::chrono::seconds disabled_retry{600};       ///< first half-open probe after this
  std::chrono::seconds max_disabled_retry{86400};
};

struct key_state {
  key_health health = key_health::healthy;
  key_clock::time_point until{};   ///< cooling: usable again at; disabled: next probe at
  key_clock::time_point since{};   ///< when it entered its current state
  std::string reason;              ///< disabled: "invalid_key" | "out_of_credit"; cooling: "rate_limited" | "transient"
  std::chrono::seconds step{0};    ///< the current backoff step (cooling after 429s, probing a disabled key)
  int rate_limit_streak = 0;
  int transient_streak = 0;
  bool probing = false;            ///< a half-open probe of a disabled key is in flight
};

/// The next state after `e` at `now`. `retry_after`: the vendor's Retry-After, if it sent one.
/// `from_probe`: the answer is to the half-open request of a disabled key; a disabled key
/// learns from nothing else (polls of its old jobs say nothing about credit or validity).
key_state on_event(const key_state& s, key_event e, key_clock::time_point now, const key_policy& p,
                   std::optional<std::chrono::seconds> retry_after = std::nullopt, bool from_probe = false);

enum class admission {
  usable,      ///< healthy (or cooled down)
  probe,       ///< disabled, due for its one half-open request: take it and mark `probing`
  cooling,     ///< not now; usable again at `until`
  disabled,    ///< not now
};

/// Whether a new request may use the key at `now`.
admission admit(const key_state& s, key_clock::time_point now);

/// The health to show (admin answers, the status page, metrics) at `now`: a cooling key whose
/// cooldown has passed is healthy, though its state changes only at its next request.
key_health shown_health(const key_state& s, key_clock::time_point now);

const char* to_string(key_health h);

}  // namespace videogate::routing
