#include "videogate/jobs/watcher.hpp"

#include "videogate/core/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <vector>

namespace asio = boost::asio;

namespace videogate::jobs {

namespace {

using done_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

/// What the workers of one pass share.
struct pass_state {
  std::shared_ptr<routing::router> snap;
  std::atomic<int> pending{0};
  std::shared_ptr<done_channel> done;
};

/// One worker of a pass: polls the jobs of one upstream until the list is done. Workers of one
/// upstream share `next` on the watcher's executor: one strand of work. A plain function with
/// its state as parameters (not a capturing lambda): GCC 12 mishandles lambda coroutine frames.
asio::awaitable<void> work_through(std::shared_ptr<const watcher> owner, std::shared_ptr<refresher> refresh,
                                   const id_codec* ids, std::shared_ptr<pass_state> ps,
                                   std::shared_ptr<std::vector<job_record>> list, std::shared_ptr<std::size_t> next) {
  while (*next < list->size() && !owner->stopping()) {
    auto& j = (*list)[(*next)++];
    auto f = ids->open(j.id);
    if (!f) continue;
    try {
      auto r = co_await refresh->refresh(ps->snap, j.id, *f);
      if (!r) spdlog::debug("job watcher: {} on {}: {}", to_string(r.error().code), j.upstream, r.error().message);
    } catch (const std::exception& e) {
      spdlog::warn("job watcher: poll on {} failed: {}", j.upstream, e.what());
    }
  }
  if (--ps->pending == 0) ps->done->try_send(boost::system::error_code{});
}

}  // namespace

watcher::watcher(std::shared_ptr<routing::live> live, std::shared_ptr<async_store> store,
                 std::shared_ptr<refresher> refresh, id_codec ids, std::chrono::milliseconds period)
    : live_(std::move(live)), store_(std::move(store)), refresh_(std::move(refresh)), ids_(std::move(ids)), period_(period) {}

void watcher::start(asio::any_io_executor ex) {
  asio::co_spawn(ex, run(shared_from_this()), asio::detached);
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
  auto jobs = co_await store_->unfinished(2000);
  auto ps = std::make_shared<pass_state>();
  ps->snap = live_->snapshot();  // one snapshot per pass
  auto now = clock::now_ms();
  // Due jobs per upstream, oldest first.
  std::map<std::string, std::vector<job_record>> due;
  for (auto& j : jobs) {
    auto up = ps->snap->find(j.upstream);
    if (!up) continue;
    if (now - j.updated_at_ms < std::max<long long>(up->cfg().poll_interval.count(), 1000)) continue;
    due[j.upstream].push_back(std::move(j));
  }
  if (due.empty()) co_return;
  auto self = shared_from_this();
  auto ex = co_await asio::this_coro::executor;
  ps->done = std::make_shared<done_channel>(ex, 1);
  for (auto& [name, list] : due) {
    auto shared = std::make_shared<std::vector<job_record>>(std::move(list));
    auto next = std::make_shared<std::size_t>(0);
    for (int w = 0; w < per_upstream; ++w) {
      ++ps->pending;
      asio::co_spawn(ex, work_through(self, refresh_, &ids_, ps, shared, next), asio::detached);
    }
  }
  co_await ps->done->async_receive(asio::as_tuple(asio::use_awaitable));
}

}  // namespace videogate::jobs
