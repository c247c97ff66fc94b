#include "videos.hpp"

#include "create.hpp"

#include "fleet.hpp"
#include "vendor_hooks.hpp"

#include "videogate/api/video.hpp"
#include "videogate/core/clock.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/observe/metrics.hpp"
#include "videogate/routing/failover.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;

namespace videogate::api {

namespace {

/// What makes two creates the same request, whatever their encoding: a retry re-encodes its
/// multipart body with a new boundary (or switches to JSON), and is still the same create.
std::string request_fingerprint(const result<create_request>& parsed, const http::request& req) {
  if (!parsed) return jobs::key_fingerprint(std::string(req.header("content-type")) + '\n' + req.body);
  auto& c = *parsed;
  json::object o;
  o["prompt"] = c.prompt;
  o["model"] = c.model;
  o["size"] = c.size;
  if (c.seconds) o["seconds"] = *c.seconds;
  if (c.watermark) o["watermark"] = *c.watermark;
  if (c.is_private) o["private"] = *c.is_private;
  if (c.style) o["style"] = *c.style;
  if (c.shots) {
    json::array shots;
    for (auto& sh : *c.shots) shots.push_back(json::object{{"scene", sh.scene}, {"duration", sh.duration}});
    o["shots"] = std::move(shots);
  }
  if (c.vendor_params) o["vendor_params"] = *c.vendor_params;
  if (auto& ir = c.input_reference)
    o["input_reference"] = json::object{{"bytes", jobs::key_fingerprint(ir->bytes)}, {"url", ir->url}, {"file_id", ir->file_id}};
  return jobs::key_fingerprint(json::serialize(o));
}

/// The answer to a retried create whose first try may have made a job: the same 504.
http::response may_exist(gateway& g, const context& ctx, const jobs::idempotency_record& rec) {
  auto msg = rec.message.empty() ? std::string("A create with this Idempotency-Key was sent to the vendor and its outcome is "
                                               "unknown: the video job may exist. It is not sent again.")
                                 : rec.message;
  return error_response(g, ctx, fail(errc::upstream_timeout, msg));
}

/// A create under an Idempotency-Key (DESIGN §4): the key is recorded before the vendor is
/// called; a retry finds the job, the same "may exist" 504, or (another body) a 422.
asio::awaitable<http::response> create_idempotent(gateway& g, http::request& req, context& ctx, const std::string& idem) {
  auto now = clock::now_s();
  auto window_start = now - 24 * 3600;
  auto parsed = parse_create(req.header("content-type"), req.body);
  jobs::idempotency_record rec;
  rec.client = ctx.client;
  rec.key = idem;
  rec.fingerprint = request_fingerprint(parsed, req);
  rec.created_at = now;
  auto prior = co_await g.store().claim_idempotency(rec, window_start);
  // A fleet: another replica may be sending this very create now. Its record says pending
  // until it settles; wait for that (within this request's time) rather than answer "may exist".
  if (g.store().shared()) {
    auto patience = std::chrono::duration_cast<std::chrono::seconds>(ctx.snap->cfg().limits.request_timeout).count();
    asio::steady_timer wait(co_await asio::this_coro::executor);
    while (prior && prior->status == jobs::idempotency_record::state::pending && prior->fingerprint == rec.fingerprint &&
           clock::now_s() - prior->created_at <= patience) {
      wait.expires_after(std::chrono::milliseconds(50));
      co_await wait.async_wait(asio::use_awaitable);
      prior = co_await g.store().claim_idempotency(rec, window_start);  // ours now if the other let go
    }
  }
  if (prior) {
    if (prior->fingerprint != rec.fingerprint)
      co_return error_response(g, ctx, fail(errc::idempotency_key_reused,
                                            "This Idempotency-Key was used with a different request body in the last "
                                            "24 hours; use a new key for a new request.",
                                            "Idempotency-Key"));
    if (prior->status != jobs::idempotency_record::state::done) co_return may_exist(g, ctx, *prior);
    auto j = co_await g.store().get(prior->video_id);
    if (j && j->status != video_status::deleted) {
      ctx.upstream = j->upstream;
      ctx.key_fp = j->key_fp;
      co_return video_response(*ctx.snap, *j);
    }
    // Its job was deleted since: the key makes a new one (claimed again, as pending).
    co_await g.store().settle_idempotency(rec);
  } else if (auto found = co_await g.store().find_idempotent(ctx.client, idem, window_start)) {
    // A job made before keys were recorded on their own.
    rec.status = jobs::idempotency_record::state::done;
    rec.video_id = found->id;
    co_await g.store().settle_idempotency(rec);
    ctx.upstream = found->upstream;
    ctx.key_fp = found->key_fp;
    co_return video_response(*ctx.snap, *found);
  }
  auto res = co_await create_new(g, std::move(parsed), ctx, idem);
  switch (res.outcome) {
    case create_result::kind::created:
      rec.status = jobs::idempotency_record::state::done;
      rec.video_id = res.video_id;
      try {
        co_await g.store().settle_idempotency(rec);
      } catch (const error_exception& e) {
        // The job exists and the client hears it; a retry of the key finds the record
        // pending and answers "may exist" rather than make a second job.
        if (e.err.code != errc::store_unavailable) throw;
        spdlog::warn("request {}: the store went away before the Idempotency-Key record of {} was settled",
                     ctx.request_id, res.video_id);
      }
      break;
    case create_result::kind::unknown:
      rec.status = jobs::idempotency_record::state::unknown;
      rec.message = res.message;
      co_await g.store().settle_idempotency(rec);
      break;
    case create_result::kind::refused:
      co_await g.store().release_idempotency(rec.client, rec.key);
      break;
  }
  co_return res.response;
}

}  // namespace

// POST /v1/videos
asio::awaitable<http::response> create_video(gateway& g, http::request& req, context& ctx) {
  std::string idem(req.header("idempotency-key"));
  if (idem.empty()) {
    auto parsed = parse_create(req.header("content-type"), req.body);  // named: see record_new_job's caller
    co_return (co_await create_new(g, std::move(parsed), ctx, std::nullopt)).response;
  }
  if (idem.size() > 255)
    co_return error_response(
        g, ctx, fail(errc::invalid_value, "The Idempotency-Key header must be at most 255 characters.", "Idempotency-Key"));
  // The same key from the same client is one job, even while the first request is still in
  // flight: duplicates wait for it and get its answer; later ones find the stored record.
  jobs::coalescer<http::response>::work work = [&g, &req, &ctx, idem]() -> asio::awaitable<http::response> {
    co_return co_await create_idempotent(g, req, ctx, idem);
  };
  co_return co_await g.creates->run(ctx.client + '\n' + idem, work);
}

// GET /v1/videos/{id}
asio::awaitable<http::response> retrieve_video(gateway& g, const std::string& id, context& ctx) {
  auto f = open_id(g, ctx, id);
  if (!f) co_return error_response(g, ctx, f.error());
  ctx.upstream = f->upstream;
  ctx.key_fp = f->key_fp;
  auto j = co_await g.refresher->refresh(ctx.snap, id, *f);
  if (!j) co_return error_response(g, ctx, j.error());
  co_return video_response(*ctx.snap, *j);
}

// GET /v1/videos
asio::awaitable<http::response> list_videos(gateway& g, const boost::urls::url_view& u, context& ctx) {
  jobs::list_query q;
  q.client = ctx.client;
  if (auto l = query_param(u, "limit")) {
    auto v = whole_int(*l);
    if (!v || *v < 1 || *v > 100)
      co_return error_response(g, ctx, fail(errc::invalid_value, "'limit' must be an integer from 1 to 100.", "limit"));
    q.limit = *v;
  }
  if (auto o = query_param(u, "order")) {
    if (*o != "asc" && *o != "desc")
      co_return error_response(g, ctx, fail(errc::invalid_value, "'order' must be 'asc' or 'desc'.", "order"));
    q.descending = *o == "desc";
  }
  if (auto a = query_param(u, "after"); a && !a->empty()) q.after = *a;
  for (auto p : u.params())
    if (p.key != "limit" && p.key != "order" && p.key != "after")
      co_return error_response(
          g, ctx, fail(errc::unknown_parameter, "Unknown parameter: '" + std::string(p.key) + "'.", std::string(p.key)));
  auto page = co_await g.store().list(q);
  std::string body = "{\"object\":\"list\",\"data\":[";
  for (std::size_t i = 0; i < page.data.size(); ++i) {
    if (i) body += ',';
    body += video_json(page.data[i]);
  }
  body += "],\"first_id\":";
  body += page.data.empty() ? "null" : json::serialize(json::value(page.data.front().id));
  body += ",\"last_id\":";
  body += page.data.empty() ? "null" : json::serialize(json::value(page.data.back().id));
  body += ",\"has_more\":";
  body += page.has_more ? "true" : "false";
  body += "}";
  co_return json_response(200, std::move(body));
}

namespace {
/// A vendor's 2xx answer to a delete: empty or JSON (an HTML page is a proxy, not the vendor).
bool deletion_readable(std::string_view body) {
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return true;
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  return !ec && (v.is_object() || v.is_array());
}
}  // namespace

// DELETE /v1/videos/{id}
asio::awaitable<http::response> delete_video(gateway& g, const std::string& id, context& ctx) {
  auto f = open_id(g, ctx, id);
  if (!f) co_return error_response(g, ctx, f.error());
  ctx.upstream = f->upstream;
  ctx.key_fp = f->key_fp;
  auto known = co_await g.store().get(id);
  if (known && known->status == video_status::deleted)
    co_return error_response(
        g, ctx, fail(errc::not_found, "No video found with id '" + id + "': it was already deleted.", "video_id"));
  bool vendor_had = false;
  if (auto up = ctx.snap->find(f->upstream)) {
    if (auto call = up->dialect().remove(f->upstream_id)) {
      auto key = up->by_fingerprint(f->key_fp);
      if (!key)
        co_return error_response(
            g, ctx, fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured."));
      auto r = co_await g.caller->send(*up, "delete", *call, key);
      if (!r) {
        routing::report_result(*up, key, r);
        co_return error_response(g, ctx, r.error());
      }
      if (r->status >= 400 && r->status != 404) {
        auto e = dialects::classify_http_error(r->status, r->headers, r->body);
        routing::report(*up, key, &e);
        co_return error_response(g, ctx, e);
      }
      if (r->status >= 200 && r->status < 300 && !deletion_readable(r->body)) {
        // Not a delete confirmation (an HTML page from a proxy): the job may still exist.
        auto e = fail(errc::bad_upstream_response, "Upstream '" + f->upstream +
                                                       "' answered the delete with something that is not JSON; the "
                                                       "video was not deleted.");
        routing::report(*up, key, &e);
        co_return error_response(g, ctx, e);
      }
      routing::report(*up, key, nullptr);
      if (r->status >= 200 && r->status < 300) vendor_had = true;
    }
  }
  if (!known && !vendor_had)
    co_return error_response(g, ctx, fail(errc::not_found, "No video found with id '" + id + "'.", "video_id"));
  if (known && !known->terminal())
    if (auto up = ctx.snap->find(f->upstream)) up->keys().job_finished(f->key_fp);  // frees its cap
  g.refresher->terminal().forget(id);
  // Always a tombstone, never an erase: a poll that ends later, or a vendor that did not really
  // delete, cannot bring the job back (the refresher never writes over a tombstone).
  {
    jobs::job_record j = known.value_or(jobs::job_record{});
    j.id = id;
    j.client = f->client;
    j.upstream = f->upstream;
    j.key_fp = f->key_fp;
    j.upstream_id = f->upstream_id;
    j.status = video_status::deleted;
    j.updated_at_ms = clock::now_ms();
    co_await g.store().put(j);
  }
  json::object o;
  o["id"] = id;
  o["object"] = "video.deleted";
  o["deleted"] = true;
  co_return json_response(200, json::serialize(o));
}

}  // namespace videogate::api
