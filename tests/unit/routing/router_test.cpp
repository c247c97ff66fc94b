// The router across config snapshots (reload): key states carried over by fingerprint, keys
// and upstreams that leave the config kept for the jobs they made, never routed to.

#include "videogate/routing/router.hpp"

#include "videogate/config/config.hpp"
#include "videogate/jobs/ids.hpp"

#include "print.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace videogate::routing {
namespace {

using namespace std::chrono_literals;

const key_clock::time_point t0 = key_clock::time_point{} + 1000s;

std::shared_ptr<const config::config> load(const std::string& yaml) {
  auto r = config::load_text(yaml, "test.yaml", [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front().to_string());
  return r.cfg;
}

std::string two_upstreams(const std::string& a_keys, const std::string& b_keys) {
  return "upstreams:\n"
         "  - name: a\n    dialect: openai\n    base_url: https://a.example.com/v1\n    keys: [" + a_keys + "]\n"
         "  - name: b\n    dialect: unified\n    base_url: https://b.example.com\n    keys: [" + b_keys + "]\n";
}

std::string one_upstream(const std::string& a_keys) {
  return "upstreams:\n  - name: a\n    dialect: openai\n    base_url: https://a.example.com/v1\n    keys: [" + a_keys + "]\n";
}

const key_view* view_of(const router& r, const std::string& up, const std::string& secret) {
  static thread_local std::vector<key_view> keep;
  keep = r.find(up)->keys().view();
  auto fp = jobs::key_fingerprint(secret);
  auto it = std::find_if(keep.begin(), keep.end(), [&](const key_view& v) { return v.fp == fp; });
  return it == keep.end() ? nullptr : &*it;
}

std::vector<std::string> candidate_secrets(router& r, const std::string& up, key_clock::time_point now) {
  std::vector<std::string> out;
  for (auto& p : r.find(up)->keys().candidates(now).keys) out.push_back(p.key->secret);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RouterReload, AKeyThatStaysKeepsItsStateAndCounts) {
  router before(load(two_upstreams("sk-a-one-111111, sk-a-two-222222", "sk-b-one-333333")));
  auto& pool = before.find("a")->keys();
  pool.report(*pool.by_fingerprint(jobs::key_fingerprint("sk-a-one-111111")), key_event::invalid_key, t0);
  pool.job_started(jobs::key_fingerprint("sk-a-two-222222"));
  pool.job_started(jobs::key_fingerprint("sk-a-two-222222"));

  // The new config adds a key to `a` and reorders nothing else.
  router after(load(two_upstreams("sk-a-two-222222, sk-a-one-111111, sk-a-new-444444", "sk-b-one-333333")), &before);
  auto* one = view_of(after, "a", "sk-a-one-111111");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->state.health, key_health::disabled);
  EXPECT_EQ(one->state.reason, "invalid_key");
  auto* two = view_of(after, "a", "sk-a-two-222222");
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->unfinished, 2);
  auto* fresh = view_of(after, "a", "sk-a-new-444444");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->state.health, key_health::healthy);
  // The disabled key is not handed out by the new snapshot either.
  EXPECT_EQ(candidate_secrets(after, "a", t0 + 1s), (std::vector<std::string>{"sk-a-new-444444", "sk-a-two-222222"}));
}

TEST(RouterReload, OldAndNewSnapshotsCountIntoTheSameLedger) {
  router before(load(one_upstream("sk-a-one-111111")));
  router after(load(one_upstream("sk-a-one-111111")), &before);
  auto fp = jobs::key_fingerprint("sk-a-one-111111");
  // A job made on the old snapshot finishes while the new one serves: the cap it held frees.
  before.find("a")->keys().job_started(fp);
  EXPECT_EQ(view_of(after, "a", "sk-a-one-111111")->unfinished, 1);
  after.find("a")->keys().job_finished(fp);
  EXPECT_EQ(view_of(before, "a", "sk-a-one-111111")->unfinished, 0);
  // A request still running on the old snapshot reports into the state the new one reads.
  auto* key = before.find("a")->keys().by_fingerprint(fp);
  before.find("a")->keys().report(*key, key_event::rate_limited, t0);
  EXPECT_EQ(view_of(after, "a", "sk-a-one-111111")->state.health, key_health::cooling);
}

