#include "videogate/routing/failover.hpp"

#include <algorithm>

namespace videogate::routing {

namespace {
// Retry-After goes to clients as whole seconds in 1..86400 (DESIGN §1): a vendor's larger
// value is clamped, a key due "now" still says 1.
constexpr long long min_retry_after_s = 1;
constexpr long long max_retry_after_s = 86'400;
// A 429 without Retry-After: the key pool cools such a key for 30 s (DESIGN §5).
constexpr long long default_retry_after_s = 30;
}  // namespace

attempt_kind classify_attempt(const error& e) noexcept {
  bool transport_doubt = e.code == errc::upstream_timeout || e.code == errc::upstream_unavailable;
  // Once the body reached the vendor and it did not answer, the job may exist there: never
  // send it again (no double-billed job).
  if (e.after_send && transport_doubt) return attempt_kind::unknown_outcome;
  if (e.code == errc::upstream_rate_limited) return attempt_kind::rate_limited;
  // The key was refused, or the request never reached the vendor: another key may work.
  if (e.code == errc::upstream_auth || e.code == errc::upstream_out_of_credit || e.code == errc::upstream_unavailable)
    return attempt_kind::key_refused;
  // A timeout before the body went out: the vendor is slow for everyone, try elsewhere.
  if (e.code == errc::upstream_timeout) return attempt_kind::vendor_failing;
  return attempt_kind::final_error;
}

std::string_view to_string(attempt_kind k) noexcept {
  switch (k) {
    case attempt_kind::unknown_outcome: return "unknown_outcome";
    case attempt_kind::rate_limited: return "rate_limited";
    case attempt_kind::key_refused: return "key_refused";
    case attempt_kind::vendor_failing: return "vendor_failing";
    case attempt_kind::final_error: return "final_error";
  }
  return "?";
}

failover_plan::failover_plan(std::string model) : model_(std::move(model)) {}

void failover_plan::wait_at_least(long long seconds) {
  auto s = std::clamp(seconds, min_retry_after_s, max_retry_after_s);
  retry_after_ = std::min(retry_after_.value_or(s), s);
}

void failover_plan::upstream_unusable(const error& why) {
  if (!first_invalid_) first_invalid_ = why;
}

void failover_plan::upstream_keys(const key_pool::choice& c, key_clock::time_point now,
                                  std::chrono::milliseconds cap_wait) {
  if (c.soonest) wait_at_least(std::chrono::ceil<std::chrono::seconds>(*c.soonest - now).count());
  if (c.capped) wait_at_least(std::chrono::ceil<std::chrono::seconds>(cap_wait).count());
}

failover_plan::step failover_plan::attempt_failed(std::string_view upstream, const error& e) {
  attempted_ = true;
  switch (classify_attempt(e)) {
    case attempt_kind::unknown_outcome:
      // Whatever cut the answer (a timeout, a reset, a proxy's 502/504), the client hears one
      // thing: 504, the job may exist (DESIGN §5).
      stopped_ = e;
      stopped_->code = errc::upstream_timeout;
      stopped_->message = "Upstream '" + std::string(upstream) + "' did not answer the create (" + e.message +
                          "). The video job may exist at the vendor; it was not retried to avoid a duplicate.";
      return step::stop;
    case attempt_kind::rate_limited:
      rate_limited_ = e;
      wait_at_least(e.retry_after_s.value_or(default_retry_after_s));
      return step::next_key;
    case attempt_kind::key_refused:
      last_failure_ = e;
      return step::next_key;
    case attempt_kind::vendor_failing:
      last_failure_ = e;
      return step::next_upstream;
    case attempt_kind::final_error:
      stopped_ = e;
      return step::stop;
  }
  return step::stop;
}

error failover_plan::outcome() const {
  if (stopped_) return *stopped_;
  // Nothing could be tried and no key is merely waiting: the request itself is the problem.
  if (!attempted_ && first_invalid_ && !retry_after_) return *first_invalid_;
  if (rate_limited_ || retry_after_) {
    auto e = rate_limited_.value_or(fail(errc::upstream_rate_limited, ""));
    e.code = errc::upstream_rate_limited;
    e.retry_after_s = retry_after_.value_or(default_retry_after_s);
    e.message = "Every usable upstream key for model '" + model_ +
                "' is rate limited, cooling down or at its job cap; retry after " + std::to_string(*e.retry_after_s) +
                " s.";
    return e;
  }
  // The vendor answered with a 5xx of its own: the client hears the vendor's status.
  if (last_failure_ && last_failure_->code == errc::upstream_unavailable && last_failure_->upstream_status != 0)
    return *last_failure_;
  return fail(errc::no_upstream_available, "No upstream key for model '" + model_ +
                                               "' is usable right now: every key is disabled or its upstream cannot "
                                               "be reached.");
}

}  // namespace videogate::routing
