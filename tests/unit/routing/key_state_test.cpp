#include "videogate/routing/key_state.hpp"

#include "print.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace videogate::routing {

namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;

// No real time anywhere: every instant is an offset from an arbitrary origin.
const key_clock::time_point t0 = key_clock::time_point{} + 1000s;
const key_policy defaults{};

key_state healthy_since(key_clock::time_point since) {
  key_state s;
  s.since = since;
  return s;
}

// The states as the machine itself produces them, so the tests also cover the way in.
key_state cooling_after_429() {  // a 429 without Retry-After at t0: cooling until t0 + 30 s
  return on_event(healthy_since(t0 - 100s), key_event::rate_limited, t0, defaults);
}

key_state disabled_invalid() {  // a 401 at t0: disabled, first probe at t0 + 600 s
  return on_event(healthy_since(t0 - 100s), key_event::invalid_key, t0, defaults);
}

key_state disabled_probing() {  // the half-open request of a due disabled key is in flight
  auto s = disabled_invalid();
  s.probing = true;
  return s;
}

// The fields a "fresh healthy" state has: every backoff and streak reset.
void expect_clean_healthy(const key_state& s) {
  EXPECT_EQ(s.health, key_health::healthy);
  EXPECT_EQ(s.until, key_clock::time_point{});
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.step, 0s);
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

// An event the machine must ignore: every field exactly as it was.
void expect_unchanged(const key_state& after, const key_state& before) {
  EXPECT_EQ(after.health, before.health);
  EXPECT_EQ(after.until, before.until);
  EXPECT_EQ(after.since, before.since);
  EXPECT_EQ(after.reason, before.reason);
  EXPECT_EQ(after.step, before.step);
  EXPECT_EQ(after.rate_limit_streak, before.rate_limit_streak);
  EXPECT_EQ(after.transient_streak, before.transient_streak);
  EXPECT_EQ(after.probing, before.probing);
}

// --- defaults ------------------------------------------------------------------------------

TEST(KeyState, DefaultStateIsHealthyAndClean) {
  key_state s;
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, key_clock::time_point{});
  EXPECT_EQ(admit(s, t0), admission::usable);
}

TEST(KeyState, DefaultPolicyIsTheDesignContract) {
  key_policy p;
  EXPECT_EQ(p.rate_limit_cooldown, 30s);
  EXPECT_EQ(p.max_rate_limit_cooldown, 600s);
  EXPECT_EQ(p.transient_limit, 3);
  EXPECT_EQ(p.transient_cooldown, 30s);
  EXPECT_EQ(p.disabled_retry, 600s);
  EXPECT_GE(p.max_disabled_retry, p.disabled_retry);
}

TEST(KeyState, HealthNames) {
  EXPECT_STREQ(to_string(key_health::healthy), "healthy");
  EXPECT_STREQ(to_string(key_health::cooling), "cooling");
  EXPECT_STREQ(to_string(key_health::disabled), "disabled");
}

// --- every event on a healthy key ---------------------------------------------------------

TEST(KeyStateHealthy, SuccessKeepsItHealthyAndKeepsSince) {
  auto s = on_event(healthy_since(t0 - 100s), key_event::success, t0, defaults);
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0 - 100s);  // it did not enter a new state
}

