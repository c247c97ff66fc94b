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

TEST(Singleflight, WaitersShareOneCall) {
  asio::io_context ioc;
  singleflight<int> sf;
  gate release(ioc);
  int runs = 0;
  slow_work work{&release.timer, &runs, &release.released};
  outcome a, b;
  asio::co_spawn(ioc, sf.run("job", work), record(a));
  asio::co_spawn(ioc, sf.run("job", work), record(b));
  ioc.run_for(20ms);
  EXPECT_EQ(sf.in_flight(), 1u);
  release.open();
  ioc.run_for(20ms);
  ASSERT_TRUE(a.done && b.done);
  EXPECT_EQ(a.value, 42);
  EXPECT_EQ(b.value, 42);
  EXPECT_EQ(runs, 1);
}

// The coalesced-poll bug: a waiter whose own deadline fires while the running call goes on
// must leave with operation_aborted, never read the (empty) result.
TEST(Singleflight, ACancelledWaiterLeavesWithoutAResult) {
  asio::io_context ioc;
  singleflight<int> sf;
  gate release(ioc);
  int runs = 0;
  slow_work work{&release.timer, &runs, &release.released};
  outcome leader, waiter;
  asio::cancellation_signal cancel_waiter;
  asio::co_spawn(ioc, sf.run("job", work), record(leader));
  asio::co_spawn(ioc, sf.run("job", work), asio::bind_cancellation_slot(cancel_waiter.slot(), record(waiter)));
  ioc.run_for(20ms);
  cancel_waiter.emit(asio::cancellation_type::terminal);
  ioc.run_for(20ms);
  ASSERT_TRUE(waiter.done);
  EXPECT_FALSE(waiter.value) << "read a result that did not exist yet";
  EXPECT_TRUE(aborted(waiter.failure));
  EXPECT_FALSE(leader.done);  // the running call is not disturbed
  release.open();
  ioc.run_for(20ms);
  EXPECT_EQ(leader.value, 42);
  EXPECT_EQ(sf.in_flight(), 0u);
}

// When the running call is the one cancelled, the waiters were not: they run the work again.
TEST(Singleflight, WaitersOfACancelledCallRunItThemselves) {
  asio::io_context ioc;
  singleflight<int> sf;
  gate release(ioc);
  int runs = 0;
  slow_work work{&release.timer, &runs, &release.released};
  outcome leader, waiter;
  asio::cancellation_signal cancel_leader;
  asio::co_spawn(ioc, sf.run("job", work), asio::bind_cancellation_slot(cancel_leader.slot(), record(leader)));
  asio::co_spawn(ioc, sf.run("job", work), record(waiter));
  ioc.run_for(20ms);
  cancel_leader.emit(asio::cancellation_type::terminal);
  ioc.run_for(20ms);
  ASSERT_TRUE(leader.done);
  EXPECT_TRUE(aborted(leader.failure));
  EXPECT_FALSE(waiter.done);
  EXPECT_EQ(runs, 2);  // the waiter took over
  release.open();
  ioc.run_for(20ms);
  EXPECT_EQ(waiter.value, 42);
}

}  // namespace
}  // namespace videogate
