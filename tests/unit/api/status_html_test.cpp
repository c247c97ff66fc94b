// The status page's HTML as a pure function of its view: states, escaping, the chart, the CSP.
#include "api/status_html.hpp"

#include <gtest/gtest.h>

#include <openssl/sha.h>

#include "videogate/core/base64.hpp"

#include <string>

namespace videogate::api {
namespace {

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

/// The `<tr class="key" …>` row of `fp`.
std::string row_of(const std::string& html, const std::string& fp) {
  auto at = html.find("<tr class=\"key\" data-key=\"" + fp + "\"");
  if (at == std::string::npos) return {};
  return html.substr(at, html.find("</tr>", at) - at);
}

status_view sample() {
  status_view v;
  v.now_s = 1'764'400'000;  // 2025-11-29 07:06:40 UTC
  v.started_s = v.now_s - 3 * 3600 - 125;
  v.store_kind = "sqlite";
  status_view::upstream u;
  u.name = "sora-main";
  u.dialect = "openai";
  u.host = "https://api.example.com";
  u.keys = {
      {"aaaaaaaaaaaa", "ey-1", "healthy", "", 0, -1, false, 2, 5},
      {"bbbbbbbbbbbb", "it-1", "cooling", "rate_limited", 28, 3, false, 0, 1},
      {"cccccccccccc", "ey-2", "disabled", "invalid_key", 599, 3700, false, 0, 0},
      {"dddddddddddd", "it-2", "disabled", "out_of_credit", 0, 60, true, 1, 0},
  };
  u.last_error = status_view::vendor_error{v.now_s - 90, "bbbbbbbbbbbb", "upstream_rate_limited", "Slow down <b>now</b>"};
  auto m = v.now_s / 60;
  u.history = {{m - 59, 1, 0, 0}, {m - 30, 4, 2, 1}, {m, 2, 3, 0}, {m - 60, 99, 99, 99} /* older than the hour */};
  v.upstreams.push_back(u);
  status_view::upstream b;
  b.name = "backup";
  b.dialect = "unified";
  b.host = "http://127.0.0.1:9000";
  b.keys = {{"eeeeeeeeeeee", "ey-3", "healthy", "", 0, -1, false, 0, 0}};
  v.upstreams.push_back(b);
  return v;
}

TEST(StatusHtml, EachKeyStateHasItsBadgeAndItsDetail) {
  auto html = render_status_html(sample());
  auto healthy = row_of(html, "aaaaaaaaaaaa");
  EXPECT_NE(healthy.find("data-state=\"healthy\""), std::string::npos);
  EXPECT_NE(healthy.find("<span class=\"badge healthy\">healthy</span>"), std::string::npos);
  EXPECT_EQ(healthy.find("left"), std::string::npos);

  auto cooling = row_of(html, "bbbbbbbbbbbb");
  EXPECT_NE(cooling.find("<span class=\"badge cooling\">cooling</span>"), std::string::npos) << cooling;
  EXPECT_NE(cooling.find("<span class=\"left\">28 s left</span>"), std::string::npos) << cooling;
  EXPECT_NE(cooling.find("rate limited (429)"), std::string::npos) << cooling;

  auto invalid = row_of(html, "cccccccccccc");
  EXPECT_NE(invalid.find("<span class=\"badge disabled\">disabled</span>"), std::string::npos) << invalid;
  EXPECT_NE(invalid.find("invalid key (401/403)"), std::string::npos) << invalid;
  EXPECT_NE(invalid.find("next probe in 9 min 59 s"), std::string::npos) << invalid;
  EXPECT_NE(invalid.find("for 1 h 1 min"), std::string::npos) << invalid;

  auto credit = row_of(html, "dddddddddddd");
  EXPECT_NE(credit.find("out of credit (402)"), std::string::npos) << credit;
  EXPECT_NE(credit.find("probe in flight"), std::string::npos) << credit;
  EXPECT_NE(credit.find("<td class=\"num\">1</td>"), std::string::npos) << "in flight";
}

TEST(StatusHtml, UpstreamHeaderSummaryAndOverview) {
  auto html = render_status_html(sample());
  EXPECT_NE(html.find("<article class=\"upstream\" data-upstream=\"sora-main\"><h2>sora-main<span class=\"tag dialect\">openai</span>"
                      "<span class=\"tag host\">https://api.example.com</span>"),
            std::string::npos);
  EXPECT_NE(html.find("4 keys: 1 healthy, 1 cooling, 2 disabled · 3 requests in flight · 6 unfinished jobs"), std::string::npos);
  EXPECT_NE(html.find("keys: <b>2</b> healthy, <b>1</b> cooling, <b>2</b> disabled"), std::string::npos);
  EXPECT_NE(html.find("up 3 h 2 min"), std::string::npos);
  EXPECT_EQ(count(html, "<article class=\"upstream\""), 2);
}

TEST(StatusHtml, LastVendorErrorIsEscapedAndDated) {
  auto html = render_status_html(sample());
  EXPECT_NE(html.find("Last vendor error, 1 min 30 s ago"), std::string::npos);
  EXPECT_NE(html.find("key <code>bbbbbbbbbbbb</code> · <code class=\"code\">upstream_rate_limited</code>: "
                      "<span class=\"message\">"),
            std::string::npos);
  EXPECT_NE(html.find("Slow down &lt;b&gt;now&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<b>now</b>"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"last-error none\">No vendor error since start-up.</p>"), std::string::npos)
      << "backup had none";
}

TEST(StatusHtml, EverythingShownIsEscaped) {
  auto v = sample();
  v.upstreams[1].name = "x\"><script>alert(1)</script>";
  v.upstreams[1].keys[0].fp = "<img src=x onerror=alert(2)>";
  v.config.source = "/etc/'a'&\"b\".yaml";
  auto html = render_status_html(v);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("/etc/&#39;a&#39;&amp;&quot;b&quot;.yaml"), std::string::npos);
}

TEST(StatusHtml, ChartHasOneGroupPerMinuteOfTheLastHourWithItsCounts) {
  auto html = render_status_html(sample());
  auto start = html.find("<article class=\"upstream\" data-upstream=\"sora-main\"");
  auto svg = html.substr(html.find("<svg", start), html.find("</svg>", start) - html.find("<svg", start));
  EXPECT_EQ(count(svg, "<g class=\"minute\""), 3) << "the minute older than an hour is left out";
  EXPECT_EQ(count(svg, "class=\"c-created\""), 3);
  EXPECT_EQ(count(svg, "class=\"c-completed\""), 2);
  EXPECT_EQ(count(svg, "class=\"c-failed\""), 1);
  EXPECT_NE(svg.find("aria-label=\"Jobs per minute on sora-main over the last hour: 7 created, 5 completed, 1 failed.\""),
            std::string::npos);
  EXPECT_NE(svg.find(": 4 created, 2 completed, 1 failed</title>"), std::string::npos);
  // The tallest bar (4 created) reaches the top of the plot (y = 10) from its bottom (y = 128).
  EXPECT_NE(svg.find("y=\"10.0\" width=\"6.4\" height=\"118.0\""), std::string::npos) << svg;
  auto backup = html.substr(html.find("data-upstream=\"backup\""));
  EXPECT_NE(backup.find("<p class=\"chart-empty muted\">No jobs created or finished on backup in the last hour"),
            std::string::npos);
  EXPECT_EQ(backup.find("<svg"), std::string::npos) << "no empty plot for an idle upstream";
}

TEST(StatusHtml, ConfigLoadStates) {
  auto v = sample();
  v.config = {v.now_s - 10, true, true, "/etc/videogate.yaml", {}, {}};
  auto html = render_status_html(v);
  EXPECT_NE(html.find("<span class=\"badge ok\">loaded</span> at start-up"), std::string::npos);
  EXPECT_NE(html.find("No change waits for a restart."), std::string::npos);

  v.config = {v.now_s - 10, false, false, "/etc/videogate.yaml", {"videogate.yaml:3: upstreams[0].base_url: not a URL"}, {}};
  html = render_status_html(v);
  EXPECT_NE(html.find("<span class=\"badge refused\">reload refused</span> 10 s ago"), std::string::npos);
  EXPECT_NE(html.find("the running config stays"), std::string::npos);
  EXPECT_NE(html.find("<li>videogate.yaml:3: upstreams[0].base_url: not a URL</li>"), std::string::npos);
  EXPECT_NE(html.find("last reload refused"), std::string::npos) << "the overview says so too";

  v.config = {v.now_s, true, false, "/etc/videogate.yaml", {}, {"listen", "store.path"}};
  html = render_status_html(v);
  EXPECT_NE(html.find("<span class=\"badge ok\">reloaded</span> just now"), std::string::npos);
  EXPECT_NE(html.find("<code>listen</code>, <code>store.path</code>."), std::string::npos);
}

TEST(StatusHtml, WebhookBacklog) {
  auto v = sample();
  auto html = render_status_html(v);
  EXPECT_NE(html.find("No client has a webhook configured."), std::string::npos);
  v.hooks.configured = true;
  v.hooks.pending = 1234;
  v.hooks.failed = 3;
  v.hooks.deliveries = {{"delivered", 7}, {"retry", 2}};
  v.hooks.pending_events = {{"evt_1", "video.completed", "video_x", "app", "HTTP 503", 2, v.now_s + 300}};
  html = render_status_html(v);
  EXPECT_NE(html.find("data-pending=\"1234\">1234 waiting for delivery</span> · 3 given up (failed)"), std::string::npos);
  EXPECT_NE(html.find("7 delivered, 2 to retry, 0 failed"), std::string::npos);
  EXPECT_NE(html.find("<td>in 5 min</td><td>HTTP 503</td>"), std::string::npos);
  EXPECT_NE(html.find("webhook backlog <b>1234</b>"), std::string::npos);
}

TEST(StatusHtml, CountsTakeTheSingularForOne) {
  auto v = sample();
  v.upstreams.resize(1);
  v.upstreams[0].keys.resize(1);
  v.upstreams[0].keys[0].in_flight = 1;
  v.upstreams[0].keys[0].unfinished = 1;
  auto html = render_status_html(v);
  EXPECT_NE(html.find("1 key: 1 healthy, 0 cooling, 0 disabled · 1 request in flight · 1 unfinished job</p>"),
            std::string::npos);
  EXPECT_NE(html.find("<b>1</b> upstream</span>"), std::string::npos);
  EXPECT_NE(html.find("<b>1</b> unfinished job</span>"), std::string::npos);
}

TEST(StatusHtml, AStoreThatDidNotAnswerLeavesTheBacklogUnknownNotZero) {
  auto v = sample();
  v.hooks.configured = true;
  v.hooks.store_error = "the shared store (Redis) does not answer";
  auto html = render_status_html(v);
  EXPECT_NE(html.find("webhook backlog <b>unknown</b>"), std::string::npos);
  EXPECT_NE(html.find("The store did not answer: the shared store (Redis) does not answer"), std::string::npos);
  EXPECT_EQ(html.find("waiting for delivery"), std::string::npos);
}

TEST(StatusHtml, TimeAxisLabelsSitAtTheirMinutes) {
  auto v = sample();  // now: 07:06 UTC
  auto html = render_status_html(v);
  EXPECT_NE(html.find(">06:07</text>"), std::string::npos) << "left edge: the minute 59 before now";
  EXPECT_NE(html.find(">06:37</text>"), std::string::npos) << "half-way: slot 30 of 60 is the minute 29 before now";
  EXPECT_NE(html.find(">07:06 UTC</text>"), std::string::npos);
}

TEST(StatusHtml, RefreshIsAMetaTagOrNothing) {
  auto v = sample();
  EXPECT_NE(render_status_html(v).find("<meta http-equiv=\"refresh\" content=\"15\">"), std::string::npos);
  v.refresh_s = 0;
  EXPECT_EQ(render_status_html(v).find("http-equiv=\"refresh\""), std::string::npos);
}

TEST(StatusHtml, CspAllowsExactlyTheInlineStylesheet) {
  auto html = render_status_html(sample());
  auto open = html.find("<style>") + 7;
  auto css = html.substr(open, html.find("</style>") - open);
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(css.data()), css.size(), d);
  auto hash = base64_encode(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
  auto& csp = status_page_csp();
  EXPECT_NE(csp.find("style-src 'sha256-" + hash + "'"), std::string::npos) << csp;
  EXPECT_EQ(csp.rfind("default-src 'none';", 0), 0u) << csp;
  EXPECT_NE(csp.find("script-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(count(html, "<style>"), 1);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find(" style=\""), std::string::npos) << "inline style attributes would be blocked";
}

TEST(StatusHtml, HumanDurations) {
  EXPECT_EQ(human_duration(-5), "0 s");
  EXPECT_EQ(human_duration(45), "45 s");
  EXPECT_EQ(human_duration(60), "1 min");
  EXPECT_EQ(human_duration(599), "9 min 59 s");
  EXPECT_EQ(human_duration(7500), "2 h 5 min");
  EXPECT_EQ(human_duration(3 * 86400 + 4 * 3600 + 59), "3 d 4 h");
}

}  // namespace
}  // namespace videogate::api