TEST(KeyStateHealthy, RateLimitedWithRetryAfterCoolsForExactlyThatLong) {
  auto s = on_event(healthy_since(t0 - 100s), key_event::rate_limited, t0, defaults, 7s);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.until, t0 + 7s);
  EXPECT_EQ(s.since, t0);
  EXPECT_EQ(s.reason, "rate_limited");
  EXPECT_EQ(s.step, 0s);  // the vendor's figure is not our backoff step
  EXPECT_EQ(s.rate_limit_streak, 1);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST(KeyStateHealthy, RateLimitedWithoutRetryAfterCoolsThirtySeconds) {
  auto s = on_event(healthy_since(t0 - 100s), key_event::rate_limited, t0, defaults);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.until, t0 + 30s);
  EXPECT_EQ(s.since, t0);
  EXPECT_EQ(s.reason, "rate_limited");
  EXPECT_EQ(s.step, 30s);
  EXPECT_EQ(s.rate_limit_streak, 1);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST(KeyStateHealthy, InvalidKeyDisablesWithProbeAfterTenMinutes) {
  auto s = on_event(healthy_since(t0 - 100s), key_event::invalid_key, t0, defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "invalid_key");
  EXPECT_EQ(s.until, t0 + 600s);
  EXPECT_EQ(s.since, t0);
  EXPECT_EQ(s.step, 600s);
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST(KeyStateHealthy, OutOfCreditDisablesWithProbeAfterTenMinutes) {
  auto s = on_event(healthy_since(t0 - 100s), key_event::out_of_credit, t0, defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "out_of_credit");
  EXPECT_EQ(s.until, t0 + 600s);
  EXPECT_EQ(s.since, t0);
  EXPECT_EQ(s.step, 600s);
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST(KeyStateHealthy, OneTransientOnlyCounts) {
  auto s = on_event(healthy_since(t0 - 100s), key_event::transient, t0, defaults);
  EXPECT_EQ(s.health, key_health::healthy);
  EXPECT_EQ(s.since, t0 - 100s);
  EXPECT_EQ(s.until, key_clock::time_point{});
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.step, 0s);
  EXPECT_EQ(s.transient_streak, 1);
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_FALSE(s.probing);
  EXPECT_EQ(admit(s, t0), admission::usable);
}

TEST(KeyStateHealthy, DisablingClearsStreaks) {
  auto s = on_event(healthy_since(t0), key_event::transient, t0, defaults);
  s = on_event(s, key_event::transient, t0 + 1s, defaults);
  ASSERT_EQ(s.transient_streak, 2);
  s = on_event(s, key_event::out_of_credit, t0 + 2s, defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_EQ(s.rate_limit_streak, 0);
}

// --- every event on a cooling key, before and after `until` --------------------------------

class KeyStateCooling : public ::testing::TestWithParam<seconds> {
 protected:
  // Offsets from t0 for "now": before until (t0 + 30 s), exactly at it, and after it.
  key_clock::time_point now() const { return t0 + GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(KeyState, KeyStateCooling, ::testing::Values(10s, 30s, 45s),
                         [](const auto& info) { return "at_plus_" + std::to_string(info.param.count()) + "s"; });

TEST_P(KeyStateCooling, PreconditionCoolingUntilThirtySeconds) {
  auto s = cooling_after_429();
  ASSERT_EQ(s.health, key_health::cooling);
  ASSERT_EQ(s.until, t0 + 30s);
  ASSERT_EQ(s.step, 30s);
  ASSERT_EQ(s.rate_limit_streak, 1);
}

// Before `until` a success answers a request sent before the cooldown began: the vendor asked
// us to wait, and that does not end the wait. At or after `until` it heals the key.
TEST_P(KeyStateCooling, SuccessMakesItHealthyAndResetsEverythingOnlyOnceCooledDown) {
  auto before = cooling_after_429();
  auto s = on_event(before, key_event::success, now(), defaults);
  if (GetParam() < 30s) {
    expect_unchanged(s, before);
    EXPECT_EQ(admit(s, now()), admission::cooling);
    return;
  }
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, now());
  EXPECT_EQ(admit(s, now()), admission::usable);
}

TEST_P(KeyStateCooling, RateLimitedWithRetryAfterCoolsForExactlyThatLong) {
  auto s = on_event(cooling_after_429(), key_event::rate_limited, now(), defaults, 7s);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.reason, "rate_limited");
  EXPECT_EQ(s.rate_limit_streak, 2);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
  EXPECT_EQ(s.step, 0s);
  // The vendor's figure always stands, even while our own 30 s guess is still running (at
  // +10 s it ends the cooldown at +17 s, earlier than the guess would have).
  EXPECT_EQ(s.until, now() + 7s);
  EXPECT_EQ(admit(s, now() + 7s - std::chrono::nanoseconds(1)), admission::cooling);
  EXPECT_EQ(admit(s, now() + 7s), admission::usable);
}

// Before `until` a 429 is one of the requests that were already in flight when the cooling
// began: one event, not a series. At or after `until` it is a new refusal: the step doubles.
TEST_P(KeyStateCooling, RateLimitedAgainWithoutRetryAfterDoublesOnlyOnceCooledDown) {
  auto before = cooling_after_429();
  auto s = on_event(before, key_event::rate_limited, now(), defaults);
  if (GetParam() < 30s) {
    expect_unchanged(s, before);
    EXPECT_EQ(admit(s, now()), admission::cooling);
    return;
  }
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.since, now());
  EXPECT_EQ(s.until, now() + 60s);
  EXPECT_EQ(s.reason, "rate_limited");
  EXPECT_EQ(s.step, 60s);
  EXPECT_EQ(s.rate_limit_streak, 2);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST_P(KeyStateCooling, InvalidKeyDisables) {
  auto s = on_event(cooling_after_429(), key_event::invalid_key, now(), defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "invalid_key");
  EXPECT_EQ(s.until, now() + 600s);
  EXPECT_EQ(s.since, now());
  EXPECT_EQ(s.step, 600s);  // the 429 backoff step does not leak into the probe interval
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST_P(KeyStateCooling, OutOfCreditDisables) {
  auto s = on_event(cooling_after_429(), key_event::out_of_credit, now(), defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "out_of_credit");
  EXPECT_EQ(s.until, now() + 600s);
  EXPECT_EQ(s.since, now());
  EXPECT_EQ(s.step, 600s);
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
}

TEST_P(KeyStateCooling, OneTransientCountsButKeepsTheCooldown) {
  auto before = cooling_after_429();
  auto s = on_event(before, key_event::transient, now(), defaults);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.until, t0 + 30s);
  EXPECT_EQ(s.since, before.since);
  EXPECT_EQ(s.reason, "rate_limited");
  EXPECT_EQ(s.step, 30s);
  EXPECT_EQ(s.rate_limit_streak, 1);
  EXPECT_EQ(s.transient_streak, 1);
  EXPECT_FALSE(s.probing);
}

// --- every event on a disabled key --------------------------------------------------------
//
// A disabled key learns only from its half-open probe. Polls of old jobs keep using it (job
// affinity): while no probe is out, whatever they report changes nothing, before the probe is
// due and after. Once the pool handed the key out as a probe (`probing`), the next report is
// the probe's verdict.

struct disabled_case {
  const char* name;
  seconds offset;  // now = t0 + offset; the probe is due at t0 + 600 s
};

[[maybe_unused]] void PrintTo(const disabled_case& c, std::ostream* os) {
  *os << c.name << " (t0 + " << c.offset.count() << " s)";
}

std::string case_name(const ::testing::TestParamInfo<disabled_case>& info) { return info.param.name; }

// Not probing: before its probe time, exactly at it, and after it (due, but not handed out).
class KeyStateDisabledIdle : public ::testing::TestWithParam<disabled_case> {
 protected:
  key_clock::time_point now() const { return t0 + GetParam().offset; }
  key_state start() const { return disabled_invalid(); }

  // The event leaves every field as it was, and the probe stays due at t0 + 600 s.
  // Also when the report claims to be a probe answer: no probe is out (never handed out, or
  // released), so it is no verdict.
  void expect_ignored(key_event e, std::optional<seconds> retry_after = std::nullopt) const {
    for (bool from_probe : {false, true}) {
      SCOPED_TRACE(from_probe ? "from_probe" : "poll");
      auto before = start();
      auto s = on_event(before, e, now(), defaults, retry_after, from_probe);
      expect_unchanged(s, before);
      EXPECT_EQ(admit(s, now()), admit(before, now()));
      EXPECT_EQ(admit(s, t0 + 600s - std::chrono::nanoseconds(1)), admission::disabled);
      EXPECT_EQ(admit(s, t0 + 600s), admission::probe);
    }
  }
};

INSTANTIATE_TEST_SUITE_P(KeyState, KeyStateDisabledIdle,
                         ::testing::Values(disabled_case{"before_probe_time", 100s},
                                           disabled_case{"at_probe_time", 600s},
                                           disabled_case{"after_probe_time", 700s}),
                         case_name);

TEST_P(KeyStateDisabledIdle, PreconditionDisabledWithProbeAtTenMinutes) {
  auto s = start();
  ASSERT_EQ(s.health, key_health::disabled);
  ASSERT_EQ(s.until, t0 + 600s);
  ASSERT_EQ(s.since, t0);
  ASSERT_EQ(s.step, 600s);
  ASSERT_EQ(s.reason, "invalid_key");
  ASSERT_FALSE(s.probing);
}

// A poll of an old job that works says nothing about credit or a revoked key.
TEST_P(KeyStateDisabledIdle, SuccessDoesNotMakeItHealthy) {
  auto s = on_event(start(), key_event::success, now(), defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_NE(admit(s, now()), admission::usable);
  expect_ignored(key_event::success);
}

TEST_P(KeyStateDisabledIdle, RateLimitedWithRetryAfterChangesNothing) {
  expect_ignored(key_event::rate_limited, 7s);
}

TEST_P(KeyStateDisabledIdle, RateLimitedWithoutRetryAfterChangesNothing) { expect_ignored(key_event::rate_limited); }

// Polls of a revoked key must not push the probe out (to a day, after enough of them).
TEST_P(KeyStateDisabledIdle, InvalidKeyChangesNothing) { expect_ignored(key_event::invalid_key); }

TEST_P(KeyStateDisabledIdle, OutOfCreditChangesNothingNotEvenTheReason) {
  expect_ignored(key_event::out_of_credit);
}

TEST_P(KeyStateDisabledIdle, TransientChangesNothing) { expect_ignored(key_event::transient); }

// Probing: the pool handed the due key out as the half-open request (at t0 + 600 s or later).
class KeyStateDisabledProbing : public ::testing::TestWithParam<disabled_case> {
 protected:
  key_clock::time_point now() const { return t0 + GetParam().offset; }
  key_state start() const { return disabled_probing(); }
};

INSTANTIATE_TEST_SUITE_P(KeyState, KeyStateDisabledProbing,
                         ::testing::Values(disabled_case{"verdict_at_probe_time", 600s},
                                           disabled_case{"verdict_after_probe_time", 650s},
                                           disabled_case{"verdict_much_later", 5000s}),
                         case_name);

TEST_P(KeyStateDisabledProbing, PreconditionDisabledAndProbing) {
  auto s = start();
  ASSERT_EQ(s.health, key_health::disabled);
  ASSERT_EQ(s.until, t0 + 600s);
  ASSERT_EQ(s.since, t0);
  ASSERT_EQ(s.step, 600s);
  ASSERT_EQ(s.reason, "invalid_key");
  ASSERT_TRUE(s.probing);
  ASSERT_EQ(admit(s, now()), admission::disabled);  // one probe at a time
}

TEST_P(KeyStateDisabledProbing, SuccessMakesItHealthy) {
  auto s = on_event(start(), key_event::success, now(), defaults, std::nullopt, true);
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, now());
  EXPECT_EQ(admit(s, now()), admission::usable);
}

// Any failure of the probe: the interval doubles, the key stays disabled (never turns into a
// cooling key) and a new probe may go once the interval is over.
void expect_failed_probe(const key_state& s, key_clock::time_point now, const char* reason) {
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, reason);
  EXPECT_EQ(s.step, 1200s);
  EXPECT_EQ(s.until, now + 1200s);
  EXPECT_EQ(s.since, t0);  // still disabled since the first refusal
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_FALSE(s.probing);
  EXPECT_EQ(admit(s, now), admission::disabled);
  EXPECT_EQ(admit(s, now + 1199s), admission::disabled);
  EXPECT_EQ(admit(s, now + 1200s), admission::probe);
}

TEST_P(KeyStateDisabledProbing, RateLimitedWithRetryAfterIsAFailedProbe) {
  // The vendor's Retry-After does not turn a disabled key into a cooling one.
  expect_failed_probe(on_event(start(), key_event::rate_limited, now(), defaults, 7s, true), now(), "invalid_key");
}

TEST_P(KeyStateDisabledProbing, RateLimitedWithoutRetryAfterIsAFailedProbe) {
  expect_failed_probe(on_event(start(), key_event::rate_limited, now(), defaults, std::nullopt, true), now(),
                      "invalid_key");
}

TEST_P(KeyStateDisabledProbing, InvalidKeyIsAFailedProbe) {
  expect_failed_probe(on_event(start(), key_event::invalid_key, now(), defaults, std::nullopt, true), now(),
                      "invalid_key");
}

TEST_P(KeyStateDisabledProbing, OutOfCreditIsAFailedProbeWithTheNewReason) {
  expect_failed_probe(on_event(start(), key_event::out_of_credit, now(), defaults, std::nullopt, true), now(),
                      "out_of_credit");
}

TEST_P(KeyStateDisabledProbing, TransientIsAFailedProbe) {
  expect_failed_probe(on_event(start(), key_event::transient, now(), defaults, std::nullopt, true), now(),
                      "invalid_key");
}

// While the probe is in flight, polls of old jobs keep reporting on the key. None of it is the
// probe's answer: a poll's failure must not count as the failed probe (and then drop the real
// answer), nor a poll's success as a recovery.
struct poll_case {
  key_event e;
  std::optional<seconds> retry_after;
};
const poll_case polls[] = {{key_event::success, std::nullopt},      {key_event::rate_limited, std::nullopt},
                           {key_event::rate_limited, 7s},           {key_event::invalid_key, std::nullopt},
                           {key_event::out_of_credit, std::nullopt}, {key_event::transient, std::nullopt}};

TEST_P(KeyStateDisabledProbing, PollsWhileTheProbeIsOutChangeNothing) {
  for (auto [e, retry_after] : polls) {
    SCOPED_TRACE(::testing::PrintToString(e) + (retry_after ? " with Retry-After" : ""));
    auto before = start();
    auto s = on_event(before, e, now(), defaults, retry_after);
    expect_unchanged(s, before);
    EXPECT_TRUE(s.probing);  // the probe is still out
    EXPECT_EQ(admit(s, now()), admission::disabled);
  }
}

TEST_P(KeyStateDisabledProbing, APollSuccessDoesNotMakeItHealthy) {
  auto s = on_event(start(), key_event::success, now(), defaults);
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "invalid_key");
  EXPECT_TRUE(s.probing);
  EXPECT_NE(admit(s, now()), admission::usable);
  // The probe's own answer, later, is still the verdict.
  expect_failed_probe(on_event(s, key_event::invalid_key, now() + 5s, defaults, std::nullopt, true), now() + 5s,
                      "invalid_key");
}

