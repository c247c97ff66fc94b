#include "content.hpp"

#include "videogate/dialects/dialect.hpp"
#include "videogate/http/client.hpp"
#include "videogate/observe/metrics.hpp"
#include "videogate/routing/content_url.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <vector>

namespace asio = boost::asio;

namespace videogate::api {

namespace {

/// A vendor's header value passed on to the client: no control characters (CR, LF, NUL).
bool header_safe(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
}

/// The error a vendor's failed content answer stands for (its body, read up to 64 KiB).
asio::awaitable<error> read_content_error(http::client_stream& s) {
  std::string body;
  std::vector<char> buf(16 * 1024);
  while (body.size() < 64 * 1024) {
    auto n = co_await s.read_some(buf);
    if (n == 0) break;
    body.append(buf.data(), n);
  }
  co_return dialects::classify_http_error(s.status, s.headers, body);
}

}  // namespace

// GET /v1/videos/{id}/content
asio::awaitable<http::response> video_content(gateway& g, const std::string& id, const boost::urls::url_view& u,
                                              const http::request& req, context& ctx) {
  auto f = open_id(g, ctx, id);
  if (!f) co_return error_response(g, ctx, f.error());
  ctx.upstream = f->upstream;
  ctx.key_fp = f->key_fp;
  auto variant_s = query_param(u, "variant").value_or("video");
  content_variant v;
  std::string mime;
  if (variant_s == "video") {
    v = content_variant::video;
    mime = "video/mp4";
  } else if (variant_s == "thumbnail") {
    v = content_variant::thumbnail;
    mime = "image/webp";
  } else if (variant_s == "spritesheet") {
    v = content_variant::spritesheet;
    mime = "image/jpeg";
  } else {
    co_return error_response(g, ctx,
                             fail(errc::invalid_value, "'variant' must be video, thumbnail or spritesheet.", "variant"));
  }
  auto j = co_await g.refresher->refresh(ctx.snap, id, *f);
  if (!j) co_return error_response(g, ctx, j.error());
  if (j->status != video_status::completed)
    co_return error_response(
        g, ctx,
        fail(errc::not_found, "Video '" + id + "' has no content yet: its status is " + j->status + ".", "video_id"));
  auto up = ctx.snap->find(f->upstream);
  auto key = up ? up->by_fingerprint(f->key_fp) : nullptr;
  if (!up || !key)
    co_return error_response(
        g, ctx, fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured."));
  auto call = up->dialect().content(f->upstream_id, v, j->content_url, up->cfg());
  if (!call) co_return error_response(g, ctx, call.error());
  // A vendor-chosen URL (no key sent with it) says nothing about the key, and is checked
  // before it is fetched or passed on (DESIGN §8).
  bool keyed = call->absolute_url.empty();
  bool public_only = false;
  if (!keyed) {
    auto target = routing::check_content_url(call->absolute_url, up->cfg());
    if (!target) {
      spdlog::warn("upstream {} gave a content URL that was refused for video {}: {}", up->cfg().name, id,
                   target.error().message);
      co_return error_response(g, ctx, target.error());
    }
    public_only = target->public_only;
    if (up->cfg().content == config::content_mode::redirect) {
      http::response r;
      r.status = 302;
      r.set("Location", target->url);
      co_return r;
    }
  }
  auto creq = routing::upstream_request(*up, *call, key);
  creq.public_only = public_only;
  if (auto range = req.header("range"); !range.empty()) creq.headers.emplace_back("Range", std::string(range));
  auto started = std::chrono::steady_clock::now();
  auto opened = co_await g.caller->client().open(std::move(creq));
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  if (!opened) {
    if (keyed) routing::report_result(*up, key, opened);
    g.metrics().upstream(up->cfg().name, "content", std::string(to_string(opened.error().code)), took);
    co_return error_response(g, ctx, opened.error());
  }
  std::shared_ptr<http::client_stream> s = std::move(*opened);
  g.metrics().upstream(up->cfg().name, "content", s->status < 400 ? "ok" : "http_" + std::to_string(s->status), took);
  if (s->status >= 400 && s->status != 416) {
    auto e = co_await read_content_error(*s);
    if (keyed) routing::report(*up, key, &e);
    co_return error_response(g, ctx, e);
  }
  http::response r;
  r.status = s->status;
  auto ct = s->header("content-type");
  r.set("Content-Type", ct.empty() || ct == "application/octet-stream" || !header_safe(ct) ? mime : std::string(ct));
  for (auto h : {"Content-Range", "Accept-Ranges", "ETag", "Last-Modified", "Content-Disposition"})
    if (auto val = s->header(h); !val.empty() && header_safe(val)) r.set(h, std::string(val));
  r.content_length = s->content_length;
  auto metrics = g.d.metrics;
  r.stream = [s, metrics](http::body_writer& w) -> asio::awaitable<void> {
    // 256 KiB per read/write: few syscalls per MiB, and a flat memory cost per download.
    std::vector<char> buf(256 * 1024);
    for (;;) {
      auto n = co_await s->read_some(buf);
      if (n == 0) break;
      co_await w.write(std::span<const char>(buf.data(), n));
      metrics->content_bytes(n);
    }
  };
  co_return r;
}

}  // namespace videogate::api
