#include "videogate/routing/key_pool.hpp"

#include "videogate/jobs/ids.hpp"

#include "print.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace videogate::routing {

namespace {

using namespace std::chrono_literals;

const key_clock::time_point t0 = key_clock::time_point{} + 1000s;

// Secrets with characters outside [0-9a-f], so no fingerprint can contain one by chance.
const std::vector<std::string> secrets{"sk-alpha-key-0001", "sk-bravo-key-0002", "sk-charlie-key-0003",
                                       "sk-delta-key-0004"};

config::upstream_config make_cfg(config::key_strategy strategy, std::uint32_t cap = 0,
                                 std::vector<std::string> keys = secrets) {
  config::upstream_config c;
  c.name = "vendor-a";
  c.dialect = config::dialect_kind::unified;
  c.base_url = "https://api.example.com";
  c.keys = std::move(keys);
  c.strategy = strategy;
  c.max_jobs_per_key = cap;
  return c;
}

std::vector<std::string> order(const key_pool::choice& c) {
  std::vector<std::string> out;
  for (auto& p : c.keys) out.push_back(p.key->secret);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

int probes_in(const key_pool::choice& c) {
  return static_cast<int>(std::count_if(c.keys.begin(), c.keys.end(), [](auto& p) { return p.probe; }));
}

// The pool keeps a pointer to its config: the fixture owns both, config first.
class KeyPoolTest : public ::testing::Test {
 protected:
  void make(config::key_strategy s, std::uint32_t cap = 0, key_policy policy = {}) {
    pool_.reset();
    cfg_ = make_cfg(s, cap);
    pool_ = std::make_unique<key_pool>(cfg_, policy);
  }
  key_pool& pool() { return *pool_; }
  const key_ref& key(std::size_t i) { return *pool_->keys().at(i); }
  const std::string& fp(std::size_t i) { return key(i).fp; }
  key_view view_of(std::size_t i) { return pool_->view().at(i); }

  config::upstream_config cfg_;
  std::unique_ptr<key_pool> pool_;
};

// --- construction, keys(), by_fingerprint ------------------------------------------------

TEST_F(KeyPoolTest, KeysKeepConfigOrderWithFingerprints) {
  make(config::key_strategy::round_robin);
  ASSERT_EQ(pool().keys().size(), secrets.size());
  std::set<std::string> fps;
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    EXPECT_EQ(key(i).secret, secrets[i]);
    EXPECT_EQ(key(i).fp, jobs::key_fingerprint(secrets[i]));
    EXPECT_EQ(key(i).fp.size(), 12u);
    EXPECT_EQ(key(i).fp.find_first_not_of("0123456789abcdef"), std::string::npos);
    fps.insert(key(i).fp);
  }
  EXPECT_EQ(fps.size(), secrets.size());
}

TEST_F(KeyPoolTest, ByFingerprintFindsTheSameKeyObject) {
  make(config::key_strategy::round_robin);
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    auto* k = pool().by_fingerprint(fp(i));
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k, &key(i));  // stable address: what candidates() hands out
    EXPECT_EQ(k->secret, secrets[i]);
  }
  EXPECT_EQ(pool().by_fingerprint(""), nullptr);
  EXPECT_EQ(pool().by_fingerprint("000000000000"), nullptr);
  EXPECT_EQ(pool().by_fingerprint(secrets[0]), nullptr);  // a secret is not a fingerprint
  EXPECT_EQ(pool().by_fingerprint(jobs::key_fingerprint("sk-not-in-this-pool")), nullptr);
}

TEST_F(KeyPoolTest, CandidatesPointIntoKeys) {
  make(config::key_strategy::round_robin);
  auto c = pool().candidates(t0);
  for (auto& p : c.keys) EXPECT_EQ(pool().by_fingerprint(p.key->fp), p.key);
}

TEST(KeyPool, EmptyPoolHasNoCandidates) {
  auto cfg = make_cfg(config::key_strategy::round_robin, 0, {});
  key_pool pool(cfg);
  auto c = pool.candidates(t0);
  EXPECT_TRUE(c.keys.empty());
  EXPECT_FALSE(c.soonest);
  EXPECT_FALSE(c.capped);
  EXPECT_TRUE(pool.view().empty());
}

// --- round_robin -------------------------------------------------------------------------

TEST_F(KeyPoolTest, RoundRobinRotatesAcrossCalls) {
  make(config::key_strategy::round_robin);
  auto first = order(pool().candidates(t0));
  ASSERT_EQ(first.size(), 4u);
  auto start = static_cast<std::size_t>(std::find(secrets.begin(), secrets.end(), first[0]) - secrets.begin());
  std::set<std::string> leaders;
  for (std::size_t call = 0; call < 8; ++call) {
    auto c = call == 0 ? first : order(pool().candidates(t0 + std::chrono::seconds(call)));
    ASSERT_EQ(c.size(), 4u) << "call " << call;
    for (std::size_t j = 0; j < 4; ++j)  // every key, in config order, starting one further each call
      EXPECT_EQ(c[j], secrets[(start + call + j) % 4]) << "call " << call << " position " << j;
    leaders.insert(c[0]);
  }
  EXPECT_EQ(leaders.size(), 4u);
}