TEST_P(KeyStateDisabledProbing, AfterPollFailuresTheProbeSuccessStillMakesItHealthy) {
  auto s = start();
  for (auto [e, retry_after] : polls)
    if (e != key_event::success) s = on_event(s, e, now(), defaults, retry_after);
  ASSERT_TRUE(s.probing);
  s = on_event(s, key_event::success, now() + 5s, defaults, std::nullopt, true);
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, now() + 5s);
  EXPECT_EQ(admit(s, now() + 5s), admission::usable);
}

TEST_P(KeyStateDisabledProbing, AfterPollFailuresAFailedProbeDoublesOnlyOnce) {
  auto s = start();
  for (auto [e, retry_after] : polls)
    if (e != key_event::success) s = on_event(s, e, now(), defaults, retry_after);
  // 1200 s, not 2400 s or more: the polls were not failed probes.
  expect_failed_probe(on_event(s, key_event::transient, now() + 5s, defaults, std::nullopt, true), now() + 5s,
                      "invalid_key");
}

TEST(KeyStateDisabledReason, OutOfCreditKeyWhoseProbeIsRefusedAsInvalidBecomesInvalid) {
  auto s = on_event(healthy_since(t0), key_event::out_of_credit, t0, defaults);
  s.probing = true;
  s = on_event(s, key_event::invalid_key, t0 + 600s, defaults, std::nullopt, true);
  EXPECT_EQ(s.reason, "invalid_key");
  EXPECT_EQ(s.step, 1200s);
}

