#pragma once
/// @file Coalesces concurrent calls with the same key into one: the first caller runs the
/// work, the others wait for its result (e.g. many clients polling one job -> one vendor call).
/// Safe across threads and strands; each waiter resumes on its own executor.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace videogate {

template <class T>
class singleflight {
  using channel = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  struct call {
    bool done = false;
    std::optional<T> value;
    std::exception_ptr failure;
    std::vector<std::shared_ptr<channel>> waiters;
  };

 public:
  /// Runs `work()` (returning awaitable<T>) unless a call for `key` is already running, in
  /// which case it waits for that call and returns a copy of its result. `work` is taken by
  /// reference (it lives in the caller's full expression): GCC 12 mangles closures copied
  /// into coroutine frames.
  template <class Work>
  boost::asio::awaitable<T> run(std::string key, const Work& work) {
    std::shared_ptr<call> c;
    std::shared_ptr<channel> wake;
    {
      std::lock_guard lk(mu_);
      auto& slot = calls_[key];
      if (slot) {
        c = slot;
        wake = std::make_shared<channel>(co_await boost::asio::this_coro::executor, 1);
        c->waiters.push_back(wake);
      } else {
        slot = c = std::make_shared<call>();
      }
    }
    if (wake) {
      co_await wake->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
      std::lock_guard lk(mu_);
      if (c->failure) std::rethrow_exception(c->failure);
      co_return *c->value;
    }
    std::exception_ptr failure;
    std::optional<T> value;
    try {
      value.emplace(co_await work());
    } catch (...) {
      failure = std::current_exception();
    }
    std::vector<std::shared_ptr<channel>> waiters;
    {
      std::lock_guard lk(mu_);
      calls_.erase(key);
      c->done = true;
      c->value = value;
      c->failure = failure;
      waiters.swap(c->waiters);
    }
    for (auto& w : waiters) w->try_send(boost::system::error_code{});
    if (failure) std::rethrow_exception(failure);
    co_return std::move(*value);
  }

  std::size_t in_flight() const {
    std::lock_guard lk(mu_);
    return calls_.size();
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<call>> calls_;
};

}  // namespace videogate
