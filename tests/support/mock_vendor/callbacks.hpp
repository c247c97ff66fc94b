#pragma once
/// @file
/// The vendor → client callbacks (fal webhooks, Replicate webhooks, kie callBackUrl): one
/// POST per event, best effort, asynchronous, never retried, each attempt kept in a log
/// (GET /_mock/callbacks) so tests can see what the vendor sent and how the receiver answered.
///
/// Runs on the server's single io_context thread like everything else: no locking.

#include "dialect.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <deque>

namespace videogate::mock_vendor {

class callback_sender {
public:
  callback_sender(boost::asio::io_context& ioc, bool verbose) : ioc_(ioc), verbose_(verbose) {}

  /// Logs the attempt as `pending` and sends it in the background (http or https; a TLS
  /// receiver's certificate is not checked: this is a test double).
  void send(outgoing_callback cb);

  /// Every attempt in order: {"seq","job_id","dialect","event","url","body","state"
  /// (pending|delivered|failed),"status","response","error","sent_at_ms","done_at_ms"}.
  boost::json::array log() const;

  /// Forgets the log (POST /_mock/reset); deliveries in flight no longer report back.
  void clear();

private:
  boost::asio::awaitable<void> deliver(std::uint64_t seq, std::uint64_t generation, outgoing_callback cb);
  boost::json::object* entry(std::uint64_t seq, std::uint64_t generation);

  boost::asio::io_context& ioc_;
  bool verbose_;
  std::deque<boost::json::object> log_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t generation_ = 0;
};

}  // namespace videogate::mock_vendor
