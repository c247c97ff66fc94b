// The operator's status page (GET /admin, issue 19) and the metrics behind the dashboard and
// alert rules: the real gateway against the simulated vendor's fault keys. The browser's view of
// the same page is tests/e2e/status_page.browser.mjs.
#include "support.hpp"

#include "videogate/core/base64.hpp"
#include "videogate/jobs/ids.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace vgtest;

namespace {

const std::string admin_key = "admin-secret-key";

videogate::http::header_list basic(const std::string& user, const std::string& password) {
  return {{"Authorization", "Basic " + videogate::base64_encode(user + ":" + password)}};
}

videogate::http::client_response page(stack& s, const std::string& query = "?refresh=0") {
  return request("GET", s.gw("/admin" + query), basic("operator", admin_key));
}

videogate::http::client_response create(stack& s) {
  return request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                 R"({"prompt":"a lighthouse in a storm","seconds":"4"})");
}

/// The `<tr class="key" …>` row of the key `secret` on the page ("" when absent).
std::string row_of(const std::string& html, const std::string& secret) {
  auto at = html.find("<tr class=\"key\" data-key=\"" + videogate::jobs::key_fingerprint(secret) + "\"");
  if (at == std::string::npos) return {};
  return html.substr(at, html.find("</tr>", at) - at);
}

std::string state_of(const std::string& html, const std::string& secret) {
  auto row = row_of(html, secret);
  auto at = row.find("data-state=\"");
  if (at == std::string::npos) return "absent";
  at += 12;
  return row.substr(at, row.find('"', at) - at);
}

}  // namespace

TEST(status_page, without_an_admin_key_it_does_not_exist) {
  stack s;
  s.start_mock();
  auto yaml = openai_config(R"(["good-key-1"])");
  replace_once(yaml, "admin: { key: \"admin-secret-key\" }", "");
  s.start_gateway(yaml);
  EXPECT_EQ(request("GET", s.gw("/admin")).status, 404);
  auto r = request("GET", s.gw("/admin"), basic("operator", ""));
  EXPECT_EQ(r.status, 404) << "an empty password is no admin key";
  EXPECT_EQ(r.header("WWW-Authenticate"), "");
}

TEST(status_page, basic_or_bearer_admin_key_and_a_challenge_otherwise) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));

  // No credentials, a wrong password, a broken header: 401 with the Basic challenge a browser
  // answers with its sign-in dialog.
  for (auto headers : {videogate::http::header_list{}, basic("operator", "wrong"), basic("admin-secret-key", ""), basic("a", "b:" + admin_key),
                       videogate::http::header_list{{"Authorization", "Basic not-base64!"}},
                       videogate::http::header_list{{"Authorization", "Basic " + videogate::base64_encode(admin_key)}},
                       videogate::http::header_list{{"Authorization", "Bearer wrong"}}}) {
    auto r = request("GET", s.gw("/admin"), headers);
    EXPECT_EQ(r.status, 401) << (headers.empty() ? "-" : headers[0].second);
    EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"videogate admin\", charset=\"UTF-8\"");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(error_code(r.body), "invalid_api_key");
    EXPECT_EQ(r.body.find(admin_key), std::string::npos);
    EXPECT_NE(r.body.find("(scheme Bearer)"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("redacted"), std::string::npos) << "the hint itself was taken for a token: " << r.body;
  }
  // A browser whose sign-in dialog was closed gets the same 401 as a page.
  auto html = request("GET", s.gw("/admin"), {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
  EXPECT_EQ(html.status, 401);
  EXPECT_EQ(html.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(html.header("WWW-Authenticate"), "Basic realm=\"videogate admin\", charset=\"UTF-8\"");
  EXPECT_NE(html.body.find("<h1>401: sign-in needed</h1>"), std::string::npos) << html.body;

  // Any user name; the key as the password. Or the key as a Bearer token. `/admin/` too.
  // (A user name holds no colon, RFC 7617: "a:b" + key would make "b:<key>" the password.)
  for (auto headers : {basic("operator", admin_key), basic("", admin_key), basic("ops@example.com", admin_key),
                       videogate::http::header_list{{"Authorization", "bAsIc " + videogate::base64_encode("u:" + admin_key)}},
                       videogate::http::header_list{{"Authorization", "Bearer " + admin_key}}}) {
    auto r = request("GET", s.gw("/admin"), headers);
    EXPECT_EQ(r.status, 200) << headers[0].second;
    EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  }
  EXPECT_EQ(request("GET", s.gw("/admin/"), basic("x", admin_key)).status, 200);
  auto wrong_method = request("POST", s.gw("/admin"), basic("x", admin_key));
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("Allow"), "GET");

  // Basic is for the page only: the other admin calls change state, and a browser replays
  // Basic credentials on any request a cross-site form makes.
  EXPECT_EQ(request("GET", s.gw("/admin/keys"), basic("x", admin_key)).status, 404);
  EXPECT_EQ(request("POST", s.gw("/admin/reload"), basic("x", admin_key)).status, 404);
  EXPECT_EQ(request("GET", s.gw("/admin/keys"), {{"Authorization", "Bearer " + admin_key}}).status, 200);

  // The refresh parameter: 0 or 5..3600 seconds; nothing else is a parameter.
  EXPECT_NE(page(s, "").body.find("<meta http-equiv=\"refresh\" content=\"15\">"), std::string::npos);
  EXPECT_NE(page(s, "?refresh=60").body.find("<meta http-equiv=\"refresh\" content=\"60\">"), std::string::npos);
  EXPECT_EQ(page(s, "?refresh=0").body.find("http-equiv=\"refresh\""), std::string::npos);
  auto bad = page(s, "?refresh=2");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"param\":\"refresh\""), std::string::npos) << bad.body;
  EXPECT_EQ(page(s, "?refresh=abc").status, 400);
  EXPECT_EQ(error_code(page(s, "?theme=dark").body), "unknown_parameter");
}

