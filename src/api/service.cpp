#include "videogate/api/service.hpp"

#include "videogate/api/error_table.hpp"
#include "videogate/api/video.hpp"
#include "videogate/core/singleflight.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/http/client.hpp"
#include "videogate/jobs/async_store.hpp"
#include "videogate/jobs/ids.hpp"
#include "videogate/observe/log.hpp"
#include "videogate/observe/metrics.hpp"
#include "videogate/routing/router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <cmath>
#include <chrono>
#include <random>
#include <utility>

namespace asio = boost::asio;
namespace json = boost::json;

namespace videogate::api {

namespace {

using clock = std::chrono::system_clock;

std::int64_t now_s() { return std::chrono::duration_cast<std::chrono::seconds>(clock::now().time_since_epoch()).count(); }
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch()).count();
}

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

/// What one request carries through its handler.
struct context {
  /// The config snapshot this request runs on, from start to end (a reload swaps in a new one
  /// for later requests; this one stays alive as long as the request needs it).
  std::shared_ptr<routing::router> snap;
  std::string request_id;
  std::string client;           ///< client name; "" without client auth
  const config::client_config* client_cfg = nullptr;
  std::string route = "unknown";  ///< route template, for logs and metrics
  std::string upstream;           ///< for the access log
  std::string key_fp;
};

http::response json_response(int status, std::string body) {
  http::response r;
  r.status = status;
  r.body = std::move(body);
  r.set("Content-Type", "application/json");
  return r;
}

std::optional<std::string> query_param(const boost::urls::url_view& u, std::string_view name) {
  for (auto p : u.params())
    if (p.key == name) return std::string(p.value);
  return std::nullopt;
}

}  // namespace

struct service::impl : std::enable_shared_from_this<service::impl> {
  service_deps d;
  std::atomic<std::shared_ptr<routing::router>> current;
  std::mutex reload_mu;  ///< one reload at a time
  jobs::id_codec ids;
  singleflight<result<jobs::job_record>> polls;
  singleflight<http::response> creates;
  std::atomic<bool> stopping{false};
  std::mutex terminal_mu;
  std::unordered_map<std::string, jobs::job_record> terminal_jobs;
  static constexpr std::size_t max_terminal_jobs = 50'000;
  std::mutex unknown_mu;
  std::set<std::string> unknown_words;
  std::chrono::milliseconds watch_period{1000};
  static constexpr int watch_per_upstream = 4;

  explicit impl(service_deps deps)
      : d(std::move(deps)), current(std::make_shared<routing::router>(d.cfg)), ids(d.id_secret) {}

  std::shared_ptr<routing::router> snapshot() const { return current.load(); }
  /// The request's snapshot; the current one for answers made outside a request.
  std::shared_ptr<routing::router> snap_of(const context& ctx) const { return ctx.snap ? ctx.snap : snapshot(); }

  // ---- responses --------------------------------------------------------------------

  http::response error_response(const context& ctx, const error& e) const {
    auto scrubbed = e;
    scrubbed.message = dialects::scrub(e.message, snap_of(ctx)->secrets());
    auto cls = classify(e.code);
    auto r = json_response(cls.status, error_body(scrubbed));
    if (e.code == errc::upstream_rate_limited) r.set("Retry-After", std::to_string(e.retry_after_s.value_or(30)));
    if (cls.status == 401) r.set("WWW-Authenticate", "Bearer");
    (void)ctx;
    return r;
  }

  http::response video_response(const routing::router& rt, const jobs::job_record& j) const {
    auto r = json_response(200, video_json(j));
    if (!j.terminal()) {
      auto interval = std::chrono::milliseconds(1000);
      if (auto u = rt.find(j.upstream)) interval = u->cfg().poll_interval;
      r.set("openai-poll-after-ms", std::to_string(std::max<long long>(interval.count(), 250)));
    }
    return r;
  }

  // ---- auth -------------------------------------------------------------------------

  static std::string_view bearer(const http::request& req) {
    auto h = req.header("authorization");
    if (h.size() > 7 && http::iequals(h.substr(0, 7), "bearer ")) return h.substr(7);
    return {};
  }

