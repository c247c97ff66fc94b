// A fleet of gateways on one Redis (DESIGN §10, issue 13): two or three replicas of the real
// binary share one config (each listens on a port 0 of its own), one real redis-server and one
// simulated vendor. Each test starts its own Redis, so a test that kills it harms no other.
// Vendor calls are counted from the vendor's request log; every wait is bounded.
#include "support.hpp"

#include "redis_server.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

using namespace vgtest;
using namespace std::chrono_literals;
namespace json = boost::json;
using clk = std::chrono::steady_clock;

namespace {

const std::string create_body = R"({"prompt":"a calico cat playing a piano","seconds":"4"})";

videogate::http::client_response create(const stack& gw, videogate::http::header_list extra = {},
                                        std::chrono::milliseconds timeout = 30s) {
  extra.emplace_back("Content-Type", "application/json");
  return request("POST", gw.gw("/v1/videos"), extra, create_body, timeout);
}

videogate::http::client_response retrieve(const stack& gw, const std::string& id) {
  return request("GET", gw.gw("/v1/videos/" + id), {}, {}, 15s);
}

/// Status reads of the vendor job `upstream_id` in the vendor's log from entry `from` on.
int status_calls_for(const stack& s, const std::string& upstream_id, std::size_t from = 0) {
  auto log = vendor_log(s);
  int n = 0;
  for (std::size_t i = from; i < log.size(); ++i)
    if (log[i].method == "GET" && log[i].path == "/v1/videos/" + upstream_id) ++n;
  return n;
}

/// One page of GET /v1/videos on `gw`.
json::object list_page(const stack& gw, const std::string& query) {
  auto r = request("GET", gw.gw("/v1/videos?" + query), {}, {}, 15s);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? json::parse(r.body).as_object() : json::object{};
}

std::vector<std::string> ids_in(const json::object& page) {
  std::vector<std::string> out;
  if (auto* data = page.if_contains("data"))
    for (auto& v : data->as_array()) out.emplace_back(v.at("id").as_string());
  return out;
}

/// Every id `gw` lists, newest first, following the cursor page by page.
std::vector<std::string> listed_ids(const stack& gw) {
  std::vector<std::string> all;
  std::string after;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = list_page(gw, "limit=100" + (after.empty() ? "" : "&after=" + after));
    auto ids = ids_in(page);
    all.insert(all.end(), ids.begin(), ids.end());
    auto* more = page.if_contains("has_more");
    if (ids.empty() || !more || !more->as_bool()) break;
    after = ids.back();
  }
  return all;
}

bool ready(const stack& gw) {
  try {
    return request("GET", gw.gw("/readyz"), {}, {}, 2s).status == 200;
  } catch (const std::exception&) {
    return false;  // a probe that gets no answer in time fails, as an orchestrator's would
  }
}

}  // namespace