TEST(status_page, is_never_cached_and_allows_nothing_but_its_own_stylesheet) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  auto r = page(s);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  auto csp = r.header("Content-Security-Policy");
  EXPECT_EQ(csp.rfind("default-src 'none'; style-src 'sha256-", 0), 0u) << csp;
  EXPECT_NE(csp.find("script-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(r.body.rfind("<!doctype html>", 0), 0u);
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
}

TEST(status_page, shows_each_key_state_its_reason_and_the_last_vendor_error_without_secrets) {
  stack s;
  // Retry-After of an hour: the cooling key is still cooling when the page is read.
  s.start_mock({"--retry-after", "3600"});
  s.start_gateway(openai_config(R"(["good-key-1", "ratelimit-1", "bad-key-1", "nocredit-1", "echokey-1"])", "",
                                "    key_strategy: round_robin\n"));
  std::string html;
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(create(s).status, 200);
    html = page(s).body;
    if (state_of(html, "ratelimit-1") == "cooling" && state_of(html, "bad-key-1") == "disabled" &&
        state_of(html, "nocredit-1") == "disabled" && state_of(html, "echokey-1") == "disabled")
      break;
  }
  EXPECT_EQ(state_of(html, "good-key-1"), "healthy");
  auto cooling = row_of(html, "ratelimit-1");
  EXPECT_NE(cooling.find("<span class=\"badge cooling\">cooling</span>"), std::string::npos) << cooling;
  EXPECT_NE(cooling.find("rate limited (429)"), std::string::npos) << cooling;
  EXPECT_TRUE(cooling.find(" min ") != std::string::npos || cooling.find("1 h left") != std::string::npos) << cooling;
  auto invalid = row_of(html, "bad-key-1");
  EXPECT_NE(invalid.find("<span class=\"badge disabled\">disabled</span>"), std::string::npos) << invalid;
  EXPECT_NE(invalid.find("invalid key (401/403)"), std::string::npos) << invalid;
  EXPECT_NE(invalid.find("next probe in "), std::string::npos) << invalid;
  EXPECT_NE(row_of(html, "nocredit-1").find("out of credit (402)"), std::string::npos);
  EXPECT_NE(row_of(html, "good-key-1").find("…ey-1"), std::string::npos) << "the last 4";

  EXPECT_NE(html.find("<span class=\"tag dialect\">openai</span><span class=\"tag host\">http://127.0.0.1:" +
                      std::to_string(s.mock_port) + "</span>"),
            std::string::npos);
  EXPECT_NE(html.find("<p class=\"last-error\">Last vendor error"), std::string::npos);
  EXPECT_NE(html.find("class=\"c-created\""), std::string::npos) << "the chart has this minute's creates";

  // The echo key's vendor error repeats the key: the page shows it scrubbed, and no secret
  // appears anywhere (nor the admin key).
  for (auto* secret : {"good-key-1", "ratelimit-1", "bad-key-1", "nocredit-1", "echokey-1", "admin-secret-key"})
    EXPECT_EQ(html.find(secret), std::string::npos) << secret << " leaked into the page";

  // The metric agrees with the page: a cooling key, three disabled.
  EXPECT_EQ(metric_value(s, "videogate_upstream_keys{upstream=\"vendor\",state=\"cooling\"}"), 1);
  EXPECT_EQ(metric_value(s, "videogate_upstream_keys{upstream=\"vendor\",state=\"disabled\"}"), 3);
}

