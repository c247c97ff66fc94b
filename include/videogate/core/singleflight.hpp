#pragma once
/// @file Coalesces concurrent calls with the same key into one: the first caller runs the
/// work, the others wait for its result (e.g. many clients polling one job -> one vendor call).
/// Safe across threads and strands; each waiter resumes on its own executor.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

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
  ///
  /// Cancellation: a waiter cancelled (its own deadline) before the call ends leaves with
  /// `operation_aborted` and never reads a result; when the running call itself was cancelled
  /// (its caller's deadline), its waiters are not: they run the work again themselves.
  template <class Work>
  boost::asio::awaitable<T> run(std::string key, const Work& work) {
    std::shared_ptr<call> c;
    for (;;) {
      std::shared_ptr<channel> wake;
      {
        auto ex = co_await boost::asio::this_coro::executor;
        std::lock_guard lk(mu_);
        auto& slot = calls_[key];
        if (slot) {
          c = slot;
          wake = std::make_shared<channel>(ex, 1);
          c->waiters.push_back(wake);
        } else {
          slot = c = std::make_shared<call>();
        }
      }
      if (!wake) break;  // this caller runs the work
      // A cancelled receive says channel_cancelled; what leaves is operation_aborted, as from
      // any other cancelled operation.
      co_await wake->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
      std::exception_ptr failure;
      {
        std::lock_guard lk(mu_);
        if (!c->done) {
          std::erase(c->waiters, wake);
          throw boost::system::system_error(boost::asio::error::operation_aborted);
        }
        if (!c->failure) co_return *c->value;
        failure = c->failure;
      }
      if (!cancelled(failure)) std::rethrow_exception(failure);
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

  /// Whether a call ended because its caller was cancelled (not a failure of the work).
  static bool cancelled(const std::exception_ptr& p) {
    try {
      std::rethrow_exception(p);
    } catch (const boost::system::system_error& e) {
      return e.code() == boost::asio::error::operation_aborted;
    } catch (...) {
      return false;
    }
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
