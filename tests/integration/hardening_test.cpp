// Hardening (DESIGN §1, §3, §4, §5, §8): one test per failure a semi-trusted vendor or an
// untrusted client can cause. Each runs the real gateway against the simulated vendor's fault
// keys (tests/support/mock_vendor/README.md), or a scripted stand-in where a reseller's answer
// is one the simulated vendor does not give, and states the contract the gateway must keep.
// Every wait is bounded: a misbehaving gateway fails the test, it never hangs it.
#include "support.hpp"

#include "videogate/jobs/store.hpp"

#include "videogate/jobs/ids.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

using namespace vgtest;
using namespace std::chrono_literals;
namespace json = boost::json;
using clk = std::chrono::steady_clock;

namespace {

constexpr auto npos = std::string::npos;
const char* admin = "Bearer admin-secret-key";
const std::string body_4s = R"({"prompt":"a lighthouse at dusk","seconds":"4","size":"1280x720"})";

long long ms_since(clk::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clk::now() - t0).count();
}

/// Stops the processes of `s` at scope end within seconds (SIGTERM, then SIGKILL): a test
/// whose vendor hangs must not wait out the process helper's 15 s grace. Declare it after the
/// stack so it runs first.
struct stop_quickly {
  stack& s;
  ~stop_quickly() {
    for (auto* p : {s.gateway.get(), s.mock.get()}) {
      if (!p) continue;
      p->signal(SIGTERM);
      if (p->wait(5s) == -1) {
        p->signal(SIGKILL);
        p->wait(5s);
      }
    }
  }
};

/// A gateway config with one upstream `vendor` of `dialect` (poll_interval 0) and the admin key.
std::string dialect_config(const std::string& dialect, const std::string& keys, const std::string& upstream_extra = "",
                           const std::string& top_extra = "") {
  return R"(
listen: "127.0.0.1:0"
log: { level: info }
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-hardening" }
admin: { key: "admin-secret-key" }
)" + top_extra + R"(
upstreams:
  - name: vendor
    dialect: )" + dialect + R"(
    base_url: "${MOCK_URL}"
    keys: )" + keys + R"(
    poll_interval: 0ms
    timeout: 10s
)" + upstream_extra;
}

videogate::http::client_response create(stack& s, const std::string& body = body_4s,
                                        videogate::http::header_list extra = {},
                                        std::chrono::milliseconds timeout = 15s) {
  extra.emplace_back("Content-Type", "application/json");
  return request("POST", s.gw("/v1/videos"), extra, body, timeout);
}

/// The job as GET /v1/videos lists it (the store's view: listing never polls the vendor).
std::optional<json::object> listed(stack& s, const std::string& id) {
  auto r = request("GET", s.gw("/v1/videos?limit=100"), {}, {}, 5s);
  if (r.status != 200) return std::nullopt;
  auto doc = json::parse(r.body);
  for (auto& v : doc.at("data").as_array())
    if (v.at("id").as_string() == id) return v.as_object();
  return std::nullopt;
}

std::string listed_status(stack& s, const std::string& id) {
  auto v = listed(s, id);
  return v ? std::string(v->at("status").as_string()) : "<not listed>";
}

std::string listed_error_code(stack& s, const std::string& id) {
  auto v = listed(s, id);
  if (!v || !v->at("error").is_object()) return "<no error>";
  auto& c = v->at("error").at("code");
  return c.is_string() ? std::string(c.as_string()) : "<no error.code>";
}

/// Keys of the creates (`POST path`) the vendor received, in order.
std::vector<std::string> vendor_creates(stack& s, const std::string& path = "/v1/videos") {
  std::vector<std::string> keys;
  for (auto& r : vendor_log(s))
    if (r.method == "POST" && r.path == path) keys.push_back(r.key);
  return keys;
}

/// The state of a key in /admin/keys ("" when it is not listed).
std::string key_state(stack& s, const std::string& secret) {
  auto r = request("GET", s.gw("/admin/keys"), {{"Authorization", admin}}, {}, 5s);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(secret), npos) << "a key secret leaked into /admin/keys";
  auto doc = json::parse(r.body);
  for (auto& up : doc.at("data").as_array())
    for (auto& k : up.at("keys").as_array())
      if (k.at("fingerprint").as_string() == videogate::jobs::key_fingerprint(secret))
        return std::string(k.at("state").as_string());
  return "";
}

