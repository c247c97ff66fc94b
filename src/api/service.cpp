#include "videogate/api/service.hpp"

#include "context.hpp"
#include "dispatch.hpp"

#include "videogate/observe/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <random>
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace asio = boost::asio;

namespace videogate::api {

namespace {

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

/// What the server answers when its request_timeout cuts a request.
http::response request_timed_out(const gateway& g, const context& ctx) {
  return api::error_response(g, ctx, fail(errc::upstream_timeout,
                                          "The request did not complete within the gateway's request timeout. If it was "
                                          "a create, the video job may exist at the vendor."));
}

/// The client's x-request-id when it is sane, else a new one.
std::string request_id_of(const http::request& req) {
  auto given = req.header("x-request-id");
  return valid_request_id(given) ? std::string(given) : "req_" + random_hex(12);
}

}  // namespace

struct service::impl : gateway {
  using gateway::gateway;
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
};

namespace {

/// Hands freed heap back to the OS now and then. glibc keeps what a burst freed (thousands of
/// connections closed, a batch of finished jobs) for reuse, and a sidecar's resident memory
/// would stay at its peak; a trim every few seconds costs well under a millisecond.
asio::awaitable<void> trim_heap(std::shared_ptr<std::atomic<bool>> stopping) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (!*stopping) {
    tick.expires_after(std::chrono::seconds(5));
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
#ifdef __GLIBC__
    if (!*stopping) malloc_trim(0);
#endif
  }
}

}  // namespace

service::service(service_deps deps) : impl_(std::make_shared<impl>(std::move(deps))) {}
service::~service() = default;

bool service::ready() const noexcept { return impl_->d.store != nullptr; }

void service::load_state() {
  impl_->restore_key_states();
  routing::apply_unfinished(*impl_->live->snapshot(), impl_->count_unfinished());
}

void service::start_watcher(asio::any_io_executor ex) {
  impl_->watcher->start(ex);
  asio::co_spawn(ex, trim_heap(impl_->stopping), asio::detached);
  impl_->webhooks->start(std::move(ex));
}

void service::stop() {
  *impl_->stopping = true;
  impl_->watcher->stop();
  impl_->webhooks->stop();
}

reload_report service::reload() { return impl_->reload(); }

namespace {

/// The access line and the request metric: never a key, never a prompt.
void log_access(gateway& g, const http::request& req, const context& ctx, int status,
                std::chrono::steady_clock::time_point started) {
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  g.metrics().request(ctx.route, status, took);
  spdlog::info("access method={} route={} status={} ms={:.1f} request_id={} client={} upstream={} key={}", req.method,
               ctx.route, status, static_cast<double>(took.count()) / 1000.0, ctx.request_id,
               ctx.client.empty() ? "-" : ctx.client, ctx.upstream.empty() ? "-" : ctx.upstream,
               ctx.key_fp.empty() ? "-" : ctx.key_fp);
}

}  // namespace

asio::awaitable<http::response> service::handle(http::request& req) {
  auto self = impl_;  // the gateway outlives this request
  auto started = std::chrono::steady_clock::now();
  context ctx;
  ctx.snap = self->live->snapshot();
  ctx.request_id = request_id_of(req);
  http::response r;
  try {
    r = co_await dispatch(*self, req, ctx);
  } catch (const error_exception& e) {
    r = api::error_response(*self, ctx, e.err);
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted) {
      spdlog::error("request {} {} {} failed: {}", ctx.request_id, req.method, ctx.route, e.what());
      r = api::error_response(
          *self, ctx, fail(errc::internal, "The gateway failed to handle the request (request id " + ctx.request_id + ")."));
    }
  } catch (const std::exception& e) {
    spdlog::error("request {} {} {} failed: {}", ctx.request_id, req.method, ctx.route, e.what());
    r = api::error_response(
        *self, ctx, fail(errc::internal, "The gateway failed to handle the request (request id " + ctx.request_id + ")."));
  }
  // Cut by the server's request_timeout: the client hears the server's 504, and so does the log.
  auto cs = co_await asio::this_coro::cancellation_state;
  if (cs.cancelled() != asio::cancellation_type::none) r = request_timed_out(*self, ctx);
  r.set("x-request-id", ctx.request_id);
  log_access(*self, req, ctx, r.status, started);
  co_return r;
}

std::optional<http::response> service::check_head(const http::request& req) {
  auto started = std::chrono::steady_clock::now();
  context ctx;
  ctx.snap = impl_->live->snapshot();
  if (ctx.snap->cfg().clients.empty() || !req.target.starts_with("/v1")) return std::nullopt;
  if (req.target.size() > 3 && req.target[3] != '/' && req.target[3] != '?') return std::nullopt;
  auto a = authenticate(req, ctx);
  if (a) return std::nullopt;
  ctx.request_id = request_id_of(req);
  ctx.route = "/v1";
  auto r = api::error_response(*impl_, ctx, a.error());
  r.set("x-request-id", ctx.request_id);
  log_access(*impl_, req, ctx, r.status, started);
  return r;
}

http::response service::error_response(const http::request& req, const error& e) const {
  context ctx;
  ctx.request_id = request_id_of(req);
  auto r = api::error_response(*impl_, ctx, e);
  r.set("x-request-id", ctx.request_id);
  return r;
}

}  // namespace videogate::api
