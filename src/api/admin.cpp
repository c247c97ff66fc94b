#include "admin.hpp"

#include "videogate/api/error_table.hpp"
#include "videogate/dialects/dialect.hpp"

#include <boost/json.hpp>

#include "videogate/core/clock.hpp"
#include "videogate/jobs/webhooks.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace json = boost::json;

namespace videogate::api {

// GET /admin/keys
http::response admin_keys(const routing::router& rt) {
  auto now = routing::key_clock::now();
  json::array ups;
  for (auto& up : rt.upstreams()) {
    json::array keys;
    for (auto& k : up->keys().view()) {
      json::object o;
      o["fingerprint"] = k.fp;
      o["last4"] = k.last4;
      o["state"] = routing::to_string(k.state.health);
      o["reason"] = k.state.reason.empty() ? json::value(nullptr) : json::value(k.state.reason);
      auto left = k.state.health == routing::key_health::healthy
                      ? 0
                      : std::max<long long>(0, std::chrono::ceil<std::chrono::seconds>(k.state.until - now).count());
      o["cooldown_left_s"] = k.state.health == routing::key_health::cooling ? left : 0;
      o["next_probe_in_s"] = k.state.health == routing::key_health::disabled ? json::value(left) : json::value(nullptr);
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
      auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), limit);
      if (ec != std::errc{} || ptr != p.value.data() + p.value.size() || limit < 1 || limit > 1000)
        co_return error_response(g, ctx, fail(errc::invalid_value, "'limit' must be an integer from 1 to 1000.", "limit"));
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
