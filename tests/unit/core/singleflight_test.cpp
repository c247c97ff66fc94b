#include "videogate/core/singleflight.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>

namespace asio = boost::asio;

namespace videogate {
namespace {

using namespace std::chrono_literals;

/// A call that runs until the test releases it (or an hour passes), then answers 42; cancelled
/// before that, it fails with operation_aborted, as a vendor call cut by a deadline does.
struct slow_work {
  asio::steady_timer* release;
  int* runs;
  const bool* released;
  asio::awaitable<int> operator()() const {
    ++*runs;
    release->expires_after(1h);
    auto [ec] = co_await release->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec && !*released) throw boost::system::system_error(ec);
    co_return 42;
  }
};

struct gate {
  asio::steady_timer timer;
  bool released = false;
  explicit gate(asio::io_context& ioc) : timer(ioc) {}
  void open() {
    released = true;
    timer.cancel();
  }
};

struct outcome {
  bool done = false;
  std::exception_ptr failure;
  std::optional<int> value;
};

auto record(outcome& o) {
  return [&o](std::exception_ptr e, int v) {
    o.done = true;
    o.failure = e;
    if (!e) o.value = v;
  };
}

bool aborted(const std::exception_ptr& p) {
  try {
    std::rethrow_exception(p);
  } catch (const boost::system::system_error& e) {
    return e.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

/// One key's calls on an io_context with no threads: `settle()` runs everything that is ready.
struct flight {
  asio::io_context ioc;
  singleflight<int> sf;
  gate release{ioc};
  int runs = 0;
  slow_work work{&release.timer, &runs, &release.released};

  template <class Token>
  void start(Token token) {
    asio::co_spawn(ioc, sf.run("job", work), std::move(token));
  }
  void settle() {
    ioc.restart();
    ioc.poll();
  }
};

TEST(Singleflight, WaitersShareOneCall) {
  flight f;
  outcome a, b;
  f.start(record(a));
  f.start(record(b));
  f.settle();
  EXPECT_EQ(f.sf.in_flight(), 1u);
  f.release.open();
  f.settle();
  ASSERT_TRUE(a.done && b.done);
  EXPECT_EQ(a.value, 42);
  EXPECT_EQ(b.value, 42);
  EXPECT_EQ(f.runs, 1);
}

// The coalesced-poll bug: a waiter whose own deadline fires while the running call goes on
// must leave with operation_aborted, never read the (empty) result.
TEST(Singleflight, ACancelledWaiterLeavesWithoutAResult) {
  flight f;
  outcome leader, waiter;
  asio::cancellation_signal cancel_waiter;
  f.start(record(leader));
  f.start(asio::bind_cancellation_slot(cancel_waiter.slot(), record(waiter)));
  f.settle();
  cancel_waiter.emit(asio::cancellation_type::terminal);
  f.settle();
  ASSERT_TRUE(waiter.done);
  EXPECT_FALSE(waiter.value) << "read a result that did not exist yet";
  EXPECT_TRUE(aborted(waiter.failure));
  EXPECT_FALSE(leader.done);  // the running call is not disturbed
  f.release.open();
  f.settle();
  EXPECT_EQ(leader.value, 42);
  EXPECT_EQ(f.sf.in_flight(), 0u);
}

// When the running call is the one cancelled, the waiters were not: they run the work again.
TEST(Singleflight, WaitersOfACancelledCallRunItThemselves) {
  flight f;
  outcome leader, waiter;
  asio::cancellation_signal cancel_leader;
  f.start(asio::bind_cancellation_slot(cancel_leader.slot(), record(leader)));
  f.start(record(waiter));
  f.settle();
  cancel_leader.emit(asio::cancellation_type::terminal);
  f.settle();
  ASSERT_TRUE(leader.done);
  EXPECT_TRUE(aborted(leader.failure));
  EXPECT_FALSE(waiter.done);
  EXPECT_EQ(f.runs, 2);  // the waiter took over
  f.release.open();
  f.settle();
  EXPECT_EQ(waiter.value, 42);
}

}  // namespace
}  // namespace videogate
