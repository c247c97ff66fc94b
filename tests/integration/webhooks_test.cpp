// Signed completion webhooks (DESIGN §9, issue 14): the real gateway and the simulated vendor,
// with loopback receivers (support's http_receiver) that answer from a script and record every
// request. Signatures are checked here with OpenSSL, from the Standard Webhooks rule alone
// (HMAC-SHA256 over `id.timestamp.body`, the key the base64 after `whsec_`), never with the
// gateway's code. Schedules are short (100 ms) so retries come within the test; every wait is
// bounded, and no test sleeps a fixed time: that nothing more comes (no retry after a 200, no
// duplicate) is shown from the gateway's own state, once its outbox is at rest (settled below).
#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace vgtest;
using namespace std::chrono_literals;
namespace json = boost::json;
using clk = std::chrono::steady_clock;

namespace {

constexpr auto npos = std::string::npos;
const std::string client_key = "client-key-1";
const char* admin = "Bearer admin-secret-key";
/// The raw signing key of most tests (its whsec_ form is whsec(hook_key)).
const std::string hook_key = "videogate-webhook-test-key-0123456789";

// ---- Standard Webhooks, computed here ---------------------------------------------------------

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string hmac_sha256(const std::string& key, const std::string& message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

/// A webhook secret as the config takes it: `whsec_` + base64 of the raw key.
std::string whsec(const std::string& raw) { return "whsec_" + base64(raw); }

/// The space-separated entries of a webhook-signature header, in order.
std::vector<std::string> signature_entries(const std::string& header) {
  std::vector<std::string> out;
  std::istringstream in(header);
  for (std::string e; in >> e;) out.push_back(e);
  return out;
}

/// Whether entry `index` of `r`'s webhook-signature is `v1,` + base64 HMAC-SHA256(raw_key,
/// webhook-id + "." + webhook-timestamp + "." + body).
::testing::AssertionResult signed_with(const received_request& r, const std::string& raw_key, std::size_t index = 0) {
  auto entries = signature_entries(r.header("webhook-signature"));
  if (index >= entries.size())
    return ::testing::AssertionFailure() << "webhook-signature '" << r.header("webhook-signature") << "' has no entry "
                                         << index;
  auto expected = "v1," + base64(hmac_sha256(raw_key, r.header("webhook-id") + "." + r.header("webhook-timestamp") + "." + r.body));
  if (entries[index] != expected)
    return ::testing::AssertionFailure() << "signature entry " << index << " is '" << entries[index] << "', expected '"
                                         << expected << "' (webhook-id '" << r.header("webhook-id") << "', timestamp '"
                                         << r.header("webhook-timestamp") << "')";
  return ::testing::AssertionSuccess();
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

long long ms_between(clk::time_point a, clk::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

/// The string field `name` of `o` ("" when it is absent or not a string).
std::string str(const json::object& o, const char* name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

/// The `data.id` of a delivery's body ("" when the body is not an event).
std::string video_of(const received_request& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return "";
  auto* data = v.as_object().if_contains("data");
  if (!data || !data->is_object()) return "";
  auto* id = data->as_object().if_contains("id");
  return id && id->is_string() ? std::string(id->as_string()) : "";
}

/// One delivery of the event of `video_id`: OpenAI's envelope, its id the webhook-id, the
/// Standard Webhooks headers, signed with `raw_key`.
void expect_event(const received_request& r, const std::string& video_id, const std::string& type,
                  const std::string& raw_key = hook_key) {
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/hook");
  EXPECT_TRUE(lower(r.header("content-type")).starts_with("application/json")) << r.header("content-type");
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  ASSERT_FALSE(ec) << "not JSON: " << r.body;
  ASSERT_TRUE(v.is_object()) << r.body;
  auto& o = v.as_object();
  for (auto* f : {"id", "object", "created_at", "type", "data"}) ASSERT_TRUE(o.contains(f)) << "no \"" << f << "\": " << r.body;
  ASSERT_TRUE(o.at("id").is_string()) << r.body;
  std::string id(o.at("id").as_string());
  EXPECT_TRUE(id.starts_with("evt_")) << r.body;
  EXPECT_EQ(r.header("webhook-id"), id) << "webhook-id is the event id";
  EXPECT_EQ(str(o, "object"), "event") << r.body;
  EXPECT_EQ(str(o, "type"), type) << r.body;
  ASSERT_TRUE(o.at("created_at").is_int64() || o.at("created_at").is_uint64()) << "created_at in unix seconds: " << r.body;
  EXPECT_LE(std::llabs(o.at("created_at").to_number<long long>() - unix_now()), 600) << "created_at is not now: " << r.body;
  ASSERT_TRUE(o.at("data").is_object()) << r.body;
  EXPECT_EQ(video_of(r), video_id) << r.body;
  auto ts = r.header("webhook-timestamp");
  ASSERT_FALSE(ts.empty());
  ASSERT_TRUE(std::all_of(ts.begin(), ts.end(), [](unsigned char c) { return std::isdigit(c); })) << "webhook-timestamp " << ts;
  EXPECT_LE(std::llabs(std::stoll(ts) - unix_now()), 60) << "webhook-timestamp is not this attempt's time: " << ts;
  EXPECT_TRUE(signed_with(r, raw_key));
}

// ---- The gateway --------------------------------------------------------------------------

/// The webhook of client `app` and the `webhooks:` section.
struct hook_options {
  std::string url;
  std::string secret = whsec(hook_key);
  std::string previous_secret;  ///< "" leaves the key out
  std::string schedule = "[100ms, 100ms, 100ms]";
  std::string timeout = "5s";
  std::string retry_for = "1h";
  bool allow_private = true;
};

/// Top-level config: one client, `app` (client_key, every model), whose webhook `o` describes,
/// and the `webhooks:` section.
std::string hook_yaml(const hook_options& o) {
  std::string extra = R"(clients:
  - name: app
    key: ")" + client_key + R"("
    models: ["*"]
    webhook:
      url: ")" + o.url + R"("
      secret: ")" + o.secret + "\"\n";
  if (!o.previous_secret.empty()) extra += "      previous_secret: \"" + o.previous_secret + "\"\n";
  extra += "webhooks:\n  timeout: " + o.timeout + "\n  retry_for: " + o.retry_for + "\n  schedule: " + o.schedule +
           "\n  allow_private: " + (o.allow_private ? "true" : "false") + "\n";
  return extra;
}

/// openai_config (upstream key(s) `keys`, `upstream_extra` under the upstream) with hook_yaml(o).
std::string hook_config(const hook_options& o, const std::string& keys = R"(["good-1"])",
                        const std::string& upstream_extra = "") {
  return openai_config(keys, hook_yaml(o), upstream_extra);
}

videogate::http::header_list as_client() { return {{"Authorization", "Bearer " + client_key}}; }

/// Creates a job as client `app`; its id ("" after a failure, which is reported).
std::string create_job(const stack& s, const std::string& prompt = "a lighthouse at dusk") {
  auto headers = as_client();
  headers.emplace_back("Content-Type", "application/json");
  auto r = request("POST", s.gw("/v1/videos"), headers, R"({"prompt":")" + prompt + R"(","seconds":"4"})", 15s);
  EXPECT_EQ(r.status, 200) << r.body;
  return id_of(r);
}

std::string job_status(const stack& s, const std::string& id) {
  auto r = request("GET", s.gw("/v1/videos/" + id), as_client(), {}, 15s);
  return r.status == 200 ? field(r.body, "status") : "<HTTP " + std::to_string(r.status) + ">";
}

/// Retrieves the job as its client (each retrieve is a vendor poll) until it is terminal; the
/// last status seen. `seen_at`, when given, gets the moment the retrieve that saw it terminal
/// was sent.
std::string poll_until_terminal(const stack& s, const std::string& id, std::chrono::milliseconds within = 15s,
                                clk::time_point* seen_at = nullptr) {
  std::string st;
  eventually(
      [&] {
        auto sent = clk::now();
        st = job_status(s, id);
        if (seen_at) *seen_at = sent;
        return st == "completed" || st == "failed";
      },
      within);
  return st;
}

/// Starts the simulated vendor (a job finishes at its first poll) and a gateway on `cfg`, then
/// has client `app` make one job and retrieve it until it ends `expected`. The job's id; ""
/// (with the failure reported) when it was not made or ended otherwise.
std::string start_and_finish_a_job(stack& s, const std::string& cfg, const std::string& expected = "completed") {
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(cfg);
  auto id = create_job(s);
  if (id.empty()) return "";
  auto st = poll_until_terminal(s, id);
  EXPECT_EQ(st, expected) << id;
  return st == expected ? id : "";
}

/// GET /admin/webhooks (with `?status=` when `status` is set): the raw answer.
videogate::http::client_response admin_events(const stack& s, const std::string& status = "") {
  return request("GET", s.gw("/admin/webhooks" + (status.empty() ? "" : "?status=" + status)), {{"Authorization", admin}},
                 {}, 5s);
}

/// The events GET /admin/webhooks lists, each checked for the fields of DESIGN §9.
std::vector<json::object> hook_events(const stack& s, const std::string& status = "") {
  auto r = admin_events(s, status);
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return {};
  auto doc = json::parse(r.body);
  EXPECT_EQ(str(doc.as_object(), "object"), "list") << r.body;
  std::vector<json::object> out;
  for (auto& e : doc.at("data").as_array()) {
    auto& o = e.as_object();
    for (auto* f : {"id", "type", "video_id", "client", "status", "attempts", "last_error", "next_attempt_at"})
      EXPECT_TRUE(o.contains(f)) << "event without \"" << f << "\": " << json::serialize(o);
    EXPECT_TRUE(o.at("next_attempt_at").is_null() || o.at("next_attempt_at").is_number()) << json::serialize(o);
    EXPECT_TRUE(o.at("last_error").is_null() || o.at("last_error").is_string()) << json::serialize(o);
    out.push_back(o);
  }
  return out;
}

/// The listed event of `video_id` and `type`, if any.
std::optional<json::object> hook_event(const stack& s, const std::string& video_id,
                                       const std::string& type = "video.completed") {
  for (auto& e : hook_events(s))
    if (str(e, "video_id") == video_id && str(e, "type") == type) return e;
  return std::nullopt;
}

long long attempts(const json::object& o) { return o.at("attempts").to_number<long long>(); }

/// Waits (10 s at most) until the listed event of `video_id` and `type` satisfies `pred`; that
/// event, or nullopt when it did not come to be.
template <class F>
std::optional<json::object> event_when(const stack& s, const std::string& video_id, F pred,
                                       const std::string& type = "video.completed") {
  std::optional<json::object> ev;
  bool held = eventually(
      [&] {
        ev = hook_event(s, video_id, type);
        return ev && pred(*ev);
      },
      10s);
  return held ? ev : std::nullopt;
}

auto status_is(std::string status) {
  return [status = std::move(status)](const json::object& e) { return str(e, "status") == status; };
}

/// /metrics' delivery counter for `result`, 0 when the series is not there yet.
double deliveries(const stack& s, const std::string& result) {
  return std::max(0.0, metric_value(s, "videogate_webhook_deliveries_total{result=\"" + result + "\"}"));
}

/// An event a test expects to end in `status`, "delivered" or "failed".
struct final_event {
  std::string video_id;
  std::string type = "video.completed";
  std::string status = "delivered";
};

/// Waits (15 s at most) until the outbox is at rest: each event of `want` listed in its final
/// status, no listed event pending, and /metrics' videogate_webhook_backlog 0. A delivered or
/// failed event is never attempted again (DESIGN §9: after_attempt, the sender takes pending
/// events only), and an attempt's outcome is saved after its request reached the receiver; so
/// from then on what each receiver got is all it will ever get. Every listed event (the admin
/// list's first 100), or nullopt, reported as a failure, when the outbox did not come to rest
/// or an event of `want` ended in another final status.
std::optional<std::vector<json::object>> settled(const stack& s, const std::vector<final_event>& want) {
  std::vector<json::object> events;
  std::string why;
  bool wrong_end = false;
  bool ok = eventually(
      [&] {
        events = hook_events(s);
        for (auto& w : want) {
          auto it = std::find_if(events.begin(), events.end(), [&](const json::object& e) {
            return str(e, "video_id") == w.video_id && str(e, "type") == w.type;
          });
          if (it == events.end()) {
            why = "no " + w.type + " event listed for " + w.video_id;
            return false;
          }
          auto st = str(*it, "status");
          if (st != w.status) {
            why = "expected " + w.status + ": " + json::serialize(*it);
            wrong_end = st == "delivered" || st == "failed";  // final: it will not change
            if (wrong_end) return true;
            return false;
          }
        }
        for (auto& e : events)
          if (str(e, "status") == "pending") {
            why = "still pending: " + json::serialize(e);
            return false;
          }
        auto backlog = metric_value(s, "videogate_webhook_backlog");
        if (backlog != 0) {
          why = "videogate_webhook_backlog " + std::to_string(backlog);
          return false;
        }
        return true;
      },
      15s);
  if (!ok || wrong_end) {
    ADD_FAILURE() << (wrong_end ? "an event ended otherwise: " : "the webhook outbox did not come to rest in 15 s: ")
                  << why << "\n" << admin_events(s).body;
    return std::nullopt;
  }
  return events;
}

/// For an outbox at rest (settled) whose every attempt reached `hook` (no address refused, no
/// closed port): per listed event, `hook`'s requests with its webhook-id equal its attempts,
/// and `hook` got no request with an id the outbox does not list. No attempt beyond those the
/// outbox counts happened, and (the events being final) none will.
::testing::AssertionResult each_attempt_received(const http_receiver& hook, const std::vector<json::object>& events) {
  std::map<std::string, long long> per_id;
  for (auto& r : hook.requests()) ++per_id[r.header("webhook-id")];
  std::ostringstream bad;
  for (auto& e : events) {
    auto id = str(e, "id");
    auto it = per_id.find(id);
    long long n = it == per_id.end() ? 0 : it->second;
    if (n != attempts(e))
      bad << "\n  " << id << " (" << str(e, "type") << " for " << str(e, "video_id") << "): " << n
          << " request(s) received, " << attempts(e) << " attempt(s) in the outbox";
    if (it != per_id.end()) per_id.erase(it);
  }
  for (auto& [id, n] : per_id) bad << "\n  " << n << " request(s) with webhook-id '" << id << "', not a listed event";
  if (bad.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the receiver's requests differ from the outbox's attempts:" << bad.str();
}

long long percentile(std::vector<long long> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

// DESIGN §9: only 2xx counts; 5xx is retried per schedule with the same webhook-id and body,
// each attempt signed afresh; the admin list and /metrics then say what happened.
TEST(webhooks, two_500s_then_200_is_three_attempts_with_one_id) {
  const std::vector<int> answers{500, 500, 200};
  http_receiver hook({{answers[0]}, {answers[1]}}, {answers[2]});
  stack s;
  auto id = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook")}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(hook.wait_for(3, 15s)) << hook.count() << " attempt(s) in 15 s; " << admin_events(s).body;
  // Delivered and the outbox at rest: no attempt can follow the 200, and the receiver got
  // exactly the attempts the outbox counts.
  auto rest = settled(s, {{id}});
  ASSERT_TRUE(rest);
  EXPECT_TRUE(each_attempt_received(hook, *rest));
  auto got = hook.requests();
  ASSERT_EQ(got.size(), 3u) << "no attempt after the 200";
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i + 1));
    expect_event(got[i], id, "video.completed");
    EXPECT_EQ(got[i].header("webhook-id"), got[0].header("webhook-id")) << "one webhook-id on every attempt";
    EXPECT_EQ(got[i].body, got[0].body) << "the same bytes on every attempt";
    if (i > 0) {
      EXPECT_GE(std::stoll(got[i].header("webhook-timestamp")), std::stoll(got[i - 1].header("webhook-timestamp")));
      EXPECT_GE(ms_between(got[i - 1].at, got[i].at), 80) << "retried before the schedule's 100 ms (-20 %)";
    }
  }

  auto ev = hook_event(s, id);
  ASSERT_TRUE(ev) << admin_events(s).body;
  EXPECT_EQ(str(*ev, "id"), got[0].header("webhook-id"));
  EXPECT_EQ(str(*ev, "client"), "app");
  EXPECT_EQ(str(*ev, "status"), "delivered");
  EXPECT_EQ(attempts(*ev), 3);
  EXPECT_TRUE(ev->at("next_attempt_at").is_null()) << json::serialize(*ev);
  EXPECT_EQ(deliveries(s, "delivered"), 1);
  EXPECT_EQ(deliveries(s, "retry"), 2);
  EXPECT_EQ(deliveries(s, "failed"), 0);
  EXPECT_EQ(metric_value(s, "videogate_webhook_backlog"), 0) << "no pending event";

  std::printf("webhook delivery log (receiver answers 500, 500, 200; webhooks.schedule [100ms, 100ms, 100ms] +-20%%):\n");
  for (std::size_t i = 0; i < got.size(); ++i)
    std::printf("  attempt %zu  +%lld ms  HTTP %d  webhook-id %s  webhook-timestamp %s  webhook-signature %s  signature %s\n",
                i + 1, ms_between(got[0].at, got[i].at), answers[i], got[i].header("webhook-id").c_str(),
                got[i].header("webhook-timestamp").c_str(), got[i].header("webhook-signature").c_str(),
                signed_with(got[i], hook_key) ? "verified" : "WRONG");
  std::printf("  body (every attempt): %s\n  admin: %s\n", got[0].body.c_str(), json::serialize(*ev).c_str());
  std::printf("  /metrics: videogate_webhook_deliveries_total delivered=%g retry=%g failed=%g; videogate_webhook_backlog=%g\n",
              deliveries(s, "delivered"), deliveries(s, "retry"), deliveries(s, "failed"),
              metric_value(s, "videogate_webhook_backlog"));
}

// DESIGN §9: the outbox is in the store. The receiver is down when the job completes; the
// gateway is stopped and started again on the same SQLite file; once the receiver is up, the
// event arrives, with the id it had before the restart.
TEST(webhooks, delivered_after_a_restart_once_the_receiver_is_up) {
  int port = 0;
  {
    http_receiver probe;  // a loopback port that nothing listens on once it is gone
    port = probe.port();
  }
  stack s;
  auto cfg = hook_config({.url = "http://127.0.0.1:" + std::to_string(port) + "/hook", .schedule = "[200ms, 500ms]"});
  auto id = start_and_finish_a_job(s, cfg);
  ASSERT_FALSE(id.empty());
  auto before = event_when(s, id, [](auto& e) { return attempts(e) >= 2; });
  ASSERT_TRUE(before) << "no two failed attempts against a closed port in 10 s: " << admin_events(s).body;
  EXPECT_EQ(str(*before, "status"), "pending") << json::serialize(*before);
  EXPECT_FALSE(str(*before, "last_error").empty()) << json::serialize(*before);
  EXPECT_TRUE(before->at("next_attempt_at").is_number()) << json::serialize(*before);

  s.gateway->signal(SIGTERM);
  ASSERT_EQ(s.gateway->wait(), 0);
  s.start_gateway(cfg);
  http_receiver hook({}, {}, port);
  ASSERT_TRUE(hook.wait_for(1, 15s)) << "not delivered within 15 s of the restart: " << admin_events(s).body;
  // Delivered and the outbox at rest: no second delivery can come. The attempts against the
  // closed port (before and after the restart) never reached a receiver, so the count is
  // checked against the one attempt that did, not against `attempts`.
  ASSERT_TRUE(settled(s, {{id}}));
  auto got = hook.requests();
  ASSERT_EQ(got.size(), 1u);
  expect_event(got[0], id, "video.completed");
  EXPECT_EQ(got[0].header("webhook-id"), str(*before, "id")) << "the event kept its id across the restart";
  auto after = event_when(s, id, status_is("delivered"));
  EXPECT_TRUE(after) << admin_events(s).body;
  if (after) {
    EXPECT_GT(attempts(*after), attempts(*before)) << "the attempts before the restart still count";
  }
  EXPECT_EQ(hook_events(s).size(), 1u) << "one event per job and type, restart or not";
}

// DESIGN §9: 410 stops retries (the event is failed); redeliver queues it again, same id and bytes.
TEST(webhooks, gone_410_stops_retries_and_redeliver_queues_it_again) {
  http_receiver hook({{410}}, {200});
  stack s;
  auto id = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook")}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(hook.wait_for(1, 15s)) << admin_events(s).body;
  // Failed and the outbox at rest: a 410 is never retried, and the receiver got what the
  // outbox counts.
  auto rest = settled(s, {{id, "video.completed", "failed"}});
  ASSERT_TRUE(rest);
  EXPECT_TRUE(each_attempt_received(hook, *rest));
  EXPECT_EQ(hook.count(), 1u) << "a 410 was retried";
  auto ev = hook_event(s, id);
  ASSERT_TRUE(ev) << admin_events(s).body;
  EXPECT_EQ(str(*ev, "status"), "failed") << json::serialize(*ev);
  EXPECT_EQ(attempts(*ev), 1);
  EXPECT_NE(str(*ev, "last_error").find("410"), npos) << json::serialize(*ev);
  EXPECT_TRUE(ev->at("next_attempt_at").is_null()) << json::serialize(*ev);
  EXPECT_EQ(hook_events(s, "failed").size(), 1u);
  EXPECT_EQ(hook_events(s, "pending").size(), 0u);
  EXPECT_EQ(hook_events(s, "delivered").size(), 0u);
  EXPECT_EQ(deliveries(s, "failed"), 1);
  EXPECT_EQ(deliveries(s, "delivered"), 0);
  EXPECT_EQ(metric_value(s, "videogate_webhook_backlog"), 0);

  auto event_id = str(*ev, "id");
  auto r = request("POST", s.gw("/admin/webhooks/" + event_id + "/redeliver"), {{"Authorization", admin}}, {}, 5s);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(r.body, "id"), event_id) << r.body;
  EXPECT_EQ(field(r.body, "video_id"), id) << r.body;
  EXPECT_EQ(field(r.body, "type"), "video.completed") << r.body;
  EXPECT_NE(field(r.body, "status"), "failed") << "queued again: " << r.body;
  ASSERT_TRUE(hook.wait_for(2, 10s)) << "redeliver sent nothing: " << admin_events(s).body;
  auto got = hook.requests();
  expect_event(got[1], id, "video.completed");
  EXPECT_EQ(got[1].header("webhook-id"), got[0].header("webhook-id"));
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_TRUE(event_when(s, id, status_is("delivered"))) << admin_events(s).body;
  EXPECT_EQ(hook.count(), 2u);

  auto unknown = request("POST", s.gw("/admin/webhooks/evt_0000000000000000unknown/redeliver"), {{"Authorization", admin}},
                         {}, 5s);
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_EQ(request("GET", s.gw("/admin/webhooks"), {}, {}, 5s).status, 404) << "the admin list needs the admin key";
  EXPECT_EQ(request("GET", s.gw("/admin/webhooks"), as_client(), {}, 5s).status, 404) << "a client key is not the admin key";
  EXPECT_EQ(request("POST", s.gw("/admin/webhooks/" + event_id + "/redeliver"), as_client(), {}, 5s).status, 404);
}

// DESIGN §8/§9: redirects are not followed: a 3xx is a failed attempt, retried, and the
// address it names never gets a request.
TEST(webhooks, redirect_is_not_followed) {
  http_receiver elsewhere;
  const videogate::http::header_list to_elsewhere{{"Location", elsewhere.url("/hook")}};
  http_receiver hook({{301, to_elsewhere}, {307, to_elsewhere}, {308, to_elsewhere}}, {302, to_elsewhere});
  stack s;
  auto id = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook")}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(hook.wait_for(5, 15s)) << "a 3xx is retried: " << hook.count() << " attempt(s); " << admin_events(s).body;
  // Five attempts ended, as the outbox counts them: a followed redirect is part of its attempt,
  // so `elsewhere` would have accepted its connection before the attempt's outcome was saved.
  auto ev = event_when(s, id, [](auto& e) { return attempts(e) >= 5; });
  ASSERT_TRUE(ev) << "five 3xx answers, but not five attempts ended: " << admin_events(s).body;
  EXPECT_EQ(elsewhere.connections(), 0) << "the gateway followed a redirect";
  EXPECT_EQ(elsewhere.count(), 0u);
  auto got = hook.requests();
  EXPECT_GE(static_cast<long long>(got.size()), attempts(*ev)) << "every attempt that ended reached the receiver";
  for (auto& r : got) EXPECT_EQ(r.header("webhook-id"), got[0].header("webhook-id"));
  EXPECT_EQ(str(*ev, "status"), "pending") << json::serialize(*ev);
  EXPECT_GE(attempts(*ev), 5);
  EXPECT_NE(str(*ev, "last_error").find("302"), npos) << json::serialize(*ev);
}

// DESIGN §8/§9: a webhook URL that resolves to loopback is refused (no connection, a failed
// attempt saying so, retried) unless webhooks.allow_private is true.
TEST(webhooks, private_address_is_refused_unless_allowed) {
  for (std::string host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE("allow_private: false, host " + host);
    http_receiver hook;
    stack s;
    auto id = start_and_finish_a_job(s, hook_config({.url = "http://" + host + ":" + std::to_string(hook.port()) + "/hook",
                                                     .schedule = "[100ms]",
                                                     .allow_private = false}));
    ASSERT_FALSE(id.empty());
    auto ev = event_when(s, id, [](auto& e) { return attempts(e) >= 3; });
    ASSERT_TRUE(ev) << "a refused address is a failed attempt, retried: " << admin_events(s).body;
    EXPECT_EQ(hook.connections(), 0) << "the gateway connected to a loopback address";
    EXPECT_EQ(hook.count(), 0u);
    EXPECT_EQ(str(*ev, "status"), "pending") << json::serialize(*ev);
    EXPECT_NE(lower(str(*ev, "last_error")).find("refused"), npos) << "last_error says why: " << json::serialize(*ev);
  }
  {
    SCOPED_TRACE("allow_private: true");
    http_receiver hook;
    stack s;
    auto id = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook"), .allow_private = true}));
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(hook.wait_for(1, 15s)) << admin_events(s).body;
    expect_event(hook.requests()[0], id, "video.completed");
    EXPECT_TRUE(event_when(s, id, status_is("delivered"))) << admin_events(s).body;
  }
}

// DESIGN §9: a failed job gives one video.failed event, however often it is polled afterwards.
TEST(webhooks, failed_job_gives_one_video_failed_event) {
  http_receiver hook;
  stack s;
  auto id = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook")}, R"(["fail-1"])"), "failed");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(hook.wait_for(1, 15s)) << admin_events(s).body;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(job_status(s, id), "failed");
  // A job's terminal state and its event are one store write, and the watcher reads only
  // unfinished jobs: what the polls above could write is in the outbox now. Once it is at
  // rest, the receiver got every event there will be, each as often as the outbox counts.
  auto rest = settled(s, {{id, "video.failed"}});
  ASSERT_TRUE(rest);
  EXPECT_TRUE(each_attempt_received(hook, *rest));
  auto got = hook.requests();
  ASSERT_EQ(got.size(), 1u) << "one event per job and type, ever";
  expect_event(got[0], id, "video.failed");
  auto ev = hook_event(s, id, "video.failed");
  ASSERT_TRUE(ev) << admin_events(s).body;
  EXPECT_EQ(str(*ev, "status"), "delivered");
  EXPECT_EQ(attempts(*ev), 1);
  EXPECT_EQ(hook_events(s).size(), 1u) << "no video.completed for a failed job: " << admin_events(s).body;
}

// DESIGN §9: the event is written whoever sees the terminal state first; here nobody polls:
// the job watcher sees a completion at the vendor, and the expiry of a job past job_ttl.
TEST(webhooks, watcher_and_ttl_expiry_write_events_without_client_polls) {
  http_receiver hook;
  stack s;
  s.start_mock({"--complete-after-polls", "100000"});
  s.start_gateway(hook_config({.url = hook.url("/hook")}, R"(["good-1"])", "    job_ttl: 3s\n"));
  auto done = create_job(s, "finished at the vendor");
  auto expires = create_job(s, "never finishes");
  ASSERT_FALSE(done.empty());
  ASSERT_FALSE(expires.empty());
  ASSERT_EQ(request("POST", s.vendor("/_mock/jobs/" + upstream_id_of(done) + "/complete")).status, 200);
  ASSERT_TRUE(hook.wait_for(2, 20s)) << hook.count() << " event(s); " << admin_events(s).body;
  // Both events delivered and the outbox at rest: nothing more will come.
  auto rest = settled(s, {{done, "video.completed"}, {expires, "video.failed"}});
  ASSERT_TRUE(rest);
  EXPECT_TRUE(each_attempt_received(hook, *rest));
  auto got = hook.requests();
  ASSERT_EQ(got.size(), 2u);
  std::map<std::string, const received_request*> by_video;
  for (auto& r : got) by_video[video_of(r)] = &r;
  ASSERT_TRUE(by_video.count(done)) << got[0].body << "\n" << got[1].body;
  ASSERT_TRUE(by_video.count(expires)) << got[0].body << "\n" << got[1].body;
  expect_event(*by_video[done], done, "video.completed");
  expect_event(*by_video[expires], expires, "video.failed");
}

// The closing-note run: N jobs complete at once; N events are delivered, no id twice, and the
// lag from the vendor's completion to the receiver is printed (p50/p99). Each job is finished
// at the vendor and then retrieved by its client at once (or its watcher sees it first); the
// lag is also split at the retrieve that saw the job completed: the gateway's part is after.
TEST(webhooks, fifty_jobs_give_fifty_events_and_no_duplicate) {
  constexpr int n = 50;
  http_receiver hook;
  stack s;
  s.start_mock({"--complete-after-polls", "100000"});
  s.start_gateway(hook_config({.url = hook.url("/hook")}));
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(create_job(s, "job " + std::to_string(i)));
  for (auto& id : ids) ASSERT_FALSE(id.empty());

  std::vector<clk::time_point> triggered(n), seen(n);
  std::vector<std::string> statuses(n);
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      try {
        triggered[i] = clk::now();
        request("POST", s.vendor("/_mock/jobs/" + upstream_id_of(ids[i]) + "/complete"), {}, {}, 10s);
        statuses[i] = poll_until_terminal(s, ids[i], 15s, &seen[i]);
      } catch (const std::exception& e) {
        statuses[i] = e.what();
      }
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < n; ++i) EXPECT_EQ(statuses[i], "completed") << ids[i];
  ASSERT_TRUE(hook.wait_for(n, 30s)) << hook.count() << " of " << n << " events in 30 s";
  // Every event delivered and the outbox at rest: no duplicate can come, and the receiver got
  // each event as often as the outbox counts its attempts.
  std::vector<final_event> want;
  for (auto& id : ids) want.push_back({id});
  auto rest = settled(s, want);
  ASSERT_TRUE(rest);
  EXPECT_TRUE(each_attempt_received(hook, *rest));

  auto got = hook.requests();
  std::map<std::string, int> per_video, per_event;
  std::map<std::string, clk::time_point> arrived;
  for (auto& r : got) {
    auto v = video_of(r);
    ++per_video[v];
    ++per_event[r.header("webhook-id")];
    if (!arrived.count(v)) arrived[v] = r.at;
    EXPECT_TRUE(signed_with(r, hook_key));
  }
  int duplicated = 0;
  for (auto& [event, k] : per_event) duplicated += k > 1;
  std::vector<long long> lags, to_seen, from_seen;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(per_video[ids[i]], 1) << ids[i];
    if (!arrived.count(ids[i])) continue;
    lags.push_back(ms_between(triggered[i], arrived[ids[i]]));
    to_seen.push_back(ms_between(triggered[i], seen[i]));
    from_seen.push_back(ms_between(seen[i], arrived[ids[i]]));
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(per_event.size(), static_cast<std::size_t>(n)) << "one event id per job";
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(hook_events(s, "delivered").size(), static_cast<std::size_t>(n));
  EXPECT_EQ(deliveries(s, "delivered"), n);
  EXPECT_EQ(metric_value(s, "videogate_webhook_backlog"), 0);
  std::printf("webhooks: %d jobs completed at once; %zu deliveries, %zu distinct event ids, %d duplicated\n"
              "  lag from the vendor's completion to the receiver: p50 %lld ms, p99 %lld ms, max %lld ms\n"
              "  of which to the client retrieve that saw it completed: p50 %lld ms, p99 %lld ms; "
              "from that retrieve to the receiver: p50 %lld ms, p99 %lld ms\n",
              n, got.size(), per_event.size(), duplicated, percentile(lags, 0.50), percentile(lags, 0.99),
              percentile(lags, 1.0), percentile(to_seen, 0.50), percentile(to_seen, 0.99),
              percentile(from_seen, 0.50), percentile(from_seen, 0.99));
}

// DESIGN §8: webhook secrets (as whsec_ text, as the base64 after it, as the raw key), client
// keys, the admin key, ids.secret and upstream keys never reach a log line, at debug level,
// through a delivery that fails once and a secret rotation; nor the admin list or /metrics.
// Nor does the webhook URL's query (README: the log names the receiver's host only).
TEST(webhooks, no_secret_in_logs) {
  const std::string raw = "whk-RAWSECRET-7f3a9c21e4";
  const std::string old_raw = "whk-OLDSECRET-2b8e6d40aa";
  const std::string upstream_key = "upkey-UPSECRET-5d1c";
  const std::string url_token = "QTOKEN-hook-77aa10";  // receivers often authenticate by a URL query
  http_receiver hook({{500}}, {200});
  stack s;
  auto cfg = hook_config(
      {.url = hook.url("/hook?token=" + url_token), .secret = whsec(raw), .previous_secret = whsec(old_raw)},
      "[\"" + upstream_key + "\"]");
  replace_once(cfg, "log: { level: info }", "log: { level: debug }");
  auto id = start_and_finish_a_job(s, cfg);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(hook.wait_for(2, 15s)) << admin_events(s).body;
  auto delivered = hook.requests()[1];
  EXPECT_EQ(delivered.target, "/hook?token=" + url_token);
  EXPECT_EQ(video_of(delivered), id);
  EXPECT_TRUE(signed_with(delivered, raw, 0));
  EXPECT_TRUE(signed_with(delivered, old_raw, 1));
  EXPECT_EQ(request("GET", s.gw("/admin/webhooks"), {{"Authorization", "Bearer wrong-admin-key"}}, {}, 5s).status, 404);
  auto listed = admin_events(s).body;
  auto metrics = request("GET", s.gw("/metrics"), {}, {}, 5s).body;
  s.gateway->signal(SIGTERM);
  EXPECT_EQ(s.gateway->wait(), 0);
  auto log = s.gateway->stderr_text() + s.gateway->stdout_text();
  ASSERT_NE(log.find("listening on"), npos) << "the captured output is the gateway's";

  struct secret {
    const char* what;
    std::string text;
  };
  for (auto& [what, text] : std::vector<secret>{{"webhook secret (whsec_)", whsec(raw)},
                                                {"webhook secret (base64)", base64(raw)},
                                                {"webhook key (decoded)", raw},
                                                {"previous webhook secret (whsec_)", whsec(old_raw)},
                                                {"previous webhook secret (base64)", base64(old_raw)},
                                                {"previous webhook key (decoded)", old_raw},
                                                {"client key", client_key},
                                                {"admin key", "admin-secret-key"},
                                                {"ids.secret", integration_ids_secret},
                                                {"upstream key", upstream_key},
                                                {"webhook URL query", url_token}}) {
    auto at = log.find(text);
    EXPECT_EQ(at, npos) << what << " in the log:\n"
                        << (at == npos ? "" : log.substr(log.rfind('\n', at) == npos ? 0 : log.rfind('\n', at) + 1, 400));
    EXPECT_EQ(listed.find(text), npos) << what << " in /admin/webhooks: " << listed;
    EXPECT_EQ(metrics.find(text), npos) << what << " in /metrics";
  }
}

// Standard Webhooks rotation, as the README tells it: the new secret in `secret`, the old one in
// `previous_secret`, a reload; events are then signed with both, the new first. Once
// previous_secret is gone (another reload), with the new one alone.
TEST(webhooks, rotation_signs_with_both_secrets_new_first) {
  const std::string old_key = "videogate-webhook-old-key-9876543210";
  http_receiver hook;
  stack s;
  auto reload_with = [&](const hook_options& o) {
    s.write_config(hook_config(o));
    auto r = request("POST", s.gw("/admin/reload"), {{"Authorization", admin}}, {}, 5s);
    EXPECT_EQ(r.status, 200) << r.body;
  };
  /// The delivery of a new job's event (the n-th request the receiver gets), its signatures checked.
  auto next_event = [&](std::size_t n, const std::string& id) {
    EXPECT_EQ(poll_until_terminal(s, id), "completed");
    EXPECT_TRUE(hook.wait_for(n, 15s)) << admin_events(s).body;
    auto got = hook.requests();
    return got.size() >= n ? got[n - 1] : received_request{};
  };

  auto before = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook"), .secret = whsec(old_key)}));
  ASSERT_FALSE(before.empty());
  auto r = next_event(1, before);
  expect_event(r, before, "video.completed", old_key);
  EXPECT_EQ(signature_entries(r.header("webhook-signature")).size(), 1u) << r.header("webhook-signature");

  reload_with({.url = hook.url("/hook"), .previous_secret = whsec(old_key)});
  auto during = create_job(s, "during the rotation");
  ASSERT_FALSE(during.empty());
  r = next_event(2, during);
  expect_event(r, during, "video.completed");
  EXPECT_EQ(signature_entries(r.header("webhook-signature")).size(), 2u) << r.header("webhook-signature");
  EXPECT_TRUE(signed_with(r, hook_key, 0)) << "the new secret signs first";
  EXPECT_TRUE(signed_with(r, old_key, 1)) << "the previous secret signs second";

  reload_with({.url = hook.url("/hook")});
  auto after = create_job(s, "after the rotation");
  ASSERT_FALSE(after.empty());
  r = next_event(3, after);
  expect_event(r, after, "video.completed");
  EXPECT_EQ(signature_entries(r.header("webhook-signature")).size(), 1u) << r.header("webhook-signature");
}

// DESIGN §9: each attempt is bounded by webhooks.timeout: a receiver that answers after 5 s
// is cut at 1 s, and the next attempt follows by the schedule (its late 200 does not count).
TEST(webhooks, each_attempt_is_bounded_by_the_timeout) {
  http_receiver hook({{200, {}, "", 5s}}, {200});
  stack s;
  auto id = start_and_finish_a_job(s, hook_config({.url = hook.url("/hook"), .schedule = "[100ms]", .timeout = "1s"}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(hook.wait_for(2, 10s)) << "no second attempt within 10 s: " << admin_events(s).body;
  auto got = hook.requests();
  auto gap = ms_between(got[0].at, got[1].at);
  EXPECT_LT(gap, 3000) << "the first attempt was not cut at webhooks.timeout (1 s)";
  EXPECT_EQ(got[1].header("webhook-id"), got[0].header("webhook-id"));
  EXPECT_TRUE(event_when(s, id, status_is("delivered"))) << admin_events(s).body;
  std::printf("webhooks.timeout 1s: a receiver answering after 5 s was retried %lld ms after the first attempt\n", gap);
}

// DESIGN §9: past retry_for from the first attempt the event is failed and no more attempts
// come; 429 and 5xx are retried until then.
TEST(webhooks, retries_stop_after_retry_for) {
  http_receiver hook({{429}, {503}}, {500});
  stack s;
  auto id =
      start_and_finish_a_job(s, hook_config({.url = hook.url("/hook"), .schedule = "[200ms]", .retry_for = "1500ms"}));
  ASSERT_FALSE(id.empty());
  auto ev = event_when(s, id, status_is("failed"));
  ASSERT_TRUE(ev) << "still not failed 10 s after a 1.5 s retry_for: " << admin_events(s).body;
  auto seen = hook.count();
  EXPECT_GE(seen, 3u) << "429 and 503 are retried";
  EXPECT_EQ(attempts(*ev), static_cast<long long>(seen));
  // Failed and the outbox at rest: no attempt can follow.
  auto rest = settled(s, {{id, "video.completed", "failed"}});
  ASSERT_TRUE(rest);
  EXPECT_TRUE(each_attempt_received(hook, *rest));
  EXPECT_EQ(hook.count(), seen) << "an attempt after the event failed";
  auto got = hook.requests();
  // retry_for counts from the first attempt; 1 s of slack for an attempt due just before the
  // end that a loaded machine starts late.
  EXPECT_LE(ms_between(got.front().at, got.back().at), 1500 + 1000) << "an attempt started well past retry_for";
  EXPECT_TRUE(ev->at("next_attempt_at").is_null()) << json::serialize(*ev);
  EXPECT_EQ(deliveries(s, "failed"), 1);
}

// DESIGN §10: on a fleet the outbox is in Redis: two replicas, jobs completed through either,
// each event delivered once, and either replica lists them all.
TEST(webhooks, fleet_delivers_each_event_once) {
  constexpr int n = 10;
  http_receiver hook;
  fleet_stack f(2, R"(["good-a"])", {"--complete-after-polls", "1"}, "0ms", "", hook_yaml({.url = hook.url("/hook")}));
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(create_job(f[i % 2], "fleet job " + std::to_string(i)));
  for (int i = 0; i < n; ++i) {
    ASSERT_FALSE(ids[i].empty());
    EXPECT_EQ(poll_until_terminal(f[(i + 1) % 2], ids[i]), "completed");
  }
  ASSERT_TRUE(hook.wait_for(n, 30s)) << hook.count() << " of " << n << " events";
  // Every event delivered and the outbox (one, in Redis) at rest as each replica sees it, its
  // own backlog gauge included: neither replica will deliver anything more, and the receiver
  // got each event as often as the outbox counts its attempts.
  std::vector<final_event> want;
  for (auto& id : ids) want.push_back({id});
  std::optional<std::vector<json::object>> rest;
  for (std::size_t i = 0; i < f.size(); ++i) {
    SCOPED_TRACE("replica " + std::to_string(i));
    rest = settled(f[i], want);
    ASSERT_TRUE(rest);
  }
  EXPECT_TRUE(each_attempt_received(hook, *rest));
  auto got = hook.requests();
  std::set<std::string> events, videos;
  for (auto& r : got) {
    events.insert(r.header("webhook-id"));
    videos.insert(video_of(r));
    EXPECT_TRUE(signed_with(r, hook_key));
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n)) << "deliveries (duplicates included)";
  EXPECT_EQ(events.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(videos, std::set<std::string>(ids.begin(), ids.end()));
  for (std::size_t i = 0; i < f.size(); ++i) {
    std::vector<json::object> delivered;
    EXPECT_TRUE(eventually(
        [&] {
          delivered = hook_events(f[i], "delivered");
          return delivered.size() == static_cast<std::size_t>(n);
        },
        5s))
        << "replica " << i << " lists " << delivered.size() << " delivered events";
  }
}