// Signed ids route any poll anywhere; the shared store makes everything else about a job the
// same on every replica: its state, the list and its cursors, content, remix, and its deletion.
TEST(fleet, any_replica_serves_any_job) {
  fleet_stack f(2, R"(["good-a"])", {"--complete-after-polls", "1"});
  auto& a = f[0];
  auto& b = f[1];
  auto first = create(a);
  ASSERT_EQ(first.status, 200) << first.body;
  const auto id = id_of(first);
  const auto second = id_of(create(b));
  const auto third = id_of(create(a));
  ASSERT_FALSE(second.empty());
  ASSERT_FALSE(third.empty());

  auto got = retrieve(b, id);
  ASSERT_EQ(got.status, 200) << "B does not serve a job A made: " << got.body;
  EXPECT_EQ(field(got.body, "id"), id);
  // The vendor finishes a job at its first status read: B's poll (or a watcher's) records it.
  EXPECT_TRUE(eventually([&] { return field(retrieve(b, id).body, "status") == "completed"; }, 10s));

  // One list, and a cursor from one replica pages on the other.
  EXPECT_EQ(listed_ids(b), (std::vector<std::string>{third, second, id}));
  auto p1 = list_page(b, "limit=2");
  EXPECT_EQ(ids_in(p1), (std::vector<std::string>{third, second}));
  EXPECT_TRUE(p1.at("has_more").as_bool());
  EXPECT_EQ(p1.at("last_id").as_string(), second);
  auto p2 = list_page(a, "limit=2&after=" + second);
  EXPECT_EQ(ids_in(p2), (std::vector<std::string>{id}));
  EXPECT_FALSE(p2.at("has_more").as_bool());
  auto asc1 = list_page(a, "limit=1&order=asc");
  EXPECT_EQ(ids_in(asc1), (std::vector<std::string>{id}));
  EXPECT_EQ(ids_in(list_page(b, "limit=5&order=asc&after=" + id)), (std::vector<std::string>{second, third}));

  auto content = request("GET", b.gw("/v1/videos/" + id + "/content"), {}, {}, 15s);
  EXPECT_EQ(content.status, 200) << content.body.substr(0, 300);
  EXPECT_EQ(content.body, read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/sample.mp4"));

  auto remix = request("POST", b.gw("/v1/videos/" + id + "/remix"), {{"Content-Type", "application/json"}},
                       R"({"prompt":"the same cat, now on a violin"})", 15s);
  ASSERT_EQ(remix.status, 200) << remix.body;
  const auto remix_id = id_of(remix);
  EXPECT_NE(remix_id, id);
  EXPECT_EQ(field(remix.body, "remixed_from_video_id"), id);
  EXPECT_EQ(retrieve(a, remix_id).status, 200) << "A does not serve the remix B made";

  // A has seen the job finished (whatever it keeps of finished jobs) before B deletes it.
  ASSERT_EQ(field(retrieve(a, id).body, "status"), "completed");
  auto del = request("DELETE", b.gw("/v1/videos/" + id), {}, {}, 15s);
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(json::parse(del.body).at("deleted").as_bool());
  auto gone = retrieve(a, id);
  EXPECT_EQ(gone.status, 404) << "A still serves a job B deleted: " << gone.body;
  EXPECT_EQ(retrieve(b, id).status, 404);
  EXPECT_EQ(request("GET", a.gw("/v1/videos/" + id + "/content"), {}, {}, 15s).status, 404);
  EXPECT_EQ(request("DELETE", a.gw("/v1/videos/" + id), {}, {}, 15s).status, 404) << "deleted for every replica";
  auto left = listed_ids(a);
  EXPECT_EQ(std::count(left.begin(), left.end(), id), 0) << "A still lists a job B deleted";
  EXPECT_EQ(left.size(), 3u) << "the two others and the remix";
}

// DESIGN §4: one Idempotency-Key is one job, even while the first request is in flight; on a
// fleet, even when its duplicates arrive at another replica.
TEST(fleet, idempotency_key_makes_one_job_across_replicas) {
  // slow-a: the vendor answers a create after 0.8 s, so the ten requests overlap.
  fleet_stack f(2, R"(["slow-a"])", {"--slow-ms", "800"});
  std::vector<int> statuses(10, 0);
  std::vector<std::string> ids(10), answers(10);
  std::vector<std::thread> ts;
  for (int i = 0; i < 10; ++i)
    ts.emplace_back([&, i] {
      try {
        auto r = create(f[i % 2], {{"Idempotency-Key", "order-42"}});
        statuses[i] = r.status;
        ids[i] = id_of(r);
        answers[i] = r.body.substr(0, 300);
      } catch (const std::exception& e) {
        answers[i] = e.what();
      }
    });
  for (auto& t : ts) t.join();
  std::set<std::string> distinct;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(statuses[i], 200) << "request " << i << " (replica " << i % 2 << "): " << answers[i];
    if (statuses[i] == 200) distinct.insert(ids[i]);
  }
  ASSERT_EQ(distinct.size(), 1u) << "one Idempotency-Key made several jobs: " << ::testing::PrintToString(distinct);
  EXPECT_EQ(creates_with(f[0], "slow-a"), 1) << "one Idempotency-Key, one vendor create";

  // Settled: both replicas answer the same job again, with no vendor call.
  for (std::size_t i = 0; i < f.size(); ++i) {
    auto again = create(f[i], {{"Idempotency-Key", "order-42"}});
    EXPECT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(id_of(again), *distinct.begin());
  }
  EXPECT_EQ(creates_with(f[0], "slow-a"), 1);
  auto other = create(f[1], {{"Idempotency-Key", "order-43"}});
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_NE(id_of(other), *distinct.begin());
  EXPECT_EQ(creates_with(f[0], "slow-a"), 2);
}

