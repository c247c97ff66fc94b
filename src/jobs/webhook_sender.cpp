#include "videogate/jobs/webhook_sender.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/http/client.hpp"
#include "videogate/jobs/webhooks.hpp"
#include "videogate/observe/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace videogate::jobs {

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

double jitter() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
}

/// The host of a webhook URL, for logs: a query may hold a token, and the path may too.
std::string host_of(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  return u ? std::string(u->host()) : std::string("?");
}

/// One attempt, answered or not: the status (0 when there was none) and what went wrong.
struct attempt {
  int status = 0;
  std::string error;
};

asio::awaitable<attempt> post_event(http::client& client, const config::webhook_target& target, const outbox_event& e,
                                    const config::webhooks_config& policy) {
  http::client_request req;
  req.method = "POST";
  req.url = target.url;
  auto ts = clock::now_s();
  req.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "videogate-webhooks"},
                 {"webhook-id", e.id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature", webhook_signature(target, e.id, ts, e.body)}};
  req.body = e.body;
  req.connect_timeout = policy.timeout;
  req.timeout = policy.timeout;
  req.public_only = !policy.allow_private;  // DESIGN §8's address rules
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(policy.timeout);
  // Only the head matters (the status): the stream is dropped without reading the body.
  auto winner = co_await (client.open(std::move(req)) || deadline.async_wait(use_nothrow));
  auto secs = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(policy.timeout).count());
  if (winner.index() == 1) co_return attempt{0, "no answer within webhooks.timeout (" + secs + " s)"};
  auto& r = std::get<0>(winner);
  if (!r) {
    auto err = r.error();
    if (err.code == errc::content_url_refused)
      co_return attempt{0, "refused: the URL resolves to a loopback or private address (webhooks.allow_private is false)"};
    if (err.code == errc::upstream_timeout) co_return attempt{0, "timed out"};
    co_return attempt{0, "could not reach the receiver: " + err.message.substr(0, 200)};
  }
  int status = (*r)->status;
  std::string error;
  if (status >= 300 && status < 400)
    error = "HTTP " + std::to_string(status) + " (a redirect: webhooks do not follow redirects)";
  else if (status < 200 || status >= 300)
    error = "HTTP " + std::to_string(status);
  co_return attempt{status, std::move(error)};
}

}  // namespace

webhook_sender::webhook_sender(std::shared_ptr<routing::live> live, std::shared_ptr<async_store> store,
                               std::shared_ptr<http::client> client, std::shared_ptr<observe::metrics> metrics)
    : live_(std::move(live)), store_(std::move(store)), client_(std::move(client)), metrics_(std::move(metrics)) {}

void webhook_sender::start(asio::any_io_executor ex) {
  ex_ = ex;
  timer_ = std::make_shared<asio::steady_timer>(ex);
  asio::co_spawn(ex, run(shared_from_this()), asio::detached);
}

void webhook_sender::wake() {
  woken_ = true;
  if (!timer_) return;
  auto t = std::static_pointer_cast<asio::steady_timer>(timer_);
  asio::post(ex_, [t] { t->cancel(); });
}

void webhook_sender::stop() {
  stopping_ = true;
  wake();
}

bool webhook_sender::claim(const std::string& id) {
  std::lock_guard lk(mu_);
  if (in_flight_.size() >= static_cast<std::size_t>(max_in_flight)) return false;
  return in_flight_.insert(id).second;
}

void webhook_sender::release(const std::string& id) {
  std::lock_guard lk(mu_);
  in_flight_.erase(id);
}

asio::awaitable<void> webhook_sender::run(std::shared_ptr<webhook_sender> self) {
  auto timer = std::static_pointer_cast<asio::steady_timer>(self->timer_);
  while (!self->stopping_) {
    self->woken_ = false;
    std::int64_t wait_ms = 1000;
    try {
      co_await self->pass();
      auto next = co_await self->store_->outbox_next_due();
      if (next) wait_ms = std::clamp<std::int64_t>(*next - clock::now_ms(), 10, 1000);
    } catch (const std::exception& e) {
      spdlog::warn("webhooks: cannot read the outbox: {}", e.what());
    }
    if (self->woken_ || self->stopping_) continue;
    timer->expires_after(std::chrono::milliseconds(wait_ms));
    co_await timer->async_wait(use_nothrow);
  }
}

asio::awaitable<void> webhook_sender::pass() {
  auto due = co_await store_->outbox_due(clock::now_ms(), 64);
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  for (auto& e : due)
    if (claim(e.id)) asio::co_spawn(ex, deliver(self, std::move(e)), asio::detached);
  metrics_->webhook_backlog(co_await store_->outbox_count(outbox_event::state::pending));
}

asio::awaitable<void> webhook_sender::deliver(std::shared_ptr<webhook_sender> self, outbox_event e) {
  auto id = e.id;
  try {
    auto snap = self->live_->snapshot();
    const auto& cfg = snap->cfg();
    const auto& policy = cfg.webhooks;
    bool leased = false;
    if (self->store_->shared()) {
      // A fleet: one replica delivers an event at a time; a dead one's lease runs out.
      leased = co_await self->store_->take_lease("webhook:" + id, policy.timeout.count() + 5'000);
      if (!leased) {
        self->release(id);
        co_return;
      }
    }
    // Read again now that it is ours: the copy from the pass may be stale (an attempt of this
    // process, or another replica's, may have ended between that read and our claim).
    auto fresh = co_await self->store_->outbox_get(id);
    if (!fresh || fresh->status != outbox_event::state::pending || fresh->next_attempt_ms > clock::now_ms()) {
      if (leased) co_await self->store_->drop_lease("webhook:" + id);
      self->release(id);
      co_return;
    }
    e = std::move(*fresh);
    auto c = std::find_if(cfg.clients.begin(), cfg.clients.end(), [&](auto& cc) { return cc.name == e.client; });
    attempt a;
    if (c == cfg.clients.end() || !c->webhook)
      a.error = "client '" + e.client + "' has no webhook in the config now";
    else
      a = co_await post_event(*self->client_, *c->webhook, e, policy);
    auto outcome = a.status ? outcome_of_status(a.status) : attempt_outcome::retry;
    auto next = after_attempt(e, outcome, a.error, clock::now_ms(), policy, jitter());
    co_await self->store_->outbox_save(next);
    const char* result = next.status == outbox_event::state::delivered ? "delivered"
                         : next.status == outbox_event::state::failed  ? "failed"
                                                                        : "retry";
    self->metrics_->webhook_delivery(result);
    auto host = c != cfg.clients.end() && c->webhook ? host_of(c->webhook->url) : std::string("-");
    if (next.status == outbox_event::state::delivered)
      spdlog::info("webhook {} {} for {} delivered to client {} ({}) on attempt {}", id, e.type, e.video_id, e.client,
                   host, next.attempts);
    else
      spdlog::warn("webhook {} {} for {} to client {} ({}): attempt {} failed: {}; {}", id, e.type, e.video_id, e.client,
                   host, next.attempts, next.last_error,
                   next.status == outbox_event::state::failed
                       ? std::string("given up")
                       : "next attempt in " + std::to_string(next.next_attempt_ms - next.updated_ms) + " ms");
    if (leased) co_await self->store_->drop_lease("webhook:" + id);
  } catch (const std::exception& ex) {
    // The store went away mid-delivery: the event stays pending and is tried again.
    spdlog::warn("webhook {}: {}", id, ex.what());
  }
  self->release(id);
  self->wake();
}

}  // namespace videogate::jobs
