#include "videogate/routing/key_state.hpp"

#include <algorithm>

namespace videogate::routing {

namespace {

/// `exact`: the vendor said how long (Retry-After) and its word stands; our own guesses
/// (backoff, transient streaks) never shorten a cooldown already running.
key_state cooling(key_state s, key_clock::time_point now, std::chrono::seconds for_how_long, const char* reason,
                  bool exact = false) {
  auto until = now + for_how_long;
  if (!exact && s.health == key_health::cooling && s.until > until) until = s.until;
  s.health = key_health::cooling;
  s.until = until;
  s.since = now;
  s.reason = reason;
  s.probing = false;
  return s;
}

key_state disabled(key_state s, key_clock::time_point now, const char* reason, const key_policy& p) {
  // First disable waits the base interval; each failed probe doubles it (bounded).
  s.step = s.health == key_health::disabled ? std::min(s.step * 2, p.max_disabled_retry) : p.disabled_retry;
  if (s.health != key_health::disabled) s.since = now;
  s.health = key_health::disabled;
  s.until = now + s.step;
  s.reason = reason;
  s.probing = false;
  s.rate_limit_streak = 0;
  s.transient_streak = 0;
  return s;
}

}  // namespace

key_state on_event(const key_state& s, key_event e, key_clock::time_point now, const key_policy& p,
                   std::optional<std::chrono::seconds> retry_after, bool from_probe) {
  // A disabled key learns only from its half-open probe: a poll of an old job that still
  // works says nothing about credit, and polls of a revoked key must not push the probe out.
  if (s.health == key_health::disabled && !(s.probing && from_probe)) return s;
  switch (e) {
    case key_event::success: {
      // The vendor asked us to wait: an answer to a request sent before the cooldown began
      // does not end it early.
      if (s.health == key_health::cooling && now < s.until) return s;
      key_state n;  // healthy, every streak reset
      n.since = s.health == key_health::healthy ? s.since : now;
      return n;
    }
    case key_event::rate_limited: {
      if (s.health == key_health::disabled) return disabled(s, now, s.reason.c_str(), p);  // a failed probe
      // 429s of requests that were already in flight when the key began cooling are one
      // event, not a series: they neither extend nor double the running cooldown.
      if (s.health == key_health::cooling && now < s.until && !retry_after) return s;
      key_state n = s;
      n.transient_streak = 0;
      ++n.rate_limit_streak;
      if (retry_after) {
        n.step = std::chrono::seconds(0);
        return cooling(n, now, std::max(std::chrono::seconds(0), *retry_after), "rate_limited", true);
      }
      n.step = n.step.count() == 0 ? p.rate_limit_cooldown : std::min(n.step * 2, p.max_rate_limit_cooldown);
      return cooling(n, now, n.step, "rate_limited");
    }
    case key_event::invalid_key: return disabled(s, now, "invalid_key", p);
    case key_event::out_of_credit: return disabled(s, now, "out_of_credit", p);
    case key_event::transient: {
      if (s.health == key_health::disabled) return disabled(s, now, s.reason.c_str(), p);
      key_state n = s;
      ++n.transient_streak;
      if (n.transient_streak >= p.transient_limit) {
        n.transient_streak = 0;
        return cooling(n, now, p.transient_cooldown, "transient");
      }
      return n;
    }
  }
  return s;
}

admission admit(const key_state& s, key_clock::time_point now) {
  switch (s.health) {
    case key_health::healthy: return admission::usable;
    case key_health::cooling: return now >= s.until ? admission::usable : admission::cooling;
    case key_health::disabled: return now >= s.until && !s.probing ? admission::probe : admission::disabled;
  }
  return admission::disabled;
}

key_health shown_health(const key_state& s, key_clock::time_point now) {
  return s.health == key_health::cooling && now >= s.until ? key_health::healthy : s.health;
}

const char* to_string(key_health h) {
  switch (h) {
    case key_health::healthy: return "healthy";
    case key_health::cooling: return "cooling";
    case key_health::disabled: return "disabled";
  }
  return "unknown";
}

}  // namespace videogate::routing
