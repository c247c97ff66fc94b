#pragma once
/// @file The create failover plan (DESIGN §5): which key and which upstream a new job tries
/// next, and what the client hears when none took it. Decisions only, no sockets and no clock
/// of its own: the caller walks the route's upstreams and their candidate keys, sends, and
/// tells the plan how each attempt ended; the plan answers "next key", "next upstream" or
/// "stop", and at the end names the one error to answer with. Unit-tested event by event like
/// key_state. One plan per create request; not thread-safe (a request is one coroutine).

#include "videogate/core/error.hpp"
#include "videogate/routing/key_pool.hpp"
#include "videogate/routing/key_state.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace videogate::routing {

/// How one create attempt with one key failed, as far as failover is concerned.
enum class attempt_kind {
  /// The body reached the vendor and no answer says whether a job was made (timeout, reset,
  /// an answer cut short, 502/504/408 after send): never sent again anywhere; the client hears
  /// 504 upstream_timeout saying the job may exist.
  unknown_outcome,
  /// 429: the key is cooling; try the next key, remember when this one is usable again.
  rate_limited,
  /// The vendor refused this key (401/402/403), or the request never reached it (connect
  /// failure, an explicit 5xx error answer before the body went out): the next key.
  key_refused,
  /// The vendor itself is failing (5xx or timeout without an after-send doubt): the next upstream.
  vendor_failing,
  /// Anything else (rejected content, an answer we cannot read, a vendor's 404): the client
  /// hears it as is (DESIGN §1: 502 bad_upstream_response for an unreadable answer).
  final_error,
};

/// The failover reading of a classified upstream error.
attempt_kind classify_attempt(const error& e) noexcept;

std::string_view to_string(attempt_kind k) noexcept;

class failover_plan {
 public:
  enum class step { next_key, next_upstream, stop };

  /// `model`: the public model, for the messages.
  explicit failover_plan(std::string model);

  /// An upstream of the route cannot serve this request at all (its durations, its size
  /// rules, its translator said no). The first such reason is the answer when no upstream
  /// could even be tried.
  void upstream_unusable(const error& why);

  /// An upstream's candidate keys at `now`: a cooling key makes the soonest time it is usable
  /// again a Retry-After candidate; a key at its job cap frees when a job ends, about
  /// `cap_wait` (its poll interval) away.
  void upstream_keys(const key_pool::choice& c, key_clock::time_point now, std::chrono::milliseconds cap_wait);

  /// One attempt on `upstream` failed with `e`: what to do next. After `stop`, `outcome()`
  /// is the answer.
  step attempt_failed(std::string_view upstream, const error& e);

  /// The error to answer with: the stopping error, else (route exhausted) 429 with the
  /// soonest Retry-After, the vendor's own 5xx, the first invalid-parameter reason, or 503.
  error outcome() const;

  /// The Retry-After so far (seconds, 1..86400), if any key will be usable again.
  std::optional<long long> retry_after() const noexcept { return retry_after_; }
  bool attempted() const noexcept { return attempted_; }

 private:
  void wait_at_least(long long seconds);

  std::string model_;
  bool attempted_ = false;
  std::optional<error> stopped_, first_invalid_, rate_limited_, last_failure_;
  std::optional<long long> retry_after_;
};

}  // namespace videogate::routing
