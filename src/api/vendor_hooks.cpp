#include "vendor_hooks.hpp"

#include "videogate/api/video.hpp"
#include "videogate/core/base64.hpp"
#include "videogate/core/clock.hpp"
#include "videogate/dialects/dialect.hpp"

#include <spdlog/spdlog.h>

namespace videogate::api {

namespace {

constexpr std::string_view callback_mark = "cb:";
constexpr std::int64_t media_ttl_ms = 24LL * 3'600'000;

std::string base_of(const routing::router& rt) {
  auto b = rt.cfg().public_base_url;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b;
}

/// A sealed id's text without the "video_" prefix: the token of a URL.
std::string token_of(const std::string& sealed) { return sealed.substr(sealed.find('_') + 1); }

}  // namespace

std::function<std::string(const std::string&)> callback_url_for(const gateway& g, const routing::router& rt,
                                                                const routing::upstream& up, const std::string& client) {
  auto base = base_of(rt);
  if (base.empty() || !up.cfg().callbacks || !up.dialect().takes_callbacks()) return {};
  // The token binds the upstream, the client and the call's tag (HMAC with ids.secret); the
  // job is named by the callback's body, and then only polled if we made it.
  return [&g, base, name = up.cfg().name, client](const std::string& tag) {
    auto sealed = g.ids.seal({name, "", std::string(callback_mark) + tag, client});
    return sealed ? base + "/callbacks/" + token_of(*sealed) : std::string();
  };
}

boost::asio::awaitable<std::string> serve_image(gateway& g, const routing::router& rt, const create_request& req) {
  auto base = base_of(rt);
  auto& img = req.input_reference;
  if (base.empty() || !img) co_return std::string();
  std::string mime = img->mime, bytes = img->bytes;
  if (bytes.empty() && img->url.starts_with("data:")) {
    // data:image/png;base64,…
    auto comma = img->url.find(',');
    auto semi = img->url.find(';');
    if (comma == std::string::npos || semi == std::string::npos || semi > comma) co_return std::string();
    auto decoded = base64_decode(std::string_view(img->url).substr(comma + 1));
    if (!decoded) co_return std::string();
    bytes = std::move(*decoded);
    // The bytes say what they are, not the client's data: URL: only JPEG, PNG or WebP is served
    // (an SVG or HTML page served from the gateway's origin would be a script host).
    mime = sniff_image(bytes);
  }
  if (bytes.empty() || mime.empty()) co_return std::string();
  auto token = jobs::random_secret();  // 256 random bits, URL-safe
  co_await g.store().put_media(token, mime, std::move(bytes), clock::now_ms() + media_ttl_ms);
  co_return base + "/media/" + token;
}

boost::asio::awaitable<http::response> vendor_callback(gateway& g, const std::string& token, http::request& req,
                                                       context& ctx) {
  auto nothing = [&] { return error_response(g, ctx, fail(errc::not_found, "Unknown callback.")); };
  auto f = g.ids.open("video_" + token);
  if (!f || !f->upstream_id.starts_with(callback_mark) || !f->key_fp.empty()) co_return nothing();
  auto up = ctx.snap->find(f->upstream);
  if (!up) co_return nothing();
  auto tag = f->upstream_id.substr(callback_mark.size());
  auto uid = up->dialect().callback_job_id(req.body, tag);
  if (!uid || uid->empty() || uid->size() > 512) co_return nothing();
  ctx.upstream = f->upstream;
  // Which of the upstream's keys made it: the id is sealed from (upstream, key, job, client),
  // so the job we stored is found by trying each key's id. A job we never made stays unknown.
  for (auto* key : up->keys().keys()) {
    jobs::id_fields jf{f->upstream, key->fp, *uid, f->client};
    auto id = g.ids.seal(jf);
    if (!id) continue;
    auto known = co_await g.store().get(*id);
    if (!known) continue;
    ctx.key_fp = key->fp;
    // A poll like any other: never sooner than poll_interval after the last one.
    auto j = co_await g.refresher->refresh(ctx.snap, *id, jf);
    spdlog::info("callback from upstream {} for {}: {}", f->upstream, *id, j ? j->status : to_string(j.error().code));
    co_return json_response(200, R"({"received":true})");
  }
  co_return nothing();
}

boost::asio::awaitable<http::response> media(gateway& g, const std::string& token, context& ctx) {
  if (token.size() < 32 || token.size() > 128)
    co_return error_response(g, ctx, fail(errc::not_found, "Unknown media."));
  auto m = co_await g.store().get_media(token, clock::now_ms());
  if (!m) co_return error_response(g, ctx, fail(errc::not_found, "Unknown or expired media."));
  http::response r;
  r.status = 200;
  r.body = std::move(m->second);
  r.set("Content-Type", m->first);
  r.set("Cache-Control", "private, max-age=3600");
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Content-Security-Policy", "default-src 'none'");
  co_return r;
}

}  // namespace videogate::api