TEST(status_page, the_last_vendor_error_that_echoed_a_key_is_shown_scrubbed) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["echokey-zz-secret-1", "good-key-1"])", "", "    key_strategy: round_robin\n"));
  std::string html;
  for (int i = 0; i < 4 && html.find("Incorrect API key provided") == std::string::npos; ++i) {
    EXPECT_EQ(create(s).status, 200);
    html = page(s).body;
  }
  auto at = html.find("<p class=\"last-error\">");
  ASSERT_NE(at, std::string::npos) << html;
  auto line = html.substr(at, html.find("</p>", at) - at);
  EXPECT_NE(line.find("Incorrect API key provided"), std::string::npos) << line;
  EXPECT_EQ(line.find("echokey-zz-secret-1"), std::string::npos) << line;
  EXPECT_NE(line.find(videogate::jobs::key_fingerprint("echokey-zz-secret-1")), std::string::npos) << line;
}

TEST(status_page, shows_a_refused_reload_and_what_waits_for_a_restart) {
  stack s;
  s.start_mock();
  auto yaml = openai_config(R"(["good-key-1"])");
  s.start_gateway(yaml);
  auto html = page(s).body;
  EXPECT_NE(html.find("<span class=\"badge ok\">loaded</span> at start-up"), std::string::npos);
  EXPECT_EQ(metric_value(s, "videogate_config_last_reload_successful"), 1);

  auto broken = yaml;
  replace_once(broken, "poll_interval: 0ms", "poll_interval: soon");
  s.write_config(broken);
  auto admin = videogate::http::header_list{{"Authorization", "Bearer " + admin_key}};
  EXPECT_EQ(request("POST", s.gw("/admin/reload"), admin).status, 422);
  html = page(s).body;
  EXPECT_NE(html.find("<span class=\"badge refused\">reload refused</span>"), std::string::npos) << html;
  EXPECT_NE(html.find("poll_interval"), std::string::npos) << "the error names the key";
  EXPECT_EQ(metric_value(s, "videogate_config_last_reload_successful"), 0);
  EXPECT_EQ(metric_value(s, "videogate_config_reloads_total{result=\"error\"}"), 1);

  auto moved = yaml;
  replace_once(moved, "store: { kind: sqlite, path: \"${DIR}/videogate.db\" }",
               "store: { kind: sqlite, path: \"${DIR}/other.db\" }");
  s.write_config(moved);
  EXPECT_EQ(request("POST", s.gw("/admin/reload"), admin).status, 200);
  html = page(s).body;
  EXPECT_NE(html.find("<span class=\"badge ok\">reloaded</span>"), std::string::npos) << html;
  EXPECT_NE(html.find("<code>store.path</code>"), std::string::npos) << html;
  EXPECT_EQ(metric_value(s, "videogate_config_last_reload_successful"), 1);

  // Refused again: what waits for a restart still waits, and the source stays the running one.
  auto broken_again = moved;
  replace_once(broken_again, "poll_interval: 0ms", "poll_interval: soon");
  s.write_config(broken_again);
  EXPECT_EQ(request("POST", s.gw("/admin/reload"), admin).status, 422);
  html = page(s).body;
  EXPECT_NE(html.find("<span class=\"badge refused\">reload refused</span>"), std::string::npos) << html;
  EXPECT_NE(html.find("<code>store.path</code>"), std::string::npos) << "still pending after a refused reload: " << html;
  EXPECT_NE(html.find("Source: <code>" + s.config_path + "</code>"), std::string::npos) << html;
}

TEST(status_page, job_reads_are_counted_by_how_they_were_answered) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  auto id = id_of(create(s));
  ASSERT_FALSE(id.empty());
  // Read until finished (the watcher may be the one whose read went to the vendor).
  std::string status;
  eventually([&] { return (status = field(request("GET", s.gw("/v1/videos/" + id)).body, "status")) == "completed"; },
             std::chrono::seconds(15));
  ASSERT_EQ(status, "completed");
  auto polls = metric_value(s, "videogate_job_reads_total{source=\"poll\"}");
  EXPECT_GE(polls, 1) << "an unfinished job's read went on to the vendor";
  auto answered_here = [&] {
    return metric_value(s, "videogate_job_reads_total{source=\"terminal_cache\"}") +
           metric_value(s, "videogate_job_reads_total{source=\"store\"}");
  };
  auto before = answered_here();
  EXPECT_EQ(field(request("GET", s.gw("/v1/videos/" + id)).body, "status"), "completed");
  // At least one: the watcher may read it too (it holds a copy from before the job finished).
  EXPECT_GE(answered_here(), before + 1) << "a finished job is answered without the vendor";
  EXPECT_EQ(metric_value(s, "videogate_job_reads_total{source=\"poll\"}"), polls);
}

