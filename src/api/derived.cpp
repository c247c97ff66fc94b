#include "derived.hpp"

#include "create.hpp"
#include "fleet.hpp"

#include "videogate/api/video.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/routing/failover.hpp"

#include <boost/json.hpp>

#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;

namespace videogate::api {

namespace {

/// What the client calls each kind of new job, in messages and metrics.
const char* call_name(const derive_request* d) {
  if (!d) return "remix";
  return d->what == derive_request::kind::edit ? "edit" : "extension";
}

/// A new job from one of our videos (remix, edit, extension): always on the upstream and key
/// that made the source, with the vendor's own id in place of ours. `derive`: null for a remix.
asio::awaitable<http::response> from_job(gateway& g, context& ctx, const std::string& id, const std::string& prompt,
                                         const derive_request* derive) {
  std::string call_word = call_name(derive);
  auto f = open_id(g, ctx, id);
  if (!f) {
    auto e = f.error();
    if (derive) e.param = "video";
    co_return error_response(g, ctx, e);
  }
  auto up = ctx.snap->find(f->upstream);
  auto key = up ? up->by_fingerprint(f->key_fp) : nullptr;
  if (!up || !key)
    co_return error_response(
        g, ctx, fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured."));
  // A new job: never on a key or upstream that a reload took out of the config (those only
  // finish the jobs they made).
  if (!ctx.snap->configured(up) || !up->keys().configured(key->fp))
    co_return error_response(g, ctx,
                             fail(errc::no_upstream_available,
                                  "The upstream key that made this video was removed from the config; it serves no new "
                                  "jobs, and a " + call_word + " is one."));
  // A dialect without the call refuses before anything is sent, the source's refresh included.
  auto offered = derive ? up->dialect().derive(*derive, f->upstream_id, up->cfg(), derive->seconds.value_or("4"))
                        : up->dialect().remix(f->upstream_id, prompt, up->cfg());
  if (!offered) co_return error_response(g, ctx, offered.error());
  auto original = co_await g.refresher->refresh(ctx.snap, id, *f);
  if (!original) co_return error_response(g, ctx, original.error());
  if (auto a = allow_model(ctx, original->model); !a) co_return error_response(g, ctx, a.error());
  ctx.upstream = f->upstream;
  ctx.key_fp = f->key_fp;
  auto& ucfg = up->cfg();
  // An extension's length follows the duration rules of a create (DESIGN §2) for the
  // source's model on its upstream.
  std::string seconds = original->seconds;
  bool extension = derive && derive->what == derive_request::kind::extension;
  if (extension) {
    create_request like;
    like.model = original->model;
    auto secs = dialects::pick_duration(derive->seconds, up->dialect().allowed_durations(ucfg, like), ucfg.name,
                                        original->model);
    if (!secs) co_return error_response(g, ctx, secs.error());
    seconds = std::to_string(*secs);
  }
  // An extension's call is built again with the length picked for the source's model; a
  // remix or an edit sends the call already built.
  auto call = extension ? up->dialect().derive(*derive, f->upstream_id, ucfg, seconds) : std::move(offered);
  if (!call) co_return error_response(g, ctx, call.error());
  auto r = co_await g.caller->send(*up, call_word, *call, key);
  result<dialects::job_state> st =
      r ? up->dialect().read_create(r->status, r->headers, r->body) : result<dialects::job_state>(r.error());
  if (!st) st = dialects::without_echo(st.error(), prompt);
  routing::report_result(*up, key, st);
  if (!st) {
    auto e = st.error();
    if (routing::classify_attempt(e) == routing::attempt_kind::unknown_outcome) {
      e.code = errc::upstream_timeout;
      e.message = "Upstream '" + f->upstream + "' did not answer the " + call_word + " (" + e.message + "). The " +
                  call_word + " job may exist at the vendor.";
    }
    co_return error_response(g, ctx, e);
  }
  std::optional<std::string> remixed_from;
  if (!derive) remixed_from = id;
  new_job n{original->model, prompt, original->size, seconds, remixed_from, std::nullopt};
  co_return (co_await record_new_job(g, ctx, *up, *key, *st, std::move(n))).response;
}

/// An edit or extension: of one of our videos (its upstream and key), or of an upload (the
/// route of `model`, like a create).
asio::awaitable<http::response> derive_video(gateway& g, http::request& req, context& ctx, derive_request::kind what) {
  auto parsed = parse_derive(what, req.header("content-type"), req.body);
  if (!parsed) co_return error_response(g, ctx, parsed.error());
  if (!parsed->video.id.empty()) {
    auto source = parsed->video.id;
    auto prompt = parsed->prompt;
    co_return co_await from_job(g, ctx, source, prompt, &*parsed);
  }
  create_request cr;
  cr.prompt = parsed->prompt;
  cr.model = parsed->model;
  cr.seconds = parsed->seconds;
  result<create_request> as_create(std::move(cr));
  co_return (co_await create_new(g, std::move(as_create), ctx, std::nullopt, &*parsed)).response;
}

/// The character object the SDK reads, with our id in place of the vendor's.
http::response character_response(const std::string& id, const dialects::character_state& c) {
  json::object o;
  o["id"] = id;
  o["created_at"] = c.created_at;
  o["name"] = c.name ? json::value(*c.name) : json::value(nullptr);
  return json_response(200, json::serialize(o));
}

}  // namespace

asio::awaitable<http::response> remix_video(gateway& g, const std::string& id, http::request& req, context& ctx) {
  auto prompt = parse_remix(req.header("content-type"), req.body);
  if (!prompt) {
    // An unknown id is a 404 before a bad body is a 400, as before.
    if (auto f = open_id(g, ctx, id); !f) co_return error_response(g, ctx, f.error());
    co_return error_response(g, ctx, prompt.error());
  }
  co_return co_await from_job(g, ctx, id, *prompt, nullptr);
}

asio::awaitable<http::response> edit_video(gateway& g, http::request& req, context& ctx) {
  co_return co_await derive_video(g, req, ctx, derive_request::kind::edit);
}

asio::awaitable<http::response> extend_video(gateway& g, http::request& req, context& ctx) {
  co_return co_await derive_video(g, req, ctx, derive_request::kind::extension);
}

asio::awaitable<http::response> create_character(gateway& g, http::request& req, context& ctx) {
  auto parsed = parse_character(req.header("content-type"), req.body);
  if (!parsed) co_return error_response(g, ctx, parsed.error());
  auto route = ctx.snap->route(parsed->model);
  if (!route) co_return error_response(g, ctx, route.error());
  if (auto a = allow_model(ctx, parsed->model); !a) co_return error_response(g, ctx, a.error());
  bool fleet = g.store().shared();
  routing::failover_plan plan(parsed->model);
  for (auto up : *route) {
    auto& ucfg = up->cfg();
    auto call = up->dialect().create_character(*parsed, ucfg);
    if (!call) {
      plan.upstream_unusable(call.error());
      continue;
    }
    co_await pull_key_states(g, *up);
    auto now = routing::key_clock::now();
    // A character is no job: max_jobs_per_key does not hold it back.
    auto choice = up->keys().candidates(now, false);
    plan.upstream_keys(choice, now, ucfg.poll_interval);
    std::vector<routing::probe_guard> probes;
    for (auto& k : choice.keys)
      if (k.probe) probes.emplace_back(&up->keys(), k.key);
    for (auto& pick : choice.keys) {
      auto r = co_await g.caller->send(*up, "character", *call, pick.key);
      result<dialects::character_state> st = r ? up->dialect().read_character(r->status, r->headers, r->body)
                                                : result<dialects::character_state>(r.error());
      if (!st) st = dialects::without_echo(st.error(), parsed->name);
      if (pick.probe)
        for (auto& p : probes)
          if (p.key() == pick.key) p.answered();
      routing::report_result(*up, pick.key, st, pick.probe);
      if (fleet && !st) co_await push_key_state(g, *up, *pick.key);
      if (st) {
        ctx.upstream = ucfg.name;
        ctx.key_fp = pick.key->fp;
        auto id = g.ids.seal_character({ucfg.name, pick.key->fp, st->upstream_id, ctx.client});
        if (!id)
          co_return error_response(g, ctx,
                                   fail(errc::bad_upstream_response,
                                        "Upstream '" + ucfg.name + "' made the character with an id too long to route."));
        co_return character_response(*id, *st);
      }
      auto next = plan.attempt_failed(ucfg.name, st.error());
      if (next == routing::failover_plan::step::stop) {
        auto e = plan.outcome();
        if (routing::classify_attempt(st.error()) == routing::attempt_kind::unknown_outcome)
          e.message = "Upstream '" + ucfg.name + "' did not answer the character create; the character may exist at the vendor.";
        co_return error_response(g, ctx, e);
      }
      if (next == routing::failover_plan::step::next_upstream) break;
    }
  }
  co_return error_response(g, ctx, plan.outcome());
}

asio::awaitable<http::response> get_character(gateway& g, const std::string& id, context& ctx) {
  auto f = g.ids.open_character(id);
  if (!f || f->client != ctx.client)
    co_return error_response(
        g, ctx, fail(errc::not_found, "No character found with id '" + id.substr(0, 200) + "'.", "character_id"));
  ctx.upstream = f->upstream;
  ctx.key_fp = f->key_fp;
  auto up = ctx.snap->find(f->upstream);
  auto key = up ? up->by_fingerprint(f->key_fp) : nullptr;
  if (!up || !key)
    co_return error_response(
        g, ctx, fail(errc::no_upstream_available, "The upstream key that made this character is no longer configured."));
  auto call = up->dialect().character(f->upstream_id, up->cfg());
  if (!call) co_return error_response(g, ctx, call.error());
  auto r = co_await g.caller->send(*up, "character", *call, key);
  result<dialects::character_state> st = r ? up->dialect().read_character(r->status, r->headers, r->body)
                                            : result<dialects::character_state>(r.error());
  routing::report_result(*up, key, st);
  if (!st) {
    auto e = st.error();
    if (e.code == errc::not_found) e.message = "No character found with id '" + id + "': its upstream no longer has it.";
    co_return error_response(g, ctx, e);
  }
  co_return character_response(id, *st);
}

}  // namespace videogate::api
