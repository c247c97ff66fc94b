#include "create.hpp"

#include "fleet.hpp"
#include "vendor_hooks.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/observe/metrics.hpp"
#include "videogate/routing/failover.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <vector>

namespace asio = boost::asio;

namespace videogate::api {

create_result refused(http::response r) { return {std::move(r), create_result::kind::refused, {}, {}}; }

/// The text of a request a vendor may echo in its error messages (prompt, storyboard scenes).
std::string request_text(const create_request& cr) {
  std::string t = cr.prompt;
  if (cr.shots)
    for (auto& sh : *cr.shots) t += "\n" + sh.scene;
  return t;
}

asio::awaitable<create_result> record_new_job(gateway& g, context& ctx, routing::upstream& up,
                                              const routing::key_ref& key, const dialects::job_state& st, new_job n) {
  auto id = g.ids.seal({up.cfg().name, key.fp, st.upstream_id, ctx.client});
  if (!id) {
    // The vendor made a job we cannot route to: sending again would make another.
    auto e = fail(errc::bad_upstream_response, "The upstream's job id is too long to route.");
    co_return create_result{error_response(g, ctx, e), create_result::kind::unknown, {}, e.message};
  }
  jobs::job_record j;
  j.id = *id;
  j.client = ctx.client;
  j.upstream = up.cfg().name;
  j.key_fp = key.fp;
  j.upstream_id = st.upstream_id;
  j.model = std::move(n.model);
  j.prompt = std::move(n.prompt);
  // An edit of an upload asks for no size: the vendor's word, else the default.
  j.size = !n.size.empty() ? std::move(n.size) : st.size.value_or("720x1280");
  j.seconds = n.seconds;
  j.created_at = st.created_at.value_or(clock::now_s());
  j.remixed_from_video_id = std::move(n.remixed_from);
  j.idempotency_key = std::move(n.idempotency_key);
  g.refresher->apply(*ctx.snap, j, st, false);
  if (!j.terminal()) up.keys().job_started(key.fp);
  j.seconds = st.seconds && !st.seconds->empty() ? *st.seconds : n.seconds;
  j.updated_at_ms = clock::now_ms();
  try {
    co_await g.refresher->save(*ctx.snap, j, false, true);  // a job that ended at once makes its event too
  } catch (const error_exception& e) {
    // The vendor made the job and the store just went away: the client still gets the job's
    // id (it routes itself; a poll rebuilds the record), never a second create on retry.
    if (e.err.code != errc::store_unavailable) throw;
    spdlog::warn("request {}: the store went away after upstream {} made job {}; answering the job without its record",
                 ctx.request_id, j.upstream, j.id);
  }
  g.metrics().job_created(j.upstream);
  co_return create_result{video_response(*ctx.snap, j), create_result::kind::created, j.id, {}};
}

asio::awaitable<create_result> create_new(gateway& g, result<create_request> parsed, context& ctx,
                                          std::optional<std::string> idempotency_key, const derive_request* derive) {
  if (!parsed) co_return refused(error_response(g, ctx, parsed.error()));
  auto& cr = *parsed;
  auto route = ctx.snap->route(cr.model);
  if (!route) co_return refused(error_response(g, ctx, route.error()));
  if (auto a = allow_model(ctx, cr.model); !a) co_return refused(error_response(g, ctx, a.error()));
  if (cr.input_reference && !cr.input_reference->file_id.empty())
    for (auto up : *route)
      if (up->dialect().kind() != config::dialect_kind::openai)
        co_return refused(error_response(g, ctx, fail(errc::unsupported_value,
                                              "'input_reference[file_id]' needs an openai-dialect upstream; upstream '" +
                                                  up->cfg().name + "' cannot use it. Send the image or an image_url.",
                                              "input_reference")));
  auto echo_text = request_text(cr);

  // A storyboard without `seconds` asks for the length of its shots.
  auto asked_seconds = cr.seconds;
  if (!asked_seconds && cr.shots) {
    double total = 0;
    for (auto& sh : *cr.shots) total += sh.duration;
    asked_seconds = std::to_string(static_cast<int>(std::ceil(total)));
  }
  routing::failover_plan plan(cr.model);
  std::optional<std::string> served_image;  // an upload served to URL-only vendors, made once
  for (auto up : *route) {
    auto& ucfg = up->cfg();
    auto upstream_model = dialects::mapped_model(ucfg, cr.model);
    auto secs = dialects::pick_duration(asked_seconds, up->dialect().allowed_durations(ucfg, cr), ucfg.name, cr.model);
    if (!secs) {
      plan.upstream_unusable(secs.error());
      continue;
    }
    // Sora's rule (DESIGN §2): high resolution needs a pro model. Other makers' models (Veo,
    // Hailuo, Seedance, Wan, Kling) say what they make in their own fields.
    bool sora = !config::task_api(ucfg.dialect) || upstream_model.find("sora") != std::string::npos;
    if (auto sz = sora ? dialects::check_size_for_model(cr.size, upstream_model) : result<void>{}; !sz) {
      plan.upstream_unusable(sz.error());
      continue;
    }
    auto seconds = std::to_string(*secs);
    dialects::create_extras extras;
    extras.callback_url = callback_url_for(g, *ctx.snap, *up, ctx.client);
    if (up->dialect().needs_image_url() && cr.input_reference) {
      if (!served_image) served_image = co_await serve_image(g, *ctx.snap, cr);
      extras.image_url = *served_image;
    }
    auto call = derive ? up->dialect().derive(*derive, {}, ucfg, seconds) : up->dialect().create(cr, ucfg, seconds, extras);
    if (!call) {
      plan.upstream_unusable(call.error());
      continue;
    }
    // A fleet: the key states other replicas learnt first (a 429 there cools the key here),
    // and max_jobs_per_key judged by the shared store rather than this process's counts.
    bool fleet = g.store().shared();
    co_await pull_key_states(g, *up);
    auto now = routing::key_clock::now();
    auto choice = up->keys().candidates(now, !fleet);
    plan.upstream_keys(choice, now, ucfg.poll_interval);
    // A picked probe is answered (reported) or given back (guard), whatever ends this request.
    std::vector<routing::probe_guard> probes;
    for (auto& k : choice.keys)
      if (k.probe) probes.emplace_back(&up->keys(), k.key);
    for (auto& pick : choice.keys) {
      fleet_claim claim;
      if (!co_await claim_for_attempt(g, *up, pick, claim)) {
        // Another replica holds this key's last slot (or its probe): as a capped key here.
        routing::key_pool::choice capped;
        capped.capped = true;
        plan.upstream_keys(capped, now, ucfg.poll_interval);
        continue;
      }
      auto r = co_await g.caller->send(*up, "create", *call, pick.key);
      result<dialects::job_state> st =
          r ? up->dialect().read_created(*call, r->status, r->headers, r->body) : result<dialects::job_state>(r.error());
      if (!st) st = dialects::without_echo(st.error(), echo_text);
      if (pick.probe)
        for (auto& p : probes)
          if (p.key() == pick.key) p.answered();  // the report below settles it
      routing::report_result(*up, pick.key, st, pick.probe);
      if (fleet && !st) co_await push_key_state(g, *up, *pick.key);
      if (st) {
        ctx.upstream = ucfg.name;
        ctx.key_fp = pick.key->fp;
        // Named, not a braced temporary inside the co_await expression: GCC 12 destroys such
        // temporaries twice.
        new_job n{cr.model, cr.prompt, derive ? std::string() : cr.size, seconds, std::nullopt, idempotency_key};
        auto made = co_await record_new_job(g, ctx, *up, *pick.key, *st, std::move(n));
        // The stored job now counts against the key's cap on its own.
        co_await release_claim(g, claim, made.outcome != create_result::kind::created);
        co_return made;
      }
      bool maybe_made = routing::classify_attempt(st.error()) == routing::attempt_kind::unknown_outcome;
      co_await release_claim(g, claim, maybe_made);
      auto next = plan.attempt_failed(ucfg.name, st.error());
      if (next == routing::failover_plan::step::stop) {
        auto e = plan.outcome();
        if (routing::classify_attempt(st.error()) == routing::attempt_kind::unknown_outcome)
          co_return create_result{error_response(g, ctx, e), create_result::kind::unknown, {}, e.message};
        co_return refused(error_response(g, ctx, e));
      }
      if (next == routing::failover_plan::step::next_upstream) break;
    }
  }
  co_return refused(error_response(g, ctx, plan.outcome()));
}


}  // namespace videogate::api
