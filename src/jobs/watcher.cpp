#include "videogate/jobs/watcher.hpp"

#include "videogate/core/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <vector>

namespace asio = boost::asio;

namespace videogate::jobs {

namespace {

/// The due jobs of one upstream in one pass, shared by that upstream's workers.
struct upstream_work {
  std::string upstream;
  std::shared_ptr<routing::router> snap;
  std::vector<std::string> jobs;  ///< ids, stalest first
  std::size_t next = 0;
  int workers = 0;
};

/// One worker of an upstream: polls its due jobs until the list is done. Workers of one
/// upstream share `work` on the watcher's executor: one strand of work. A plain function with
/// its state as parameters (not a capturing lambda): GCC 12 mishandles lambda coroutine frames.
asio::awaitable<void> work_through(std::shared_ptr<watcher> owner, std::shared_ptr<refresher> refresh,
                                   const id_codec* ids, std::shared_ptr<upstream_work> work) {
  while (work->next < work->jobs.size() && !owner->stopping()) {
    auto& id = work->jobs[work->next++];
    auto f = ids->open(id);
    if (!f) continue;
    try {
      auto r = co_await refresh->refresh(work->snap, id, *f);
      // A vendor's message may quote the key: scrubbed even at debug level.
      if (!r)
        spdlog::debug("job watcher: {} on {}: {}", to_string(r.error().code), work->upstream,
                      dialects::scrub(r.error().message, work->snap->secrets()));
    } catch (const std::exception& e) {
      spdlog::warn("job watcher: poll on {} failed: {}", work->upstream, e.what());
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
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  // Jobs whose upstream left the config before a restart: nothing can ask about them; they
  // end at their TTL. Rare, so looked for now and then rather than every pass.
  if (passes_++ % orphan_sweep_every == 0) co_await sweep_orphans(snap, now);
  // Per upstream, the jobs asked about longest ago, as many as one pass may poll: with
  // max_polls_per_second the budget of one period, else a bounded batch. The stalest go first,
  // so a backlog larger than the budget is polled round-robin (nothing starves) and the
  // watcher holds one batch in memory, never every unfinished job. An upstream whose workers
  // are still busy from an earlier pass (a hung vendor) is skipped; the others go on.
  std::vector<due_query> queries;
  for (auto& up : snap->upstreams()) {
    auto& cfg = up->cfg();
    if (!claim_upstream(cfg.name)) continue;
    auto interval = std::max<long long>(cfg.poll_interval.count(), 1000);
    auto per_pass = cfg.max_polls_per_second > 0
                        ? std::max<long long>(1, static_cast<long long>(cfg.max_polls_per_second) * period_.count() / 1000)
                        : static_cast<long long>(max_batch);
    queries.push_back({cfg.name, now - interval, static_cast<int>(std::min<long long>(per_pass, max_batch))});
  }
  if (queries.empty()) co_return;
  std::vector<std::vector<job_record>> due;
  std::exception_ptr failed;
  try {
    due = co_await store_->due(queries);
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) {
    for (auto& q : queries) upstream_done(q.upstream);
    std::rethrow_exception(failed);
  }
  for (std::size_t i = 0; i < queries.size(); ++i) {
    if (due[i].empty() || stopping_) {
      upstream_done(queries[i].upstream);
      continue;
    }
    auto work = std::make_shared<upstream_work>();
    work->upstream = queries[i].upstream;
    work->snap = snap;
    work->jobs.reserve(due[i].size());
    for (auto& j : due[i]) work->jobs.push_back(std::move(j.id));
    work->workers = per_upstream;
    for (int w = 0; w < per_upstream; ++w) asio::co_spawn(ex, work_through(self, refresh_, &ids_, work), asio::detached);
  }
}

asio::awaitable<void> watcher::sweep_orphans(std::shared_ptr<routing::router> snap, std::int64_t now) {
  std::int64_t after = 0;
  for (;;) {
    auto page = co_await store_->unfinished(page_size, after);
    for (auto& j : page) {
      after = j.seq;
      if (snap->find(j.upstream)) continue;
      if (refresh_->expire_if_due(*snap, j, now)) {
        co_await refresh_->save(*snap, j, false, false);
        refresh_->terminal().put(j);
      }
    }
    if (page.size() < static_cast<std::size_t>(page_size) || stopping_) break;
  }
}

}  // namespace videogate::jobs