TEST_F(KeyPoolTest, RoundRobinChoiceIsClean) {
  make(config::key_strategy::round_robin);
  auto c = pool().candidates(t0);
  EXPECT_EQ(probes_in(c), 0);
  EXPECT_FALSE(c.soonest);
  EXPECT_FALSE(c.capped);
}

TEST_F(KeyPoolTest, RoundRobinRotatesAmongUsableKeysOnly) {
  make(config::key_strategy::round_robin);
  pool().report(key(1), key_event::rate_limited, t0, 60s);
  std::set<std::string> leaders;
  for (int call = 0; call < 6; ++call) {
    auto c = pool().candidates(t0 + 1s);
    auto o = order(c);
    EXPECT_EQ(sorted(o), sorted({secrets[0], secrets[2], secrets[3]}));
    leaders.insert(o.at(0));
  }
  EXPECT_EQ(leaders.size(), 3u);
}

// --- random ------------------------------------------------------------------------------

TEST_F(KeyPoolTest, RandomIsAPermutationOfTheUsableKeys) {
  make(config::key_strategy::random);
  std::set<std::vector<std::string>> orders;
  std::set<std::string> leaders;
  for (int call = 0; call < 200; ++call) {
    auto c = pool().candidates(t0);
    auto o = order(c);
    EXPECT_EQ(sorted(o), sorted(secrets));
    EXPECT_EQ(probes_in(c), 0);
    orders.insert(o);
    leaders.insert(o.at(0));
  }
  // 200 draws of 24 orders: the chance of fewer than 2 orders or a key never leading is < 1e-20.
  EXPECT_GT(orders.size(), 1u);
  EXPECT_EQ(leaders.size(), 4u);
}

TEST_F(KeyPoolTest, RandomLeavesOutCoolingAndDisabledKeys) {
  make(config::key_strategy::random);
  pool().report(key(0), key_event::rate_limited, t0);
  pool().report(key(3), key_event::invalid_key, t0);
  for (int call = 0; call < 50; ++call) {
    auto c = pool().candidates(t0 + 1s);
    EXPECT_EQ(sorted(order(c)), sorted({secrets[1], secrets[2]}));
  }
}

// --- least_busy --------------------------------------------------------------------------

TEST_F(KeyPoolTest, LeastBusyOrdersByInFlightPlusUnfinished) {
  make(config::key_strategy::least_busy);
  // loads: key0 = 2 in flight; key1 = 1 unfinished; key2 = idle; key3 = 1 + 2 = 3
  pool().request_started(key(0));
  pool().request_started(key(0));
  pool().job_started(fp(1));
  pool().request_started(key(3));
  pool().job_started(fp(3));
  pool().job_started(fp(3));
  for (int call = 0; call < 5; ++call)
    EXPECT_EQ(order(pool().candidates(t0)), (std::vector<std::string>{secrets[2], secrets[1], secrets[0], secrets[3]}))
        << "call " << call;

  // Finishing work moves a key forward.
  pool().request_finished(key(0));
  pool().request_finished(key(0));
  pool().job_finished(fp(3));
  pool().request_finished(key(3));
  // loads now: key0 = 0, key1 = 1, key2 = 0, key3 = 1
  auto o = order(pool().candidates(t0));
  EXPECT_EQ(sorted({o[0], o[1]}), sorted({secrets[0], secrets[2]}));
  EXPECT_EQ(sorted({o[2], o[3]}), sorted({secrets[1], secrets[3]}));
}

TEST_F(KeyPoolTest, LeastBusyTiesStillSpreadTheLoad) {
  make(config::key_strategy::least_busy);
  std::set<std::string> leaders;
  for (int call = 0; call < 4; ++call) {
    auto o = order(pool().candidates(t0));
    EXPECT_EQ(sorted(o), sorted(secrets));
    leaders.insert(o.at(0));
  }
  EXPECT_EQ(leaders.size(), 4u);
}

TEST_F(KeyPoolTest, LeastBusyCountsNeverGoNegative) {
  make(config::key_strategy::least_busy);
  // Extra finishes on an idle key must not make it look "less than idle".
  pool().request_finished(key(0));
  pool().request_finished(key(0));
  pool().job_finished(fp(0));
  pool().job_finished(fp(0));
  EXPECT_EQ(view_of(0).in_flight, 0);
  EXPECT_EQ(view_of(0).unfinished, 0);
  pool().request_started(key(0));
  for (int call = 0; call < 4; ++call) EXPECT_EQ(order(pool().candidates(t0)).back(), secrets[0]);
}

TEST_F(KeyPoolTest, LeastBusySkipsCoolingKeys) {
  make(config::key_strategy::least_busy);
  pool().request_started(key(0));
  pool().report(key(2), key_event::rate_limited, t0, 10s);  // the idle ones: 1, 2, 3; 2 cools
  auto o = order(pool().candidates(t0 + 1s));
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(sorted({o[0], o[1]}), sorted({secrets[1], secrets[3]}));
  EXPECT_EQ(o[2], secrets[0]);
}

// --- cooling keys ------------------------------------------------------------------------

