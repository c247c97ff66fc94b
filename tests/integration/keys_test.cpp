// Key rotation, failover, caps and idempotency (DESIGN §5, issue 5): the real gateway against
// the simulated vendor's fault keys. Which key the vendor saw comes from its request log.
#include "support.hpp"

#include "videogate/jobs/ids.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <signal.h>
#include <thread>

using namespace vgtest;
namespace json = boost::json;

namespace {

videogate::http::client_response create(stack& s, videogate::http::header_list extra = {}) {
  extra.emplace_back("Content-Type", "application/json");
  return request("POST", s.gw("/v1/videos"), extra, R"({"prompt":"a calico cat playing a piano","seconds":"4"})");
}

json::object key_view(stack& s, const std::string& prefix) {
  auto r = request("GET", s.gw("/admin/keys"), {{"Authorization", "Bearer admin-secret-key"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(prefix), std::string::npos) << "a key secret leaked into /admin/keys";
  auto doc = json::parse(r.body);  // named: a range-for over a temporary's member dangles
  for (auto& up : doc.at("data").as_array())
    for (auto& k : up.at("keys").as_array())
      if (k.at("fingerprint").as_string() == videogate::jobs::key_fingerprint(prefix)) return k.as_object();
  ADD_FAILURE() << "no key " << prefix << " in /admin/keys";
  return {};
}

}  // namespace

TEST(keys, rate_limited_key_is_skipped_and_cools_for_retry_after) {
  stack s;
  s.start_mock({"--retry-after", "7"});
  s.start_gateway(openai_config(R"(["ratelimit-a", "good-b"])"));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(creates_with(s, "ratelimit-a"), 1) << "a cooling key is not asked again";
  EXPECT_EQ(creates_with(s, "good-b"), 4);
  auto k = key_view(s, "ratelimit-a");
  EXPECT_EQ(k.at("state").as_string(), "cooling");
  EXPECT_EQ(k.at("reason").as_string(), "rate_limited");
  auto left = k.at("cooldown_left_s").as_int64();
  EXPECT_GE(left, 1);
  EXPECT_LE(left, 7);
}

TEST(keys, every_key_rate_limited_is_429_with_retry_after) {
  stack s;
  s.start_mock({"--retry-after", "7"});
  s.start_gateway(openai_config(R"(["ratelimit-a", "ratelimit-b"])"));
  auto r = create(s);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.header("retry-after"), "7");
  EXPECT_NE(r.body.find("upstream_rate_limited"), std::string::npos);
  auto again = create(s);  // both keys cooling now: no vendor call at all
  EXPECT_EQ(again.status, 429);
  auto ra = std::stoi(std::string(again.header("retry-after")));
  EXPECT_GE(ra, 1);
  EXPECT_LE(ra, 7);
  EXPECT_EQ(creates_with(s, "ratelimit-a") + creates_with(s, "ratelimit-b"), 2);
}

TEST(keys, invalid_key_is_disabled_and_not_used_again) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["bad-a", "good-b"])"));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(creates_with(s, "bad-a"), 1);
  auto k = key_view(s, "bad-a");
  EXPECT_EQ(k.at("state").as_string(), "disabled");
  EXPECT_EQ(k.at("reason").as_string(), "invalid_key");
  EXPECT_GT(k.at("next_probe_in_s").as_int64(), 500);  // half-open after 10 m
}

TEST(keys, out_of_credit_key_is_disabled) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["nocredit-a", "good-b"])"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(creates_with(s, "nocredit-a"), 1);
  auto k = key_view(s, "nocredit-a");
  EXPECT_EQ(k.at("state").as_string(), "disabled");
  EXPECT_EQ(k.at("reason").as_string(), "out_of_credit");
}

TEST(keys, no_usable_key_is_503) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["bad-a", "nocredit-b"])"));
  auto r = create(s);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("no_upstream_available"), std::string::npos);
  EXPECT_EQ(create(s).status, 503);
  EXPECT_EQ(creates_with(s, "bad-a") + creates_with(s, "nocredit-b"), 2) << "disabled keys are not asked again";
}