std::string head_of(const std::string& raw) { return raw.substr(0, raw.find("\r\n\r\n")); }


int count_lines_with(const std::string& text, const std::string& needle) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != npos) ++n;
  return n;
}

}  // namespace

// DESIGN §8: a vendor's content URL on loopback or a metadata address is refused, never fetched.
TEST(hardening, content_url_on_loopback_or_metadata_is_refused) {
  {
    SCOPED_TRACE("evil URL: http://localhost:<mock port>/_mock/health");
    stack s;
    // --verbose: the mock logs every request it serves, /_mock/* included (they are not in its request log).
    s.start_mock({"--complete-after-polls", "1", "--verbose"});
    s.start_gateway(dialect_config("unified", R"(["evilurl-1"])"));
    auto id = id_of(create(s));
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(field(request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s).body, "status"), "completed");
    auto r = request("GET", s.gw("/v1/videos/" + id + "/content"), {}, {}, 10s);
    EXPECT_EQ(r.status, 502) << r.body.substr(0, 300);
    EXPECT_EQ(error_code(r.body), "content_url_refused");
    EXPECT_EQ(r.body.find("\"status\":\"ok\""), npos) << "the vendor's loopback-only answer came through: " << r.body;
    auto served = s.mock->stderr_text();
    EXPECT_EQ(served.find("GET /_mock/health"), npos) << "the gateway fetched the loopback URL a vendor named:\n" << served;
  }
  {
    SCOPED_TRACE("evil URL: http://169.254.169.254/latest/meta-data/");
    stack s;
    s.start_mock({"--complete-after-polls", "1", "--evil-url", "http://169.254.169.254/latest/meta-data/"});
    s.start_gateway(dialect_config("unified", R"(["evilurl-1"])"));
    auto id = id_of(create(s));
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(field(request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s).body, "status"), "completed");
    auto t0 = clk::now();
    try {
      auto r = request("GET", s.gw("/v1/videos/" + id + "/content"), {}, {}, 12s);
      auto took = ms_since(t0);
      EXPECT_EQ(r.status, 502) << r.body.substr(0, 300);
      EXPECT_EQ(error_code(r.body), "content_url_refused");
      EXPECT_LT(took, 2000) << "refused before any connect attempt, not after a connect timeout";
    } catch (const std::exception& e) {
      ADD_FAILURE() << "no answer within 12 s: " << e.what();
    }
  }
}

// DESIGN §8: the upstream's own base_url host is always allowed (content_hosts or not);
// allow_private_addresses: true lets a private address through.
TEST(hardening, content_url_on_own_host_is_allowed_and_private_is_opt_in) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(R"(
listen: "127.0.0.1:0"
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-hardening" }
upstreams:
  - name: cdn-only
    dialect: unified
    base_url: "${MOCK_URL}"
    keys: ["good-1"]
    poll_interval: 0ms
    content_hosts: ["cdn.example"]
    models: { sora-2: sora-2 }
  - name: private-ok
    dialect: unified
    base_url: "${MOCK_URL}"
    keys: ["evilurl-2"]
    poll_interval: 0ms
    allow_private_addresses: true
    models: { sora-2-pro: sora-2-pro }
)");
  auto own = id_of(create(s));
  ASSERT_FALSE(own.empty());
  ASSERT_EQ(field(request("GET", s.gw("/v1/videos/" + own)).body, "status"), "completed");
  auto r = request("GET", s.gw("/v1/videos/" + own + "/content"));
  EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.body, read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/sample.mp4"))
      << "the vendor's own host (127.0.0.1, another path) is allowed although content_hosts names only cdn.example";

  auto priv = id_of(create(s, R"({"prompt":"a lighthouse at dusk","model":"sora-2-pro","size":"1280x720"})"));
  ASSERT_FALSE(priv.empty());
  ASSERT_EQ(field(request("GET", s.gw("/v1/videos/" + priv)).body, "status"), "completed");
  auto p = request("GET", s.gw("/v1/videos/" + priv + "/content"));
  EXPECT_EQ(p.status, 200) << p.body.substr(0, 300);
  EXPECT_NE(p.body.find("\"status\":\"ok\""), npos) << "allow_private_addresses lets localhost through: " << p.body;
}