TEST(KeyStateDisabledReason, ProbeRateLimitedOrTransientKeepsTheReason) {
  for (auto e : {key_event::rate_limited, key_event::transient}) {
    SCOPED_TRACE(::testing::PrintToString(e));
    auto s = on_event(healthy_since(t0), key_event::out_of_credit, t0, defaults);
    s.probing = true;
    s = on_event(s, e, t0 + 600s, defaults, std::nullopt, true);
    EXPECT_EQ(s.health, key_health::disabled);
    EXPECT_EQ(s.reason, "out_of_credit");
    EXPECT_EQ(s.step, 1200s);
  }
}

TEST(KeyStateDisabledReason, APollRefusedAsInvalidKeepsTheReason) {
  auto before = on_event(healthy_since(t0), key_event::out_of_credit, t0, defaults);
  auto s = on_event(before, key_event::invalid_key, t0 + 10s, defaults);
  expect_unchanged(s, before);
  EXPECT_EQ(s.reason, "out_of_credit");
  before.probing = true;  // also while the probe is out: only its answer may change the reason
  s = on_event(before, key_event::invalid_key, t0 + 610s, defaults);
  expect_unchanged(s, before);
  EXPECT_EQ(s.reason, "out_of_credit");
}

// --- sequences -----------------------------------------------------------------------------

TEST(KeyStateSequence, RateLimitBackoffDoublesToTenMinutes) {
  key_state s = healthy_since(t0);
  auto now = t0;
  const std::vector<seconds> expected{30s, 60s, 120s, 240s, 480s, 600s, 600s, 600s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    s = on_event(s, key_event::rate_limited, now, defaults);
    EXPECT_EQ(s.health, key_health::cooling) << "429 #" << i + 1;
    EXPECT_EQ(s.step, expected[i]) << "429 #" << i + 1;
    EXPECT_EQ(s.until, now + expected[i]) << "429 #" << i + 1;
    EXPECT_EQ(s.rate_limit_streak, static_cast<int>(i) + 1);
    EXPECT_EQ(admit(s, now + expected[i] - 1s), admission::cooling);
    now = s.until;  // the key is tried again as soon as it cooled down, and refused again
    EXPECT_EQ(admit(s, now), admission::usable);
  }
}

TEST(KeyStateSequence, SuccessResetsTheRateLimitBackoff) {
  auto s = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults);
  s = on_event(s, key_event::rate_limited, t0 + 30s, defaults);
  ASSERT_EQ(s.step, 60s);
  s = on_event(s, key_event::success, t0 + 90s, defaults);
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0 + 90s);
  s = on_event(s, key_event::rate_limited, t0 + 100s, defaults);
  EXPECT_EQ(s.step, 30s);
  EXPECT_EQ(s.until, t0 + 130s);
  EXPECT_EQ(s.rate_limit_streak, 1);
}

TEST(KeyStateSequence, RetryAfterWinsOverTheBackoffStep) {
  auto s = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults);
  s = on_event(s, key_event::rate_limited, t0 + 30s, defaults);
  ASSERT_EQ(s.step, 60s);
  s = on_event(s, key_event::rate_limited, t0 + 90s, defaults, 7s);
  EXPECT_EQ(s.until, t0 + 97s);  // exactly what the vendor said, not our 120 s guess
  EXPECT_EQ(s.rate_limit_streak, 3);
}

TEST(KeyStateSequence, RetryAfterLongerThanTheCapIsHonoured) {
  auto s = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 3600s);
  EXPECT_EQ(s.until, t0 + 3600s);
  EXPECT_EQ(admit(s, t0 + 3599s), admission::cooling);
  EXPECT_EQ(admit(s, t0 + 3600s), admission::usable);
}