TEST_F(KeyPoolTest, CoolingKeysAreExcludedAndSoonestIsTheEarliest) {
  make(config::key_strategy::round_robin);
  pool().report(key(1), key_event::rate_limited, t0, 7s);  // usable at t0 + 7 s
  pool().report(key(2), key_event::rate_limited, t0);      // usable at t0 + 30 s
  auto c = pool().candidates(t0 + 1s);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[0], secrets[3]}));
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 7s);
  EXPECT_FALSE(c.capped);

  c = pool().candidates(t0 + 7s);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[0], secrets[1], secrets[3]}));
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 30s);

  c = pool().candidates(t0 + 30s);
  EXPECT_EQ(sorted(order(c)), sorted(secrets));
  EXPECT_FALSE(c.soonest);
}

TEST_F(KeyPoolTest, EveryKeyCoolingLeavesOnlySoonest) {
  make(config::key_strategy::least_busy);
  pool().report(key(0), key_event::rate_limited, t0, 50s);
  pool().report(key(1), key_event::rate_limited, t0, 20s);
  pool().report(key(2), key_event::rate_limited, t0, 90s);
  for (int i = 0; i < 3; ++i) pool().report(key(3), key_event::transient, t0, std::nullopt);  // 30 s
  auto c = pool().candidates(t0 + 5s);
  EXPECT_TRUE(c.keys.empty());
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 20s);
  EXPECT_FALSE(c.capped);
}

TEST_F(KeyPoolTest, InFlight429sDoNotExtendACooldown) {
  make(config::key_strategy::round_robin);
  pool().report(key(0), key_event::rate_limited, t0);  // 30 s
  pool().report(key(0), key_event::rate_limited, t0 + 1s);
  pool().report(key(0), key_event::rate_limited, t0 + 29s);
  EXPECT_EQ(view_of(0).state.until, t0 + 30s);
  EXPECT_EQ(view_of(0).state.rate_limit_streak, 1);
  EXPECT_EQ(pool().candidates(t0 + 30s).keys.size(), 4u);
  pool().report(key(0), key_event::rate_limited, t0 + 30s);  // refused again once usable: doubles
  EXPECT_EQ(view_of(0).state.until, t0 + 90s);
  auto c = pool().candidates(t0 + 31s);
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 90s);
}

// The vendor asked us to wait: a success of a request sent before the cooldown began does
// not bring the key back early; one at or after `until` does.
TEST_F(KeyPoolTest, SuccessDuringACooldownDoesNotEndIt) {
  make(config::key_strategy::round_robin);
  pool().report(key(0), key_event::rate_limited, t0, 60s);
  pool().report(key(0), key_event::success, t0 + 1s);
  pool().report(key(0), key_event::success, t0 + 59s);
  auto s = view_of(0).state;
  EXPECT_EQ(s.health, key_health::cooling);
  EXPECT_EQ(s.until, t0 + 60s);
  EXPECT_EQ(s.rate_limit_streak, 1);
  auto c = pool().candidates(t0 + 59s);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[1], secrets[2], secrets[3]}));
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 60s);

  pool().report(key(0), key_event::success, t0 + 60s);  // at until: healed
  s = view_of(0).state;
  EXPECT_EQ(s.health, key_health::healthy);
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.rate_limit_streak, 0);
  EXPECT_EQ(s.since, t0 + 60s);
  c = pool().candidates(t0 + 60s);
  EXPECT_EQ(sorted(order(c)), sorted(secrets));
  EXPECT_FALSE(c.soonest);
}

// --- disabled keys and the half-open probe ------------------------------------------------

TEST_F(KeyPoolTest, DisabledKeysAreExcludedWithoutSoonest) {
  make(config::key_strategy::round_robin);
  pool().report(key(0), key_event::invalid_key, t0);
  pool().report(key(2), key_event::out_of_credit, t0);
  auto c = pool().candidates(t0 + 599s);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[1], secrets[3]}));
  EXPECT_EQ(probes_in(c), 0);
  EXPECT_FALSE(c.soonest);  // a disabled key is no reason to tell the client "retry soon"
  EXPECT_FALSE(c.capped);
}

TEST_F(KeyPoolTest, DueDisabledKeyIsProbedFirstExactlyOnce) {
  make(config::key_strategy::round_robin);
  pool().report(key(2), key_event::invalid_key, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_EQ(c.keys.size(), 4u);
  EXPECT_EQ(c.keys[0].key->secret, secrets[2]);
  EXPECT_TRUE(c.keys[0].probe);
  EXPECT_EQ(probes_in(c), 1);
  auto o = order(c);
  EXPECT_EQ(std::count(o.begin(), o.end(), secrets[2]), 1);
  for (std::size_t i = 1; i < c.keys.size(); ++i) EXPECT_FALSE(c.keys[i].probe);
  EXPECT_TRUE(view_of(2).state.probing);

  // The probe is out: the next request does not get the key at all.
  c = pool().candidates(t0 + 601s);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[0], secrets[1], secrets[3]}));
  EXPECT_EQ(probes_in(c), 0);
  c = pool().candidates(t0 + 5000s);
  EXPECT_EQ(probes_in(c), 0);
}