  result<void> authenticate(const http::request& req, context& ctx) const {
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

  result<void> allow_model(const context& ctx, const std::string& model) const {
    if (!ctx.client_cfg) return {};
    for (auto& m : ctx.client_cfg->models)
      if (m == "*" || m == model) return {};
    return fail(errc::model_not_allowed, "This API key is not allowed to use the model '" + model + "'.", "model");
  }

  // ---- upstream I/O -------------------------------------------------------------------

  http::client_request upstream_request(const routing::upstream& up, const dialects::upstream_call& call,
                                        const routing::key_ref* key) const {
    http::client_request r;
    r.method = call.method;
    r.url = call.absolute_url.empty() ? up.cfg().base_url + call.path : call.absolute_url;
    r.headers = call.headers;
    if (key && call.absolute_url.empty()) r.headers.emplace_back("Authorization", "Bearer " + key->secret);
    r.body = call.body;
    r.connect_timeout = up.cfg().connect_timeout;
    r.timeout = up.cfg().timeout;
    return r;
  }

  asio::awaitable<result<http::client_response>> call_upstream(routing::upstream& up, const std::string& op,
                                                               const dialects::upstream_call& call,
                                                               const routing::key_ref* key) {
    auto started = std::chrono::steady_clock::now();
    if (key) up.keys().request_started(*key);
    auto r = co_await d.client->send(upstream_request(up, call, key));
    if (key) up.keys().request_finished(*key);
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    std::string outcome = r ? (r->status < 400 ? "ok" : "http_" + std::to_string(r->status)) : std::string(to_string(r.error().code));
    d.metrics->upstream(up.cfg().name, op, outcome, took);
    if (!r) {
      spdlog::warn("upstream {} {} with key {} failed: {}", up.cfg().name, op, key ? key->fp : "-", r.error().message);
    }
    co_return r;
  }

  /// Tells the key pool what an answer said about the key (DESIGN §5).
  static void note(routing::upstream& up, const routing::key_ref* key, const error* e, bool probe = false) {
    if (!key) return;
    std::optional<std::chrono::seconds> retry_after;
    if (e && e->retry_after_s) retry_after = std::chrono::seconds(*e->retry_after_s);
    up.keys().report(*key, e ? routing::event_for(e->code) : routing::key_event::success, routing::key_clock::now(),
                     retry_after, probe);
  }

  /// Gives an unanswered half-open probe back (request ended, client gone, shutdown), so the
  /// key is probed again rather than never.
  struct probe_guard {
    routing::key_pool* pool = nullptr;
    const routing::key_ref* key = nullptr;
    probe_guard(routing::key_pool* p, const routing::key_ref* k) : pool(p), key(k) {}
    probe_guard(probe_guard&& o) noexcept : pool(std::exchange(o.pool, nullptr)), key(o.key) {}
    probe_guard(const probe_guard&) = delete;
    ~probe_guard() {
      if (pool) pool->release_probe(*key);
    }
  };

  template <class R>
  static void note_result(routing::upstream& up, const routing::key_ref* key, const R& r, bool probe = false) {
    if (r) {
      note(up, key, nullptr, probe);
    } else {
      auto e = r.error();
      note(up, key, &e, probe);
    }
  }

  // ---- jobs -----------------------------------------------------------------------------

  /// Opens an id and checks that it belongs to this client. Forged, tampered and other
  /// clients' ids are all the same 404.
  result<jobs::id_fields> open_id(const context& ctx, std::string_view id) const {
    auto f = ids.open(id);
    if (!f || f->client != ctx.client)
      return fail(errc::not_found, "No video found with id '" + std::string(id.substr(0, 200)) + "'.", "video_id");
    return *f;
  }

  // Completed and failed jobs never change again: a bounded in-memory copy answers their
  // polls without the hop to the store thread (the store stays the source of truth).
  std::optional<jobs::job_record> cached_terminal(const std::string& id) {
    std::lock_guard lk(terminal_mu);
    auto it = terminal_jobs.find(id);
    if (it == terminal_jobs.end()) return std::nullopt;
    return it->second;
  }
  void remember_terminal(const jobs::job_record& j) {
    std::lock_guard lk(terminal_mu);
    if (terminal_jobs.size() >= max_terminal_jobs) terminal_jobs.erase(terminal_jobs.begin());
    terminal_jobs.insert_or_assign(j.id, j);
  }
  void forget_terminal(const std::string& id) {
    std::lock_guard lk(terminal_mu);
    terminal_jobs.erase(id);
  }

  /// Logs a vendor status word we do not know, once per upstream and word (DESIGN §2).
  void note_unknown_status(const std::string& upstream, const std::string& word) {
    std::lock_guard lk(unknown_mu);
    if (unknown_words.size() < 1000 && unknown_words.insert(upstream + '\n' + word).second)
      spdlog::warn("upstream {} reported the unknown status '{}'; counting it as in_progress", upstream, word.substr(0, 64));
  }

  /// `counted`: the job is counted in its key's unfinished jobs (max_jobs_per_key).
  void apply_state(const routing::router& rt, jobs::job_record& j, const dialects::job_state& s, bool counted = true) {
    bool was_terminal = j.terminal();
    if (s.raw_status) note_unknown_status(j.upstream, *s.raw_status);
    j.status = s.status;
    j.progress = s.progress;
    if (s.seconds && !s.seconds->empty()) j.seconds = *s.seconds;
    if (s.completed_at) j.completed_at = s.completed_at;
    if (s.expires_at) j.expires_at = s.expires_at;
    if (s.content_url) j.content_url = s.content_url;
    if (j.status == "completed") {
      j.progress = 100;
      if (!j.completed_at) j.completed_at = now_s();
    }
    if (j.status == "failed") {
      j.error_code = s.error_code.value_or("video_generation_failed");
      j.error_message = dialects::scrub(s.error_message.value_or("The upstream vendor reported the job as failed."), rt.secrets());
    }
    if (!was_terminal && j.terminal()) {
      d.metrics->job_finished(j.upstream, j.status == "completed");
      if (counted)
        if (auto up = rt.find(j.upstream)) up->keys().job_finished(j.key_fp);  // the ledger every snapshot shares
    }
  }

  /// The job as the vendor sees it now, at most once per poll_interval, one vendor call for
  /// any number of concurrent pollers; terminal states are never asked about again.
  asio::awaitable<result<jobs::job_record>> refresh(std::shared_ptr<routing::router> snap, const std::string& id,
                                                    const jobs::id_fields& f) {
    if (auto hot = cached_terminal(id)) co_return *hot;  // no store hop for finished jobs
    auto cached = co_await d.store->get(id);
    if (cached && cached->terminal() && cached->status != "deleted") remember_terminal(*cached);
    if (cached && cached->status == "deleted")
      co_return fail(errc::not_found, "No video found with id '" + id + "': it was deleted.", "video_id");
    auto up = snap->find(f.upstream);
    if (cached && (cached->terminal() || !up ||
                   now_ms() - cached->updated_at_ms < up->cfg().poll_interval.count()))
      co_return *cached;
    if (!up) co_return fail(errc::no_upstream_available, "The upstream that made this video is no longer configured.");
    auto self = shared_from_this();
    // Named, not written inside the co_await expression: GCC 12 double-destroys capturing
    // lambdas that are temporaries of a co_await expression.
    auto work = [self, this, snap, id, f, up, cached]() -> asio::awaitable<result<jobs::job_record>> {
      auto key = up->by_fingerprint(f.key_fp);
      if (!key)
        co_return fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured.");
      auto r = co_await call_upstream(*up, "status", up->dialect().status(f.upstream_id), key);
      result<dialects::job_state> st = r ? up->dialect().read_status(r->status, r->headers, r->body)
                                         : result<dialects::job_state>(r.error());
      note_result(*up, key, st);
      if (!st) {
        // A vendor hiccup while we know the job: answer with what we know rather than fail
        // every poller; a vendor that no longer knows the job is a 404.
        if (cached && st.error().code != errc::not_found) co_return *cached;
        co_return st.error();
      }
      jobs::job_record j;
      if (cached) {
        j = *cached;
      } else {
        // Made through another replica sharing our config: rebuild what the id tells.
        j.id = id;
        j.client = f.client;
        j.upstream = f.upstream;
        j.key_fp = f.key_fp;
        j.upstream_id = f.upstream_id;
        j.created_at = st->created_at.value_or(now_s());
        j.seconds = st->seconds.value_or("");
      }
      apply_state(*snap, j, *st, cached.has_value());
      j.updated_at_ms = now_ms();
      co_await d.store->put(j);
      if (j.terminal()) remember_terminal(j);
      co_return j;
    };
    co_return co_await polls.run(id, work);
  }

  // ---- handlers -------------------------------------------------------------------------

  // POST /v1/videos
  asio::awaitable<http::response> create_video(http::request& req, context& ctx) {
    std::string idem(req.header("idempotency-key"));
    if (idem.empty()) co_return co_await create_new(req, ctx, std::nullopt);
    if (idem.size() > 255)
      co_return error_response(ctx, fail(errc::invalid_value, "The Idempotency-Key header must be at most 255 characters.",
                                         "Idempotency-Key"));
    // The same key from the same client is one job, even while the first request is still in
    // flight: duplicates wait for it and get its answer; later ones find the stored job.
    auto work = [this, &req, &ctx, idem]() -> asio::awaitable<http::response> {
      auto found = co_await d.store->find_idempotent(ctx.client, idem, now_s() - 24 * 3600);
      if (found) {
        ctx.upstream = found->upstream;
        ctx.key_fp = found->key_fp;
        co_return video_response(*ctx.snap, *found);
      }
      co_return co_await create_new(req, ctx, idem);
    };
    co_return co_await creates.run(ctx.client + '\n' + idem, work);
  }

  asio::awaitable<http::response> create_new(http::request& req, context& ctx, std::optional<std::string> idempotency_key) {
    auto parsed = parse_create(req.header("content-type"), req.body);
    if (!parsed) co_return error_response(ctx, parsed.error());
    auto& cr = *parsed;
    auto route = ctx.snap->route(cr.model);
    if (!route) co_return error_response(ctx, route.error());
    if (auto a = allow_model(ctx, cr.model); !a) co_return error_response(ctx, a.error());
    if (cr.input_reference && !cr.input_reference->file_id.empty())
      for (auto up : *route)
        if (up->dialect().kind() != config::dialect_kind::openai)
          co_return error_response(ctx, fail(errc::unsupported_value,
                                             "'input_reference[file_id]' needs an openai-dialect upstream; upstream '" +
                                                 up->cfg().name + "' cannot use it. Send the image or an image_url.",
                                             "input_reference"));

    // A storyboard without `seconds` asks for the length of its shots.
    auto asked_seconds = cr.seconds;
    if (!asked_seconds && cr.shots) {
      double total = 0;
      for (auto& sh : *cr.shots) total += sh.duration;
      asked_seconds = std::to_string(static_cast<int>(std::ceil(total)));
    }
    std::optional<error> first_invalid, rate_limited, last_failure;
    std::optional<long long> retry_after;  // the soonest any key of the route is usable again
    auto wait_at_least = [&](long long secs) { retry_after = std::min(retry_after.value_or(secs), std::max(1LL, secs)); };
    bool attempted = false;
    for (auto up : *route) {
      auto& ucfg = up->cfg();
      auto upstream_model = dialects::mapped_model(ucfg, cr.model);
      auto secs = dialects::pick_duration(asked_seconds, up->dialect().allowed_durations(ucfg, cr), ucfg.name, cr.model);
      if (!secs) { if (!first_invalid) first_invalid = secs.error(); continue; }
      if (auto sz = dialects::check_size_for_model(cr.size, upstream_model); !sz) {
        if (!first_invalid) first_invalid = sz.error();
        continue;
      }
      auto seconds = std::to_string(*secs);
      auto call = up->dialect().create(cr, ucfg, seconds);
      if (!call) { if (!first_invalid) first_invalid = call.error(); continue; }
      auto now = routing::key_clock::now();
      auto choice = up->keys().candidates(now);
      if (choice.soonest)
        wait_at_least(std::chrono::ceil<std::chrono::seconds>(*choice.soonest - now).count());
      if (choice.capped)  // a cap frees when a job finishes: about one poll interval away
        wait_at_least(std::chrono::ceil<std::chrono::seconds>(ucfg.poll_interval).count());
      // A picked probe is answered (note) or given back (guard), whatever ends this request.
      std::vector<probe_guard> probes;
      for (auto& k : choice.keys)
        if (k.probe) probes.emplace_back(&up->keys(), k.key);
      bool next_upstream = false;
      for (std::size_t i = 0; i < choice.keys.size(); ++i) {
        auto key = choice.keys[i].key;
        if (next_upstream) continue;
        attempted = true;
        auto r = co_await call_upstream(*up, "create", *call, key);
        result<dialects::job_state> st = r ? up->dialect().read_create(r->status, r->headers, r->body)
                                           : result<dialects::job_state>(r.error());
        bool probe = choice.keys[i].probe;
        if (probe)
          for (auto& g : probes)
            if (g.key == key) g.pool = nullptr;  // answered: the report below settles it
        note_result(*up, key, st, probe);
        if (st) {
          ctx.upstream = ucfg.name;
          ctx.key_fp = key->fp;
          co_return co_await record_new_job(ctx, *up, *key, *st, cr.model, cr.prompt, cr.size, seconds, std::nullopt,
                                            idempotency_key);
        }
        auto e = st.error();
        // Once the body reached the vendor and it did not answer, the job may exist there:
        // never send it again (no double-billed job).
        if (e.after_send && (e.code == errc::upstream_timeout || e.code == errc::upstream_unavailable)) {
          if (e.code == errc::upstream_timeout)
            e.message = "Upstream '" + ucfg.name + "' did not answer in time. The video job may exist at the vendor; "
                        "it was not retried to avoid a duplicate.";
          co_return error_response(ctx, e);
        }
        if (e.code == errc::upstream_rate_limited) {
          rate_limited = e;
          wait_at_least(e.retry_after_s.value_or(30));
          continue;
        }
        if (e.code == errc::upstream_auth || e.code == errc::upstream_out_of_credit ||
            (e.code == errc::upstream_unavailable && !e.after_send)) {
          last_failure = e;
          continue;  // this key was refused (or never reached the vendor): try the next one
        }
        if (e.code == errc::upstream_unavailable || e.code == errc::upstream_timeout) {
          last_failure = e;  // the vendor itself is failing: the next upstream
          next_upstream = true;
          continue;
        }
        co_return error_response(ctx, e);  // rejected content, unreadable answer: final
      }
    }
    if (!attempted && first_invalid && !retry_after) co_return error_response(ctx, *first_invalid);
    if (rate_limited || retry_after) {
      auto e = rate_limited.value_or(fail(errc::upstream_rate_limited, ""));
      e.code = errc::upstream_rate_limited;
      e.retry_after_s = retry_after.value_or(30);
      e.message = "Every usable upstream key for model '" + cr.model + "' is rate limited, cooling down or at its job cap; retry after " +
                  std::to_string(*e.retry_after_s) + " s.";
      co_return error_response(ctx, e);
    }
    if (last_failure && last_failure->code == errc::upstream_unavailable && last_failure->upstream_status != 0)
      co_return error_response(ctx, *last_failure);
    if (first_invalid && !attempted) co_return error_response(ctx, *first_invalid);
    co_return error_response(ctx, fail(errc::no_upstream_available,
                                       "No upstream key for model '" + cr.model + "' is usable right now: every key is disabled "
                                       "or its upstream cannot be reached."));
  }

  asio::awaitable<http::response> record_new_job(context& ctx, routing::upstream& up, const routing::key_ref& key,
                                                 const dialects::job_state& st, const std::string& model,
                                                 const std::string& prompt, const std::string& size,
                                                 const std::string& seconds, std::optional<std::string> remixed_from,
                                                 std::optional<std::string> idempotency_key = std::nullopt) {
    auto id = ids.seal({up.cfg().name, key.fp, st.upstream_id, ctx.client});
    if (!id) {
      co_return error_response(ctx, fail(errc::bad_upstream_response, "The upstream's job id is too long to route."));
    }
    jobs::job_record j;
    j.id = *id;
    j.client = ctx.client;
    j.upstream = up.cfg().name;
    j.key_fp = key.fp;
    j.upstream_id = st.upstream_id;
    j.model = model;
    j.prompt = prompt;
    j.size = size;
    j.seconds = seconds;
    j.created_at = st.created_at.value_or(now_s());
    j.remixed_from_video_id = std::move(remixed_from);
    j.idempotency_key = std::move(idempotency_key);
    apply_state(*ctx.snap, j, st, false);
    if (!j.terminal()) up.keys().job_started(key.fp);
    j.seconds = st.seconds && !st.seconds->empty() ? *st.seconds : seconds;
    j.updated_at_ms = now_ms();
    co_await d.store->put(j);
    d.metrics->job_created(j.upstream);
    co_return video_response(*ctx.snap, j);
  }

  // GET /v1/videos/{id}
  asio::awaitable<http::response> retrieve_video(const std::string& id, context& ctx) {
    auto f = open_id(ctx, id);
    if (!f) co_return error_response(ctx, f.error());
    ctx.upstream = f->upstream;
    ctx.key_fp = f->key_fp;
    auto j = co_await refresh(ctx.snap, id, *f);
    if (!j) co_return error_response(ctx, j.error());
    co_return video_response(*ctx.snap, *j);
  }

  // GET /v1/videos
  asio::awaitable<http::response> list_videos(const boost::urls::url_view& u, context& ctx) {
    jobs::list_query q;
    q.client = ctx.client;
    if (auto l = query_param(u, "limit")) {
      int v = 0;
      auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), v);
      if (ec != std::errc{} || p != l->data() + l->size() || v < 1 || v > 100)
        co_return error_response(ctx, fail(errc::invalid_value, "'limit' must be an integer from 1 to 100.", "limit"));
      q.limit = v;
    }
    if (auto o = query_param(u, "order")) {
      if (*o != "asc" && *o != "desc")
        co_return error_response(ctx, fail(errc::invalid_value, "'order' must be 'asc' or 'desc'.", "order"));
      q.descending = *o == "desc";
    }
    if (auto a = query_param(u, "after"); a && !a->empty()) q.after = *a;
    for (auto p : u.params())
      if (p.key != "limit" && p.key != "order" && p.key != "after")
        co_return error_response(ctx, fail(errc::unknown_parameter, "Unknown parameter: '" + std::string(p.key) + "'.", std::string(p.key)));
    auto page = co_await d.store->list(q);
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

