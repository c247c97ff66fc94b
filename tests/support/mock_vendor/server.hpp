#pragma once
/// @file
/// The HTTP(S) side of the simulated vendors: accepts connections, reads requests with
/// limits and deadlines, applies the key faults, records what it received, serves the
/// control endpoints (/_mock/*) and hands everything else to the dialect owning the path.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace videogate::mock_vendor {

/// Command-line options (see README.md).
struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9090;  ///< 0: any free port
  int complete_after_polls = 3;
  std::chrono::milliseconds slow{3000};
  std::chrono::seconds retry_after{7};
  std::string tls_cert;  ///< PEM; with tls_key: serve HTTPS
  std::string tls_key;
  std::optional<std::size_t> video_bytes;
  std::string unified_variant = "rich";  ///< minimal | rich | detail (`unified` query answers)
  std::string evil_url;  ///< result URL of evilurl-* jobs; empty: the mock's health route via "localhost"
  std::optional<std::uint64_t> chaos_seed;  ///< set: random faults on plain keys (--chaos)
  double chaos_rate = 0.2;  ///< chance per request of a chaos fault
  bool verbose = false;  ///< one stderr line per request
};

/// One listening socket serving every dialect. Runs on the io_context's (single) thread.
class server {
public:
  /// Binds and listens at once (throws boost::system::system_error on failure), so the
  /// caller can print the bound port before accepting.
  server(boost::asio::io_context& ioc, options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Starts accepting (spawns the accept loop on the io_context).
  void start();

  /// Stops accepting; connections in flight end when the io_context stops.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace videogate::mock_vendor