TEST(RouterReload, ARemovedKeyIsNeverPickedButStillPollsItsJobs) {
  router before(load(one_upstream("sk-a-old-111111, sk-a-two-222222")));
  auto old_fp = jobs::key_fingerprint("sk-a-old-111111");
  before.find("a")->keys().job_started(old_fp);
  router after(load(one_upstream("sk-a-two-222222")), &before);
  EXPECT_EQ(candidate_secrets(after, "a", t0), (std::vector<std::string>{"sk-a-two-222222"}));
  EXPECT_EQ(view_of(after, "a", "sk-a-old-111111"), nullptr) << "/admin/keys shows the config's keys only";
  auto* retired = after.find("a")->keys().by_fingerprint(old_fp);
  ASSERT_NE(retired, nullptr) << "the job made with the removed key must still be polled with it";
  EXPECT_EQ(retired->secret, "sk-a-old-111111");
  // Its secret is still scrubbed from vendor messages.
  auto& s = after.secrets();
  EXPECT_NE(std::find(s.begin(), s.end(), "sk-a-old-111111"), s.end());
  // A third snapshot still knows it.
  router third(load(one_upstream("sk-a-two-222222")), &after);
  EXPECT_NE(third.find("a")->keys().by_fingerprint(old_fp), nullptr);
}

TEST(RouterReload, ARemovedUpstreamIsFoundForItsJobsButNeverRouted) {
  router before(load(two_upstreams("sk-a-one-111111", "sk-b-one-333333")));
  auto& b_keys = before.find("b")->keys();
  b_keys.report(*b_keys.by_fingerprint(jobs::key_fingerprint("sk-b-one-333333")), key_event::invalid_key, t0);
  router after(load(one_upstream("sk-a-one-111111")), &before);
  ASSERT_NE(after.find("b"), nullptr);
  EXPECT_EQ(after.find("b")->cfg().base_url, "https://b.example.com") << "the retired upstream keeps its own config";
  EXPECT_EQ(after.upstreams().size(), 1u);
  for (auto& model : after.cfg().models()) {
    auto r = after.route(model);
    ASSERT_TRUE(r) << model;
    for (auto* u : *r) EXPECT_NE(u->cfg().name, "b") << model;
  }
  // Still there after one more reload, and gone from the retired list once it is back.
  router third(load(one_upstream("sk-a-one-111111")), &after);
  ASSERT_NE(third.find("b"), nullptr);
  router fourth(load(two_upstreams("sk-a-one-111111", "sk-b-one-333333")), &third);
  EXPECT_EQ(fourth.upstreams().size(), 2u);
  EXPECT_EQ(fourth.find("b"), fourth.upstreams()[1].get()) << "the configured upstream wins over the retired one";
  EXPECT_TRUE(fourth.configured(fourth.find("b")));
  EXPECT_FALSE(third.configured(third.find("b")));
  // The upstream that comes back takes up its old ledger: its key is still disabled, and no key is new.
  ASSERT_NE(view_of(fourth, "b", "sk-b-one-333333"), nullptr);
  EXPECT_EQ(view_of(fourth, "b", "sk-b-one-333333")->state.health, key_health::disabled);
  EXPECT_TRUE(fourth.fresh_keys().empty());
}

TEST(RouterReload, KeysNewToTheProcessAreListedAsFresh) {
  router first(load(one_upstream("sk-a-one-111111")));
  router second(load(two_upstreams("sk-a-one-111111, sk-a-two-222222", "sk-b-one-333333")), &first);
  auto fresh = second.fresh_keys();
  std::sort(fresh.begin(), fresh.end());
  EXPECT_EQ(fresh, (std::vector<std::pair<std::string, std::string>>{
                       {"a", jobs::key_fingerprint("sk-a-two-222222")}, {"b", jobs::key_fingerprint("sk-b-one-333333")}}));
  EXPECT_TRUE(second.find("a")->keys().configured(jobs::key_fingerprint("sk-a-two-222222")));
  router third(load(one_upstream("sk-a-one-111111")), &second);
  EXPECT_TRUE(third.fresh_keys().empty());
  EXPECT_FALSE(third.find("a")->keys().configured(jobs::key_fingerprint("sk-a-two-222222"))) << "retired, not configured";
  EXPECT_NE(third.find("a")->keys().by_fingerprint(jobs::key_fingerprint("sk-a-two-222222")), nullptr);
}

TEST(RouterReload, WithoutAPreviousSnapshotEveryKeyStartsHealthy) {
  router r(load(one_upstream("sk-a-one-111111, sk-a-two-222222")));
  ASSERT_EQ(r.find("a")->keys().keys().size(), 2u);
  for (auto& v : r.find("a")->keys().view()) EXPECT_EQ(v.state.health, key_health::healthy);
}

}  // namespace
}  // namespace videogate::routing
