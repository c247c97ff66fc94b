#pragma once
/// @file Delivers the webhook outbox (DESIGN §9): due events are read from the store, signed
/// afresh for each attempt and POSTed through the pooled HTTP client (DESIGN §8's address
/// rules, no redirects, each attempt within webhooks.timeout); the outcome goes back to the
/// store (jobs/webhooks.hpp's state machine). At least once: an event stays pending until an
/// attempt is answered 2xx, so a restart (or another replica of a fleet, through a lease)
/// picks it up again, always with the same webhook-id.

#include "videogate/jobs/async_store.hpp"
#include "videogate/routing/live.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace videogate::http { class client; }
namespace videogate::observe { class metrics; }

namespace videogate::jobs {

class webhook_sender : public std::enable_shared_from_this<webhook_sender> {
 public:
  webhook_sender(std::shared_ptr<routing::live> live, std::shared_ptr<async_store> store,
                 std::shared_ptr<http::client> client, std::shared_ptr<observe::metrics> metrics);

  /// Starts delivering on `ex` (a strand). Must be owned by a shared_ptr.
  void start(boost::asio::any_io_executor ex);
  /// An event was written (or an attempt ended): look at the outbox now. Any thread.
  void wake();
  /// Stops after the current pass. Any thread.
  void stop();

  static constexpr int max_in_flight = 16;

 private:
  static boost::asio::awaitable<void> run(std::shared_ptr<webhook_sender> self);
  static boost::asio::awaitable<void> deliver(std::shared_ptr<webhook_sender> self, outbox_event e);
  boost::asio::awaitable<void> pass();
  bool claim(const std::string& id);
  void release(const std::string& id);

  std::shared_ptr<routing::live> live_;
  std::shared_ptr<async_store> store_;
  std::shared_ptr<http::client> client_;
  std::shared_ptr<observe::metrics> metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> woken_{false};
  std::mutex mu_;
  std::set<std::string> in_flight_;     ///< events this process is delivering now
  std::shared_ptr<void> timer_;         ///< the run loop's timer (an asio::steady_timer), to wake it
  boost::asio::any_io_executor ex_;
};

}  // namespace videogate::jobs