TEST_F(KeyPoolTest, SuccessfulProbeMakesTheKeyAnOrdinaryCandidate) {
  make(config::key_strategy::round_robin);
  pool().report(key(2), key_event::out_of_credit, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_TRUE(c.keys.at(0).probe);
  pool().report(*c.keys[0].key, key_event::success, t0 + 601s, std::nullopt, true);
  EXPECT_EQ(view_of(2).state.health, key_health::healthy);
  EXPECT_FALSE(view_of(2).state.probing);
  c = pool().candidates(t0 + 602s);
  EXPECT_EQ(sorted(order(c)), sorted(secrets));
  EXPECT_EQ(probes_in(c), 0);
}

TEST_F(KeyPoolTest, FailedProbeWaitsTwiceAsLongForTheNextProbe) {
  make(config::key_strategy::round_robin);
  pool().report(key(2), key_event::invalid_key, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_TRUE(c.keys.at(0).probe);
  pool().report(*c.keys[0].key, key_event::invalid_key, t0 + 601s, std::nullopt, true);
  auto v = view_of(2);
  EXPECT_EQ(v.state.health, key_health::disabled);
  EXPECT_FALSE(v.state.probing);
  EXPECT_EQ(v.state.until, t0 + 601s + 1200s);
  EXPECT_EQ(probes_in(pool().candidates(t0 + 1800s)), 0);
  c = pool().candidates(t0 + 1801s);
  ASSERT_FALSE(c.keys.empty());
  EXPECT_EQ(c.keys[0].key->secret, secrets[2]);
  EXPECT_TRUE(c.keys[0].probe);
}

// Polls of old jobs keep reporting on a disabled key (job affinity): no probe is out, so
// none of it is a verdict, and none of it moves the probe.
TEST_F(KeyPoolTest, ReportsOnADisabledKeyWithoutAProbeChangeNothing) {
  make(config::key_strategy::round_robin);
  pool().report(key(1), key_event::invalid_key, t0);
  const auto before = view_of(1).state;
  pool().report(key(1), key_event::success, t0 + 10s);
  pool().report(key(1), key_event::invalid_key, t0 + 20s);
  pool().report(key(1), key_event::out_of_credit, t0 + 30s);
  pool().report(key(1), key_event::transient, t0 + 40s);
  pool().report(key(1), key_event::rate_limited, t0 + 50s);
  pool().report(key(1), key_event::rate_limited, t0 + 60s, 5s);
  pool().report(key(1), key_event::invalid_key, t0 + 700s);  // due, but not handed out
  auto s = view_of(1).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, before.reason);
  EXPECT_EQ(s.until, before.until);
  EXPECT_EQ(s.step, before.step);
  EXPECT_EQ(s.since, before.since);
  EXPECT_FALSE(s.probing);
  EXPECT_EQ(sorted(order(pool().candidates(t0 + 599s))), sorted({secrets[0], secrets[2], secrets[3]}));
  auto c = pool().candidates(t0 + 600s);
  ASSERT_FALSE(c.keys.empty());
  EXPECT_EQ(c.keys[0].key->secret, secrets[1]);
  EXPECT_TRUE(c.keys[0].probe);
}

// The probe is out and a poll of an old job with the same key answers first: only the answer
// reported with `probe` (what the caller of a pick::probe does) is the verdict.
TEST_F(KeyPoolTest, APollFailureWhileTheProbeIsOutChangesNothingAndTheProbeSettlesIt) {
  make(config::key_strategy::round_robin);
  pool().report(key(2), key_event::invalid_key, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_TRUE(c.keys.at(0).probe);
  const auto probing = view_of(2).state;
  ASSERT_TRUE(probing.probing);
  pool().report(key(2), key_event::out_of_credit, t0 + 601s);  // a poll of an old job
  pool().report(key(2), key_event::transient, t0 + 602s);
  auto s = view_of(2).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "invalid_key");
  EXPECT_EQ(s.until, probing.until);
  EXPECT_EQ(s.step, probing.step);
  EXPECT_TRUE(s.probing);  // the probe is still out: no second one
  c = pool().candidates(t0 + 603s);
  EXPECT_EQ(probes_in(c), 0);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[0], secrets[1], secrets[3]}));

  pool().report(key(2), key_event::success, t0 + 604s, std::nullopt, true);  // the probe's answer
  EXPECT_EQ(view_of(2).state.health, key_health::healthy);
  EXPECT_FALSE(view_of(2).state.probing);
  EXPECT_EQ(sorted(order(pool().candidates(t0 + 605s))), sorted(secrets));
}

TEST_F(KeyPoolTest, APollFailureWhileTheProbeIsOutIsNotASecondFailedProbe) {
  make(config::key_strategy::round_robin);
  pool().report(key(2), key_event::invalid_key, t0);
  ASSERT_TRUE(pool().candidates(t0 + 600s).keys.at(0).probe);
  pool().report(key(2), key_event::invalid_key, t0 + 601s);                      // a poll
  pool().report(key(2), key_event::invalid_key, t0 + 602s, std::nullopt, true);  // the probe
  auto s = view_of(2).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.step, 1200s);  // doubled once
  EXPECT_EQ(s.until, t0 + 602s + 1200s);
  EXPECT_FALSE(s.probing);
}