// DESIGN §8: nothing from a vendor reaches a response header unchecked; a URL with CR/LF is 502 content_url_refused.
TEST(hardening, content_url_with_crlf_never_reaches_a_header) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(dialect_config("unified", R"(["crlfurl-1"])", "    content: redirect\n"));
  auto id = id_of(create(s));
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(field(request("GET", s.gw("/v1/videos/" + id)).body, "status"), "completed");
  auto raw = raw_exchange(s.gateway_port, "GET /v1/videos/" + id + "/content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto head = head_of(raw);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 502")) << head;
  EXPECT_NE(raw.find("content_url_refused"), npos) << raw.substr(0, 600);
  EXPECT_EQ(lower(head).find("set-cookie"), npos) << "a vendor injected a header:\n" << head;
}

// DESIGN §5 + §4: a create answered 502/504 after the body was sent is never retried (504
// "may exist"), and its Idempotency-Key keeps answering that 504 without a new vendor create.
TEST(hardening, create_with_unknown_outcome_is_never_sent_twice) {
  for (std::string prefix : {"made502", "made504"}) {
    SCOPED_TRACE(prefix);
    stack s;
    s.start_mock();
    auto bad = prefix + "-a";
    s.start_gateway(openai_config("[\"" + bad + "\", \"good-b\"]"));
    const std::string body = R"({"prompt":"a calico cat playing a piano","seconds":"4"})";
    auto r = create(s, body, {{"Idempotency-Key", "order-7"}});
    auto creates = vendor_creates(s);
    ASSERT_FALSE(creates.empty());
    ASSERT_EQ(creates.front(), bad) << "round robin starts at the first key";
    EXPECT_EQ(r.status, 504) << r.body;
    EXPECT_EQ(error_code(r.body), "upstream_timeout") << r.body;
    EXPECT_NE(r.body.find("may exist"), npos) << r.body;
    EXPECT_EQ(creates.size(), 1u) << "vendor creates, by key: " << ::testing::PrintToString(creates);

    auto again = create(s, body, {{"Idempotency-Key", "order-7"}});
    EXPECT_EQ(again.status, 504) << again.body;
    EXPECT_EQ(error_code(again.body), "upstream_timeout") << again.body;
    EXPECT_EQ(vendor_creates(s).size(), 1u) << "a retry with the same Idempotency-Key created again";

    auto other = create(s, R"({"prompt":"a different video","seconds":"4"})", {{"Idempotency-Key", "order-7"}});
    EXPECT_EQ(other.status, 422) << other.body;
    EXPECT_EQ(error_code(other.body), "idempotency_key_reused") << other.body;
    EXPECT_EQ(vendor_creates(s).size(), 1u);
  }
}

// DESIGN §4: a job the vendor forgot answers its last state, then ends failed "vendor_lost"
/// Waits (with no client polls) until job `id` ends failed with `code`, then checks that the key's
/// only `max_jobs_per_key` slot is free again.
void expect_ends_failed_and_frees_the_slot(stack& s, const std::string& id, const std::string& code) {
  bool failed = eventually([&] { return listed_status(s, id) == "failed"; }, 15s);
  EXPECT_TRUE(failed) << "still " << listed_status(s, id) << " after 15 s";
  EXPECT_EQ(listed_error_code(s, id), code);
  auto second = create(s);
  EXPECT_EQ(second.status, 200) << "the ended job still holds the key's only slot: " << second.body;
}

// (watcher, no client polls) and frees its max_jobs_per_key slot.
TEST(hardening, forgotten_job_ends_vendor_lost_and_frees_its_slot) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["forget-1"])", "", "    max_jobs_per_key: 1\n    lost_after: 2s\n"));
  auto first = create(s);
  ASSERT_EQ(first.status, 200) << first.body;
  auto id = id_of(first);
  auto now = request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s);
  EXPECT_EQ(now.status, 200) << "until the job counts as lost, a retrieve answers its last known state: " << now.body;
  auto st = field(now.body, "status");
  EXPECT_TRUE(st == "queued" || st == "in_progress") << now.body;
  expect_ends_failed_and_frees_the_slot(s, id, "vendor_lost");
}

// DESIGN §4: an unfinished job past its upstream's job_ttl ends failed "expired" and frees its slot.
TEST(hardening, job_past_its_ttl_ends_expired_and_frees_its_slot) {
  stack s;
  s.start_mock({"--complete-after-polls", "100000"});
  s.start_gateway(openai_config(R"(["good-1"])", "", "    max_jobs_per_key: 1\n    job_ttl: 2s\n"));
  auto first = create(s);
  ASSERT_EQ(first.status, 200) << first.body;
  auto id = id_of(first);
  EXPECT_EQ(create(s).status, 429) << "the cap holds while the job runs";
  expect_ends_failed_and_frees_the_slot(s, id, "expired");
}