  // DELETE /v1/videos/{id}
  asio::awaitable<http::response> delete_video(const std::string& id, context& ctx) {
    auto f = open_id(ctx, id);
    if (!f) co_return error_response(ctx, f.error());
    ctx.upstream = f->upstream;
    ctx.key_fp = f->key_fp;
    auto known = co_await d.store->get(id);
    if (known && known->status == "deleted")
      co_return error_response(ctx, fail(errc::not_found, "No video found with id '" + id + "': it was already deleted.", "video_id"));
    bool vendor_had = false;
    bool tombstone = false;  // the vendor has no delete: keep a record that the id is gone
    if (auto up = ctx.snap->find(f->upstream)) {
      tombstone = !up->dialect().remove(f->upstream_id).has_value();
      if (auto call = up->dialect().remove(f->upstream_id)) {
        auto key = up->by_fingerprint(f->key_fp);
        if (!key) co_return error_response(ctx, fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured."));
        auto r = co_await call_upstream(*up, "delete", *call, key);
        if (!r) {
          note_result(*up, key, r);
          co_return error_response(ctx, r.error());
        }
        if (r->status >= 400 && r->status != 404) {
          auto e = dialects::classify_http_error(r->status, r->headers, r->body);
          note(*up, key, &e);
          co_return error_response(ctx, e);
        }
        note(*up, key, nullptr);
        if (r->status >= 200 && r->status < 300) vendor_had = true;
      }
    }
    if (!known && !vendor_had) co_return error_response(ctx, fail(errc::not_found, "No video found with id '" + id + "'.", "video_id"));
    if (known && !known->terminal())
      if (auto up = ctx.snap->find(f->upstream)) up->keys().job_finished(f->key_fp);  // frees its cap
    forget_terminal(id);
    if (tombstone) {
      jobs::job_record j = known.value_or(jobs::job_record{});
      j.id = id;
      j.client = f->client;
      j.upstream = f->upstream;
      j.key_fp = f->key_fp;
      j.upstream_id = f->upstream_id;
      j.status = "deleted";
      j.updated_at_ms = now_ms();
      co_await d.store->put(j);
    } else {
      co_await d.store->erase(id);
    }
    json::object o;
    o["id"] = id;
    o["object"] = "video.deleted";
    o["deleted"] = true;
    co_return json_response(200, json::serialize(o));
  }

  // GET /v1/videos/{id}/content
  asio::awaitable<http::response> video_content(const std::string& id, const boost::urls::url_view& u,
                                                const http::request& req, context& ctx) {
    auto f = open_id(ctx, id);
    if (!f) co_return error_response(ctx, f.error());
    ctx.upstream = f->upstream;
    ctx.key_fp = f->key_fp;
    auto variant_s = query_param(u, "variant").value_or("video");
    dialects::content_variant v;
    std::string mime;
    if (variant_s == "video") { v = dialects::content_variant::video; mime = "video/mp4"; }
    else if (variant_s == "thumbnail") { v = dialects::content_variant::thumbnail; mime = "image/webp"; }
    else if (variant_s == "spritesheet") { v = dialects::content_variant::spritesheet; mime = "image/jpeg"; }
    else co_return error_response(ctx, fail(errc::invalid_value, "'variant' must be video, thumbnail or spritesheet.", "variant"));
    auto j = co_await refresh(ctx.snap, id, *f);
    if (!j) co_return error_response(ctx, j.error());
    if (j->status != "completed")
      co_return error_response(ctx, fail(errc::not_found, "Video '" + id + "' has no content yet: its status is " + j->status + ".", "video_id"));
    auto up = ctx.snap->find(f->upstream);
    auto key = up ? up->by_fingerprint(f->key_fp) : nullptr;
    if (!up || !key) co_return error_response(ctx, fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured."));
    auto call = up->dialect().content(f->upstream_id, v, j->content_url, up->cfg());
    if (!call) co_return error_response(ctx, call.error());
    if (up->cfg().content == config::content_mode::redirect && !call->absolute_url.empty()) {
      http::response r;
      r.status = 302;
      r.set("Location", call->absolute_url);
      co_return r;
    }
    auto creq = upstream_request(*up, *call, key);
    if (auto range = req.header("range"); !range.empty()) creq.headers.emplace_back("Range", std::string(range));
    auto started = std::chrono::steady_clock::now();
    auto opened = co_await d.client->open(std::move(creq));
    auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    if (!opened) {
      if (call->absolute_url.empty()) note_result(*up, key, opened);
      d.metrics->upstream(up->cfg().name, "content", std::string(to_string(opened.error().code)), took);
      co_return error_response(ctx, opened.error());
    }
    std::shared_ptr<http::client_stream> s = std::move(*opened);
    d.metrics->upstream(up->cfg().name, "content", s->status < 400 ? "ok" : "http_" + std::to_string(s->status), took);
    if (s->status >= 400 && s->status != 416) {
      std::string body;
      std::vector<char> buf(16 * 1024);
      while (body.size() < 64 * 1024) {
        auto n = co_await s->read_some(buf);
        if (n == 0) break;
        body.append(buf.data(), n);
      }
      auto e = dialects::classify_http_error(s->status, s->headers, body);
      if (call->absolute_url.empty()) note(*up, key, &e);
      co_return error_response(ctx, e);
    }
    http::response r;
    r.status = s->status;
    auto ct = s->header("content-type");
    r.set("Content-Type", ct.empty() || ct == "application/octet-stream" ? mime : std::string(ct));
    for (auto h : {"Content-Range", "Accept-Ranges", "ETag", "Last-Modified", "Content-Disposition"})
      if (auto val = s->header(h); !val.empty()) r.set(h, std::string(val));
    r.content_length = s->content_length;
    auto metrics = d.metrics;
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

  // POST /v1/videos/{id}/remix
  asio::awaitable<http::response> remix_video(const std::string& id, http::request& req, context& ctx) {
    auto f = open_id(ctx, id);
    if (!f) co_return error_response(ctx, f.error());
    auto prompt = parse_remix(req.header("content-type"), req.body);
    if (!prompt) co_return error_response(ctx, prompt.error());
    auto original = co_await refresh(ctx.snap, id, *f);
    if (!original) co_return error_response(ctx, original.error());
    if (auto a = allow_model(ctx, original->model); !a) co_return error_response(ctx, a.error());
    auto up = ctx.snap->find(f->upstream);
    auto key = up ? up->by_fingerprint(f->key_fp) : nullptr;
    if (!up || !key) co_return error_response(ctx, fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured."));
    // A remix is a new job: never on a key or upstream that a reload took out of the config
    // (those only finish the jobs they made).
    if (!ctx.snap->configured(up) || !up->keys().configured(key->fp))
      co_return error_response(ctx, fail(errc::no_upstream_available,
                                         "The upstream key that made this video was removed from the config; it serves no new jobs, "
                                         "and a remix is one."));
    ctx.upstream = f->upstream;
    ctx.key_fp = f->key_fp;
    auto call = up->dialect().remix(f->upstream_id, *prompt, up->cfg());
    if (!call) co_return error_response(ctx, call.error());
    auto r = co_await call_upstream(*up, "remix", *call, key);
    result<dialects::job_state> st = r ? up->dialect().read_create(r->status, r->headers, r->body)
                                       : result<dialects::job_state>(r.error());
    note_result(*up, key, st);
    if (!st) {
      auto e = st.error();
      if (e.after_send && e.code == errc::upstream_timeout)
        e.message = "Upstream '" + f->upstream + "' did not answer in time. The remix job may exist at the vendor.";
      co_return error_response(ctx, e);
    }
    co_return co_await record_new_job(ctx, *up, *key, *st, original->model, *prompt, original->size, original->seconds, id);
  }

  // GET /v1/models
  static http::response list_models(const routing::router& rt) {
    json::array data;
    for (auto& m : rt.cfg().models()) {
      json::object o;
      o["id"] = m;
      o["object"] = "model";
      o["created"] = 0;
      o["owned_by"] = "videogate";
      data.push_back(std::move(o));
    }
    json::object out;
    out["object"] = "list";
    out["data"] = std::move(data);
    return json_response(200, json::serialize(out));
  }

  // GET /admin/keys
  static http::response admin_keys(const routing::router& rt) {
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

  /// Key states as Prometheus gauges (read at scrape time from the pools).
  static std::string key_metrics(const routing::router& rt) {
    std::string out =
        "# HELP videogate_upstream_keys Upstream keys by state.\n# TYPE videogate_upstream_keys gauge\n";
    std::string jobs =
        "# HELP videogate_jobs_in_flight Unfinished jobs per upstream.\n# TYPE videogate_jobs_in_flight gauge\n";
    for (auto& up : rt.upstreams()) {
      int counts[3] = {0, 0, 0};
      int unfinished = 0;
      for (auto& k : up->keys().view()) {
        ++counts[static_cast<int>(k.state.health)];
        unfinished += k.unfinished;
      }
      for (int h = 0; h < 3; ++h)
        out += "videogate_upstream_keys{upstream=\"" + up->cfg().name + "\",state=\"" +
               routing::to_string(static_cast<routing::key_health>(h)) + "\"} " + std::to_string(counts[h]) + "\n";
      jobs += "videogate_jobs_in_flight{upstream=\"" + up->cfg().name + "\"} " + std::to_string(unfinished) + "\n";
    }
    return out + jobs;
  }

  // ---- the job watcher --------------------------------------------------------------------

  /// Polls unfinished jobs in the background (respecting each upstream's poll_interval, a few
  /// at a time per upstream) so that caps free up and terminal states are recorded even when
  /// no client polls. It reads its work from the store, so it resumes after a restart.
  static asio::awaitable<void> watch(std::shared_ptr<impl> self) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    while (!self->stopping) {
      try {
        co_await self->watch_once();
      } catch (const std::exception& e) {
        spdlog::warn("job watcher: {}", e.what());
      }
      tick.expires_after(self->watch_period);
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> watch_once() {
    auto jobs = co_await d.store->unfinished(2000);
    auto snap = snapshot();  // one snapshot per pass
    auto now = now_ms();
    // Due jobs per upstream, oldest first; at most `per_upstream` polls at once for each.
    std::map<std::string, std::vector<jobs::job_record>> due;
    for (auto& j : jobs) {
      auto up = snap->find(j.upstream);
      if (!up) continue;
      if (now - j.updated_at_ms < std::max<long long>(up->cfg().poll_interval.count(), 1000)) continue;
      due[j.upstream].push_back(std::move(j));
    }
    if (due.empty()) co_return;
    auto self = shared_from_this();
    auto ex = co_await asio::this_coro::executor;
    auto pending = std::make_shared<std::atomic<int>>(0);
    auto done = std::make_shared<asio::experimental::concurrent_channel<void(boost::system::error_code)>>(ex, 1);
    for (auto& [name, list] : due) {
      auto shared = std::make_shared<std::vector<jobs::job_record>>(std::move(list));
      auto next = std::make_shared<std::size_t>(0);
      for (int w = 0; w < watch_per_upstream; ++w) {
        ++*pending;
        asio::co_spawn(ex, watch_worker(self, snap, shared, next, pending, done), asio::detached);
      }
    }
    co_await done->async_receive(asio::as_tuple(asio::use_awaitable));
  }

  static asio::awaitable<void> watch_worker(
      std::shared_ptr<impl> self, std::shared_ptr<routing::router> snap, std::shared_ptr<std::vector<jobs::job_record>> list, std::shared_ptr<std::size_t> next,
      std::shared_ptr<std::atomic<int>> pending,
      std::shared_ptr<asio::experimental::concurrent_channel<void(boost::system::error_code)>> done) {
    // Workers of one upstream share `next` on the watcher's executor: one strand of work.
    while (*next < list->size() && !self->stopping) {
      auto& j = (*list)[(*next)++];
      auto f = self->ids.open(j.id);
      if (!f) continue;
      try {
        auto r = co_await self->refresh(snap, j.id, *f);
        if (!r) spdlog::debug("job watcher: {} on {}: {}", to_string(r.error().code), j.upstream, r.error().message);
      } catch (const std::exception& e) {
        spdlog::warn("job watcher: poll on {} failed: {}", j.upstream, e.what());
      }
    }
    if (--*pending == 0) done->try_send(boost::system::error_code{});
  }

  // ---- reload ------------------------------------------------------------------------------

  /// The keys that only take effect at start-up and differ between `running` and `next`.
  std::vector<std::string> restart_only_changes(const config::config& running, const config::config& next) const {
    std::vector<std::string> out;
    if (running.listen_host != next.listen_host || running.listen_port != next.listen_port) out.push_back("listen");
    if (running.threads != next.threads) out.push_back("threads");
    if (running.store.kind != next.store.kind) out.push_back("store.kind");
    if (running.store.path != next.store.path) out.push_back("store.path");
    if (running.store.sync != next.store.sync) out.push_back("store.sync");
    if (running.ids.secret != next.ids.secret) out.push_back("ids.secret");
    // Extra CAs are loaded into the TLS context once, at start-up.
    for (auto& u : next.upstreams) {
      if (u.ca_file.empty()) continue;
      bool loaded = false;
      for (auto& r : d.cfg->upstreams) loaded = loaded || r.ca_file == u.ca_file;
      if (!loaded) out.push_back("upstreams[" + u.name + "].ca_file");
    }
    return out;
  }

  reload_report reload() {
    std::lock_guard lk(reload_mu);
    reload_report rep;
    config::load_result loaded;
    if (!d.load_config) {
      rep.errors.push_back("this gateway was started without a config source to reload");
    } else {
      try {
        loaded = d.load_config();
      } catch (const std::exception& e) {
        rep.errors.push_back(std::string("cannot read the config: ") + e.what());
      }
      for (auto& e : loaded.errors) rep.errors.push_back(e.to_string());
    }
    std::shared_ptr<routing::router> next;
    if (loaded.cfg) {
      rep.source = loaded.cfg->source;
      try {
        next = std::make_shared<routing::router>(loaded.cfg, snapshot().get());
      } catch (const std::exception& e) {
        rep.errors.push_back(e.what());
      }
    }
    if (!next) {
      if (rep.errors.empty()) rep.errors.push_back("the config could not be loaded");
      for (auto& e : rep.errors) spdlog::error("reload refused: {}", e);
      spdlog::error("reload refused with {} error(s); the running config stays", rep.errors.size());
      d.metrics->reload(false);
      return rep;
    }
    rep.needs_restart = restart_only_changes(*d.cfg, next->cfg());
    // Keys new to the process (added back after a restart without them, or a new upstream)
    // may have unfinished jobs in the store: count them as start-up does, so their caps hold.
    if (auto fresh = next->fresh_keys(); !fresh.empty()) {
      try {
        std::map<std::pair<std::string, std::string>, int> counts;
        auto jobs = d.store->run_blocking([](jobs::store& s) { return s.unfinished(1'000'000); });
        for (auto& j : jobs) ++counts[{j.upstream, j.key_fp}];
        for (auto& k : fresh)
          if (auto it = counts.find(k); it != counts.end()) next->find(k.first)->keys().set_unfinished(k.second, it->second);
      } catch (const std::exception& e) {
        spdlog::warn("reload: cannot count the unfinished jobs of new keys: {}", e.what());
      }
    }
    current.store(next);
    rep.applied = true;
    if (d.on_reload) d.on_reload(next->cfg());
    d.metrics->reload(true);
    spdlog::info("reloaded config from {}: {} upstream(s), {} model(s), {} client(s)", rep.source,
                 next->upstreams().size(), next->cfg().models().size(), next->cfg().clients.size());
    for (auto& k : rep.needs_restart)
      spdlog::warn("reload: '{}' changed; it keeps its running value until videogate restarts", k);
    return rep;
  }

  http::response reload_response(const reload_report& rep) const {
    json::array errors, restart;
    for (auto& e : rep.errors) errors.push_back(json::value(dialects::scrub(e, snapshot()->secrets())));
    for (auto& k : rep.needs_restart) restart.push_back(json::value(k));
    if (!rep.applied) {
      std::string msg = "The new config was refused; the running config stays. " + std::to_string(rep.errors.size()) +
                        " error(s), the first: " + (rep.errors.empty() ? std::string("-") : rep.errors.front());
      auto o = json::parse(error_body(fail(errc::invalid_config, dialects::scrub(msg, snapshot()->secrets())))).as_object();
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

  // ---- the route table -----------------------------------------------------------------

  asio::awaitable<http::response> dispatch(http::request& req, context& ctx) {
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) co_return error_response(ctx, fail(errc::invalid_value, "The request target is not a valid path."));
    auto u = *parsed;
    std::vector<std::string> seg;
    for (auto s : u.segments()) seg.push_back(s);
    auto& m = req.method;
    auto method_not_allowed = [&](const char* allow) {
      auto r = error_response(ctx, fail(errc::method_not_allowed, "Method " + m + " is not allowed here; use " + allow + "."));
      r.set("Allow", allow);
      return r;
    };

    if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "readyz" || seg[0] == "metrics")) {
      ctx.route = "/" + seg[0];
      if (m != "GET") co_return method_not_allowed("GET");
      if (seg[0] == "metrics") {
        http::response r;
        r.body = d.metrics->render() + key_metrics(*ctx.snap);
        r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        co_return r;
      }
      co_return json_response(200, seg[0] == "healthz" ? R"({"status":"ok"})" : R"({"status":"ready"})");
    }
    if (!seg.empty() && seg[0] == "admin") {
      ctx.route = "/admin";
      // No admin key configured: the admin surface does not exist.
      auto& admin_key = ctx.snap->cfg().admin.key;
      if (admin_key.empty() || !jobs::constant_time_equal(bearer(req), admin_key))
        co_return error_response(ctx, fail(errc::not_found, "Unknown route: " + m + " " + std::string(u.path()) + "."));
      if (seg.size() == 2 && seg[1] == "keys") {
        ctx.route = "/admin/keys";
        if (m != "GET") co_return method_not_allowed("GET");
        co_return admin_keys(*ctx.snap);
      }
      if (seg.size() == 2 && seg[1] == "reload") {
        ctx.route = "/admin/reload";
        if (m != "POST") co_return method_not_allowed("POST");
        co_return reload_response(reload());
      }
      co_return error_response(ctx, fail(errc::not_found, "Unknown admin route: " + m + " " + std::string(u.path()) + "."));
    }
    if (seg.empty() || seg[0] != "v1")
      co_return error_response(ctx, fail(errc::not_found, "Unknown route: " + m + " " + std::string(u.path()) + "."));

    if (auto a = authenticate(req, ctx); !a) co_return error_response(ctx, a.error());

    if (seg.size() == 2 && seg[1] == "models") {
      ctx.route = "/v1/models";
      if (m != "GET") co_return method_not_allowed("GET");
      co_return list_models(*ctx.snap);
    }
    if (seg.size() >= 2 && seg[1] == "videos") {
      if (seg.size() == 2) {
        ctx.route = "/v1/videos";
        if (m == "POST") co_return co_await create_video(req, ctx);
        if (m == "GET") co_return co_await list_videos(u, ctx);
        co_return method_not_allowed("GET, POST");
      }
      auto& id = seg[2];
      if (seg.size() == 3) {
        ctx.route = "/v1/videos/{id}";
        if (m == "GET") co_return co_await retrieve_video(id, ctx);
        if (m == "DELETE") co_return co_await delete_video(id, ctx);
        co_return method_not_allowed("GET, DELETE");
      }
      if (seg.size() == 4 && seg[3] == "content") {
        ctx.route = "/v1/videos/{id}/content";
        if (m == "GET") co_return co_await video_content(id, u, req, ctx);
        co_return method_not_allowed("GET");
      }
      if (seg.size() == 4 && seg[3] == "remix") {
        ctx.route = "/v1/videos/{id}/remix";
        if (m == "POST") co_return co_await remix_video(id, req, ctx);
        co_return method_not_allowed("POST");
      }
    }
    co_return error_response(ctx, fail(errc::not_found, "Unknown route: " + m + " " + std::string(u.path()) + "."));
  }
};

service::service(service_deps deps) : impl_(std::make_shared<impl>(std::move(deps))) {}
service::~service() = default;

bool service::ready() const noexcept { return impl_->d.store != nullptr; }

void service::load_state() {
  std::map<std::pair<std::string, std::string>, int> counts;
  for (auto& j : impl_->d.store->blocking().unfinished(1'000'000)) ++counts[{j.upstream, j.key_fp}];
  for (auto& [k, n] : counts)
    if (auto up = impl_->snapshot()->find(k.first)) up->keys().set_unfinished(k.second, n);
}

void service::start_watcher(asio::any_io_executor ex) {
  asio::co_spawn(ex, impl::watch(impl_), asio::detached);
}

void service::stop() { impl_->stopping = true; }

reload_report service::reload() { return impl_->reload(); }

asio::awaitable<http::response> service::handle(http::request& req) {
  auto self = impl_;
  auto started = std::chrono::steady_clock::now();
  context ctx;
  ctx.snap = self->snapshot();
  auto given = req.header("x-request-id");
  ctx.request_id = valid_request_id(given) ? std::string(given) : "req_" + random_hex(12);
  http::response r;
  try {
    r = co_await self->dispatch(req, ctx);
  } catch (const error_exception& e) {
    r = self->error_response(ctx, e.err);
  } catch (const std::exception& e) {
    spdlog::error("request {} {} {} failed: {}", ctx.request_id, req.method, ctx.route, e.what());
    r = self->error_response(ctx, fail(errc::internal, "The gateway failed to handle the request (request id " + ctx.request_id + ")."));
  }
  r.set("x-request-id", ctx.request_id);
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  self->d.metrics->request(ctx.route, r.status, took);
  // The access line: never a key, never a prompt.
  spdlog::info("access method={} route={} status={} ms={:.1f} request_id={} client={} upstream={} key={}", req.method,
               ctx.route, r.status, static_cast<double>(took.count()) / 1000.0, ctx.request_id,
               ctx.client.empty() ? "-" : ctx.client, ctx.upstream.empty() ? "-" : ctx.upstream,
               ctx.key_fp.empty() ? "-" : ctx.key_fp);
  co_return r;
}

http::response service::error_response(const http::request& req, const error& e) const {
  context ctx;
  auto given = req.header("x-request-id");
  ctx.request_id = valid_request_id(given) ? std::string(given) : "req_" + random_hex(12);
  auto r = impl_->error_response(ctx, e);
  r.set("x-request-id", ctx.request_id);
  return r;
}

}  // namespace videogate::api
