#include "admin.hpp"

#include "videogate/api/error_table.hpp"
#include "videogate/dialects/dialect.hpp"

#include <boost/json.hpp>

#include <algorithm>
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
    u["dialect"] = up->cfg().dialect == config::dialect_kind::openai    ? "openai"
                   : up->cfg().dialect == config::dialect_kind::unified ? "unified"
                                                                        : "freesora";
    u["keys"] = std::move(keys);
    ups.push_back(std::move(u));
  }
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(ups);
  return json_response(200, json::serialize(out));
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