// max_jobs_per_key counts unfinished jobs across the fleet: three replicas do not allow three.
TEST(fleet, max_jobs_per_key_holds_across_replicas) {
  fleet_stack f(3, R"(["good-a"])", {"--complete-after-polls", "1000"}, "0ms", "    max_jobs_per_key: 1\n");
  auto first = create(f[0]);
  ASSERT_EQ(first.status, 200) << first.body;
  for (std::size_t i = 1; i < f.size(); ++i) {
    auto capped = create(f[i]);
    EXPECT_EQ(capped.status, 429) << "replica " << i << " sent a second job to a key capped at 1: " << capped.body;
    EXPECT_FALSE(capped.header("retry-after").empty());
  }
  EXPECT_EQ(creates_with(f[0], "good-a"), 1) << "a capped create reached the vendor";

  // The job ends at the vendor; a poll through another replica records it and frees the slot.
  const auto id = id_of(first);
  ASSERT_EQ(request("POST", f[0].vendor("/_mock/jobs/" + upstream_id_of(id, fleet_stack::ids_secret) + "/complete")).status, 200);
  ASSERT_TRUE(eventually([&] { return field(retrieve(f[1], id).body, "status") == "completed"; }, 10s));
  auto after = create(f[2]);
  EXPECT_EQ(after.status, 200) << "the finished job still holds the slot: " << after.body;
  EXPECT_EQ(creates_with(f[0], "good-a"), 2);
  std::printf("shared cap: 3 replicas, max_jobs_per_key 1, one key: vendor creates while the job ran: 1 (the other "
              "replicas answered 429); after it ended: %d in all\n",
              creates_with(f[0], "good-a"));
}

// DESIGN §5 + §10: a 429 seen by one replica cools the key for all, for its Retry-After.
TEST(fleet, a_429_on_one_replica_cools_the_key_for_all) {
  fleet_stack f(2, R"(["ratelimit-a"])", {"--retry-after", "30"});
  auto first = create(f[0]);
  ASSERT_EQ(first.status, 429) << first.body;
  EXPECT_EQ(first.header("retry-after"), "30");
  ASSERT_EQ(creates_with(f[0], "ratelimit-a"), 1);

  auto second = create(f[1]);
  EXPECT_EQ(second.status, 429) << second.body;
  auto ra = std::string(second.header("retry-after"));
  ASSERT_FALSE(ra.empty()) << second.body;
  EXPECT_GE(std::stoi(ra), 1);
  EXPECT_LE(std::stoi(ra), 30) << "B's Retry-After is the rest of A's cooldown";
  EXPECT_EQ(creates_with(f[0], "ratelimit-a"), 1) << "B asked the vendor with a key A had seen rate limited";
}

// The same with a second key: B, whose round robin starts at the cooling key, goes straight to
// the healthy one.
TEST(fleet, every_replica_skips_a_key_that_cools_elsewhere) {
  fleet_stack f(2, R"(["ratelimit-a", "good-b"])", {"--retry-after", "30"});
  auto first = create(f[0]);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(creates_with(f[0], "ratelimit-a"), 1) << "round robin starts at the first key";
  for (int i = 0; i < 3; ++i) {
    auto r = create(f[1]);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(creates_with(f[0], "ratelimit-a"), 1) << "B tried a key that cools on A";
  EXPECT_EQ(creates_with(f[0], "good-b"), 4);
}

// DESIGN §10: one vendor status call per job per poll_interval, fleet-wide. The status reads
// of slowpoll-* keys take 1 s at the vendor, so twenty retrieves over A and B arrive while a
// poll of the job (the first, a job watcher's once it is due) is under way. Without a shared
// lease the replica that is not polling would send a call of its own.
// Why the bound holds whatever the watchers do: calls for one job are more than poll_interval
// apart, so a window of length w holds at most 1 + floor(w / poll_interval) of them. The
// window starts at the last log read that saw no call (before the first call) and ends at the
// final count.
TEST(fleet, one_vendor_status_call_per_poll_interval_across_replicas) {
  constexpr auto interval = 3s;
  fleet_stack f(2, R"(["slowpoll-a"])", {"--complete-after-polls", "1000", "--slow-ms", "1000"}, "3s");
  auto made = create(f[0]);
  ASSERT_EQ(made.status, 200) << made.body;
  const auto id = id_of(made);
  const auto uid = upstream_id_of(id, fleet_stack::ids_secret);

  auto window_start = clk::now();
  bool polled = false;
  for (auto deadline = clk::now() + 15s; !polled && clk::now() < deadline;) {
    auto t = clk::now();
    polled = status_calls_for(f[0], uid) > 0;
    if (!polled) {
      window_start = t;
      std::this_thread::sleep_for(20ms);
    }
  }
  ASSERT_TRUE(polled) << "no replica polled the job in 15 s (it is due after 3 s)";

  std::vector<int> statuses(20, 0);
  std::vector<std::thread> ts;
  for (int i = 0; i < 20; ++i)
    ts.emplace_back([&, i] {
      try {
        statuses[i] = retrieve(f[i % 2], id).status;
      } catch (const std::exception&) {
        statuses[i] = -1;
      }
    });
  for (auto& t : ts) t.join();
  const int calls = status_calls_for(f[0], uid);
  const auto window = clk::now() - window_start;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(statuses[i], 200) << "retrieve " << i << " on replica " << i % 2;
  const int bound = 1 + static_cast<int>(window / interval);
  EXPECT_LE(calls, bound) << "vendor status calls for one job within "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(window).count()
                          << " ms, with poll_interval 3 s";
  std::printf("shared polls: 20 concurrent retrieves over 2 replicas during an in-flight poll: %d vendor status "
              "call(s) in %lld ms (bound %d)\n",
              calls, static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(window).count()),
              bound);
}

