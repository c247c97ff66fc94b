#include "videogate/routing/failover.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace videogate::routing {

inline void PrintTo(attempt_kind k, std::ostream* os) { *os << to_string(k); }
inline void PrintTo(failover_plan::step s, std::ostream* os) {
  *os << (s == failover_plan::step::next_key ? "next_key" : s == failover_plan::step::next_upstream ? "next_upstream" : "stop");
}

namespace {

using namespace std::chrono_literals;
using step = failover_plan::step;

// No real time: every instant is an offset from an arbitrary origin.
const key_clock::time_point t0 = key_clock::time_point{} + 1000s;

// ---- classified vendor answers, as dialects::classify_http_error and http::client make them ----

error with(errc c, int status = 0, bool after_send = false, std::optional<long long> retry_after = std::nullopt) {
  auto e = fail(c, "vendor says " + std::string(to_string(c)));
  e.upstream_status = status;
  e.after_send = after_send;
  e.retry_after_s = retry_after;
  return e;
}
error rate_limited(std::optional<long long> retry_after = std::nullopt) {
  return with(errc::upstream_rate_limited, 429, true, retry_after);
}
error invalid_key() { return with(errc::upstream_auth, 401, true); }
error out_of_credit() { return with(errc::upstream_out_of_credit, 402, true); }
error connect_failed() { return with(errc::upstream_unavailable); }                // never reached the vendor
error explicit_500() { return with(errc::upstream_unavailable, 500, false); }      // a 5xx error answer
error timeout_before_send() { return with(errc::upstream_timeout); }
error timeout_after_send() { return with(errc::upstream_timeout, 0, true); }
error reset_after_send() { return with(errc::upstream_unavailable, 0, true); }
error bad_gateway_after_send() { return with(errc::upstream_unavailable, 502, true); }
error rejected() { return with(errc::upstream_rejected, 400, true); }
error unreadable() { return with(errc::bad_upstream_response, 200, true); }
error truncated_after_send() { return with(errc::upstream_unavailable, 200, true); }  // cut mid-body
error not_found_answer() { return with(errc::not_found, 404, true); }

// ---- a route driven the way api::create_new drives it, without sockets ----

/// One upstream of a route: its keys (0 = none usable), or the reason it cannot serve the request.
struct fake_upstream {
  std::string name;
  int keys = 2;
  std::optional<error> unusable;
  std::optional<key_clock::time_point> soonest;  ///< a cooling key usable again then
  bool capped = false;
  std::chrono::milliseconds poll_interval = 2s;
};

struct run_result {
  std::vector<std::pair<int, int>> attempts;      ///< (upstream, key) in the order they were tried
  std::optional<std::pair<int, int>> accepted_by;  ///< the attempt that made the job
  std::optional<error> answer;                     ///< the error the client hears, if none did
};

/// `outcome(u, k)`: nullopt = the vendor made the job, else how the attempt failed.
run_result drive(const std::vector<fake_upstream>& route,
                 const std::function<std::optional<error>(int, int)>& outcome) {
  failover_plan plan("sora-2");
  run_result out;
  std::vector<key_ref> refs(8);
  for (int u = 0; u < static_cast<int>(route.size()); ++u) {
    auto& up = route[u];
    if (up.unusable) {
      plan.upstream_unusable(*up.unusable);
      continue;
    }
    key_pool::choice c;
    for (int k = 0; k < up.keys; ++k) c.keys.push_back({&refs[k], false});
    c.soonest = up.soonest;
    c.capped = up.capped;
    plan.upstream_keys(c, t0, up.poll_interval);
    for (int k = 0; k < up.keys; ++k) {
      out.attempts.emplace_back(u, k);
      auto e = outcome(u, k);
      if (!e) {
        out.accepted_by = std::make_pair(u, k);
        return out;
      }
      auto next = plan.attempt_failed(up.name, *e);
      if (next == step::stop) {
        out.answer = plan.outcome();
        return out;
      }
      if (next == step::next_upstream) break;
    }
  }
  out.answer = plan.outcome();
  return out;
}

const std::vector<fake_upstream> two_by_two = {{"vendor-a"}, {"vendor-b"}};
const std::vector<std::pair<int, int>> positions = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};

std::vector<std::pair<int, int>> tried(std::initializer_list<std::pair<int, int>> l) { return l; }

// ---- classification ----------------------------------------------------------------------