TEST(KeyStateSequence, RetryAfterZeroOrNegativeIsUsableAtOnce) {
  auto zero = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 0s);
  EXPECT_EQ(zero.health, key_health::cooling);
  EXPECT_EQ(zero.until, t0);
  EXPECT_EQ(admit(zero, t0), admission::usable);
  auto negative = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, -5s);
  EXPECT_EQ(negative.until, t0);  // never in the past
  EXPECT_EQ(admit(negative, t0), admission::usable);
}

TEST(KeyStateSequence, ProbeIntervalDoublesOnEachFailureUpToTheMaximum) {
  key_state s = on_event(healthy_since(t0), key_event::invalid_key, t0, defaults);
  ASSERT_EQ(s.step, 600s);
  auto now = s.until;
  const std::vector<seconds> expected{1200s, 2400s, 4800s, 9600s, 19200s, 38400s, 76800s, 86400s, 86400s};
  const key_event failures[] = {key_event::invalid_key, key_event::transient, key_event::out_of_credit,
                                key_event::rate_limited};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(admit(s, now), admission::probe) << "probe #" << i + 1;
    s.probing = true;  // what the pool does when it hands the probe out
    EXPECT_EQ(admit(s, now), admission::disabled) << "only one probe at a time";
    s = on_event(s, failures[i % 4], now, defaults, std::nullopt, true);
    EXPECT_EQ(s.health, key_health::disabled);
    EXPECT_EQ(s.step, expected[i]) << "failed probe #" << i + 1;
    EXPECT_EQ(s.until, now + expected[i]) << "failed probe #" << i + 1;
    EXPECT_EQ(s.since, t0);
    EXPECT_FALSE(s.probing);
    EXPECT_EQ(admit(s, now + expected[i] - 1s), admission::disabled);
    now = s.until;
  }
}

TEST(KeyStateSequence, SuccessfulProbeMakesItHealthyAndTheNextDisableStartsOver) {
  auto s = on_event(healthy_since(t0), key_event::out_of_credit, t0, defaults);
  s.probing = true;
  s = on_event(s, key_event::out_of_credit, t0 + 600s, defaults, std::nullopt, true);  // the first probe fails
  ASSERT_EQ(s.step, 1200s);
  s.probing = true;
  s = on_event(s, key_event::success, t0 + 1800s, defaults, std::nullopt, true);
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0 + 1800s);
  s = on_event(s, key_event::invalid_key, t0 + 2000s, defaults);
  EXPECT_EQ(s.step, 600s);
  EXPECT_EQ(s.until, t0 + 2600s);
  EXPECT_EQ(s.since, t0 + 2000s);
}

TEST(KeyStateSequence, ThreeTransientsInARowCoolThirtySeconds) {
  auto s = on_event(healthy_since(t0), key_event::transient, t0, defaults);
  s = on_event(s, key_event::transient, t0 + 1s, defaults);
  EXPECT_EQ(s.health, key_health::healthy);
  EXPECT_EQ(s.transient_streak, 2);
  s = on_event(s, key_event::transient, t0 + 2s, defaults);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.reason, "transient");
  EXPECT_EQ(s.until, t0 + 32s);
  EXPECT_EQ(s.since, t0 + 2s);
  EXPECT_EQ(s.transient_streak, 0);  // the next three count afresh
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.step, 0s);  // a transient cooldown is not a 429 backoff step
  EXPECT_FALSE(s.probing);
  EXPECT_EQ(admit(s, t0 + 31s), admission::cooling);
  EXPECT_EQ(admit(s, t0 + 32s), admission::usable);
}

TEST(KeyStateSequence, TransientCooldownDoesNotGrow) {
  key_state s = healthy_since(t0);
  auto now = t0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3; ++i) s = on_event(s, key_event::transient, now, defaults);
    EXPECT_EQ(s.health, key_health::cooling);
    EXPECT_EQ(s.until, now + 30s) << "round " << round;
    now = s.until;
  }
}

TEST(KeyStateSequence, TwoTransientsThenSuccessResetTheStreak) {
  auto s = on_event(healthy_since(t0), key_event::transient, t0, defaults);
  s = on_event(s, key_event::transient, t0 + 1s, defaults);
  s = on_event(s, key_event::success, t0 + 2s, defaults);
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0);  // never left healthy
  s = on_event(s, key_event::transient, t0 + 3s, defaults);
  s = on_event(s, key_event::transient, t0 + 4s, defaults);
  EXPECT_EQ(s.health, key_health::healthy);  // 2 + 2 with a success between is not "3 in a row"
  EXPECT_EQ(s.transient_streak, 2);
}

TEST(KeyStateSequence, RateLimitBreaksATransientStreak) {
  auto s = on_event(healthy_since(t0), key_event::transient, t0, defaults);
  s = on_event(s, key_event::transient, t0 + 1s, defaults);
  s = on_event(s, key_event::rate_limited, t0 + 2s, defaults);
  EXPECT_EQ(s.transient_streak, 0);
  EXPECT_EQ(s.reason, "rate_limited");
  s = on_event(s, key_event::transient, t0 + 40s, defaults);
  EXPECT_EQ(s.transient_streak, 1);
  EXPECT_EQ(s.reason, "rate_limited");
}

TEST(KeyStateSequence, RateLimitAfterATransientCooldownStartsAtThirtySeconds) {
  key_state s = healthy_since(t0);
  for (int i = 0; i < 3; ++i) s = on_event(s, key_event::transient, t0, defaults);
  ASSERT_EQ(s.reason, "transient");
  s = on_event(s, key_event::rate_limited, t0 + 30s, defaults);
  EXPECT_EQ(s.reason, "rate_limited");
  EXPECT_EQ(s.step, 30s);
  EXPECT_EQ(s.until, t0 + 60s);
}

