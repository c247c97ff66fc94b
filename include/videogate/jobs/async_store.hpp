#pragma once
/// @file Runs the blocking store off the I/O threads: every call hops to a dedicated thread
/// and the awaiting coroutine resumes on its own executor when the call is done.

#include "videogate/jobs/store.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <vector>
#include <memory>
#include <type_traits>

namespace videogate::jobs {

class async_store {
 public:
  /// One thread by default: SQLite serialises writers anyway, and one thread keeps order
  /// simple. A networked store (Redis) takes more, one connection each, so that one slow
  /// round trip does not hold up every other request.
  explicit async_store(std::unique_ptr<store> s, std::size_t threads = 1)
      : store_(std::move(s)), pool_(threads ? threads : 1) {}
  ~async_store() { pool_.join(); }

  /// Calls `f(store&)` on the store thread; exceptions propagate to the awaiting coroutine.
  /// Not a coroutine itself on purpose: GCC 12 miscompiles closures passed by value into
  /// coroutine frames (their strings are relocated bitwise), so the hop is a plain async op.
  template <class F>
  auto call(F f) {
    using R = decltype(f(std::declval<store&>()));
    if constexpr (std::is_void_v<R>) {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
          [this](auto handler, F fn) {
            boost::asio::post(pool_, [this, s = store_.get(), h = std::move(handler), fn = std::move(fn)]() mutable {
              std::exception_ptr ep;
              try { fn(*s); } catch (...) { ep = std::current_exception(); failed(); }
              auto ex = boost::asio::get_associated_executor(h);
              boost::asio::dispatch(ex, [h = std::move(h), ep]() mutable { std::move(h)(ep); });
            });
          },
          boost::asio::use_awaitable, std::move(f));
    } else {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, R)>(
          [this](auto handler, F fn) {
            boost::asio::post(pool_, [this, s = store_.get(), h = std::move(handler), fn = std::move(fn)]() mutable {
              std::exception_ptr ep;
              R r{};
              try { r = fn(*s); } catch (...) { ep = std::current_exception(); failed(); }
              auto ex = boost::asio::get_associated_executor(h);
              boost::asio::dispatch(ex, [h = std::move(h), ep, r = std::move(r)]() mutable { std::move(h)(ep, std::move(r)); });
            });
          },
          boost::asio::use_awaitable, std::move(f));
    }
  }

  // Typed calls: the closure is made here, outside the caller's co_await expression, where
  // GCC 12 would destroy a capturing lambda twice.
  auto get(std::string id) { return call([id = std::move(id)](store& s) { return s.get(id); }); }
  /// Durable when the awaiting coroutine resumes. Puts that arrive while the store thread is
  /// busy are written together in one transaction (group commit), in arrival order.
  auto put(job_record r) {
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
        [this](auto handler, job_record rec) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          bool schedule = false;
          {
            std::lock_guard lk(mu_);
            pending_.push_back({std::move(rec), [h](std::exception_ptr ep) {
                                  auto ex = boost::asio::get_associated_executor(*h);
                                  boost::asio::dispatch(ex, [h, ep]() mutable { std::move(*h)(ep); });
                                }});
            schedule = !flush_scheduled_;
            flush_scheduled_ = true;
          }
          if (schedule) boost::asio::post(pool_, [this] { flush(); });
        },
        boost::asio::use_awaitable, std::move(r));
  }
  auto erase(std::string id) { return call([id = std::move(id)](store& s) { return s.erase(id); }); }
  auto list(list_query q) { return call([q = std::move(q)](store& s) { return s.list(q); }); }
  auto find_idempotent(std::string client, std::string key, std::int64_t not_before) {
    return call([c = std::move(client), k = std::move(key), not_before](store& s) { return s.find_idempotent(c, k, not_before); });
  }
  auto unfinished(int limit, std::int64_t after_seq = 0) {
    return call([limit, after_seq](store& s) { return s.unfinished(limit, after_seq); });
  }
  auto due(std::vector<due_query> queries) {
    return call([q = std::move(queries)](store& s) { return s.due(q); });
  }
  auto update(job_record r) { return call([r = std::move(r)](store& s) { return s.update(r); }); }
  /// update() with the webhook events its terminal state makes, in one step.
  auto update(job_record r, std::vector<outbox_event> events) {
    return call([r = std::move(r), ev = std::move(events)](store& s) { return s.update(r, ev); });
  }
  /// put() with webhook events: written on their own (not grouped), in one step.
  auto put(job_record r, std::vector<outbox_event> events) {
    return call([r = std::move(r), ev = std::move(events)](store& s) { s.put(r, ev); });
  }
  auto put_media(std::string token, std::string mime, std::string bytes, std::int64_t expires_ms) {
    return call([t = std::move(token), m = std::move(mime), b = std::move(bytes), expires_ms](store& s) {
      s.put_media(t, m, b, expires_ms);
    });
  }
  auto get_media(std::string token, std::int64_t now_ms) {
    return call([t = std::move(token), now_ms](store& s) { return s.get_media(t, now_ms); });
  }
  auto outbox_due(std::int64_t now_ms, int limit) {
    return call([now_ms, limit](store& s) { return s.outbox_due(now_ms, limit); });
  }
  auto outbox_next_due() {
    return call([](store& s) { return s.outbox_next_due(); });
  }
  auto outbox_save(outbox_event e) {
    return call([e = std::move(e)](store& s) { return s.outbox_save(e); });
  }
  auto outbox_get(std::string id) {
    return call([id = std::move(id)](store& s) { return s.outbox_get(id); });
  }
  auto outbox_list(std::optional<outbox_event::state> status, int limit) {
    return call([status, limit](store& s) { return s.outbox_list(status, limit); });
  }
  auto outbox_count(outbox_event::state status) {
    return call([status](store& s) { return s.outbox_count(status); });
  }
  auto claim_idempotency(idempotency_record r, std::int64_t not_before) {
    return call([r = std::move(r), not_before](store& s) { return s.claim_idempotency(r, not_before); });
  }
  auto settle_idempotency(idempotency_record r) {
    return call([r = std::move(r)](store& s) { s.settle_idempotency(r); });
  }
  auto release_idempotency(std::string client, std::string key) {
    return call([c = std::move(client), k = std::move(key)](store& s) { s.release_idempotency(c, k); });
  }
  auto save_key_state(key_state_record k) {
    return call([k = std::move(k)](store& s) { s.save_key_state(k); });
  }
  auto key_states_of(std::string upstream) {
    return call([u = std::move(upstream)](store& s) { return s.key_states_of(u); });
  }
  auto take_lease(std::string name, std::int64_t ttl_ms) {
    return call([n = std::move(name), ttl_ms](store& s) { return s.take_lease(n, ttl_ms); });
  }
  auto drop_lease(std::string name) {
    return call([n = std::move(name)](store& s) { s.drop_lease(n); });
  }
  auto claim_slot(std::string upstream, std::string key_fp, int cap, std::string token, std::int64_t ttl_ms) {
    return call([u = std::move(upstream), k = std::move(key_fp), cap, t = std::move(token), ttl_ms](store& s) {
      return s.claim_slot(u, k, cap, t, ttl_ms);
    });
  }
  auto release_slot(std::string upstream, std::string key_fp, std::string token) {
    return call([u = std::move(upstream), k = std::move(key_fp), t = std::move(token)](store& s) { s.release_slot(u, k, t); });
  }
  auto take_poll_budget(std::string upstream, int per_second) {
    return call([u = std::move(upstream), per_second](store& s) { return s.take_poll_budget(u, per_second); });
  }
  auto ping() {
    return call([](store& s) { s.ping(); });
  }
  bool shared() const noexcept { return store_->shared(); }

  /// Saves a key state on the store thread without waiting (any thread; saves keep their
  /// order on one store thread; a shared store keeps the newest). A failure is logged: the state in memory stays right, only a restart would miss it.
  void save_key_state_later(key_state_record k) {
    boost::asio::post(pool_, [this, k = std::move(k)] {
      try {
        store_->save_key_state(k);
      } catch (const std::exception& e) {
        failed();
        spdlog::warn("cannot save the state of key {} of upstream {}: {}", k.key_fp, k.upstream, e.what());
      }
    });
  }

  /// Runs `f(store&)` on the store thread and blocks the caller until it is done: for rare
  /// admin work on an I/O thread (a reload), never on the request path.
  template <class F>
  auto run_blocking(F f) {
    std::packaged_task<decltype(f(std::declval<store&>()))()> task([this, &f] {
      try {
        return f(*store_);
      } catch (...) {
        failed();
        throw;
      }
    });
    auto done = task.get_future();
    boost::asio::post(pool_, [&task] { task(); });
    return done.get();
  }

  store& blocking() { return *store_; }  ///< for start-up and tests only
  std::size_t last_batch() const { return last_batch_; }  ///< size of the latest group commit
  /// Store operations that failed (threw) since start-up: the store_errors metric.
  unsigned long long errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
  void stop() { pool_.join(); }

 private:
  struct pending_put {
    job_record record;
    std::function<void(std::exception_ptr)> done;
  };

  /// On the store thread: writes every queued put in one go, then wakes their awaiters.
  void flush() {
    std::vector<pending_put> batch;
    {
      std::lock_guard lk(mu_);
      batch.swap(pending_);
      flush_scheduled_ = false;
    }
    std::vector<job_record> records;
    records.reserve(batch.size());
    for (auto& p : batch) records.push_back(std::move(p.record));
    std::exception_ptr ep;
    try {
      store_->put_many(records);
    } catch (...) {
      ep = std::current_exception();
      failed();
    }
    last_batch_ = batch.size();
    for (auto& p : batch) p.done(ep);
  }

  std::mutex mu_;
  std::vector<pending_put> pending_;
  bool flush_scheduled_ = false;
  std::atomic<std::size_t> last_batch_{0};
  std::atomic<unsigned long long> errors_{0};
  void failed() noexcept { errors_.fetch_add(1, std::memory_order_relaxed); }
  std::unique_ptr<store> store_;
  boost::asio::thread_pool pool_;
};

}  // namespace videogate::jobs
