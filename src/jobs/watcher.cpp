#include "videogate/jobs/watcher.hpp"

#include "videogate/core/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <vector>

namespace asio = boost::asio;

namespace videogate::jobs {

namespace {

/// The due jobs of one upstream in one pass, shared by that upstream's workers.
struct upstream_work {
  std::string upstream;
  std::shared_ptr<routing::router> snap;
  std::vector<job_record> jobs;
  std::size_t next = 0;
  int workers = 0;
};

/// One worker of an upstream: polls its due jobs until the list is done. Workers of one
/// upstream share `work` on the watcher's executor: one strand of work. A plain function with
/// its state as parameters (not a capturing lambda): GCC 12 mishandles lambda coroutine frames.
asio::awaitable<void> work_through(std::shared_ptr<watcher> owner, std::shared_ptr<refresher> refresh,
                                   const id_codec* ids, std::shared_ptr<upstream_work> work) {
  while (work->next < work->jobs.size() && !owner->stopping()) {
    auto& j = work->jobs[work->next++];
    auto f = ids->open(j.id);
    if (!f) continue;
    try {
      auto r = co_await refresh->refresh(work->snap, j.id, *f);
      // A vendor's message may quote the key: scrubbed even at debug level.
      if (!r)
        spdlog::debug("job watcher: {} on {}: {}", to_string(r.error().code), j.upstream,
                      dialects::scrub(r.error().message, work->snap->secrets()));
    } catch (const std::exception& e) {
      spdlog::warn("job watcher: poll on {} failed: {}", j.upstream, e.what());
    }
  }
  if (--work->workers == 0) owner->upstream_done(work->upstream);
}

}  // namespace

watcher::watcher(std::shared_ptr<routing::live> live, std::shared_ptr<async_store> store,
                 std::shared_ptr<refresher> refresh, id_codec ids, std::chrono::milliseconds period)
    : live_(std::move(live)), store_(std::move(store)), refresh_(std::move(refresh)), ids_(std::move(ids)), period_(period) {}

void watcher::start(asio::any_io_executor ex) { asio::co_spawn(ex, run(shared_from_this()), asio::detached); }

void watcher::upstream_done(const std::string& upstream) {
  std::lock_guard lk(busy_mu_);
  busy_.erase(upstream);
}

bool watcher::claim_upstream(const std::string& upstream) {
  std::lock_guard lk(busy_mu_);
  return busy_.insert(upstream).second;
}

asio::awaitable<void> watcher::run(std::shared_ptr<watcher> self) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (!self->stopping_) {
    try {
      co_await self->pass();
    } catch (const std::exception& e) {
      spdlog::warn("job watcher: {}", e.what());
    }
    tick.expires_after(self->period_);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> watcher::pass() {
  auto snap = live_->snapshot();  // one snapshot per pass
  auto now = clock::now_ms();
  // Every unfinished job, page by page (none is left out however many there are). An
  // upstream whose workers are still busy from an earlier pass (a hung vendor) is skipped;
  // the others go on.
  std::map<std::string, std::shared_ptr<upstream_work>> due;
  std::int64_t after = 0;
  for (;;) {
    auto page = co_await store_->unfinished(page_size, after);
    for (auto& j : page) {
      after = j.seq;
      auto up = snap->find(j.upstream);
      if (!up) {
        // Its upstream left the config before a restart: nothing can ask about it; it ends at its TTL.
        if (refresh_->expire_if_due(*snap, j, now)) {
          co_await refresh_->save(*snap, j, false, false);
          refresh_->terminal().put(j);
        }
        continue;
      }
      if (now - j.updated_at_ms < std::max<long long>(up->cfg().poll_interval.count(), 1000)) continue;
      auto& w = due[j.upstream];
      if (!w) {
        w = std::make_shared<upstream_work>();
        w->upstream = j.upstream;
        w->snap = snap;
      }
      w->jobs.push_back(std::move(j));
    }
    if (page.size() < static_cast<std::size_t>(page_size) || stopping_) break;
  }
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  for (auto& [name, work] : due) {
    if (!claim_upstream(name)) continue;
    work->workers = per_upstream;
    for (int w = 0; w < per_upstream; ++w) asio::co_spawn(ex, work_through(self, refresh_, &ids_, work), asio::detached);
  }
}

}  // namespace videogate::jobs