TEST_F(KeyPoolTest, APollSuccessWhileTheProbeIsOutDoesNotMakeItHealthy) {
  make(config::key_strategy::round_robin);
  pool().report(key(1), key_event::out_of_credit, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_EQ(c.keys.at(0).key->secret, secrets[1]);
  ASSERT_TRUE(c.keys[0].probe);
  pool().report(key(1), key_event::success, t0 + 601s);  // an old job's poll still works
  auto s = view_of(1).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "out_of_credit");
  EXPECT_TRUE(s.probing);
  EXPECT_EQ(sorted(order(pool().candidates(t0 + 602s))), sorted({secrets[0], secrets[2], secrets[3]}));
  pool().report(*c.keys[0].key, key_event::out_of_credit, t0 + 603s, std::nullopt, true);  // the probe
  s = view_of(1).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.step, 1200s);
  EXPECT_EQ(s.until, t0 + 603s + 1200s);
  EXPECT_FALSE(s.probing);
}

// `probe` without a probe out (never handed out, or released) is no verdict either.
TEST_F(KeyPoolTest, AProbeAnswerWithoutAProbeOutChangesNothing) {
  make(config::key_strategy::round_robin);
  pool().report(key(3), key_event::invalid_key, t0);
  const auto before = view_of(3).state;
  pool().report(key(3), key_event::success, t0 + 10s, std::nullopt, true);
  pool().report(key(3), key_event::transient, t0 + 700s, std::nullopt, true);  // due, not handed out
  auto c = pool().candidates(t0 + 800s);
  ASSERT_TRUE(c.keys.at(0).probe);
  pool().release_probe(*c.keys[0].key);
  pool().report(key(3), key_event::success, t0 + 801s, std::nullopt, true);  // released: not a probe now
  auto s = view_of(3).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.until, before.until);
  EXPECT_EQ(s.step, before.step);
  EXPECT_EQ(s.since, before.since);
  EXPECT_FALSE(s.probing);
}

TEST_F(KeyPoolTest, ProbeRateLimitedStaysDisabledAndDoubles) {
  make(config::key_strategy::round_robin);
  pool().report(key(0), key_event::out_of_credit, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_TRUE(c.keys.at(0).probe);
  pool().report(*c.keys[0].key, key_event::rate_limited, t0 + 601s, 5s, true);
  auto s = view_of(0).state;
  EXPECT_EQ(s.health, key_health::disabled);
  EXPECT_EQ(s.reason, "out_of_credit");
  EXPECT_EQ(s.until, t0 + 601s + 1200s);
  EXPECT_FALSE(s.probing);
  EXPECT_FALSE(pool().candidates(t0 + 610s).soonest);  // not a cooling key
}

TEST_F(KeyPoolTest, ReleasedProbeCanBeHandedOutAgain) {
  make(config::key_strategy::least_busy);
  pool().report(key(1), key_event::invalid_key, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_TRUE(c.keys.at(0).probe);
  EXPECT_EQ(probes_in(pool().candidates(t0 + 600s)), 0);
  pool().release_probe(*c.keys[0].key);
  EXPECT_FALSE(view_of(1).state.probing);
  EXPECT_EQ(view_of(1).state.health, key_health::disabled);  // releasing is not a verdict
  c = pool().candidates(t0 + 600s);
  ASSERT_FALSE(c.keys.empty());
  EXPECT_EQ(c.keys[0].key->secret, secrets[1]);
  EXPECT_TRUE(c.keys[0].probe);
  EXPECT_EQ(probes_in(c), 1);
}

TEST_F(KeyPoolTest, OneProbePerCandidatesCall) {
  make(config::key_strategy::random);
  pool().report(key(0), key_event::invalid_key, t0);
  pool().report(key(3), key_event::out_of_credit, t0);
  auto a = pool().candidates(t0 + 600s);
  auto b = pool().candidates(t0 + 600s);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_EQ(probes_in(a), 1);
  ASSERT_EQ(probes_in(b), 1);
  EXPECT_TRUE(a.keys[0].probe);
  EXPECT_TRUE(b.keys[0].probe);
  EXPECT_NE(a.keys[0].key, b.keys[0].key);  // the second due key goes to the next request
  EXPECT_EQ(sorted({a.keys[0].key->secret, b.keys[0].key->secret}), sorted({secrets[0], secrets[3]}));
  EXPECT_EQ(a.keys.size(), 3u);  // its probe plus the two healthy keys
  EXPECT_EQ(probes_in(c), 0);    // both probes out
  EXPECT_EQ(sorted(order(c)), sorted({secrets[1], secrets[2]}));
}

TEST_F(KeyPoolTest, EveryKeyDisabledAndDueGivesJustTheProbe) {
  make(config::key_strategy::round_robin);
  for (std::size_t i = 0; i < 4; ++i) pool().report(key(i), key_event::invalid_key, t0);
  auto c = pool().candidates(t0 + 600s);
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_TRUE(c.keys[0].probe);
  EXPECT_FALSE(c.soonest);
}

TEST_F(KeyPoolTest, PoolHonoursACustomPolicy) {
  key_policy p;
  p.disabled_retry = 60s;
  p.rate_limit_cooldown = 5s;
  p.transient_limit = 1;
  p.transient_cooldown = 9s;
  make(config::key_strategy::round_robin, 0, p);
  pool().report(key(0), key_event::invalid_key, t0);
  pool().report(key(1), key_event::rate_limited, t0);
  pool().report(key(2), key_event::transient, t0);
  EXPECT_EQ(view_of(0).state.until, t0 + 60s);
  EXPECT_EQ(view_of(1).state.until, t0 + 5s);
  EXPECT_EQ(view_of(2).state.until, t0 + 9s);
  auto c = pool().candidates(t0 + 1s);
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 5s);
  c = pool().candidates(t0 + 60s);
  ASSERT_EQ(c.keys.size(), 4u);
  EXPECT_EQ(c.keys[0].key->secret, secrets[0]);
  EXPECT_TRUE(c.keys[0].probe);
}

// --- max_jobs_per_key --------------------------------------------------------------------

TEST_F(KeyPoolTest, KeyAtItsCapIsSkippedAndCappedIsSet) {
  make(config::key_strategy::round_robin, 2);
  pool().job_started(fp(0));
  auto c = pool().candidates(t0);
  EXPECT_EQ(c.keys.size(), 4u);  // 1 of 2: still fine
  EXPECT_FALSE(c.capped);
  pool().job_started(fp(0));
  c = pool().candidates(t0);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[1], secrets[2], secrets[3]}));
  EXPECT_TRUE(c.capped);
  EXPECT_FALSE(c.soonest);

  pool().job_finished(fp(0));
  c = pool().candidates(t0);
  EXPECT_EQ(sorted(order(c)), sorted(secrets));
  EXPECT_FALSE(c.capped);
}

