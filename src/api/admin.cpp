#include "admin.hpp"

#include "status_html.hpp"

#include "videogate/api/error_table.hpp"
#include "videogate/core/base64.hpp"
#include "videogate/core/clock.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/jobs/webhooks.hpp"
#include "videogate/observe/metrics.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>

namespace json = boost::json;

namespace videogate::api {

namespace {

/// A key as an admin answer shows it at `now` (the status page's row; /admin/keys's object):
/// the state shown, its reason unless healthy, seconds until a cooling key is usable again or
/// a disabled key's next probe.
status_view::key shown_key(const routing::key_view& k, routing::key_clock::time_point now) {
  auto shown = routing::shown_health(k.state, now);
  status_view::key row;
  row.fp = k.fp;
  row.last4 = k.last4;
  row.state = routing::to_string(shown);
  if (shown != routing::key_health::healthy) {
    row.reason = k.state.reason;
    row.seconds_left = std::max<long long>(0, std::chrono::ceil<std::chrono::seconds>(k.state.until - now).count());
  }
  if (k.state.since != routing::key_clock::time_point{} && k.state.since <= now)
    row.seconds_in_state = std::chrono::duration_cast<std::chrono::seconds>(now - k.state.since).count();
  row.probing = k.state.probing;
  row.in_flight = k.in_flight;
  row.unfinished = k.unfinished;
  return row;
}

/// `scheme://host[:port]` of a base URL, without user info, path or query.
std::string host_of(const std::string& base_url) {
  auto u = boost::urls::parse_uri(base_url);
  if (!u) return "?";
  return std::string(u->scheme()) + "://" + std::string(u->encoded_host_and_port());
}

}  // namespace

bool admin_authorised(const http::request& req, const std::string& admin_key, bool basic) {
  if (admin_key.empty()) return false;
  if (jobs::constant_time_equal(bearer(req), admin_key)) return true;
  if (!basic) return false;
  auto h = req.header("Authorization");
  if (h.size() < 6 || !http::iequals(h.substr(0, 5), "basic") || h[5] != ' ') return false;  // the scheme: any case
  auto cred = h.substr(6);
  while (!cred.empty() && cred.front() == ' ') cred.remove_prefix(1);
  while (!cred.empty() && cred.back() == ' ') cred.remove_suffix(1);
  auto decoded = base64_decode(cred);
  if (!decoded) return false;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  return jobs::constant_time_equal(std::string_view(*decoded).substr(colon + 1), admin_key);
}

http::response admin_challenge(const gateway& g, const http::request& req, const context& ctx) {
  // No "Bearer " followed by a word in the text: the error scrubber would take it for a token.
  static constexpr const char* why =
      "The status page needs the admin key: enter it as the password when the browser asks (any user name), or send "
      "it in the Authorization header (scheme Bearer).";
  auto r = error_response(g, ctx, fail(errc::invalid_api_key, why));
  std::erase_if(r.headers, [](const auto& h) { return http::iequals(h.first, "WWW-Authenticate"); });
  r.set("WWW-Authenticate", "Basic realm=\"videogate admin\", charset=\"UTF-8\"");
  r.set("Cache-Control", "no-store");
  // A person who closes the browser's sign-in dialog reads this page rather than JSON.
  if (req.header("Accept").find("text/html") != std::string_view::npos) {
    std::erase_if(r.headers, [](const auto& h) { return http::iequals(h.first, "Content-Type"); });
    r.body = std::string("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>videogate: sign-in "
                         "needed</title></head><body><h1>401: sign-in needed</h1><p>") +
             why + "</p></body></html>\n";
    r.set("Content-Type", "text/html; charset=utf-8");
    r.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  }
  return r;
}

// GET /admin
boost::asio::awaitable<http::response> status_page(gateway& g, const boost::urls::url_view& u, context& ctx) {
  status_view v;
  for (auto p : u.params()) {
    if (p.key != "refresh")
      co_return error_response(
          g, ctx, fail(errc::unknown_parameter, "Unknown parameter: '" + std::string(p.key) + "'.", std::string(p.key)));
    auto n = whole_int(p.value);
    if (!n || !(*n == 0 || (*n >= 5 && *n <= 3600)))
      co_return error_response(
          g, ctx, fail(errc::invalid_value, "'refresh' must be 0 (never) or seconds from 5 to 3600.", "refresh"));
    v.refresh_s = *n;
  }
  auto& rt = *ctx.snap;
  v.now_s = clock::now_s();
  v.started_s = g.started_ms / 1000;
  v.store_kind = g.d.cfg->store.kind;
  auto secrets = rt.secrets();
  auto history = g.metrics().job_history(v.now_s / 60);
  auto now = routing::key_clock::now();
  for (auto& up : rt.upstreams()) {
    status_view::upstream s;
    s.name = up->cfg().name;
    s.dialect = config::to_string(up->cfg().dialect);
    s.host = host_of(up->cfg().base_url);
    for (auto& k : up->keys().view()) s.keys.push_back(shown_key(k, now));
    if (auto e = up->keys().ledger()->last_error())
      s.last_error = status_view::vendor_error{e->at_ms / 1000, e->key_fp, e->code, dialects::scrub(e->message, secrets)};
    for (auto& m : history[s.name]) s.history.push_back({m.minute, m.created, m.completed, m.failed});
    v.upstreams.push_back(std::move(s));
  }
  auto load = g.last_load();
  v.config = {load.at_ms / 1000, load.applied, load.startup, load.source, load.errors, load.needs_restart};

  auto& hooks = v.hooks;
  for (auto& c : rt.cfg().clients) hooks.configured = hooks.configured || c.webhook.has_value();
  hooks.deliveries = g.metrics().webhook_deliveries();
  std::vector<jobs::outbox_event> pending;
  try {
    hooks.pending = co_await g.store().outbox_count(jobs::outbox_event::state::pending);
    hooks.failed = co_await g.store().outbox_count(jobs::outbox_event::state::failed);
    pending = co_await g.store().outbox_list(jobs::outbox_event::state::pending, 5);
  } catch (const std::exception& e) {
    hooks.store_error = dialects::scrub(e.what(), secrets);
  }
  for (auto& e : pending) {
    hooks.pending_events.push_back({e.id, e.type, e.video_id, e.client, dialects::scrub(e.last_error, secrets), e.attempts,
                                    (e.next_attempt_ms + 999) / 1000});
  }

  http::response r;
  r.status = 200;
  r.body = render_status_html(v);
  r.set("Content-Type", "text/html; charset=utf-8");
  r.set("Cache-Control", "no-store");
  r.set("Content-Security-Policy", status_page_csp());
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  co_return r;
}

// GET /admin/keys
http::response admin_keys(const routing::router& rt) {
  auto now = routing::key_clock::now();
  json::array ups;
  for (auto& up : rt.upstreams()) {
    json::array keys;
    for (auto& view : up->keys().view()) {
      auto k = shown_key(view, now);
      json::object o;
      o["fingerprint"] = k.fp;
      o["last4"] = k.last4;
      o["state"] = k.state;
      o["reason"] = k.reason.empty() ? json::value(nullptr) : json::value(k.reason);
      o["cooldown_left_s"] = k.state == "cooling" ? k.seconds_left : 0;
      o["next_probe_in_s"] = k.state == "disabled" ? json::value(k.seconds_left) : json::value(nullptr);
      o["in_flight"] = k.in_flight;
      o["unfinished_jobs"] = k.unfinished;
      keys.push_back(std::move(o));
    }
    json::object u;
    u["upstream"] = up->cfg().name;
    u["dialect"] = config::to_string(up->cfg().dialect);
    u["keys"] = std::move(keys);
    ups.push_back(std::move(u));
  }
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(ups);
  return json_response(200, json::serialize(out));
}

namespace {

json::object event_object(const jobs::outbox_event& e) {
  json::object o;
  o["id"] = e.id;
  o["type"] = e.type;
  o["video_id"] = e.video_id;
  o["client"] = e.client;
  o["status"] = jobs::to_string(e.status);
  o["attempts"] = e.attempts;
  o["last_error"] = e.last_error.empty() ? json::value(nullptr) : json::value(e.last_error);
  o["next_attempt_at"] = e.status == jobs::outbox_event::state::pending ? json::value((e.next_attempt_ms + 999) / 1000)
                                                                         : json::value(nullptr);
  return o;
}

}  // namespace

// GET /admin/webhooks
boost::asio::awaitable<http::response> admin_webhooks(gateway& g, const boost::urls::url_view& u, context& ctx) {
  std::optional<jobs::outbox_event::state> status;
  int limit = 100;
  for (auto p : u.params()) {
    if (p.key == "status") {
      status = jobs::outbox_state_from(p.value);
      if (!status)
        co_return error_response(g, ctx, fail(errc::invalid_value, "'status' must be pending, delivered or failed.", "status"));
    } else if (p.key == "limit") {
      auto n = whole_int(p.value);
      if (!n || *n < 1 || *n > 1000)
        co_return error_response(g, ctx, fail(errc::invalid_value, "'limit' must be an integer from 1 to 1000.", "limit"));
      limit = *n;
    } else {
      co_return error_response(
          g, ctx, fail(errc::unknown_parameter, "Unknown parameter: '" + std::string(p.key) + "'.", std::string(p.key)));
    }
  }
  auto events = co_await g.store().outbox_list(status, limit);
  json::array data;
  for (auto& e : events) data.push_back(event_object(e));
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(data);
  co_return json_response(200, json::serialize(out));
}

// POST /admin/webhooks/{event_id}/redeliver
boost::asio::awaitable<http::response> redeliver_webhook(gateway& g, const std::string& id, context& ctx) {
  auto e = co_await g.store().outbox_get(id);
  if (!e) co_return error_response(g, ctx, fail(errc::not_found, "No webhook event with id '" + id + "'.", "event_id"));
  auto again = jobs::redelivered(std::move(*e), clock::now_ms());
  co_await g.store().outbox_save(again);
  g.webhooks->wake();
  co_return json_response(200, json::serialize(event_object(again)));
}

// POST /admin/reload
http::response reload_response(const gateway& g, const reload_report& rep) {
  auto secrets = g.live->snapshot()->secrets();
  json::array errors, restart;
  for (auto& e : rep.errors) errors.push_back(json::value(dialects::scrub(e, secrets)));
  for (auto& k : rep.needs_restart) restart.push_back(json::value(k));
  if (!rep.applied) {
    std::string msg = "The new config was refused; the running config stays. " + std::to_string(rep.errors.size()) +
                      " error(s), the first: " + (rep.errors.empty() ? std::string("-") : rep.errors.front());
    auto o = json::parse(error_body(fail(errc::invalid_config, dialects::scrub(msg, secrets)))).as_object();
    o["errors"] = std::move(errors);
    return json_response(classify(errc::invalid_config).status, json::serialize(o));
  }
  json::object o;
  o["object"] = "config.reload";
  o["reloaded"] = true;
  o["source"] = rep.source;
  o["needs_restart"] = std::move(restart);
  return json_response(200, json::serialize(o));
}

}  // namespace videogate::api