TEST(FailoverClassify, EveryVendorOutcome) {
  EXPECT_EQ(classify_attempt(timeout_after_send()), attempt_kind::unknown_outcome);
  EXPECT_EQ(classify_attempt(reset_after_send()), attempt_kind::unknown_outcome);
  EXPECT_EQ(classify_attempt(bad_gateway_after_send()), attempt_kind::unknown_outcome);
  EXPECT_EQ(classify_attempt(rate_limited(5)), attempt_kind::rate_limited);
  EXPECT_EQ(classify_attempt(invalid_key()), attempt_kind::key_refused);
  EXPECT_EQ(classify_attempt(out_of_credit()), attempt_kind::key_refused);
  EXPECT_EQ(classify_attempt(connect_failed()), attempt_kind::key_refused);
  EXPECT_EQ(classify_attempt(explicit_500()), attempt_kind::key_refused);
  EXPECT_EQ(classify_attempt(timeout_before_send()), attempt_kind::vendor_failing);
  EXPECT_EQ(classify_attempt(rejected()), attempt_kind::final_error);
  EXPECT_EQ(classify_attempt(truncated_after_send()), attempt_kind::unknown_outcome);  // the job may exist
  EXPECT_EQ(classify_attempt(unreadable()), attempt_kind::final_error);  // DESIGN §1: 502
  EXPECT_EQ(classify_attempt(with(errc::not_found, 404, true)), attempt_kind::final_error);
}

// ---- every outcome in every position of a 2 upstreams x 2 keys route -------------------------

// The failure happens at `pos`; every attempt before it was refused for its key, every attempt
// after it succeeds (so the test sees exactly where the plan went next).
run_result fail_at(std::pair<int, int> pos, const error& e) {
  return drive(two_by_two, [&](int u, int k) -> std::optional<error> {
    std::pair<int, int> at{u, k};
    if (at < pos) return invalid_key();
    if (at == pos) return e;
    return std::nullopt;
  });
}

TEST(FailoverPlan, SuccessAtEachPositionStopsThere) {
  for (auto pos : positions) {
    auto r = drive(two_by_two, [&](int u, int k) -> std::optional<error> {
      if (std::make_pair(u, k) < pos) return invalid_key();
      return std::nullopt;
    });
    ASSERT_TRUE(r.accepted_by) << pos.first << "," << pos.second;
    EXPECT_EQ(*r.accepted_by, pos);
    EXPECT_EQ(r.attempts.back(), pos);
    EXPECT_EQ(r.attempts.size(), static_cast<std::size_t>(pos.first * 2 + pos.second + 1));
  }
}

TEST(FailoverPlan, UnknownOutcomeAtAnyPositionIsNeverSentAgain) {
  for (auto pos : positions)
    for (auto& e : {timeout_after_send(), reset_after_send(), bad_gateway_after_send(), truncated_after_send()}) {
      auto r = fail_at(pos, e);
      EXPECT_FALSE(r.accepted_by) << "sent again after an unknown outcome at " << pos.first << "," << pos.second;
      EXPECT_EQ(r.attempts.back(), pos);
      ASSERT_TRUE(r.answer);
      EXPECT_EQ(r.answer->code, errc::upstream_timeout);  // 504 "the job may exist", whatever cut it
      EXPECT_TRUE(r.answer->after_send);
      EXPECT_NE(r.answer->message.find("may exist"), std::string::npos);
    }
}

TEST(FailoverPlan, AnyUnknownOutcomeSaysTheJobMayExist) {
  auto r = fail_at({1, 0}, timeout_after_send());
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::upstream_timeout);
  EXPECT_NE(r.answer->message.find("Upstream 'vendor-b' did not answer the create"), std::string::npos);
  EXPECT_NE(r.answer->message.find("may exist"), std::string::npos);
  // The transport's own words stay in the message, for whoever reads the log.
  auto reset = fail_at({0, 0}, reset_after_send());
  EXPECT_NE(reset.answer->message.find(reset_after_send().message), std::string::npos);
  EXPECT_EQ(reset.answer->code, errc::upstream_timeout);
}

TEST(FailoverPlan, RefusedKeyAtAnyPositionMovesToTheNextKeyThenTheNextUpstream) {
  for (auto pos : positions)
    for (auto& e : {invalid_key(), out_of_credit(), connect_failed(), explicit_500(), rate_limited(7)}) {
      auto r = fail_at(pos, e);
      auto next = pos.second == 0 ? std::make_pair(pos.first, 1) : std::make_pair(pos.first + 1, 0);
      if (next.first < 2) {
        ASSERT_TRUE(r.accepted_by) << to_string(e.code) << " at " << pos.first << "," << pos.second;
        EXPECT_EQ(*r.accepted_by, next);
      } else {
        EXPECT_FALSE(r.accepted_by);  // the last key of the last upstream: the route is exhausted
        ASSERT_TRUE(r.answer);
      }
    }
}

