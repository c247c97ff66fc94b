#include "context.hpp"

#include "fleet.hpp"

#include "videogate/api/error_table.hpp"
#include "videogate/api/video.hpp"
#include "videogate/core/clock.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/observe/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

namespace videogate::api {

gateway::gateway(service_deps deps)
    : d(std::move(deps)),
      live(std::make_shared<routing::live>(d.cfg)),
      ids(d.id_secret),
      caller(std::make_shared<routing::upstream_caller>(d.client, d.metrics)),
      refresher(std::make_shared<jobs::refresher>(
          d.store, caller, d.metrics,
          // A count bound too (a record is a few hundred bytes at least), besides the bytes.
          jobs::make_memory_terminal_cache(static_cast<std::size_t>(d.cfg->store.cache_bytes / 256),
                                           static_cast<std::size_t>(d.cfg->store.cache_bytes)))),
      watcher(std::make_shared<jobs::watcher>(live, d.store, refresher, ids)),
      webhooks(std::make_shared<jobs::webhook_sender>(live, d.store, d.client, d.metrics)),
      creates(std::make_unique<jobs::memory_coalescer<http::response>>()),
      stamps(std::make_shared<key_stamps>()),
      started_ms(clock::now_ms()) {
  last_load_.at_ms = started_ms;
  last_load_.source = d.cfg->source;
  keep_key_states(*live->snapshot());
  refresher->on_events([w = std::weak_ptr<jobs::webhook_sender>(webhooks)] {
    if (auto s = w.lock()) s->wake();
  });
}

void gateway::keep_key_states(routing::router& rt) {
  for (auto& up : rt.upstreams()) {
    auto& ledger = *up->keys().ledger();
    std::lock_guard lk(ledger.mu);
    if (ledger.observer) continue;
    ledger.observer = [store = d.store, stamps = stamps, name = up->cfg().name](const routing::key_ref& k,
                                                                               const routing::key_state& s) {
      auto now = clock::now_ms();
      stamps->set(name, k.fp, now);
      store->save_key_state_later(record_of(name, k.fp, s, now));
    };
  }
}

void gateway::restore_key_states() {
  auto snap = live->snapshot();
  for (auto& r : d.store->blocking().key_states()) {
    auto up = snap->find(r.upstream);
    if (!up || r.health < 0 || r.health > 2) continue;
    stamps->advance(r.upstream, r.key_fp, r.updated_ms);
    up->keys().restore(r.key_fp, state_of(r));
  }
}

routing::unfinished_counts gateway::count_unfinished() const {
  routing::unfinished_counts counts;
  for (auto& j : d.store->run_blocking([](jobs::store& s) { return s.unfinished(1'000'000); }))
    ++counts[{j.upstream, j.key_fp}];
  return counts;
}

reload_report gateway::reload() {
  // One reload at a time from here to its recorded status: SIGHUP and POST /admin/reload at
  // once must not record their results in the opposite order to the one they ran in.
  std::lock_guard serial(reload_mu_);
  routing::live::reload_source src;
  src.load = d.load_config;
  src.count_unfinished = [this] { return count_unfinished(); };
  src.on_swap = [this](const config::config& next) {
    keep_key_states(*live->snapshot());
    if (d.on_reload) d.on_reload(next);
  };
  auto rep = live->reload(src);
  metrics().reload(rep.applied);
  auto secrets = live->snapshot()->secrets();
  std::lock_guard lk(load_mu_);
  auto& st = last_load_;
  st.at_ms = clock::now_ms();
  st.applied = rep.applied;
  st.startup = false;
  st.errors.clear();
  for (auto& e : rep.errors) st.errors.push_back(dialects::scrub(e, secrets));
  // A refused reload changed nothing: the running config's source and what waits for a
  // restart stay as the last applied load left them.
  if (rep.applied) {
    st.source = rep.source;
    st.needs_restart = rep.needs_restart;
  }
  return rep;
}

gateway::load_status gateway::last_load() const {
  std::lock_guard lk(load_mu_);
  return last_load_;
}

http::response json_response(int status, std::string body) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  r.set("Content-Type", "application/json");
  return r;
}

http::response error_response(const gateway& g, const context& ctx, const error& e) {
  // The request's snapshot; the current one for answers made outside a request.
  auto snap = ctx.snap ? ctx.snap : g.live->snapshot();
  auto scrubbed = e;
  scrubbed.message = dialects::scrub(e.message, snap->secrets());
  auto cls = classify(e.code);
  auto r = json_response(cls.status, error_body(scrubbed));
  if (e.code == errc::upstream_rate_limited) r.set("Retry-After", std::to_string(e.retry_after_s.value_or(30)));
  if (cls.status == 401) r.set("WWW-Authenticate", "Bearer");
  return r;
}

http::response video_response(const routing::router& rt, const jobs::job_record& j) {
  auto r = json_response(200, video_json(j));
  if (!j.terminal()) {
    auto interval = std::chrono::milliseconds(1000);
    if (auto u = rt.find(j.upstream)) interval = u->cfg().poll_interval;
    r.set("openai-poll-after-ms", std::to_string(std::max<long long>(interval.count(), 250)));
  }
  return r;
}

std::string_view bearer(const http::request& req) {
  auto h = req.header("authorization");
  if (h.size() > 7 && http::iequals(h.substr(0, 7), "bearer ")) return h.substr(7);
  return {};
}

result<void> authenticate(const http::request& req, context& ctx) {
  auto& clients = ctx.snap->cfg().clients;
  if (clients.empty()) return {};
  auto token = bearer(req);
  if (token.empty())
    return fail(errc::invalid_api_key, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.");
  // Compare against every key, always, so timing says nothing about which one matched.
  const config::client_config* found = nullptr;
  for (auto& c : clients)
    if (jobs::constant_time_equal(token, c.key) && !found) found = &c;
  if (!found) return fail(errc::invalid_api_key, "Incorrect API key provided.");
  ctx.client = found->name;
  ctx.client_cfg = found;
  return {};
}

result<void> allow_model(const context& ctx, const std::string& model) {
  if (!ctx.client_cfg) return {};
  for (auto& m : ctx.client_cfg->models)
    if (m == "*" || m == model) return {};
  return fail(errc::model_not_allowed, "This API key is not allowed to use the model '" + model + "'.", "model");
}

result<jobs::id_fields> open_id(const gateway& g, const context& ctx, std::string_view id) {
  auto f = g.ids.open(id);
  if (!f || f->client != ctx.client)
    return fail(errc::not_found, "No video found with id '" + std::string(id.substr(0, 200)) + "'.", "video_id");
  return *f;
}

std::optional<int> whole_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::string> query_param(const boost::urls::url_view& u, std::string_view name) {
  for (auto p : u.params())
    if (p.key == name) return std::string(p.value);
  return std::nullopt;
}

}  // namespace videogate::api