TEST(keys, three_server_errors_in_a_row_cool_the_key) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["error500-a"])"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(create(s).status, 502);
  auto r = create(s);
  EXPECT_EQ(r.status, 429) << r.body;
  auto ra = std::stoi(std::string(r.header("retry-after")));
  EXPECT_GE(ra, 25);
  EXPECT_LE(ra, 30);
  EXPECT_EQ(creates_with(s, "error500-a"), 3);
  EXPECT_EQ(key_view(s, "error500-a").at("reason").as_string(), "transient");
}

TEST(keys, timeout_after_send_is_504_and_never_a_second_job) {
  stack s;
  s.start_mock({"--slow-ms", "3000"});
  auto cfg = openai_config(R"(["slow-a", "good-b"])");
  cfg.replace(cfg.find("timeout: 10s"), 12, "timeout: 1s");
  s.start_gateway(cfg);
  auto r = create(s);
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find("may exist"), std::string::npos);
  EXPECT_EQ(creates_with(s, "slow-a"), 1);
  EXPECT_EQ(creates_with(s, "good-b"), 0) << "a create that may exist is not sent elsewhere";
}

TEST(keys, idempotent_duplicates_make_one_vendor_job) {
  stack s;
  s.start_mock({"--slow-ms", "800"});
  s.start_gateway(openai_config(R"(["slow-a"])"));
  std::vector<std::string> ids(5);
  std::vector<std::thread> ts;
  for (int i = 0; i < 5; ++i)
    ts.emplace_back([&, i] {
      auto r = create(s, {{"Idempotency-Key", "order-42"}});
      if (r.status == 200) ids[i] = std::string(json::parse(r.body).at("id").as_string());
    });
  for (auto& t : ts) t.join();
  for (auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_FALSE(ids[0].empty());
  auto later = create(s, {{"Idempotency-Key", "order-42"}});
  EXPECT_EQ(json::parse(later.body).at("id").as_string(), ids[0]);
  EXPECT_EQ(creates_with(s, "slow-a"), 1);
  auto other = create(s, {{"Idempotency-Key", "order-43"}});
  EXPECT_NE(json::parse(other.body).at("id").as_string(), ids[0]);
  EXPECT_EQ(creates_with(s, "slow-a"), 2);
}

TEST(keys, job_caps_move_to_the_next_key_and_free_when_jobs_finish) {
  stack s;
  s.start_mock({"--complete-after-polls", "1000"});
  s.start_gateway(openai_config(R"(["good-a", "good-b"])", "", "    max_jobs_per_key: 1\n"));
  auto first = create(s);
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(create(s).status, 200);
  EXPECT_EQ(creates_with(s, "good-a"), 1);
  EXPECT_EQ(creates_with(s, "good-b"), 1);
  auto capped = create(s);
  EXPECT_EQ(capped.status, 429) << capped.body;
  EXPECT_FALSE(capped.header("retry-after").empty());
  // Finish the first job at the vendor; one poll records it and frees its key.
  std::string id(json::parse(first.body).at("id").as_string());
  auto list = json::parse(request("GET", s.vendor("/v1/videos"), {{"Authorization", "Bearer good-a"}}).body);
  auto uid = std::string(list.at("data").as_array().at(0).at("id").as_string());
  ASSERT_EQ(request("POST", s.vendor("/_mock/jobs/" + uid + "/complete")).status, 200);
  ASSERT_EQ(json::parse(request("GET", s.gw("/v1/videos/" + id)).body).at("status").as_string(), "completed");
  EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(creates_with(s, "good-a"), 2);
}

TEST(keys, caps_survive_a_restart) {
  stack s;
  s.start_mock({"--complete-after-polls", "1000"});
  auto cfg = openai_config(R"(["good-a"])", "", "    max_jobs_per_key: 1\n");
  s.start_gateway(cfg);
  ASSERT_EQ(create(s).status, 200);
  s.gateway->signal(SIGTERM);
  ASSERT_EQ(s.gateway->wait(), 0);
  s.start_gateway(cfg);
  EXPECT_EQ(create(s).status, 429) << "the unfinished job still counts after a restart";
}

TEST(keys, job_watcher_records_terminal_states_without_client_polls) {
  stack s;
  s.start_mock({"--complete-after-polls", "1000"});
  s.start_gateway(openai_config(R"(["good-a"])", "", "    max_jobs_per_key: 1\n"));
  ASSERT_EQ(create(s).status, 200);
  EXPECT_EQ(key_view(s, "good-a").at("unfinished_jobs").as_int64(), 1);
  auto list = json::parse(request("GET", s.vendor("/v1/videos"), {{"Authorization", "Bearer good-a"}}).body);
  auto uid = std::string(list.at("data").as_array().at(0).at("id").as_string());
  ASSERT_EQ(request("POST", s.vendor("/_mock/jobs/" + uid + "/complete")).status, 200);
  // Nobody polls the gateway: the watcher must notice (it polls each due job about once a second).
  bool freed = false;
  for (int i = 0; i < 100 && !freed; ++i) {
    freed = key_view(s, "good-a").at("unfinished_jobs").as_int64() == 0;
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(freed);
  EXPECT_EQ(create(s).status, 200);
}

TEST(keys, admin_needs_the_admin_key) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-a"])"));
  EXPECT_EQ(request("GET", s.gw("/admin/keys")).status, 404);
  EXPECT_EQ(request("GET", s.gw("/admin/keys"), {{"Authorization", "Bearer wrong"}}).status, 404);
  EXPECT_EQ(request("GET", s.gw("/admin/keys"), {{"Authorization", "Bearer admin-secret-key"}}).status, 200);
}