// A cooldown the vendor asked for (Retry-After) must not be cut short by a later event that
// lands while it runs (in-flight requests and polls keep reporting): the key would be handed
// out before the vendor's deadline and refused again.
TEST(KeyStateSequence, TransientStreakNeverShortensARunningCooldown) {
  auto s = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 300s);
  ASSERT_EQ(s.until, t0 + 300s);
  for (int i = 0; i < 3; ++i) s = on_event(s, key_event::transient, t0 + 10s, defaults);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_GE(s.until, t0 + 300s);
  EXPECT_EQ(admit(s, t0 + 100s), admission::cooling);
}

TEST(KeyStateSequence, RateLimitWithoutRetryAfterNeverShortensARunningCooldown) {
  auto s = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 300s);
  ASSERT_EQ(s.until, t0 + 300s);
  s = on_event(s, key_event::rate_limited, t0 + 10s, defaults);  // an in-flight request's 429
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_GE(s.until, t0 + 300s);
  EXPECT_EQ(admit(s, t0 + 100s), admission::cooling);
}

// 429s of requests already in flight when the cooling began are one event, not a series.
TEST(KeyStateSequence, InFlight429sDuringCoolingChangeNothing) {
  const auto before = cooling_after_429();  // until t0 + 30 s, step 30 s, streak 1
  for (auto at : {t0, t0 + 1s, t0 + 29s, t0 + 30s - std::chrono::nanoseconds(1)}) {
    auto s = on_event(before, key_event::rate_limited, at, defaults);
    expect_unchanged(s, before);
  }
  auto s = before;  // and many of them in a row
  for (int i = 0; i < 20; ++i) s = on_event(s, key_event::rate_limited, t0 + seconds(i), defaults);
  expect_unchanged(s, before);
  EXPECT_EQ(admit(s, t0 + 30s), admission::usable);
}

TEST(KeyStateSequence, A429AfterTheCooldownEndedDoubles) {
  auto s = on_event(cooling_after_429(), key_event::rate_limited, t0 + 30s, defaults);  // exactly at until
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.step, 60s);
  EXPECT_EQ(s.until, t0 + 90s);
  EXPECT_EQ(s.since, t0 + 30s);
  EXPECT_EQ(s.rate_limit_streak, 2);
  auto in_flight = on_event(s, key_event::rate_limited, t0 + 60s, defaults);
  expect_unchanged(in_flight, s);
  s = on_event(in_flight, key_event::rate_limited, t0 + 100s, defaults);  // well after until
  EXPECT_EQ(s.step, 120s);
  EXPECT_EQ(s.until, t0 + 220s);
  EXPECT_EQ(s.rate_limit_streak, 3);
}

TEST(KeyStateSequence, BackoffCountsCooldownsNotInFlight429s) {
  key_state s = healthy_since(t0);
  auto now = t0;
  const std::vector<seconds> expected{30s, 60s, 120s, 240s, 480s, 600s, 600s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    s = on_event(s, key_event::rate_limited, now, defaults);
    ASSERT_EQ(s.step, expected[i]) << "cooldown #" << i + 1;
    ASSERT_EQ(s.until, now + expected[i]) << "cooldown #" << i + 1;
    ASSERT_EQ(s.rate_limit_streak, static_cast<int>(i) + 1);
    for (int k = 0; k < 5; ++k) s = on_event(s, key_event::rate_limited, now + seconds(k), defaults);
    ASSERT_EQ(s.step, expected[i]) << "in-flight 429s after cooldown #" << i + 1;
    ASSERT_EQ(s.until, now + expected[i]);
    ASSERT_EQ(s.rate_limit_streak, static_cast<int>(i) + 1);
    now = s.until;
  }
}

TEST(KeyStateSequence, A429DuringATransientCooldownChangesNothing) {
  key_state s = healthy_since(t0);
  for (int i = 0; i < 3; ++i) s = on_event(s, key_event::transient, t0, defaults);
  ASSERT_EQ(s.reason, "transient");
  ASSERT_EQ(s.until, t0 + 30s);
  auto after = on_event(s, key_event::rate_limited, t0 + 10s, defaults);
  expect_unchanged(after, s);
}

TEST(KeyStateSequence, RetryAfterDuringCoolingIsExactlyThatValue) {
  auto s = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 300s);
  ASSERT_EQ(s.until, t0 + 300s);
  auto shorter = on_event(s, key_event::rate_limited, t0 + 10s, defaults, 5s);
  EXPECT_EQ(shorter.until, t0 + 15s);  // the vendor's latest word, even when it is sooner
  EXPECT_EQ(shorter.step, 0s);
  EXPECT_EQ(shorter.rate_limit_streak, 2);
  auto longer = on_event(s, key_event::rate_limited, t0 + 10s, defaults, 900s);
  EXPECT_EQ(longer.until, t0 + 910s);
  EXPECT_EQ(longer.rate_limit_streak, 2);

  // Also over our own backoff, in the middle of it.
  auto b = on_event(cooling_after_429(), key_event::rate_limited, t0 + 30s, defaults);
  ASSERT_EQ(b.until, t0 + 90s);
  b = on_event(b, key_event::rate_limited, t0 + 40s, defaults, 7s);
  EXPECT_EQ(b.until, t0 + 47s);
  EXPECT_EQ(b.step, 0s);
  EXPECT_EQ(b.reason, "rate_limited");
}

// The vendor asked us to wait: a success before `until` answers a request sent before the
// cooldown began, and does not end it (nor reset the backoff or the streaks).
TEST(KeyStateSequence, SuccessDuringCoolingBeforeUntilChangesNothing) {
  key_state transient_cooling = healthy_since(t0);
  for (int i = 0; i < 3; ++i) transient_cooling = on_event(transient_cooling, key_event::transient, t0, defaults);
  ASSERT_EQ(transient_cooling.reason, "transient");
  auto with_streak = on_event(cooling_after_429(), key_event::transient, t0 + 1s, defaults);
  ASSERT_EQ(with_streak.transient_streak, 1);
  const key_state coolings[] = {
      cooling_after_429(),                                                      // our backoff
      on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 30s),  // Retry-After
      transient_cooling,                                                        // three transients
      with_streak,                                                              // a streak running
  };
  for (const auto& before : coolings) {
    SCOPED_TRACE(before.reason + " step " + std::to_string(before.step.count()));
    ASSERT_EQ(before.health, key_health::cooling);
    ASSERT_EQ(before.until, t0 + 30s);
    for (auto at : {t0, t0 + 1s, t0 + 29s, t0 + 30s - std::chrono::nanoseconds(1)}) {
      auto s = on_event(before, key_event::success, at, defaults);
      expect_unchanged(s, before);
      EXPECT_EQ(admit(s, at), admission::cooling);
    }
    auto s = before;  // many of them in a row
    for (int i = 0; i < 20; ++i) s = on_event(s, key_event::success, t0 + seconds(i), defaults);
    expect_unchanged(s, before);
  }
}