// DESIGN §8: at the file-descriptor limit accept backs off: no busy loop, one log line per second at most.
TEST(hardening, accept_at_the_fd_limit_backs_off) {
  stack s;
  stop_quickly guard{s};
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-1"])"), {"/bin/sh", "-c", "ulimit -n 64; exec \"$0\" \"$@\""});
  ASSERT_EQ(request("GET", s.gw("/healthz"), {}, {}, 5s).status, 200);
  std::vector<std::unique_ptr<raw_connection>> held;
  for (int i = 0; i < 150; ++i) held.push_back(std::make_unique<raw_connection>(s.gateway_port));
  // The observation window (not a synchronisation): how often does the gateway log in 3 s?
  std::this_thread::sleep_for(3s);
  auto lines = count_lines_with(s.gateway->stderr_text(), "accept failed");
  EXPECT_LE(lines, 5) << "'accept failed' lines in 3 s with 150 connections held at ulimit -n 64";
  held.clear();
  bool healthy = eventually(
      [&] {
        try {
          return request("GET", s.gw("/healthz"), {}, {}, 2s).status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      10s);
  EXPECT_TRUE(healthy) << "the gateway no longer answers /healthz after the connections closed";
}

// DESIGN §3/§8: limits.header_timeout bounds the whole request head; a slower sender is closed.
TEST(hardening, slow_header_sender_is_closed) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-1"])", "limits: { header_timeout: 1s }\n"));
  raw_connection c(s.gateway_port);
  auto t0 = clk::now();
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\n"));
  int lines = 0;
  while (!c.closed() && clk::now() - t0 < 5s) {
    c.read_for(300ms);  // the pause between two header lines; ends early when the gateway closes
    if (c.closed()) break;
    c.send("X-Slow-" + std::to_string(lines++) + ": a\r\n");
  }
  EXPECT_TRUE(c.closed()) << "still open after " << ms_since(t0) << " ms and " << lines << " header lines";
  if (!c.received().empty()) {
    EXPECT_TRUE(c.received().starts_with("HTTP/1.1 408")) << c.received();
  }
}

// DESIGN §3/§8: beyond limits.max_connections accept waits; a freed slot lets the next one in.
TEST(hardening, connections_beyond_max_connections_wait) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-1"])", "limits: { max_connections: 4 }\n"));
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<raw_connection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<raw_connection>(s.gateway_port));
    ASSERT_TRUE(held.back()->send(get));
    ASSERT_TRUE(held.back()->read_until("HTTP/1.1 200", 5s)) << "keep-alive connection " << i << " not served";
  }
  raw_connection fifth(s.gateway_port);
  ASSERT_TRUE(fifth.send(get));
  auto early = fifth.read_for(1s);
  EXPECT_TRUE(early.empty()) << "a 5th connection was served with max_connections: 4:\n" << head_of(early);
  held.front()->close();
  EXPECT_TRUE(fifth.read_until("HTTP/1.1 200", 5s)) << "not served within 5 s after a slot freed: " << fifth.received();
}

// DESIGN §1 (errors mapped in one place): the access line logs the status the client got (504 on request_timeout).
TEST(hardening, access_log_matches_the_status_sent) {
  stack s;
  stop_quickly guard{s};
  s.start_mock();
  s.start_gateway(openai_config(R"(["hang-1"])", "limits: { request_timeout: 1s }\n"));
  auto id = id_of(create(s));
  ASSERT_FALSE(id.empty());
  auto r = request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s);
  EXPECT_EQ(r.status, 504) << r.body;
  std::string line;
  bool logged = eventually(
      [&] {
        std::istringstream in(s.gateway->stderr_text());
        for (std::string l; std::getline(in, l);)
          if (l.find("access method=GET route=/v1/videos/") != npos && l.find("/content") == npos) {
            line = l;
            return true;
          }
        return false;
      },
      5s);
  ASSERT_TRUE(logged) << "no access line for the retrieve:\n" << s.gateway->stderr_text();
  EXPECT_NE(line.find("status=504"), npos) << line;
}