TEST(FailoverPlan, FailingVendorAtAnyPositionSkipsTheRestOfItsKeys) {
  for (auto pos : positions) {
    auto r = fail_at(pos, timeout_before_send());
    if (pos.first == 0) {
      ASSERT_TRUE(r.accepted_by);
      EXPECT_EQ(*r.accepted_by, std::make_pair(1, 0));
      if (pos.second == 0) EXPECT_EQ(r.attempts, tried({{0, 0}, {1, 0}}));  // key 1 of vendor-a is never tried
      else EXPECT_EQ(r.attempts, tried({{0, 0}, {0, 1}, {1, 0}}));
    } else {
      EXPECT_FALSE(r.accepted_by);
      EXPECT_EQ(r.attempts.back(), pos);
      ASSERT_TRUE(r.answer);
      EXPECT_EQ(r.answer->code, errc::no_upstream_available);  // a timeout is not the vendor's own 5xx
    }
  }
}

TEST(FailoverPlan, FinalErrorAtAnyPositionIsTheAnswer) {
  for (auto pos : positions)
    for (auto& e : {rejected(), unreadable(), not_found_answer()}) {
      auto r = fail_at(pos, e);
      EXPECT_FALSE(r.accepted_by);
      EXPECT_EQ(r.attempts.back(), pos);
      ASSERT_TRUE(r.answer);
      EXPECT_EQ(r.answer->code, e.code);
      EXPECT_EQ(r.answer->message, e.message);
    }
}

// ---- how an exhausted route ends ------------------------------------------------------------

TEST(FailoverOutcome, AllRateLimitedIs429WithTheSoonestRetryAfter) {
  std::vector<long long> after = {40, 12, 90, 25};
  auto r = drive(two_by_two, [&](int u, int k) -> std::optional<error> { return rate_limited(after[u * 2 + k]); });
  EXPECT_EQ(r.attempts, tried({{0, 0}, {0, 1}, {1, 0}, {1, 1}}));
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::upstream_rate_limited);
  EXPECT_EQ(r.answer->retry_after_s, 12);
  EXPECT_NE(r.answer->message.find("model 'sora-2'"), std::string::npos);
  EXPECT_NE(r.answer->message.find("retry after 12 s"), std::string::npos);
}

TEST(FailoverOutcome, A429WithoutRetryAfterCountsAs30s) {
  auto r = drive({{"vendor-a", 1}}, [](int, int) -> std::optional<error> { return rate_limited(); });
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->retry_after_s, 30);
}

TEST(FailoverOutcome, RetryAfterIsClampedToOneSecondToOneDay) {
  auto big = drive({{"vendor-a", 1}}, [](int, int) -> std::optional<error> { return rate_limited(10'000'000); });
  EXPECT_EQ(big.answer->retry_after_s, 86'400);
  auto zero = drive({{"vendor-a", 1}}, [](int, int) -> std::optional<error> { return rate_limited(0); });
  EXPECT_EQ(zero.answer->retry_after_s, 1);
  auto negative = drive({{"vendor-a", 1}}, [](int, int) -> std::optional<error> { return rate_limited(-5); });
  EXPECT_EQ(negative.answer->retry_after_s, 1);
}

TEST(FailoverOutcome, NoUsableKeyButACoolingOneIs429UntilItCools) {
  // vendor-a: every key cooling, the soonest usable in 4.2 s; vendor-b: every key disabled.
  std::vector<fake_upstream> route = {{"vendor-a", 0, std::nullopt, t0 + 4200ms}, {"vendor-b", 0}};
  auto r = drive(route, [](int, int) -> std::optional<error> { return std::nullopt; });
  EXPECT_TRUE(r.attempts.empty());
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::upstream_rate_limited);
  EXPECT_EQ(r.answer->retry_after_s, 5);  // rounded up
}

TEST(FailoverOutcome, KeysAtTheirCapWaitAboutOnePollInterval) {
  fake_upstream capped{"vendor-a", 0};
  capped.capped = true;
  capped.poll_interval = 2500ms;
  auto r = drive({capped}, [](int, int) -> std::optional<error> { return std::nullopt; });
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::upstream_rate_limited);
  EXPECT_EQ(r.answer->retry_after_s, 3);
}

TEST(FailoverOutcome, TheSoonestOfCoolingCappedAndRateLimitedWins) {
  fake_upstream a{"vendor-a", 1, std::nullopt, t0 + 50s};
  fake_upstream b{"vendor-b", 1};
  b.capped = true;
  b.poll_interval = 20s;
  auto r = drive({a, b}, [](int u, int) -> std::optional<error> { return rate_limited(u == 0 ? 70 : 9); });
  EXPECT_EQ(r.answer->retry_after_s, 9);
  auto r2 = drive({a, b}, [](int, int) -> std::optional<error> { return rate_limited(100); });
  EXPECT_EQ(r2.answer->retry_after_s, 20);
}