TEST(KeyStateSequence, SuccessAtUntilHealsAndResetsEverything) {
  auto s = on_event(cooling_after_429(), key_event::rate_limited, t0 + 30s, defaults);  // backoff 60 s
  ASSERT_EQ(s.until, t0 + 90s);
  s = on_event(s, key_event::transient, t0 + 40s, defaults);
  ASSERT_EQ(s.transient_streak, 1);
  s = on_event(s, key_event::success, t0 + 89s, defaults);  // in flight before the cooldown began
  ASSERT_EQ(s.health, key_health::cooling);
  s = on_event(s, key_event::success, t0 + 90s, defaults);  // exactly at until
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0 + 90s);
  s = on_event(s, key_event::rate_limited, t0 + 100s, defaults);  // the backoff starts over
  EXPECT_EQ(s.step, 30s);
  EXPECT_EQ(s.rate_limit_streak, 1);

  auto exact = on_event(healthy_since(t0), key_event::rate_limited, t0, defaults, 300s);
  exact = on_event(exact, key_event::success, t0 + 300s, defaults);
  expect_clean_healthy(exact);
  EXPECT_EQ(exact.since, t0 + 300s);
}

// A revoked key is polled by its old jobs all the time: none of it moves the probe.
TEST(KeyStateSequence, PollsOfADisabledKeyNeverPushTheProbeOut) {
  const auto before = disabled_invalid();
  auto s = before;
  const key_event events[] = {key_event::invalid_key, key_event::out_of_credit, key_event::transient,
                              key_event::rate_limited, key_event::success};
  for (int i = 0; i < 100; ++i) s = on_event(s, events[i % 5], t0 + seconds(1 + i * 7), defaults);
  expect_unchanged(s, before);
  EXPECT_EQ(admit(s, t0 + 600s), admission::probe);
}

TEST(KeyStateSequence, OnlyTheProbeSuccessMakesADisabledKeyHealthy) {
  auto s = on_event(healthy_since(t0), key_event::out_of_credit, t0, defaults);
  for (auto at : {t0 + 10s, t0 + 600s, t0 + 5000s}) {
    s = on_event(s, key_event::success, at, defaults);
    EXPECT_EQ(s.health, key_health::disabled);
    EXPECT_EQ(s.reason, "out_of_credit");
    EXPECT_EQ(s.until, t0 + 600s);
  }
  s.probing = true;
  s = on_event(s, key_event::success, t0 + 5001s, defaults);  // a poll while the probe is out
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_TRUE(s.probing);
  s = on_event(s, key_event::success, t0 + 5001s, defaults, std::nullopt, true);  // the probe's answer
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0 + 5001s);
}

// The race the probe flag exists for: the probe is out, a poll of an old job fails first, the
// probe's answer comes after. The poll is no verdict; the probe's answer is.
TEST(KeyStateSequence, APollFailureWhileProbingIsNotTheProbeAndItsAnswerStillSettlesIt) {
  const auto probing = disabled_probing();
  auto s = on_event(probing, key_event::out_of_credit, t0 + 601s, defaults);  // the poll
  expect_unchanged(s, probing);
  s = on_event(s, key_event::success, t0 + 602s, defaults, std::nullopt, true);  // the probe: the key works
  expect_clean_healthy(s);
  EXPECT_EQ(s.since, t0 + 602s);

  s = on_event(probing, key_event::invalid_key, t0 + 601s, defaults);  // the poll
  s = on_event(s, key_event::transient, t0 + 602s, defaults, std::nullopt, true);  // the probe fails
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "invalid_key");
  EXPECT_EQ(s.step, 1200s);  // one failed probe, not two
  EXPECT_EQ(s.until, t0 + 602s + 1200s);
  EXPECT_FALSE(s.probing);
}

TEST(KeyStateSequence, APollSuccessWhileProbingIsNotARecovery) {
  auto s = on_event(disabled_probing(), key_event::success, t0 + 601s, defaults);  // the poll
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_TRUE(s.probing);
  EXPECT_EQ(admit(s, t0 + 601s), admission::disabled);
  s = on_event(s, key_event::out_of_credit, t0 + 602s, defaults, std::nullopt, true);  // the probe
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "out_of_credit");
  EXPECT_EQ(s.step, 1200s);
  EXPECT_FALSE(s.probing);
}

TEST(KeyStateSequence, AfterAFailedProbePollsChangeNothingUntilTheNextProbe) {
  auto s = disabled_probing();
  s = on_event(s, key_event::invalid_key, t0 + 600s, defaults, std::nullopt, true);
  ASSERT_EQ(s.step, 1200s);
  ASSERT_EQ(s.until, t0 + 1800s);
  const auto failed = s;
  for (auto e : {key_event::invalid_key, key_event::transient, key_event::success})
    for (bool from_probe : {false, true})  // a second answer to the failed probe is no verdict either
      s = on_event(s, e, t0 + 700s, defaults, std::nullopt, from_probe);
  expect_unchanged(s, failed);
  ASSERT_EQ(admit(s, t0 + 1800s), admission::probe);
  s.probing = true;
  s = on_event(s, key_event::transient, t0 + 1800s, defaults, std::nullopt, true);
  EXPECT_EQ(s.step, 2400s);
  EXPECT_EQ(s.until, t0 + 4200s);
  EXPECT_FALSE(s.probing);
}