// DESIGN §8: authenticate before reading a body; a wrong client key is 401 without waiting for the body.
TEST(hardening, wrong_client_key_is_refused_before_the_body) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-1"])", R"(clients: [{name: web, key: "client-key-1", models: ["*"]}])" "\n"));
  raw_connection c(s.gateway_port);
  ASSERT_TRUE(c.send("POST /v1/videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                     "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"));
  auto t0 = clk::now();
  bool answered = c.read_until("\r\n\r\n", 3s);
  EXPECT_TRUE(answered) << "no answer within 3 s (" << ms_since(t0) << " ms): the gateway waits for the 10 MB body";
  EXPECT_TRUE(c.received().starts_with("HTTP/1.1 401")) << c.received().substr(0, 300);
}

// DESIGN §5: words in a message count only in the vendor's error field, never when the text echoes the prompt.
TEST(hardening, prompt_words_echoed_by_the_vendor_do_not_judge_keys) {
  const std::string prompt = "[echo] insufficient balance, invalid api key";
  const std::string body = R"({"prompt":")" + prompt + R"(","seconds":"4","size":"1280x720"})";
  // The simulated vendor's refusals: an HTTP 400 (unified) or code 400 (freesora) quoting the prompt.
  for (std::string dialect : {"freesora", "unified"}) {
    SCOPED_TRACE(dialect + " (simulated vendor)");
    stack s;
    s.start_mock({"--complete-after-polls", "1"});
    s.start_gateway(dialect_config(dialect, R"(["good-1"])"));
    auto refused = create(s, body);
    EXPECT_NE(refused.status, 200) << "the vendor refuses [echo] prompts";
    EXPECT_NE(error_code(refused.body), "no_upstream_available") << refused.body;
    EXPECT_EQ(key_state(s, "good-1"), "healthy");
    auto next = create(s);
    EXPECT_EQ(next.status, 200) << next.body;
  }
  // The same refusal in the other error shapes resellers use: freesora's HTTP 200 with a code
  // outside the HTTP range, and a unified reseller's HTTP 200 carrying an error object.
  struct shape {
    std::string dialect, refusal, success;
  };
  for (auto& [dialect, refusal, success] : std::vector<shape>{
           {"freesora", R"({"code":1001,"message":"Invalid prompt: )" + prompt + R"("})",
            R"({"code":0,"message":"ok","data":{"taskId":"0123456789abcdef0123456789abcdef"}})"},
           {"unified", R"({"error":{"message":"Invalid prompt: )" + prompt + R"(","type":"invalid_request_error"}})",
            R"({"id":"sora-2:task_0123456789abcdefghjkmnpqrs","status":"pending","status_update_time":1700000000000})"}}) {
    SCOPED_TRACE(dialect + " (HTTP 200 error shape)");
    // A stand-in vendor: the two answers, in order.
    http_receiver vendor(json_answers({refusal, success}));
    stack s;
    auto cfg = dialect_config(dialect, R"(["good-1"])");
    cfg.replace(cfg.find("${MOCK_URL}"), 11, vendor.url());
    s.start_gateway(cfg);
    auto refused = create(s, body);
    EXPECT_NE(refused.status, 200) << refused.body;
    EXPECT_NE(error_code(refused.body), "no_upstream_available") << refused.body;
    EXPECT_EQ(key_state(s, "good-1"), "healthy") << "the prompt's own words judged the key";
    auto next = create(s);
    EXPECT_EQ(next.status, 200) << next.body;
    EXPECT_EQ(vendor.count(), 2u) << "the next create never reached the vendor";
  }
}

// DESIGN §4: a delete wins over a poll in flight; the slow poll does not write the job back.
// openai forwards the delete (the vendor then answers the slow read "not found"); unified has
// no vendor delete, so the gateway keeps a tombstone that the slow read must not overwrite.
TEST(hardening, delete_racing_a_slow_poll_stays_deleted) {
  for (std::string dialect : {"openai", "unified"}) {
    SCOPED_TRACE(dialect);
    stack s;
    stop_quickly guard{s};
    s.start_mock({"--slow-ms", "1500"});
    s.start_gateway(dialect_config(dialect, R"(["slowpoll-1"])"));
    auto id = id_of(create(s));
    ASSERT_FALSE(id.empty());
    std::thread retrieve([&] {
      try {
        request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s);
      } catch (const std::exception&) {
      }
    });
    // Delete once a (slow) status read is in the vendor's hands.
    bool in_flight = eventually([&] { return status_reads_with(s, "slowpoll-1") >= 1; }, 5s);
    auto del = request("DELETE", s.gw("/v1/videos/" + id), {}, {}, 10s);
    retrieve.join();
    ASSERT_TRUE(in_flight) << "no status read reached the vendor";
    EXPECT_EQ(del.status, 200) << del.body;
    auto after = request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s);
    EXPECT_EQ(after.status, 404) << "the slow poll wrote the deleted job back: " << after.body;
    EXPECT_EQ(listed_status(s, id), "<not listed>");
  }
}

