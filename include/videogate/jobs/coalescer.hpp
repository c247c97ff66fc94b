#pragma once
/// @file Concurrent calls with the same key run once (many pollers of one job -> one vendor
/// call; duplicate idempotent creates -> one create). An interface, so a fleet's shared
/// backend can stand behind it; today's implementation is `singleflight` in this process.

#include "videogate/core/singleflight.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

namespace videogate::jobs {

template <class T>
class coalescer {
 public:
  using work = std::function<boost::asio::awaitable<T>()>;
  virtual ~coalescer() = default;
  /// Runs `w` unless a call for `key` is already running, in which case it waits for that
  /// call and returns a copy of its result. `w` must outlive the call (name it in the caller's
  /// frame: GCC 12 mangles closures that are temporaries of a co_await expression).
  virtual boost::asio::awaitable<T> run(std::string key, const work& w) = 0;
};

/// Coalesces within this process.
template <class T>
class memory_coalescer final : public coalescer<T> {
 public:
  boost::asio::awaitable<T> run(std::string key, const typename coalescer<T>::work& w) override {
    co_return co_await flights_.run(std::move(key), w);
  }

 private:
  singleflight<T> flights_;
};

}  // namespace videogate::jobs