// The closing-note scenario of issue 5: 100 concurrent creates over a pool of bad,
// out-of-credit, rate-limited and good keys land only on good keys, make no duplicate job,
// and every job is then polled with the key that made it.
TEST(keys, burst_of_100_lands_only_on_good_keys) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(openai_config(R"(["bad-1", "nocredit-2", "ratelimit-3", "good-4", "good-5"])"));
  std::vector<std::string> ids(100);
  std::vector<int> statuses(100);
  std::vector<std::thread> ts;
  for (int i = 0; i < 100; ++i)
    ts.emplace_back([&, i] {
      auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                       R"({"prompt":"burst )" + std::to_string(i) + R"("})");
      statuses[i] = r.status;
      if (r.status == 200) ids[i] = std::string(json::parse(r.body).at("id").as_string());
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(statuses[i], 200) << i;
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), 100u);
  // One vendor job per gateway job, on good keys (the fault keys' every answer is an error,
  // so no job can exist under them: the log below shows they were tried and refused).
  std::map<std::string, int> vendor_jobs;
  for (auto k : {"good-4", "good-5"}) {
    auto list = json::parse(request("GET", s.vendor("/v1/videos?limit=100"), {{"Authorization", std::string("Bearer ") + k}}).body);
    vendor_jobs[k] = static_cast<int>(list.at("data").as_array().size());
  }
  EXPECT_EQ(vendor_jobs["good-4"] + vendor_jobs["good-5"], 100);
  // Every job polled through the gateway: the vendor scopes jobs to keys, so a poll with any
  // other key would be a 404.
  for (auto& id : ids) EXPECT_EQ(request("GET", s.gw("/v1/videos/" + id)).status, 200);
  int polls = 0, wrong = 0;
  std::map<std::string, int> attempts;
  for (auto& r : vendor_log(s)) {
    if (r.method == "POST" && r.path == "/v1/videos") ++attempts[r.key];
    if (r.method == "GET" && r.path.starts_with("/v1/videos/")) {
      ++polls;
      if (!r.key.starts_with("good-")) ++wrong;
    }
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_GE(polls, 100);
  std::printf("burst: vendor create attempts by key: bad-1=%d nocredit-2=%d ratelimit-3=%d good-4=%d good-5=%d; "
              "vendor jobs: good-4=%d good-5=%d, others=0; gateway jobs=%zu unique; polls=%d, with a wrong key=%d\n",
              attempts["bad-1"], attempts["nocredit-2"], attempts["ratelimit-3"], attempts["good-4"], attempts["good-5"],
              vendor_jobs["good-4"], vendor_jobs["good-5"], unique.size(), polls, wrong);
}