/// Two openai upstreams on the mock: `vendor-stuck` (sora-2, key `stuck_key`, `stuck_extra`
/// under it) whose jobs do not finish, and `vendor-ok` (sora-2-pro, key good-2).
std::string stuck_and_ok_config(const std::string& stuck_key, const std::string& stuck_extra) {
  return R"(
listen: "127.0.0.1:0"
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-hardening" }
upstreams:
  - name: vendor-stuck
    dialect: openai
    base_url: "${MOCK_URL}"
    request_format: json
    keys: [")" + stuck_key + R"("]
    poll_interval: 0ms
    models: { sora-2: sora-2 }
)" + stuck_extra + R"(  - name: vendor-ok
    dialect: openai
    base_url: "${MOCK_URL}"
    request_format: json
    keys: ["good-2"]
    poll_interval: 0ms
    timeout: 10s
    models: { sora-2-pro: sora-2-pro }
)";
}

/// Creates a job on vendor-ok and expects the watcher alone (no client polls) to complete it.
void expect_ok_job_completes(stack& s, std::chrono::seconds within) {
  auto ok = id_of(create(s, R"({"prompt":"finishes at once","model":"sora-2-pro","seconds":"4"})"));
  ASSERT_FALSE(ok.empty());
  bool done = eventually([&] { return listed_status(s, ok) == "completed"; }, within);
  EXPECT_TRUE(done) << "vendor-ok's job is still " << listed_status(s, ok) << " after " << within.count()
                    << " s (vendor polls with good-2: " << status_reads_with(s, "good-2") << ")";
}

// DESIGN §4 (no job polled forever, watcher): one hanging upstream does not stall the watcher for the others.
TEST(hardening, hanging_upstream_does_not_stall_the_watcher) {
  stack s;
  stop_quickly guard{s};
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(stuck_and_ok_config("hang-1", "    timeout: 60s\n"));
  auto hung = id_of(create(s, R"({"prompt":"hangs at the vendor","model":"sora-2","seconds":"4"})"));
  ASSERT_FALSE(hung.empty());
  // Let the watcher's poll of the hanging job start (nobody else polls it) before the other job exists.
  ASSERT_TRUE(eventually([&] { return status_reads_with(s, "hang-1") >= 1; }, 5s)) << "the watcher never polled";
  expect_ok_job_completes(s, 10s);
}