TEST_F(KeyPoolTest, EveryKeyAtItsCap) {
  make(config::key_strategy::least_busy, 1);
  for (std::size_t i = 0; i < 4; ++i) pool().job_started(fp(i));
  auto c = pool().candidates(t0);
  EXPECT_TRUE(c.keys.empty());
  EXPECT_TRUE(c.capped);
  pool().job_finished(fp(2));
  c = pool().candidates(t0);
  EXPECT_EQ(order(c), std::vector<std::string>{secrets[2]});
  EXPECT_TRUE(c.capped);
}

TEST_F(KeyPoolTest, SetUnfinishedRestoresCounts) {
  make(config::key_strategy::round_robin, 3);
  pool().set_unfinished(fp(1), 3);  // e.g. after a restart, from the store
  pool().set_unfinished(fp(2), 2);
  EXPECT_EQ(view_of(1).unfinished, 3);
  EXPECT_EQ(view_of(2).unfinished, 2);
  auto c = pool().candidates(t0);
  EXPECT_EQ(sorted(order(c)), sorted({secrets[0], secrets[2], secrets[3]}));
  EXPECT_TRUE(c.capped);
  pool().job_started(fp(2));
  EXPECT_EQ(view_of(2).unfinished, 3);
  pool().set_unfinished(fp(1), 0);
  pool().set_unfinished(fp(2), 0);
  c = pool().candidates(t0);
  EXPECT_EQ(sorted(order(c)), sorted(secrets));
  EXPECT_FALSE(c.capped);
  pool().set_unfinished("000000000000", 7);  // an unknown fingerprint is ignored
  for (auto& v : pool().view()) EXPECT_EQ(v.unfinished, 0);
}

TEST_F(KeyPoolTest, CapCountsUnfinishedJobsNotRequestsInFlight) {
  make(config::key_strategy::round_robin, 1);
  for (int i = 0; i < 5; ++i) pool().request_started(key(0));
  auto c = pool().candidates(t0);
  EXPECT_EQ(c.keys.size(), 4u);
  EXPECT_FALSE(c.capped);
}

TEST_F(KeyPoolTest, ZeroCapMeansNoCap) {
  make(config::key_strategy::round_robin, 0);
  for (int i = 0; i < 1000; ++i) pool().job_started(fp(0));
  auto c = pool().candidates(t0);
  EXPECT_EQ(c.keys.size(), 4u);
  EXPECT_FALSE(c.capped);
}

TEST_F(KeyPoolTest, CoolingKeyAtItsCapIsCoolingNotCapped) {
  make(config::key_strategy::round_robin, 1);
  pool().job_started(fp(0));
  pool().report(key(0), key_event::rate_limited, t0, 10s);
  auto c = pool().candidates(t0 + 1s);
  EXPECT_EQ(c.keys.size(), 3u);
  ASSERT_TRUE(c.soonest);
  EXPECT_EQ(*c.soonest, t0 + 10s);
}

TEST_F(KeyPoolTest, DueProbeAtItsCapIsNotTakenUntilAJobFinishes) {
  make(config::key_strategy::round_robin, 1);
  pool().job_started(fp(3));
  pool().report(key(3), key_event::invalid_key, t0);
  auto c = pool().candidates(t0 + 600s);
  EXPECT_EQ(probes_in(c), 0);
  EXPECT_TRUE(c.capped);
  EXPECT_FALSE(view_of(3).state.probing);  // skipped, so not marked as handed out
  pool().job_finished(fp(3));
  c = pool().candidates(t0 + 600s);
  ASSERT_FALSE(c.keys.empty());
  EXPECT_EQ(c.keys[0].key->secret, secrets[3]);
  EXPECT_TRUE(c.keys[0].probe);
}

TEST_F(KeyPoolTest, JobCountsFollowTheFingerprint) {
  make(config::key_strategy::round_robin);
  pool().job_started(fp(1));
  pool().job_started(fp(1));
  pool().job_started(fp(3));
  pool().job_started("ffffffffffff");  // not ours: ignored
  pool().request_started(key(2));
  auto v = pool().view();
  EXPECT_EQ(v[0].unfinished, 0);
  EXPECT_EQ(v[1].unfinished, 2);
  EXPECT_EQ(v[2].unfinished, 0);
  EXPECT_EQ(v[3].unfinished, 1);
  EXPECT_EQ(v[2].in_flight, 1);
  pool().request_finished(key(2));
  pool().job_finished(fp(1));
  v = pool().view();
  EXPECT_EQ(v[1].unfinished, 1);
  EXPECT_EQ(v[2].in_flight, 0);
}

