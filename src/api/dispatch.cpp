#include "dispatch.hpp"

#include "admin.hpp"
#include "content.hpp"
#include "derived.hpp"
#include "health.hpp"
#include "vendor_hooks.hpp"
#include "models.hpp"
#include "videos.hpp"

#include <boost/url/parse.hpp>

#include <string>
#include <vector>

namespace asio = boost::asio;

namespace videogate::api {

asio::awaitable<http::response> dispatch(gateway& g, http::request& req, context& ctx) {
  auto parsed = boost::urls::parse_origin_form(req.target);
  if (!parsed) co_return error_response(g, ctx, fail(errc::invalid_value, "The request target is not a valid path."));
  auto u = *parsed;
  std::vector<std::string> seg;
  for (auto s : u.segments()) seg.push_back(s);
  auto& m = req.method;
  auto unknown_route = [&](const char* what) {
    return error_response(g, ctx, fail(errc::not_found, std::string(what) + ": " + m + " " + std::string(u.path()) + "."));
  };
  auto method_not_allowed = [&](const char* allow) {
    auto r = error_response(g, ctx, fail(errc::method_not_allowed, "Method " + m + " is not allowed here; use " + allow + "."));
    r.set("Allow", allow);
    return r;
  };

  // Probes and scrapers: no client key.
  if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "readyz" || seg[0] == "metrics")) {
    ctx.route = "/" + seg[0];
    if (m != "GET") co_return method_not_allowed("GET");
    if (seg[0] == "metrics") co_return metrics_page(g, *ctx.snap);
    if (seg[0] == "readyz") co_return co_await readiness(g);
    co_return health(seg[0]);
  }
  // What vendors call: no client key; the unguessable token is the authorisation.
  if (seg.size() == 2 && seg[0] == "callbacks") {
    ctx.route = "/callbacks/{token}";
    if (m != "POST") co_return method_not_allowed("POST");
    co_return co_await vendor_callback(g, std::string(seg[1]), req, ctx);
  }
  if (seg.size() == 2 && seg[0] == "media") {
    ctx.route = "/media/{token}";
    if (m != "GET" && m != "HEAD") co_return method_not_allowed("GET");
    co_return co_await media(g, std::string(seg[1]), ctx);
  }
  if (!seg.empty() && seg[0] == "admin") {
    ctx.route = "/admin";
    // No admin key configured: the admin surface does not exist.
    auto& admin_key = ctx.snap->cfg().admin.key;
    if (admin_key.empty()) co_return unknown_route("Unknown route");
    // The status page: a browser signs in with Basic auth, so it asks (401) instead of hiding.
    // Basic is taken here only: a browser replays it on any request to the host, and the
    // other admin calls change state (a cross-site form could reach them).
    if (seg.size() == 1 || (seg.size() == 2 && seg[1].empty())) {
      if (!admin_authorised(req, admin_key, true)) co_return admin_challenge(g, req, ctx);
      if (m != "GET") co_return method_not_allowed("GET");
      co_return co_await status_page(g, u, ctx);
    }
    // Not this key: the admin surface does not exist.
    if (!admin_authorised(req, admin_key, false)) co_return unknown_route("Unknown route");
    if (seg.size() == 2 && seg[1] == "keys") {
      ctx.route = "/admin/keys";
      if (m != "GET") co_return method_not_allowed("GET");
      co_return admin_keys(*ctx.snap);
    }
    if (seg.size() == 2 && seg[1] == "reload") {
      ctx.route = "/admin/reload";
      if (m != "POST") co_return method_not_allowed("POST");
      co_return reload_response(g, g.reload());
    }
    if (seg.size() == 2 && seg[1] == "webhooks") {
      ctx.route = "/admin/webhooks";
      if (m != "GET") co_return method_not_allowed("GET");
      co_return co_await admin_webhooks(g, u, ctx);
    }
    if (seg.size() == 4 && seg[1] == "webhooks" && seg[3] == "redeliver") {
      ctx.route = "/admin/webhooks/{id}/redeliver";
      if (m != "POST") co_return method_not_allowed("POST");
      co_return co_await redeliver_webhook(g, std::string(seg[2]), ctx);
    }
    co_return unknown_route("Unknown admin route");
  }
  if (seg.empty() || seg[0] != "v1") co_return unknown_route("Unknown route");

  if (auto a = authenticate(req, ctx); !a) co_return error_response(g, ctx, a.error());

  if (seg.size() == 2 && seg[1] == "models") {
    ctx.route = "/v1/models";
    if (m != "GET") co_return method_not_allowed("GET");
    co_return list_models(*ctx.snap);
  }
  if (seg.size() >= 2 && seg[1] == "videos") {
    if (seg.size() == 2) {
      ctx.route = "/v1/videos";
      if (m == "POST") co_return co_await create_video(g, req, ctx);
      if (m == "GET") co_return co_await list_videos(g, u, ctx);
      co_return method_not_allowed("GET, POST");
    }
    auto& id = seg[2];
    // The calls that start from a video; no video id looks like these (ours begin `video_`).
    if (seg.size() == 3 && (id == "edits" || id == "extensions" || id == "characters")) {
      ctx.route = "/v1/videos/" + id;
      if (m != "POST") co_return method_not_allowed("POST");
      if (id == "edits") co_return co_await edit_video(g, req, ctx);
      if (id == "extensions") co_return co_await extend_video(g, req, ctx);
      co_return co_await create_character(g, req, ctx);
    }
    if (seg.size() == 4 && id == "characters") {
      ctx.route = "/v1/videos/characters/{id}";
      if (m != "GET") co_return method_not_allowed("GET");
      co_return co_await get_character(g, seg[3], ctx);
    }
    if (seg.size() == 3) {
      ctx.route = "/v1/videos/{id}";
      if (m == "GET") co_return co_await retrieve_video(g, id, ctx);
      if (m == "DELETE") co_return co_await delete_video(g, id, ctx);
      co_return method_not_allowed("GET, DELETE");
    }
    if (seg.size() == 4 && seg[3] == "content") {
      ctx.route = "/v1/videos/{id}/content";
      if (m == "GET") co_return co_await video_content(g, id, u, req, ctx);
      co_return method_not_allowed("GET");
    }
    if (seg.size() == 4 && seg[3] == "remix") {
      ctx.route = "/v1/videos/{id}/remix";
      if (m == "POST") co_return co_await remix_video(g, id, req, ctx);
      co_return method_not_allowed("POST");
    }
  }
  co_return unknown_route("Unknown route");
}

}  // namespace videogate::api