// --- admit ---------------------------------------------------------------------------------

TEST(KeyStateAdmit, HealthyIsAlwaysUsable) {
  key_state s;
  EXPECT_EQ(admit(s, key_clock::time_point{}), admission::usable);
  EXPECT_EQ(admit(s, t0), admission::usable);
  EXPECT_EQ(admit(s, t0 + 1000000s), admission::usable);
  s.transient_streak = 2;
  EXPECT_EQ(admit(s, t0), admission::usable);
}

TEST(KeyStateAdmit, CoolingUntilThenUsable) {
  key_state s;
  s.health = key_health::cooling;
  s.until = t0 + 30s;
  s.reason = "rate_limited";
  EXPECT_EQ(admit(s, t0), admission::cooling);
  EXPECT_EQ(admit(s, t0 + 30s - std::chrono::nanoseconds(1)), admission::cooling);
  EXPECT_EQ(admit(s, t0 + 30s), admission::usable);
  EXPECT_EQ(admit(s, t0 + 31s), admission::usable);
}

TEST(KeyStateAdmit, DisabledUntilThenOneProbe) {
  key_state s;
  s.health = key_health::disabled;
  s.until = t0 + 600s;
  s.reason = "invalid_key";
  s.step = 600s;
  EXPECT_EQ(admit(s, t0), admission::disabled);
  EXPECT_EQ(admit(s, t0 + 600s - std::chrono::nanoseconds(1)), admission::disabled);
  EXPECT_EQ(admit(s, t0 + 600s), admission::probe);
  EXPECT_EQ(admit(s, t0 + 5000s), admission::probe);
  s.probing = true;
  EXPECT_EQ(admit(s, t0), admission::disabled);
  EXPECT_EQ(admit(s, t0 + 600s), admission::disabled);
  EXPECT_EQ(admit(s, t0 + 5000s), admission::disabled);
}

TEST(KeyStateAdmit, IsPure) {
  auto s = disabled_invalid();
  auto copy = s;
  EXPECT_EQ(admit(s, t0 + 600s), admission::probe);
  EXPECT_EQ(admit(s, t0 + 600s), admission::probe);  // asking does not take the probe
  EXPECT_EQ(s.probing, copy.probing);
  EXPECT_EQ(s.until, copy.until);
}

// --- a custom policy -----------------------------------------------------------------------

TEST(KeyStatePolicy, CustomRateLimitBackoff) {
  key_policy p;
  p.rate_limit_cooldown = 5s;
  p.max_rate_limit_cooldown = 20s;
  key_state s = healthy_since(t0);
  auto now = t0;
  for (auto want : {5s, 10s, 20s, 20s}) {
    s = on_event(s, key_event::rate_limited, now, p);
    EXPECT_EQ(s.step, want);
    EXPECT_EQ(s.until, now + want);
    now = s.until;
  }
  s = on_event(s, key_event::rate_limited, now, p, 3s);  // Retry-After still wins
  EXPECT_EQ(s.until, now + 3s);
}

TEST(KeyStatePolicy, CustomTransientLimitAndCooldown) {
  key_policy p;
  p.transient_limit = 2;
  p.transient_cooldown = 12s;
  auto s = on_event(healthy_since(t0), key_event::transient, t0, p);
  EXPECT_EQ(s.health, key_health::healthy);
  s = on_event(s, key_event::transient, t0 + 1s, p);
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.reason, "transient");
  EXPECT_EQ(s.until, t0 + 13s);

  p.transient_limit = 1;
  auto one = on_event(healthy_since(t0), key_event::transient, t0, p);
  EXPECT_EQ(one.health, key_health::cooling);
  EXPECT_EQ(one.until, t0 + 12s);

  p.transient_limit = 5;  // the default 3 is not hard-wired
  key_state five = healthy_since(t0);
  for (int i = 0; i < 4; ++i) five = on_event(five, key_event::transient, t0, p);
  EXPECT_EQ(five.health, key_health::healthy);
  EXPECT_EQ(five.transient_streak, 4);
  five = on_event(five, key_event::transient, t0, p);
  EXPECT_EQ(five.health, key_health::cooling);
}

TEST(KeyStatePolicy, CustomProbeInterval) {
  key_policy p;
  p.disabled_retry = 60s;
  p.max_disabled_retry = 240s;
  auto s = on_event(healthy_since(t0), key_event::invalid_key, t0, p);
  EXPECT_EQ(s.step, 60s);
  EXPECT_EQ(s.until, t0 + 60s);
  auto now = s.until;
  for (auto want : {120s, 240s, 240s}) {
    s.probing = true;  // each is a failed probe
    s = on_event(s, key_event::transient, now, p, std::nullopt, true);
    EXPECT_EQ(s.step, want);
    EXPECT_EQ(s.until, now + want);
    now = s.until;
  }
}

}  // namespace
}  // namespace videogate::routing

// --- the health shown (admin answers, status page, metrics) --------------------------------

namespace videogate::routing {
namespace {

using namespace std::chrono_literals;

TEST(KeyStateShown, ACoolingKeyPastItsCooldownShowsHealthy) {
  const auto at = key_clock::time_point{} + 1000s;
  auto s = on_event(key_state{}, key_event::rate_limited, at, key_policy{});
  ASSERT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(shown_health(s, at + 29s), key_health::cooling);
  EXPECT_EQ(shown_health(s, at + 30s), key_health::healthy) << "usable again, though no request changed its state yet";
}

TEST(KeyStateShown, ADisabledKeyStaysDisabledPastItsProbeTime) {
  const auto at = key_clock::time_point{} + 1000s;
  auto s = on_event(key_state{}, key_event::invalid_key, at, key_policy{});
  EXPECT_EQ(shown_health(s, at + 601s), key_health::disabled) << "only a probe's answer brings it back";
  EXPECT_EQ(shown_health(key_state{}, at), key_health::healthy);
}

}  // namespace
}  // namespace videogate::routing