TEST(status_page, store_errors_are_counted) {
  fleet_stack f(1, R"(["good-key-1"])", {});
  auto& s = f[0];
  EXPECT_EQ(metric_value(s, "videogate_store_errors_total"), 0);
  f.redis.stop();
  EXPECT_EQ(request("GET", s.gw("/readyz")).status, 503);
  EXPECT_GE(metric_value(s, "videogate_store_errors_total"), 1);
}

TEST(status_page, shows_the_webhook_backlog_with_its_latest_pending_event) {
  // A receiver that always answers 503, and a retry an hour away: the event stays pending.
  http_receiver hook({}, scripted_answer{503, {}, "busy"});
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(openai_config(R"(["good-key-1"])", R"(clients:
  - name: app
    key: "client-key-1"
    webhook:
      url: ")" + hook.url("/hook") + R"("
      secret: "whsec_c3RhdHVzLXBhZ2Utd2ViaG9vay1rZXk="
webhooks:
  schedule: [1h]
  allow_private: true
)"));
  videogate::http::header_list client{{"Authorization", "Bearer client-key-1"}};
  auto headers = client;
  headers.emplace_back("Content-Type", "application/json");
  auto id = id_of(request("POST", s.gw("/v1/videos"), headers, R"({"prompt":"a harbour at dawn","seconds":"4"})"));
  ASSERT_FALSE(id.empty());
  std::string status;
  eventually(
      [&] { return (status = field(request("GET", s.gw("/v1/videos/" + id), client).body, "status")) == "completed"; },
      std::chrono::seconds(15));
  ASSERT_EQ(status, "completed");
  ASSERT_TRUE(hook.wait_for(1, std::chrono::seconds(15))) << "the webhook was never attempted";

  // The attempt is written after the receiver answered: read until the page shows it.
  std::string html, row;
  eventually(
      [&] {
        html = page(s).body;
        auto at = html.find("<table class=\"pending\">");
        row = at == std::string::npos ? "" : html.substr(at, html.find("</table>", at) - at);
        return row.find("<td class=\"num\">1</td>") != std::string::npos;
      },
      std::chrono::seconds(15));
  EXPECT_NE(html.find("data-pending=\"1\">1 waiting for delivery</span> · 0 given up (failed)"), std::string::npos) << html;
  EXPECT_NE(html.find("webhook backlog <b>1</b>"), std::string::npos);
  EXPECT_NE(html.find("attempts since start-up: 0 delivered, 1 to retry, 0 failed"), std::string::npos) << html;
  EXPECT_NE(row.find("video.completed"), std::string::npos) << row;
  EXPECT_NE(row.find("<code>" + id + "</code>"), std::string::npos) << row;
  EXPECT_NE(row.find("<td>app</td>"), std::string::npos) << row;
  EXPECT_NE(row.find("<td class=\"num\">1</td>"), std::string::npos) << "one attempt: " << row;
  EXPECT_NE(row.find("503"), std::string::npos) << "the last error names the answer: " << row;
  EXPECT_NE(row.find("<td>in "), std::string::npos) << "the retry is an hour away: " << row;

  // A second pending event: GET /admin/webhooks honours `limit` (1..1000).
  auto second = id_of(request("POST", s.gw("/v1/videos"), headers, R"({"prompt":"a pier at dusk","seconds":"4"})"));
  ASSERT_FALSE(second.empty());
  eventually([&] { return field(request("GET", s.gw("/v1/videos/" + second), client).body, "status") == "completed"; },
             std::chrono::seconds(15));
  ASSERT_TRUE(hook.wait_for(2, std::chrono::seconds(15)));
  videogate::http::header_list admin{{"Authorization", "Bearer " + admin_key}};
  auto listed = [&](const std::string& query) {
    auto r = request("GET", s.gw("/admin/webhooks?status=pending" + query), admin);
    EXPECT_EQ(r.status, 200) << r.body;
    int n = 0;
    for (auto p = r.body.find("\"id\":\"evt_"); p != std::string::npos; p = r.body.find("\"id\":\"evt_", p + 1)) ++n;
    return n;
  };
  EXPECT_TRUE(eventually([&] { return listed("") == 2; }, std::chrono::seconds(15)));
  EXPECT_EQ(listed("&limit=1"), 1);
  EXPECT_EQ(listed("&limit=2"), 2);
  for (auto* bad : {"0", "1001", "x", "1x"})
    EXPECT_EQ(request("GET", s.gw(std::string("/admin/webhooks?limit=") + bad), admin).status, 400) << bad;
}