// --- report() and view() -----------------------------------------------------------------

TEST_F(KeyPoolTest, ReportOfEachEventShowsInView) {
  make(config::key_strategy::round_robin);
  pool().report(key(0), key_event::rate_limited, t0, 7s);
  pool().report(key(1), key_event::invalid_key, t0);
  pool().report(key(2), key_event::out_of_credit, t0);
  pool().report(key(3), key_event::transient, t0);
  auto v = pool().view();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].state.health, key_health::cooling);
  EXPECT_EQ(v[0].state.reason, "rate_limited");
  EXPECT_EQ(v[0].state.until, t0 + 7s);
  EXPECT_EQ(v[1].state.health, key_health::disabled);
  EXPECT_EQ(v[1].state.reason, "invalid_key");
  EXPECT_EQ(v[1].state.until, t0 + 600s);
  EXPECT_EQ(v[1].state.since, t0);
  EXPECT_EQ(v[2].state.health, key_health::disabled);
  EXPECT_EQ(v[2].state.reason, "out_of_credit");
  EXPECT_EQ(v[3].state.health, key_health::healthy);
  EXPECT_EQ(v[3].state.transient_streak, 1);
  pool().report(key(3), key_event::transient, t0 + 1s);
  pool().report(key(3), key_event::transient, t0 + 2s);
  EXPECT_EQ(view_of(3).state.health, key_health::cooling);
  EXPECT_EQ(view_of(3).state.reason, "transient");
  EXPECT_EQ(view_of(3).state.until, t0 + 32s);

  // success brings the cooling keys back; a disabled key only through its probe
  for (std::size_t i = 0; i < 4; ++i) pool().report(key(i), key_event::success, t0 + 40s);
  EXPECT_EQ(view_of(1).state.health, key_health::disabled);
  EXPECT_EQ(view_of(1).state.reason, "invalid_key");
  EXPECT_EQ(view_of(1).state.until, t0 + 600s);
  EXPECT_EQ(view_of(2).state.health, key_health::disabled);
  EXPECT_EQ(view_of(2).state.reason, "out_of_credit");
  for (int probe = 0; probe < 2; ++probe) {
    auto c = pool().candidates(t0 + 600s);
    ASSERT_EQ(probes_in(c), 1);
    pool().report(*c.keys[0].key, key_event::success, t0 + 601s, std::nullopt, true);
  }
  for (auto& k : pool().view()) {
    EXPECT_EQ(k.state.health, key_health::healthy);
    EXPECT_EQ(k.state.reason, "");
    EXPECT_EQ(k.state.transient_streak, 0);
    EXPECT_EQ(k.state.rate_limit_streak, 0);
  }
}

TEST_F(KeyPoolTest, ReportTouchesOnlyThatKey) {
  make(config::key_strategy::round_robin);
  pool().report(key(1), key_event::invalid_key, t0);
  auto v = pool().view();
  for (std::size_t i : {0u, 2u, 3u}) {
    EXPECT_EQ(v[i].state.health, key_health::healthy);
    EXPECT_EQ(v[i].state.transient_streak, 0);
  }
}

TEST_F(KeyPoolTest, ReportOfAForeignKeyIsIgnored) {
  make(config::key_strategy::round_robin);
  key_ref foreign{"sk-some-other-upstream", jobs::key_fingerprint("sk-some-other-upstream")};
  pool().report(foreign, key_event::invalid_key, t0);
  pool().release_probe(foreign);
  pool().request_started(foreign);
  pool().request_finished(foreign);
  for (auto& k : pool().view()) {
    EXPECT_EQ(k.state.health, key_health::healthy);
    EXPECT_EQ(k.in_flight, 0);
  }
  EXPECT_EQ(pool().candidates(t0).keys.size(), 4u);
}

TEST_F(KeyPoolTest, ReportFindsTheKeyByFingerprintNotAddress) {
  make(config::key_strategy::round_robin);
  key_ref copy = key(2);  // e.g. rebuilt from a video id's fingerprint
  pool().report(copy, key_event::out_of_credit, t0);
  EXPECT_EQ(view_of(2).state.reason, "out_of_credit");
}

TEST_F(KeyPoolTest, ViewListsEveryKeyInConfigOrder) {
  make(config::key_strategy::round_robin);
  auto v = pool().view();
  ASSERT_EQ(v.size(), secrets.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i].fp, jobs::key_fingerprint(secrets[i]));
    EXPECT_EQ(v[i].last4, secrets[i].substr(secrets[i].size() - 4));
    EXPECT_EQ(v[i].state.health, key_health::healthy);
    EXPECT_EQ(v[i].in_flight, 0);
    EXPECT_EQ(v[i].unfinished, 0);
  }
  EXPECT_EQ(v[0].last4, "0001");
  EXPECT_EQ(v[3].last4, "0004");
}