// kill -9 of a replica in the middle of a burst of creates: every create it acknowledged is
// on the other replica, and the dead replica's unfinished jobs are watched by the survivor.
TEST(fleet, losing_a_replica_loses_no_acknowledged_job) {
  fleet_stack f(2, R"(["good-a"])", {"--complete-after-polls", "1000"}, "1s");
  auto& a = f[0];
  auto& b = f[1];
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<int> refused{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 50 && !stop; ++i) {
        try {
          auto r = request("POST", a.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                           R"({"prompt":"burst )" + std::to_string(t) + "-" + std::to_string(i) + R"("})", 10s);
          if (r.status == 200) {
            std::lock_guard lk(mu);
            acked.push_back(id_of(r));
          } else {
            ++refused;
          }
        } catch (const std::exception&) {
          return;  // A is gone: this client's connection failed
        }
      }
    });
  auto acked_count = [&] {
    std::lock_guard lk(mu);
    return acked.size();
  };
  bool burst_on = eventually([&] { return acked_count() >= 10; }, 30s);
  a.gateway->signal(SIGKILL);
  EXPECT_EQ(a.gateway->wait(), 128 + SIGKILL);
  stop = true;
  for (auto& t : ts) t.join();
  ASSERT_TRUE(burst_on) << "fewer than 10 creates acknowledged in 30 s";
  EXPECT_EQ(refused.load(), 0) << "A refused creates before it died";

  // No client asks B anything yet: a status call after A's death is B's job watcher's.
  const auto from = vendor_log(b).size();
  std::set<std::string> unfinished;
  for (auto& id : acked) unfinished.insert(upstream_id_of(id, fleet_stack::ids_secret));
  std::set<std::string> polled;
  bool watched = eventually(
      [&] {
        auto log = vendor_log(b);
        for (std::size_t i = from; i < log.size(); ++i)
          if (log[i].method == "GET" && log[i].path.starts_with("/v1/videos/")) polled.insert(log[i].path.substr(11));
        return std::includes(polled.begin(), polled.end(), unfinished.begin(), unfinished.end());
      },
      30s);
  std::size_t watched_count = 0;
  for (auto& uid : unfinished) watched_count += polled.count(uid);
  EXPECT_TRUE(watched) << watched_count << " of A's " << unfinished.size()
                       << " unfinished jobs were polled by B's watcher within 30 s of A's death";

  std::size_t retrievable = 0;
  for (auto& id : acked) {
    auto r = retrieve(b, id);
    EXPECT_EQ(r.status, 200) << id << ": " << r.body;
    retrievable += r.status == 200;
  }
  auto listed = listed_ids(b);
  std::set<std::string> on_b(listed.begin(), listed.end());
  std::size_t in_list = 0;
  for (auto& id : acked) in_list += on_b.count(id);
  EXPECT_EQ(in_list, acked.size()) << "acknowledged creates missing from B's list";
  std::printf("replica kill: creates acknowledged by A before kill -9: %zu; retrievable on B: %zu; in B's list: %zu; "
              "polled by B's watcher after the kill: %zu\n",
              acked.size(), retrievable, in_list, watched_count);
}

