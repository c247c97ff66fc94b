// Config reload (issue 7): SIGHUP and POST /admin/reload swap a new config in without failing a
// request, dropping a keep-alive connection or losing a job; a bad config is refused and the
// running one stays; key states carry over.
#include "support.hpp"

#include "videogate/jobs/ids.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <map>
#include <thread>

using namespace vgtest;
namespace json = boost::json;
namespace asio = boost::asio;

namespace {

const char* admin = "Bearer admin-secret-key";

/// How many reloads /metrics counts with `result` ("ok" or "error").
long reloads(stack& s, const std::string& result) {
  auto body = request("GET", s.gw("/metrics")).body;
  auto needle = "videogate_config_reloads_total{result=\"" + result + "\"} ";
  auto at = body.find(needle);
  return at == std::string::npos ? 0 : std::stol(body.substr(at + needle.size()));
}

/// Waits until /metrics counts `n` reloads with `result` (a SIGHUP is handled asynchronously).
void wait_reloads(stack& s, const std::string& result, long n) {
  for (int i = 0; i < 2000 && reloads(s, result) < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(reloads(s, result), n);
}

videogate::http::client_response create(stack& s, const std::string& model = "sora-2") {
  return request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                 R"({"prompt":"a calico cat playing a piano","seconds":"4","model":")" + model + R"("})");
}

json::object admin_keys(stack& s) {
  auto r = request("GET", s.gw("/admin/keys"), {{"Authorization", admin}});
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).as_object();
}

/// The state of a key in /admin/keys, "" when it is not listed.
std::string key_state(stack& s, const std::string& secret) {
  auto doc = admin_keys(s);
  for (auto& up : doc.at("data").as_array())
    for (auto& k : up.at("keys").as_array())
      if (k.at("fingerprint").as_string() == videogate::jobs::key_fingerprint(secret))
        return std::string(k.at("state").as_string());
  return "";
}

/// One client with its own pooled keep-alive connections, used from one thread.
class keepalive_client {
 public:
  videogate::result<videogate::http::client_response> send(videogate::http::client_request req) {
    videogate::result<videogate::http::client_response> out = videogate::fail(videogate::errc::internal, "not run");
    bool done = false;
    asio::co_spawn(ioc_, run(&client_, std::move(req), &out, &done), asio::detached);
    while (!done) ioc_.run_one();
    return out;
  }

 private:
  static asio::awaitable<void> run(videogate::http::client* c, videogate::http::client_request req,
                                   videogate::result<videogate::http::client_response>* out, bool* done) {
    *out = co_await c->send(std::move(req));
    *done = true;
  }
  asio::io_context ioc_;
  videogate::http::client client_{ioc_.get_executor()};
};

}  // namespace