TEST(KeyPool, ViewNeverContainsTheSecret) {
  const std::vector<std::string> keys{"sk-live-abcdefghijklmnop", "zyxwvuts", "sk-tiny", "", "k",
                                      "sk-something-longer-xyz"};
  auto cfg = make_cfg(config::key_strategy::round_robin, 0, keys);
  key_pool pool(cfg);
  // Put every field to work: states with reasons, counters.
  pool.report(*pool.keys()[0], key_event::invalid_key, t0);
  pool.report(*pool.keys()[1], key_event::rate_limited, t0);
  pool.report(*pool.keys()[2], key_event::out_of_credit, t0);
  pool.report(*pool.keys()[5], key_event::transient, t0);
  pool.request_started(*pool.keys()[5]);
  pool.job_started(pool.keys()[5]->fp);
  auto v = pool.view();
  ASSERT_EQ(v.size(), keys.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& secret = keys[i];
    SCOPED_TRACE("key #" + std::to_string(i));
    if (secret.empty()) continue;  // "" is a substring of everything; checked through last4 below
    EXPECT_EQ(v[i].fp.find(secret), std::string::npos);
    EXPECT_EQ(v[i].last4.find(secret), std::string::npos);
    EXPECT_EQ(v[i].state.reason.find(secret), std::string::npos);
    for (const auto& other : keys)  // no field shows any secret of the pool, either
      if (other.size() >= 5) {
        EXPECT_EQ(v[i].fp.find(other), std::string::npos);
        EXPECT_EQ(v[i].state.reason.find(other), std::string::npos);
      }
    EXPECT_EQ(v[i].fp, jobs::key_fingerprint(secret));
  }
  // last4: the last four characters, or a mask when the key is too short to show any of it.
  EXPECT_EQ(v[0].last4, "mnop");
  EXPECT_EQ(v[1].last4, "vuts");  // exactly 8 characters: the shortest key that shows its end
  EXPECT_EQ(v[2].last4, "****");  // 7 characters
  EXPECT_EQ(v[3].last4, "****");
  EXPECT_EQ(v[4].last4, "****");
  EXPECT_EQ(v[5].last4, "-xyz");
  for (auto& k : v) EXPECT_EQ(k.last4.size(), 4u);
}

// --- event_for ---------------------------------------------------------------------------

TEST(KeyPoolEventFor, EveryErrc) {
  const std::map<errc, key_event> expected{
      {errc::ok, key_event::success},
      {errc::invalid_value, key_event::success},
      {errc::unknown_parameter, key_event::success},
      {errc::missing_required_parameter, key_event::success},
      {errc::unsupported_value, key_event::success},
      {errc::model_not_found, key_event::success},
      {errc::invalid_api_key, key_event::success},  // our client's key, not the upstream's
      {errc::model_not_allowed, key_event::success},
      {errc::not_found, key_event::success},
      {errc::method_not_allowed, key_event::success},
      {errc::request_timeout, key_event::success},
      {errc::payload_too_large, key_event::success},
      {errc::unsupported_media_type, key_event::success},
      {errc::upstream_rejected, key_event::success},  // a content refusal: the key works
      {errc::upstream_rate_limited, key_event::rate_limited},
      {errc::upstream_auth, key_event::invalid_key},
      {errc::upstream_out_of_credit, key_event::out_of_credit},
      {errc::bad_upstream_response, key_event::transient},
      {errc::upstream_unavailable, key_event::transient},
      {errc::no_upstream_available, key_event::success},
      {errc::upstream_timeout, key_event::transient},
      {errc::invalid_config, key_event::success},
      {errc::content_url_refused, key_event::success},  // where the vendor put the video, not the key
      {errc::idempotency_key_reused, key_event::success},
      {errc::store_unavailable, key_event::success},
      {errc::internal, key_event::success},
  };
  // Every enumerator from ok to internal is listed above.
  EXPECT_EQ(expected.size(), static_cast<std::size_t>(errc::internal) + 1);
  for (auto [code, event] : expected)
    EXPECT_EQ(event_for(code), event) << "errc::" << to_string(code);
}

TEST(KeyLedger, TheLastVendorErrorIsScrubbedOfEveryKeyAndShortened) {
  auto cfg = make_cfg(config::key_strategy::round_robin);
  key_pool pool(cfg);
  auto& ledger = *pool.ledger();
  EXPECT_FALSE(ledger.last_error());
  auto* key = pool.keys()[1];
  ledger.note_error(*key, error{errc::invalid_api_key, "Incorrect API key provided: " + key->secret + " (and " +
                                                           secrets[3] + ")"});
  auto e = ledger.last_error();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key_fp, key->fp);
  EXPECT_EQ(e->code, "invalid_api_key");
  EXPECT_GT(e->at_ms, 0);
  for (auto& s : secrets) EXPECT_EQ(e->message.find(s), std::string::npos) << e->message;
  EXPECT_NE(e->message.find("Incorrect API key provided: "), std::string::npos);

  // Long messages are cut on a character boundary (é is two bytes) with an ellipsis.
  std::string long_text(299, 'x');
  long_text += "\xc3\xa9" "and more";
  ledger.note_error(*key, error{errc::bad_upstream_response, long_text});
  e = ledger.last_error();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "bad_upstream_response");
  EXPECT_EQ(e->message, std::string(299, 'x') + "\u2026");
}

}  // namespace
}  // namespace videogate::routing
