#include "status_html.hpp"

#include "videogate/core/base64.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace videogate::api {

namespace {

/// The one stylesheet; the CSP allows exactly these bytes. Badge colours: green healthy,
/// amber cooling, solid red disabled (seen at a glance).
constexpr std::string_view style = R"(
:root{color-scheme:light;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;background:#f3f4f6}
body{margin:0 auto;max-width:1100px;padding:16px 20px 40px}
h1{font-size:22px;margin:0}h2{font-size:17px;margin:0 0 6px}
header{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap;gap:8px;margin-bottom:14px}
.meta,.muted{color:#6b7280}
section,article{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin:0 0 14px}
table{border-collapse:collapse;width:100%;margin:6px 0}
table.keys{table-layout:fixed}table.keys th:first-child{width:30%}table.keys th.num{width:14%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #f0f0f0;vertical-align:top}
th{font-weight:600;color:#4b5563;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px}
.tag{display:inline-block;font-size:12px;font-weight:400;color:#374151;background:#e5e7eb;border-radius:10px;padding:0 8px;margin-left:6px}
.badge{display:inline-block;font-weight:600;font-size:12px;border-radius:10px;padding:1px 9px}
.badge.healthy,.badge.ok{background:#16a34a;color:#fff}
.badge.cooling{background:#f59e0b;color:#1f2937}
.badge.disabled,.badge.refused{background:#dc2626;color:#fff}
.badge.probing{background:#7c3aed;color:#fff}
.detail{display:block;font-size:12px;color:#4b5563;margin-top:2px}
.last-error{margin:6px 0;padding:6px 10px;border-left:3px solid #dc2626;background:#fef2f2}
.last-error.none{border-left-color:#16a34a;background:#f0fdf4}
.errors li{color:#b91c1c}
figure{margin:8px 0 0}figure svg{display:block;width:100%;height:auto}
.overview{display:flex;flex-wrap:wrap;gap:8px 18px;font-size:15px}.overview b{font-variant-numeric:tabular-nums}figcaption{font-size:12px;color:#4b5563}
.legend span{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
.c-created{fill:#3b82f6;background:#3b82f6}.c-completed{fill:#16a34a;background:#16a34a}.c-failed{fill:#dc2626;background:#dc2626}
svg text{font:10px system-ui,sans-serif;fill:#6b7280}svg .grid{stroke:#e5e7eb;stroke-width:1}
)";

std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string utc(std::int64_t s) {
  std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string hhmm(std::int64_t minute) {
  std::time_t t = static_cast<std::time_t>(minute * 60);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[8];
  std::strftime(buf, sizeof buf, "%H:%M", &tm);
  return buf;
}

std::string plural(long long n, const char* one, const char* many) {
  return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

std::string ago(std::int64_t now, std::int64_t then) {
  return then >= now ? std::string("just now") : human_duration(now - then) + " ago";
}

const char* reason_text(std::string_view r) {
  if (r == "invalid_key") return "invalid key (401/403)";
  if (r == "out_of_credit") return "out of credit (402)";
  if (r == "rate_limited") return "rate limited (429)";
  if (r == "transient") return "vendor errors (5xx, timeouts)";
  return "";
}

std::string key_state_cell(const status_view::key& k) {
  std::string o = "<span class=\"badge " + esc(k.state) + "\">" + esc(k.state) + "</span>";
  std::string why = reason_text(k.reason);
  if (why.empty()) why = k.reason;
  if (k.state != "healthy" && k.seconds_in_state >= 0)
    o += " <span class=\"since muted\">for " + human_duration(k.seconds_in_state) + "</span>";
  if (k.state == "cooling") {
    o += "<span class=\"detail\"><span class=\"left\">" + human_duration(k.seconds_left) + " left</span> · <span class=\"reason\">" +
         esc(why) + "</span></span>";
  } else if (k.state == "disabled") {
    o += "<span class=\"detail\"><span class=\"reason\">" + esc(why) + "</span> · ";
    o += k.probing ? std::string("probe in flight")
                   : (k.seconds_left > 0 ? "next probe in " + human_duration(k.seconds_left) : std::string("probe due"));
    o += "</span>";
  }
  return o;
}

/// Jobs per minute over the last hour: a blue bar for created, beside it completed (green)
/// under failed (red); each minute's numbers in its tooltip.
std::string chart(const status_view::upstream& u, std::int64_t now_s) {
  constexpr int w = 1000, h = 150, left = 34, right = 8, top = 10, bottom = 22;
  constexpr int plot_w = w - left - right, plot_h = h - top - bottom;
  constexpr double slot = static_cast<double>(plot_w) / 60;
  const auto now_min = now_s / 60;
  unsigned peak = 1, created = 0, completed = 0, failed = 0;
  auto in_hour = [&](const status_view::minute& m) { return m.minute <= now_min && m.minute > now_min - 60; };
  for (auto& m : u.history) {
    if (!in_hour(m)) continue;
    peak = std::max({peak, m.created, m.completed + m.failed});
    created += m.created;
    completed += m.completed;
    failed += m.failed;
  }
  if (created + completed + failed == 0)
    return "<p class=\"chart-empty muted\">No jobs created or finished on " + esc(u.name) +
           " in the last hour (this process).</p>";
  auto y = [&](double n) { return top + plot_h - n * plot_h / peak; };
  std::string label = "Jobs per minute on " + u.name + " over the last hour: " + std::to_string(created) + " created, " +
                      std::to_string(completed) + " completed, " + std::to_string(failed) + " failed.";
  std::string o = "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) +
                  "\" height=\"" + std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + ' ' + std::to_string(h) +
                  "\" role=\"img\" aria-label=\"" + esc(label) + "\">";
  auto num = [](double d) {
    char b[24];
    std::snprintf(b, sizeof b, "%.1f", d);
    return std::string(b);
  };
  for (int g = 0; g <= 2; ++g) {
    double n = peak * g / 2.0;
    o += "<line class=\"grid\" x1=\"" + std::to_string(left) + "\" x2=\"" + std::to_string(w - right) + "\" y1=\"" +
         num(y(n)) + "\" y2=\"" + num(y(n)) + "\"/>";
    if (g == 0 || n == static_cast<unsigned>(n))
      o += "<text x=\"" + std::to_string(left - 4) + "\" y=\"" + num(y(n) + 3) + "\" text-anchor=\"end\">" +
           std::to_string(static_cast<unsigned>(n)) + "</text>";
  }
  for (auto& m : u.history) {
    if (!in_hour(m)) continue;
    auto age = now_min - m.minute;  // 0: this minute, drawn last on the right
    double x = left + (59 - age) * slot;
    double bw = slot * 0.4;
    o += "<g class=\"minute\" data-minute=\"" + hhmm(m.minute) + "\"><title>" + hhmm(m.minute) + " UTC: " +
         std::to_string(m.created) + " created, " + std::to_string(m.completed) + " completed, " + std::to_string(m.failed) +
         " failed</title>";
    if (m.created)
      o += "<rect class=\"c-created\" x=\"" + num(x + slot * 0.08) + "\" y=\"" + num(y(m.created)) + "\" width=\"" + num(bw) +
           "\" height=\"" + num(y(0) - y(m.created)) + "\"/>";
    if (m.completed)
      o += "<rect class=\"c-completed\" x=\"" + num(x + slot * 0.52) + "\" y=\"" + num(y(m.completed)) + "\" width=\"" +
           num(bw) + "\" height=\"" + num(y(0) - y(m.completed)) + "\"/>";
    if (m.failed)
      o += "<rect class=\"c-failed\" x=\"" + num(x + slot * 0.52) + "\" y=\"" + num(y(m.completed + m.failed)) +
           "\" width=\"" + num(bw) + "\" height=\"" + num(y(m.completed) - y(m.completed + m.failed)) + "\"/>";
    o += "</g>";
  }
  auto axis_y = std::to_string(h - 6);
  o += "<text x=\"" + std::to_string(left) + "\" y=\"" + axis_y + "\">" + hhmm(now_min - 59) + "</text>";
  o += "<text x=\"" + std::to_string(left + plot_w / 2) + "\" y=\"" + axis_y + "\" text-anchor=\"middle\">" +
       hhmm(now_min - 29) + "</text>";  // minute now-29 starts half-way (slot 30 of 0..59)
  o += "<text x=\"" + std::to_string(w - right) + "\" y=\"" + axis_y + "\" text-anchor=\"end\">" + hhmm(now_min) +
       " UTC</text>";
  o += "</svg><figcaption class=\"legend\">Jobs per minute, last hour (this process):<span class=\"c-created\"></span>created " +
       std::to_string(created) + "<span class=\"c-completed\"></span>completed " + std::to_string(completed) +
       "<span class=\"c-failed\"></span>failed " + std::to_string(failed) + "</figcaption></figure>";
  return o;
}

/// Keys by state, and their requests in flight and unfinished jobs, summed.
struct key_tally {
  int healthy = 0, cooling = 0, disabled = 0, in_flight = 0, unfinished = 0;
  void add(const std::vector<status_view::key>& keys) {
    for (auto& k : keys) {
      ++(k.state == "healthy" ? healthy : k.state == "cooling" ? cooling : disabled);
      in_flight += k.in_flight;
      unfinished += k.unfinished;
    }
  }
};

std::string upstream_section(const status_view::upstream& u, std::int64_t now_s) {
  key_tally t;
  t.add(u.keys);
  std::string o = "<article class=\"upstream\" data-upstream=\"" + esc(u.name) + "\"><h2>" + esc(u.name) +
                  "<span class=\"tag dialect\">" + esc(u.dialect) + "</span><span class=\"tag host\">" + esc(u.host) +
                  "</span></h2>";
  o += "<p class=\"summary muted\">" + plural(static_cast<long long>(u.keys.size()), "key", "keys") + ": " +
       std::to_string(t.healthy) + " healthy, " + std::to_string(t.cooling) + " cooling, " + std::to_string(t.disabled) +
       " disabled · " + plural(t.in_flight, "request", "requests") + " in flight · " +
       plural(t.unfinished, "unfinished job", "unfinished jobs") + "</p>";
  o += "<table class=\"keys\"><thead><tr><th>Key</th><th>State</th><th class=\"num\">In flight</th><th class=\"num\">Unfinished "
       "jobs</th></tr></thead><tbody>";
  for (auto& k : u.keys) {
    o += "<tr class=\"key\" data-key=\"" + esc(k.fp) + "\" data-state=\"" + esc(k.state) + "\" data-reason=\"" + esc(k.reason) +
         "\"><td><code>" + esc(k.fp) + "</code> <span class=\"muted\">…" + esc(k.last4) + "</span></td><td>" +
         key_state_cell(k) + "</td><td class=\"num\">" + std::to_string(k.in_flight) + "</td><td class=\"num\">" +
         std::to_string(k.unfinished) + "</td></tr>";
  }
  o += "</tbody></table>";
  if (u.last_error) {
    auto& e = *u.last_error;
    o += "<p class=\"last-error\">Last vendor error, " + ago(now_s, e.at_s) + " (" + utc(e.at_s) + "), key <code>" +
         esc(e.key_fp) + "</code> · <code class=\"code\">" + esc(e.code) + "</code>: <span class=\"message\">" +
         esc(e.message) + "</span></p>";
  } else {
    o += "<p class=\"last-error none\">No vendor error since start-up.</p>";
  }
  o += chart(u, now_s);
  o += "</article>";
  return o;
}

std::string config_section(const status_view& v) {
  auto& c = v.config;
  std::string o = "<section id=\"config\"><h2>Config</h2><p>";
  if (c.startup) {
    o += "<span class=\"badge ok\">loaded</span> at start-up, " + ago(v.now_s, c.at_s) + " (" + utc(c.at_s) +
         "); not reloaded since.";
  } else {
    o += c.applied ? "<span class=\"badge ok\">reloaded</span>" : "<span class=\"badge refused\">reload refused</span>";
    o += " " + ago(v.now_s, c.at_s) + " (" + utc(c.at_s) + ")";
    o += c.applied ? "." : "; the running config stays.";
  }
  o += " Source: <code>" + esc(c.source) + "</code></p>";
  if (!c.errors.empty()) {
    o += "<ul class=\"errors\">";
    for (auto& e : c.errors) o += "<li>" + esc(e) + "</li>";
    o += "</ul>";
  }
  o += "<p class=\"needs-restart\">";
  if (c.needs_restart.empty()) {
    o += "No change waits for a restart.";
  } else {
    o += "Changed keys that take effect only after a restart (<code>needs_restart</code>): ";
    for (std::size_t i = 0; i < c.needs_restart.size(); ++i) o += (i ? ", <code>" : "<code>") + esc(c.needs_restart[i]) + "</code>";
    o += ".";
  }
  return o + "</p></section>";
}

std::string webhooks_section(const status_view& v) {
  auto& w = v.hooks;
  std::string o = "<section id=\"webhooks\"><h2>Webhooks</h2>";
  if (!w.store_error.empty())
    o += "<p class=\"last-error\">The store did not answer: " + esc(w.store_error) + "</p>";
  if (!w.store_error.empty()) return o + "</section>";  // no counts to show: they would read 0
  if (!w.configured && w.pending == 0 && w.failed == 0) return o + "<p class=\"muted\">No client has a webhook configured.</p></section>";
  o += "<p><span class=\"backlog\" data-pending=\"" + std::to_string(w.pending) + "\">" + std::to_string(w.pending) +
       " waiting for delivery</span> · " + std::to_string(w.failed) + " given up (failed)";
  auto d = [&](const char* k) {
    auto it = w.deliveries.find(k);
    return std::to_string(it == w.deliveries.end() ? 0 : it->second);
  };
  o += " · attempts since start-up: " + d("delivered") + " delivered, " + d("retry") + " to retry, " + d("failed") +
       " failed</p>";
  if (!w.pending_events.empty()) {
    o += "<p class=\"muted\">Pending events, latest change first:</p><table class=\"pending\"><thead><tr><th>Event</th><th>Client</th><th>Video</th><th class=\"num\">Attempts</th><th>Next "
         "attempt</th><th>Last error</th></tr></thead><tbody>";
    for (auto& e : w.pending_events) {
      o += "<tr><td><code>" + esc(e.id) + "</code> " + esc(e.type) + "</td><td>" + esc(e.client) + "</td><td><code>" +
           esc(e.video_id) + "</code></td><td class=\"num\">" + std::to_string(e.attempts) + "</td><td>" +
           (e.next_attempt_s > v.now_s ? "in " + human_duration(e.next_attempt_s - v.now_s) : std::string("due")) +
           "</td><td>" + esc(e.last_error.empty() ? "-" : e.last_error) + "</td></tr>";
    }
    o += "</tbody></table>";
  }
  return o + "</section>";
}

/// One line at the top: what needs a look, before any detail.
std::string overview(const status_view& v) {
  key_tally t;
  for (auto& u : v.upstreams) t.add(u.keys);
  auto n = [](long long x) { return "<b>" + std::to_string(x) + "</b>"; };
  auto ups = static_cast<long long>(v.upstreams.size());
  std::string o = "<section id=\"overview\" class=\"overview\"><span>" + n(ups) + (ups == 1 ? " upstream" : " upstreams") +
                  "</span><span>keys: " + n(t.healthy) + " healthy, " + n(t.cooling) + " cooling, " + n(t.disabled) +
                  " disabled</span><span>" + n(t.unfinished) + (t.unfinished == 1 ? " unfinished job" : " unfinished jobs") +
                  "</span><span>webhook backlog " +
                  (v.hooks.store_error.empty() ? n(v.hooks.pending) : std::string("<b>unknown</b>")) +
                  "</span><span>config " +
                  (v.config.applied ? std::string("<span class=\"badge ok\">ok</span>")
                                    : std::string("<span class=\"badge refused\">last reload refused</span>")) +
                  "</span></section>";
  return o;
}

}  // namespace

std::string human_duration(long long s) {
  if (s < 0) s = 0;
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min" + (s % 60 ? " " + std::to_string(s % 60) + " s" : "");
  if (s < 86400) return std::to_string(s / 3600) + " h" + (s % 3600 / 60 ? " " + std::to_string(s % 3600 / 60) + " min" : "");
  return std::to_string(s / 86400) + " d" + (s % 86400 / 3600 ? " " + std::to_string(s % 86400 / 3600) + " h" : "");
}

const std::string& status_page_csp() {
  static const std::string csp = [] {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(style.data()), style.size(), d);
    return "default-src 'none'; style-src 'sha256-" +
           base64_encode(std::string_view(reinterpret_cast<const char*>(d), sizeof d)) +
           "'; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  }();
  return csp;
}

std::string render_status_html(const status_view& v) {
  std::string o = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<meta name=\"referrer\" content=\"no-referrer\">";
  if (v.refresh_s > 0) o += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(v.refresh_s) + "\">";
  o += "<title>videogate status</title><style>";
  o += style;
  o += "</style></head><body><header><h1>videogate</h1><p class=\"meta\">" + utc(v.now_s) + " · up " +
       human_duration(v.now_s - v.started_s) + " · store <code>" + esc(v.store_kind) + "</code>";
  if (v.refresh_s > 0) o += " · refreshes every " + std::to_string(v.refresh_s) + " s";
  o += "</p></header>";
  o += overview(v);
  if (v.upstreams.empty()) o += "<section id=\"upstreams\"><p class=\"muted\">No upstream is configured.</p></section>";
  for (auto& u : v.upstreams) o += upstream_section(u, v.now_s);
  o += webhooks_section(v);
  o += config_section(v);
  o += "</body></html>\n";
  return o;
}

}  // namespace videogate::api