TEST(reload, under_load_fails_no_request) {
  stack s;
  s.start_mock({"--complete-after-polls", "2"});
  const auto a = openai_config(R"(["good-key-1", "good-key-2"])");
  const auto b = openai_config(R"(["good-key-2", "good-key-1", "good-key-3"])",
                        "limits: { max_body_bytes: 2097152, request_timeout: 30s }\n");
  s.start_gateway(a);

  // Four clients on keep-alive connections: create, poll until done, list, models, metrics.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, completed{0};
  std::mutex mu;
  std::vector<std::string> failures;
  auto record = [&](const std::string& what) {
    ++failed;
    std::lock_guard lk(mu);
    if (failures.size() < 10) failures.push_back(what);
  };
  auto worker = [&] {
    keepalive_client c;
    auto call = [&](const std::string& method, const std::string& path, std::string body = {}) -> std::string {
      videogate::http::client_request req;
      req.method = method;
      req.url = s.gw(path);
      if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
      req.body = std::move(body);
      req.timeout = std::chrono::seconds(30);
      auto r = c.send(std::move(req));
      if (!r) {
        record(method + " " + path + ": " + r.error().message);
        return {};
      }
      if (r->status != 200) {
        record(method + " " + path + ": " + std::to_string(r->status) + " " + r->body);
        return {};
      }
      ++ok;
      return r->body;
    };
    while (!stop) {
      auto made = call("POST", "/v1/videos", R"({"prompt":"a calico cat playing a piano","seconds":"4"})");
      if (made.empty()) continue;
      auto id = std::string(json::parse(made).at("id").as_string());
      for (int i = 0; i < 10; ++i) {
        auto got = call("GET", "/v1/videos/" + id);
        if (!got.empty() && json::parse(got).at("status") == "completed") {
          ++completed;
          break;
        }
      }
      call("GET", "/v1/videos?limit=5");
      call("GET", "/v1/models");
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) workers.emplace_back(worker);
  // The workers stop and are joined however the test ends (a failed ASSERT returns early).
  struct joiner {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~joiner() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join_workers{stop, workers};
  auto first_failure = [&] {
    std::lock_guard lk(mu);
    return failures.empty() ? std::string("-") : failures.front();
  };

  // Lets `n` more requests through (bounded: a hung gateway fails the test, not the run).
  auto progress = [&](int n) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (int seen = ok.load(); failed == 0 && std::chrono::steady_clock::now() < until;) {
      if (ok.load() >= seen + n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  };
  // Ten reloads while they run, alternating the two configs and the two ways to ask.
  const int rounds = 10;
  for (int i = 0; i < rounds; ++i) {
    // Some requests on the current config first.
    ASSERT_TRUE(progress(20)) << "before reload " << i << ": " << failed.load() << " failed, first: " << first_failure();
    s.write_config(i % 2 == 0 ? b : a);
    if (i % 2 == 0) {
      s.gateway->signal(SIGHUP);
      ASSERT_NO_FATAL_FAILURE(wait_reloads(s, "ok", i + 1));
    } else {
      auto r = request("POST", s.gw("/admin/reload"), {{"Authorization", admin}});
      ASSERT_EQ(r.status, 200) << r.body;
      auto doc = json::parse(r.body);
      EXPECT_EQ(doc.at("reloaded"), true);
      EXPECT_TRUE(doc.at("needs_restart").as_array().empty()) << r.body;
    }
  }
  EXPECT_TRUE(progress(20)) << "after the last reload: " << failed.load() << " failed, first: " << first_failure();
  stop = true;
  for (auto& t : workers) t.join();

  std::printf("reload under load: %d reloads, %d requests ok, %d failed, %d jobs polled to completed\n", rounds,
              ok.load(), failed.load(), completed.load());
  EXPECT_EQ(failed.load(), 0) << first_failure();
  EXPECT_GT(completed.load(), 0);
  EXPECT_EQ(reloads(s, "ok"), rounds);
  EXPECT_EQ(reloads(s, "error"), 0);
  // The last config (a) is the one in force: two keys, good-key-3 gone from the view.
  EXPECT_EQ(key_state(s, "good-key-3"), "");
  EXPECT_EQ(key_state(s, "good-key-1"), "healthy");
  EXPECT_NE(s.gateway->stderr_text().find("reloaded config from"), std::string::npos);
}

TEST(reload, a_bad_config_is_refused_and_the_running_one_stays) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  ASSERT_EQ(create(s).status, 200);

  // Two errors: an unknown key and a duration that is not one.
  s.write_config(openai_config(R"(["good-key-1"])", "limitz: {}\n") + "    connect_timeout: soon\n");
  auto r = request("POST", s.gw("/admin/reload"), {{"Authorization", admin}});
  EXPECT_EQ(r.status, 422) << r.body;
  auto doc = json::parse(r.body);
  EXPECT_EQ(doc.at("error").at("code"), "invalid_config");
  EXPECT_EQ(doc.at("error").at("type"), "invalid_request_error");
  auto& errors = doc.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u) << r.body;
  for (auto& e : errors) EXPECT_NE(std::string(e.as_string()).find("videogate.yaml:"), std::string::npos) << e;
  EXPECT_NE(r.body.find("limitz"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("connect_timeout"), std::string::npos) << r.body;

  // SIGHUP with the same file: refused too, logged, and the gateway serves on.
  s.gateway->signal(SIGHUP);
  ASSERT_NO_FATAL_FAILURE(wait_reloads(s, "error", 2));
  auto log = s.gateway->stderr_text();
  EXPECT_NE(log.find("reload refused"), std::string::npos);
  EXPECT_NE(log.find("limitz"), std::string::npos);
  EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(reloads(s, "ok"), 0);

  // Not YAML at all.
  write_file(s.config_path, "upstreams: [ {name: \"x\"\n");
  EXPECT_EQ(request("POST", s.gw("/admin/reload"), {{"Authorization", admin}}).status, 422);
  // The file gone.
  std::filesystem::remove(s.config_path);
  EXPECT_EQ(request("POST", s.gw("/admin/reload"), {{"Authorization", admin}}).status, 422);
  EXPECT_EQ(create(s).status, 200);

  // Without the admin key the route does not exist, and GET is not the way to reload.
  EXPECT_EQ(request("POST", s.gw("/admin/reload")).status, 404);
  EXPECT_EQ(request("GET", s.gw("/admin/reload"), {{"Authorization", admin}}).status, 405);
}

TEST(reload, key_states_carry_over_and_a_removed_key_finishes_its_jobs) {
  stack s;
  s.start_mock({"--complete-after-polls", "3"});
  s.start_gateway(openai_config(R"(["bad-key-1", "good-key-1"])"));
  // The first create meets bad-key-1 (401 → disabled) and lands on good-key-1.
  auto first = create(s);
  ASSERT_EQ(first.status, 200) << first.body;
  auto id = std::string(json::parse(first.body).at("id").as_string());
  ASSERT_EQ(key_state(s, "bad-key-1"), "disabled");

  // good-key-1 leaves the config, good-key-2 comes in; bad-key-1 stays.
  s.write_config(openai_config(R"(["bad-key-1", "good-key-2"])"));
  auto r = request("POST", s.gw("/admin/reload"), {{"Authorization", admin}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(key_state(s, "bad-key-1"), "disabled") << "a key that stays keeps its state";
  EXPECT_EQ(key_state(s, "good-key-2"), "healthy");
  EXPECT_EQ(key_state(s, "good-key-1"), "") << "a removed key is not listed";

  // The job made with the removed key is still polled (with that key) to the end and downloads.
  std::string status;
  for (int i = 0; i < 10 && status != "completed"; ++i) {
    auto got = request("GET", s.gw("/v1/videos/" + id));
    ASSERT_EQ(got.status, 200) << got.body;
    status = std::string(json::parse(got.body).at("status").as_string());
  }
  EXPECT_EQ(status, "completed");
  auto content = request("GET", s.gw("/v1/videos/" + id + "/content"));
  EXPECT_EQ(content.status, 200);
  EXPECT_GT(content.body.size(), 1000u);

  // A remix is a new job: not on the removed key, and nothing reaches the vendor.
  auto remixes = s.vendor_count("POST", "/v1/videos/");
  auto remix = request("POST", s.gw("/v1/videos/" + id + "/remix"), {{"Content-Type", "application/json"}},
                       R"({"prompt":"the same cat, now on a drum kit"})");
  EXPECT_EQ(remix.status, 503) << remix.body;
  EXPECT_NE(remix.body.find("removed from the config"), std::string::npos) << remix.body;
  EXPECT_EQ(s.vendor_count("POST", "/v1/videos/"), remixes);

  // New jobs go to good-key-2 only; the disabled key is not tried again.
  auto before = s.vendor_count("POST", "/v1/videos");
  ASSERT_EQ(create(s).status, 200);
  EXPECT_EQ(s.vendor_count("POST", "/v1/videos"), before + 1);
  auto log = json::parse(request("GET", s.vendor("/_mock/requests")).body);
  auto& last = log.as_array().back().as_object();
  EXPECT_EQ(last.at("key"), "good-key-2");
}

TEST(reload, a_key_added_back_counts_its_unfinished_jobs_from_the_store) {
  stack s;
  s.start_mock({"--complete-after-polls", "1000"});  // jobs stay in progress
  s.start_gateway(openai_config(R"(["good-key-1"])", "", "    max_jobs_per_key: 2\n"));
  ASSERT_EQ(create(s).status, 200);
  ASSERT_EQ(create(s).status, 200);
  // A restart without the key: its two unfinished jobs stay in the store, counted by no one.
  s.gateway->signal(SIGTERM);
  ASSERT_EQ(s.gateway->wait(), 0);
  s.start_gateway(openai_config(R"(["good-key-2"])", "", "    max_jobs_per_key: 2\n"));
  // The key comes back with a reload: its cap must know the two jobs.
  s.write_config(openai_config(R"(["good-key-1", "good-key-2"])", "", "    max_jobs_per_key: 2\n"));
  ASSERT_EQ(request("POST", s.gw("/admin/reload"), {{"Authorization", admin}}).status, 200);
  auto doc = admin_keys(s);
  int unfinished = -1;
  for (auto& k : doc.at("data").at(0).at("keys").as_array())
    if (k.at("fingerprint").as_string() == videogate::jobs::key_fingerprint("good-key-1"))
      unfinished = static_cast<int>(k.at("unfinished_jobs").as_int64());
  EXPECT_EQ(unfinished, 2);
  // So the next two creates go to good-key-2, and the third finds every key at its cap.
  auto before = s.vendor_count("POST", "/v1/videos");
  EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(create(s).status, 200);
  EXPECT_EQ(create(s).status, 429);
  auto log = json::parse(request("GET", s.vendor("/_mock/requests")).body);
  int with_key_1 = 0;
  for (auto& e : log.as_array())
    if (e.at("method") == "POST" && e.at("target") == "/v1/videos" && e.at("key") == "good-key-1") ++with_key_1;
  EXPECT_EQ(with_key_1, 2) << "only the two jobs made before the restart";
  EXPECT_EQ(s.vendor_count("POST", "/v1/videos"), before + 2);
}

TEST(reload, limits_clients_and_log_change_at_once_restart_only_keys_are_reported) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  ASSERT_EQ(create(s).status, 200);

  // A smaller body cap, a client key, and a store path that only a restart can change.
  auto next = openai_config(R"(["good-key-1"])",
                     "limits: { max_body_bytes: 1000, request_timeout: 20s }\n"
                     "clients: [ { name: app, key: \"client-key-1\" } ]\n");
  auto at = next.find("videogate.db");
  next.replace(at, 12, "other.db");
  at = next.find("log: { level: info }");  // and the log turns to JSON
  next.replace(at, 20, "log: { level: info, format: json }");
  s.write_config(next);
  auto r = request("POST", s.gw("/admin/reload"), {{"Authorization", admin}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = json::parse(r.body);
  ASSERT_EQ(doc.at("needs_restart").as_array().size(), 1u) << r.body;
  EXPECT_EQ(doc.at("needs_restart").at(0), "store.path");
  EXPECT_NE(s.gateway->stderr_text().find("'store.path' changed"), std::string::npos);

  // Clients now need their key.
  EXPECT_EQ(create(s).status, 401);
  auto big = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}, {"Authorization", "Bearer client-key-1"}},
                     R"({"prompt":")" + std::string(2000, 'x') + R"("})");
  EXPECT_EQ(big.status, 413) << "the new body cap applies";
  auto small = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}, {"Authorization", "Bearer client-key-1"}},
                       R"({"prompt":"a calico cat playing a piano","seconds":"4"})");
  EXPECT_EQ(small.status, 200) << small.body;
  // Lines logged after the reload are JSON objects.
  auto log = s.gateway->stderr_text();
  auto last_line = log.substr(log.rfind('\n', log.size() - 2) + 1);
  EXPECT_TRUE(last_line.starts_with("{\"ts\":")) << last_line;
  EXPECT_NO_THROW(json::parse(last_line)) << last_line;
  // The store did not move.
  EXPECT_TRUE(std::filesystem::exists(s.dir.path / "videogate.db"));
  EXPECT_FALSE(std::filesystem::exists(s.dir.path / "other.db"));
}