TEST(FailoverOutcome, EveryKeyDisabledIs503) {
  auto r = drive({{"vendor-a", 0}, {"vendor-b", 0}}, [](int, int) -> std::optional<error> { return std::nullopt; });
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::no_upstream_available);
  EXPECT_NE(r.answer->message.find("model 'sora-2'"), std::string::npos);
}

TEST(FailoverOutcome, RefusedEverywhereIs503) {
  auto r = drive(two_by_two, [](int, int) -> std::optional<error> { return invalid_key(); });
  EXPECT_EQ(r.attempts.size(), 4u);
  EXPECT_EQ(r.answer->code, errc::no_upstream_available);
  auto c = drive(two_by_two, [](int, int) -> std::optional<error> { return connect_failed(); });
  EXPECT_EQ(c.answer->code, errc::no_upstream_available);
}

TEST(FailoverOutcome, TheVendorsOwn5xxIsPassedOnWhenItWasTheLastFailure) {
  auto r = drive(two_by_two, [](int u, int) -> std::optional<error> { return u == 0 ? invalid_key() : explicit_500(); });
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::upstream_unavailable);
  EXPECT_EQ(r.answer->upstream_status, 500);
  // ...but a rate limit anywhere on the route wins: the client can come back.
  auto rl = drive(two_by_two, [](int u, int) -> std::optional<error> { return u == 0 ? rate_limited(3) : explicit_500(); });
  EXPECT_EQ(rl.answer->code, errc::upstream_rate_limited);
  EXPECT_EQ(rl.answer->retry_after_s, 3);
}

TEST(FailoverOutcome, NoUpstreamCanServeTheRequestIsTheFirstReason) {
  auto too_long = fail(errc::unsupported_value, "vendor-a makes 10 or 15 s", "seconds");
  auto too_big = fail(errc::unsupported_value, "vendor-b needs a pro model", "size");
  auto r = drive({{"vendor-a", 2, too_long}, {"vendor-b", 2, too_big}},
                 [](int, int) -> std::optional<error> { return std::nullopt; });
  EXPECT_TRUE(r.attempts.empty());
  ASSERT_TRUE(r.answer);
  EXPECT_EQ(r.answer->code, errc::unsupported_value);
  EXPECT_EQ(r.answer->param, "seconds");
  EXPECT_EQ(r.answer->message, too_long.message);
}

TEST(FailoverOutcome, AnUnusableUpstreamIsSkippedForTheNextOne) {
  auto r = drive({{"vendor-a", 2, fail(errc::unsupported_value, "no", "seconds")}, {"vendor-b"}},
                 [](int, int) -> std::optional<error> { return std::nullopt; });
  ASSERT_TRUE(r.accepted_by);
  EXPECT_EQ(*r.accepted_by, std::make_pair(1, 0));
}

TEST(FailoverOutcome, AnInvalidReasonDoesNotHideACoolingKey) {
  // vendor-a cannot make the duration; vendor-b could, but its only key is cooling: come back.
  auto r = drive({{"vendor-a", 2, fail(errc::unsupported_value, "no", "seconds")}, {"vendor-b", 0, std::nullopt, t0 + 8s}},
                 [](int, int) -> std::optional<error> { return std::nullopt; });
  EXPECT_EQ(r.answer->code, errc::upstream_rate_limited);
  EXPECT_EQ(r.answer->retry_after_s, 8);
}

TEST(FailoverOutcome, AnInvalidReasonAfterAnAttemptIsNotTheAnswer) {
  // Something was tried and refused: the client hears about keys, not about another upstream's rules.
  auto r = drive({{"vendor-a", 1}, {"vendor-b", 2, fail(errc::unsupported_value, "no", "seconds")}},
                 [](int, int) -> std::optional<error> { return invalid_key(); });
  EXPECT_EQ(r.answer->code, errc::no_upstream_available);
}

TEST(FailoverOutcome, StateIsVisibleBetweenSteps) {
  failover_plan plan("sora-2");
  EXPECT_FALSE(plan.attempted());
  EXPECT_FALSE(plan.retry_after());
  EXPECT_EQ(plan.attempt_failed("vendor-a", rate_limited(6)), step::next_key);
  EXPECT_TRUE(plan.attempted());
  EXPECT_EQ(plan.retry_after(), 6);
  EXPECT_EQ(plan.attempt_failed("vendor-a", timeout_before_send()), step::next_upstream);
  EXPECT_EQ(plan.attempt_failed("vendor-b", rejected()), step::stop);
  EXPECT_EQ(plan.outcome().code, errc::upstream_rejected);  // the stopping error wins over the 429
}

}  // namespace
}  // namespace videogate::routing