// DESIGN §10: Redis gone: 503 store_unavailable with nothing sent upstream, and not ready
// within 5 s. Redis back on the same AOF: every acknowledged job is there and the replicas
// serve again, with no restart.
TEST(fleet, losing_redis_is_503_and_recovers_without_a_restart) {
  // poll_interval 1h: no watcher poll during the test, so any vendor call would be a create's,
  // and every retrieve reads the store.
  fleet_stack f(2, R"(["good-a"])", {"--complete-after-polls", "1000"}, "1h");
  std::vector<std::string> acked;
  for (int i = 0; i < 4; ++i) {
    auto r = create(f[i % 2]);
    ASSERT_EQ(r.status, 200) << r.body;
    acked.push_back(id_of(r));
  }
  auto keyed = create(f[0], {{"Idempotency-Key", "before-the-outage"}});
  ASSERT_EQ(keyed.status, 200) << keyed.body;
  acked.push_back(id_of(keyed));
  for (std::size_t i = 0; i < f.size(); ++i) ASSERT_TRUE(ready(f[i])) << "replica " << i;

  const auto calls_before = vendor_log(f[0]).size();
  const auto killed_at = clk::now();
  f.redis.kill9();
  for (std::size_t i = 0; i < f.size(); ++i) {
    // Within 5 s of the kill (and a last 100 ms check step).
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(killed_at + 5100ms - clk::now());
    EXPECT_TRUE(eventually([&] { return !ready(f[i]); }, std::max(left, 0ms)))
        << "replica " << i << " still says ready 5 s after Redis died";
  }
  for (std::size_t i = 0; i < f.size(); ++i) {
    auto r = create(f[i], {}, 15s);
    EXPECT_EQ(r.status, 503) << "replica " << i << ": " << r.body;
    EXPECT_EQ(error_code(r.body), "store_unavailable") << r.body;
    auto k = create(f[i], {{"Idempotency-Key", "during-the-outage"}}, 15s);
    EXPECT_EQ(k.status, 503) << "replica " << i << ": " << k.body;
    EXPECT_EQ(error_code(k.body), "store_unavailable") << k.body;
  }
  EXPECT_EQ(vendor_log(f[0]).size(), calls_before) << "a request reached the vendor while the store was down";

  f.redis.start_again();
  int made_after = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    EXPECT_TRUE(eventually([&] { return ready(f[i]); }, 10s)) << "replica " << i << " not ready 10 s after Redis is back";
    videogate::http::client_response r;
    bool created = eventually(
        [&] {
          r = create(f[i], {}, 15s);
          return r.status == 200;
        },
        10s);
    EXPECT_TRUE(created) << "replica " << i << " does not create again: " << r.status << " " << r.body;
    made_after += created;
  }
  std::size_t found = 0;
  for (auto& id : acked) {
    bool everywhere = true;
    for (std::size_t i = 0; i < f.size(); ++i) {
      auto r = retrieve(f[i], id);
      EXPECT_EQ(r.status, 200) << "replica " << i << ", " << id << ": " << r.body;
      everywhere = everywhere && r.status == 200;
    }
    found += everywhere;
  }
  auto listed = listed_ids(f[1]);
  std::set<std::string> on_list(listed.begin(), listed.end());
  for (auto& id : acked) EXPECT_EQ(on_list.count(id), 1u) << id << " is no longer listed";
  auto again = create(f[1], {{"Idempotency-Key", "before-the-outage"}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(id_of(again), acked.back()) << "the Idempotency-Key record did not survive the restart";
  EXPECT_EQ(creates_with(f[0], "good-a"), 5 + made_after) << "vendor creates: 5 before, one per replica after";
  std::printf("redis kill -9 + restart on its AOF: jobs acknowledged before: %zu; found afterwards on every replica: %zu; "
              "listed: %zu\n",
              acked.size(), found, static_cast<std::size_t>(std::count_if(acked.begin(), acked.end(), [&](auto& id) {
                return on_list.count(id) == 1;
              })));
}