// DESIGN §1/§8: secrets never reach a log line at any level, nor --check-config's output.
// The key is revoked while its job runs: the vendor's 401 now quotes the whole key, and the
// create, the retrieve and the job watcher's polls must not hand it on.
TEST(hardening, secrets_never_reach_logs) {
  {
    const std::string secret = "echokey-SECRET-abc123xyz";
    http_receiver before(json_answers({R"({"id":"video_leak_1","object":"video","model":"sora-2","status":"queued",)"
                                      R"("progress":0,"seconds":"4","size":"720x1280","created_at":1700000000})"}));
    stack s;
    stop_quickly guard{s};
    s.start_mock();
    auto cfg = [&](const std::string& base_url) {
      return R"(
listen: "127.0.0.1:0"
log: { level: debug }
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-hardening" }
admin: { key: "admin-secret-key" }
upstreams:
  - name: vendor
    dialect: openai
    base_url: ")" + base_url + R"("
    request_format: json
    keys: [")" + secret + R"("]
    poll_interval: 0ms
    timeout: 10s
)";
    };
    s.start_gateway(cfg(before.url()));
    auto made = create(s);
    ASSERT_EQ(made.status, 200) << made.body;
    auto id = id_of(made);
    // The same upstream, now answering as the simulated vendor does for echokey-* keys.
    s.write_config(cfg("${MOCK_URL}"));
    auto reload = request("POST", s.gw("/admin/reload"), {{"Authorization", admin}}, {}, 5s);
    ASSERT_EQ(reload.status, 200) << reload.body;
    auto got = request("GET", s.gw("/v1/videos/" + id), {}, {}, 10s);
    EXPECT_EQ(got.body.find("SECRET-abc123xyz"), npos) << got.body;
    auto c = create(s);
    EXPECT_NE(c.status, 200) << "echokey-* keys are refused with a 401";
    EXPECT_EQ(c.body.find("SECRET-abc123xyz"), npos) << c.body;
    // Let the job watcher poll it on its own too (about once a second): its failed polls are
    // where a debug line would quote the vendor. Not asserted: a gateway may rest a refused key.
    eventually([&] { return status_reads_with(s, secret) >= 3; }, 4s);
    s.gateway->signal(SIGTERM);
    s.gateway->wait(10s);
    auto log = s.gateway->stderr_text();
    auto at = log.find("SECRET-abc123xyz");
    EXPECT_EQ(at, npos) << "the key is in the log:\n" << (at == npos ? "" : log.substr(log.rfind('\n', at) + 1, 400));
  }
  {
    temp_dir d;
    auto path = d.path / "leaky.yaml";
    write_file(path, R"(
listen: "127.0.0.1:0"
store: { kind: memory }
ids: { secret: "integration-secret-0123456789-hardening" }
upstreams:
  - name: vendor
    dialect: openai
    base_url: "https://api.example.com/v1?token=QSECRET42"
    keys: ["good-1"]
)");
    // stdout joins stderr, so both end up in the captured text.
    process p({"/bin/sh", "-c", "exec \"$0\" \"$@\" 1>&2", VIDEOGATE_BIN, "--check-config", path.string()});
    EXPECT_EQ(p.wait(10s), 2) << "a base_url carrying a query (credentials) is refused";
    auto out = p.stderr_text();
    EXPECT_EQ(out.find("QSECRET42"), npos) << out;
  }
}

// DESIGN §4: key states live in the store; a restart does not send traffic to a disabled key.
TEST(hardening, disabled_key_stays_disabled_across_a_restart) {
  stack s;
  s.start_mock();
  auto cfg = openai_config(R"(["bad-1", "good-2"])");
  s.start_gateway(cfg);
  ASSERT_EQ(create(s).status, 200);
  ASSERT_EQ(key_state(s, "bad-1"), "disabled");
  s.gateway->signal(SIGTERM);
  ASSERT_EQ(s.gateway->wait(), 0);
  s.start_gateway(cfg);
  EXPECT_EQ(key_state(s, "bad-1"), "disabled") << "the restart forgot that bad-1 was refused";
  EXPECT_EQ(create(s).status, 200);
  auto creates = vendor_creates(s);
  EXPECT_EQ(std::count(creates.begin(), creates.end(), "bad-1"), 1) << "bad-1 got traffic again after the restart";
}

// DESIGN §4 "no job is polled forever", and every unfinished job is polled: the watcher read
// only the 2,000 oldest unfinished jobs, so with 2,000 long-running jobs ahead of it a newer job
// was never polled and its key's cap never freed.
TEST(hardening, watcher_reaches_jobs_behind_two_thousand_unfinished_ones) {
  stack s;
  stop_quickly guard{s};
  const std::string secret = "integration-secret-0123456789-hardening";
  {
    // 2,010 unfinished jobs already in the store, older than anything the test creates; the
    // vendor does not know them (it answers "not found", and lost_after keeps them unfinished).
    auto store = videogate::jobs::open_sqlite_store((s.dir.path / "videogate.db").string());
    videogate::jobs::id_codec ids(secret);
    std::vector<videogate::jobs::job_record> jobs;
    for (int i = 0; i < 2010; ++i) {
      videogate::jobs::job_record j;
      j.upstream = "vendor-stuck";
      j.key_fp = videogate::jobs::key_fingerprint("forget-1");
      j.upstream_id = "video_seeded_" + std::to_string(i);
      j.id = *ids.seal({j.upstream, j.key_fp, j.upstream_id, ""});
      j.model = "sora-2";
      j.prompt = "a long one";
      j.size = "720x1280";
      j.seconds = "4";
      j.status = "in_progress";
      j.created_at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      jobs.push_back(std::move(j));
    }
    store->put_many(jobs);
  }
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(stuck_and_ok_config("forget-1", "    lost_after: 1h\n"));
  expect_ok_job_completes(s, 15s);
}
