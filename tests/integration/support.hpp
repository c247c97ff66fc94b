#pragma once
// Helpers for integration tests: start the real binaries on port 0, talk HTTP to them over
// loopback, stop only what we started.

#include "redis_server.hpp"
#include "videogate/http/client.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vgtest {

/// A child process whose stdout we read line by line and whose stderr goes to a file.
class process {
 public:
  process(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// Waits for a stdout line containing `needle`; returns it (throws on timeout or exit).
  std::string wait_for_line(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void signal(int sig);
  /// Waits for exit; returns the exit status (128+signal when killed), -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::string stderr_text() const;
  /// Everything the process wrote to stdout so far (lines wait_for_line consumed too): reads
  /// what is waiting in the pipe, for up to `wait` or until the process closes its stdout.
  std::string stdout_text(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  bool out_eof_ = false;
  std::string out_buf_;
  std::string out_all_;
  std::filesystem::path err_path_;
  bool exited_ = false;
  int status_ = 0;
};

/// A temp directory removed (with its content) at scope end.
struct temp_dir {
  std::filesystem::path path;
  temp_dir();
  ~temp_dir();
};

/// The port in a "... listening on HOST:PORT" line.
int port_of(const std::string& line);

/// One HTTP exchange; throws when it fails or takes longer than `timeout`.
videogate::http::client_response request(const std::string& method, const std::string& url,
                                         videogate::http::header_list headers = {}, std::string body = {},
                                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Sends raw bytes and returns everything the server answers until it closes (or 5 s).
std::string raw_exchange(int port, const std::string& bytes);

/// A raw TCP connection to 127.0.0.1:port, for tests that need byte-level control of what a
/// client sends and when (slow senders, bodies that never come, connections held open).
/// Every read is bounded by a timeout; nothing blocks longer than asked.
class raw_connection {
 public:
  explicit raw_connection(int port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  /// Sends all of `bytes`; false when the peer closed or reset the connection.
  bool send(const std::string& bytes);
  /// Reads for up to `timeout`, returning early when the peer closes. Returns the bytes read
  /// by this call (all bytes read so far stay in received()).
  std::string read_for(std::chrono::milliseconds timeout);
  /// Reads until received() contains `needle`, the peer closes, or `timeout` passes.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout);
  /// Reads until the peer closes (EOF or reset) or `timeout` passes; true when it closed.
  bool wait_closed(std::chrono::milliseconds timeout);
  /// The peer closed or reset the connection (seen by a read or a send).
  bool closed() const { return closed_; }
  const std::string& received() const { return in_; }
  void close();

 private:
  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);

/// The ids.secret of openai_config(): tests open the gateway's ids with it.
extern const std::string integration_ids_secret;

/// A gateway config with one openai-dialect upstream `vendor` (JSON creates, poll_interval 0)
/// holding `keys` (a YAML list), admin key "admin-secret-key", log level info, ids.secret
/// integration_ids_secret; `extra` goes at the top level, `upstream_extra` after the upstream.
/// ${DIR} and ${MOCK_URL} as in stack::write_config.
std::string openai_config(const std::string& keys, const std::string& extra = "", const std::string& upstream_extra = "");

/// Replaces the first `from` in `text` with `to`; throws std::logic_error when there is none
/// (a config edit that silently did nothing would make a test prove nothing).
void replace_once(std::string& text, const std::string& from, const std::string& to);

/// The mock vendor and a gateway configured against it.
struct stack {
  temp_dir dir;
  std::unique_ptr<process> mock;
  std::unique_ptr<process> gateway;
  int mock_port = 0;
  int gateway_port = 0;
  std::string config_path;

  /// Starts the mock with `mock_args` (plus --listen 127.0.0.1:0).
  void start_mock(std::vector<std::string> mock_args = {});
  /// Writes `yaml` (with ${MOCK_URL} and ${DIR} replaced) and starts the gateway on it.
  /// `wrapper` (e.g. {"/bin/sh", "-c", "ulimit -n 64; exec \"$0\" \"$@\""}) goes before the binary.
  void start_gateway(const std::string& yaml, std::vector<std::string> wrapper = {});
  /// Writes `yaml` (same replacements) over the gateway's config file, atomically.
  void write_config(const std::string& yaml);
  std::string gw(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(gateway_port) + path; }
  std::string vendor(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(mock_port) + path; }
  /// Requests the vendor received whose target starts with `prefix` (from /_mock/requests).
  int vendor_count(const std::string& method, const std::string& prefix) const;
};

/// One request the simulated vendor received: method, path without query, bearer key ("" if none).
struct seen {
  std::string method, path, key;
};
/// Every request the vendor received, in order (from /_mock/requests).
std::vector<seen> vendor_log(const stack& s);
/// Creates (`POST /v1/videos`) the vendor received with `key`.
int creates_with(const stack& s, const std::string& key);
/// Status reads (any dialect's) the vendor received with `key`.
int status_reads_with(const stack& s, const std::string& key);

/// The id of a 200 Video answer, "" for any other answer.
std::string id_of(const videogate::http::client_response& r);
/// `error.code` of an OpenAI error body, or a short note saying why there is none.
std::string error_code(const std::string& body);
/// The string field `name` of a JSON object body ("" when there is none).
std::string field(const std::string& body, const char* name);
/// `s` in ASCII lower case (header names, error texts).
std::string lower(std::string s);

/// The vendor's id of a job, from the gateway's id sealed with `ids_secret`.
std::string upstream_id_of(const std::string& id, const std::string& ids_secret = integration_ids_secret);

/// The sum of the /metrics samples whose line starts with `series` (a name, or a name with its
/// labels, e.g. `videogate_jobs_created_total{upstream="vendor"}`), -1 when there is none.
/// Throws when a sample line is not `series value` with a number for value.
double metric_value(const stack& s, const std::string& series);

/// A redis-server, the simulated vendor and `replicas` gateways with one config (openai_config
/// with `keys`, `top_extra` and `upstream_extra`, on Redis under a prefix of this fleet's own,
/// ids.secret fleet_stack::ids_secret). Replica 0's stack runs the vendor; the others point at it.
class fleet_stack {
 public:
  static const std::string ids_secret;
  fleet_stack(int replicas, const std::string& keys, std::vector<std::string> mock_args,
              const std::string& poll_interval = "0ms", const std::string& upstream_extra = "",
              const std::string& top_extra = "");
  stack& operator[](std::size_t i) { return *replicas_.at(i); }
  std::size_t size() const { return replicas_.size(); }

  redis_server redis;  // first: started before the gateways, stopped after them

 private:
  std::vector<std::unique_ptr<stack>> replicas_;
};

/// One answer of an http_receiver.
struct scripted_answer {
  int status = 200;
  videogate::http::header_list headers;  ///< sent besides Content-Length and Connection: close
  std::string body;
  std::chrono::milliseconds delay{0};  ///< wait this long before answering (a slow receiver)
};

/// One request an http_receiver got.
struct received_request {
  std::string method, target;
  videogate::http::header_list headers;  ///< as sent (names as the sender spelled them)
  std::string body;                      ///< de-chunked when sent chunked
  std::chrono::steady_clock::time_point at;  ///< when its last byte arrived
  std::string header(std::string_view name) const { return std::string(videogate::http::find_header(headers, name)); }
};

/// A loopback HTTP/1.1 server on 127.0.0.1 (port 0, or `port` to come back on a port used
/// before) standing in for a webhook receiver or a vendor: request n (in arrival order) gets
/// script[n], every later one `then`. One request per connection (`Connection: close`), each on
/// a thread of its own, so a delayed answer holds no other request up. Records every request;
/// every accessor is thread-safe. Stops (and joins its threads) at scope end, within ~100 ms.
class http_receiver {
 public:
  explicit http_receiver(std::vector<scripted_answer> script = {}, scripted_answer then = {}, int port = 0);
  ~http_receiver();
  http_receiver(const http_receiver&) = delete;
  http_receiver& operator=(const http_receiver&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path = "") const;
  /// Every request received so far, in arrival order.
  std::vector<received_request> requests() const;
  std::size_t count() const;
  /// Connections accepted, whether or not a whole request came on them.
  int connections() const { return connections_; }
  /// Waits until `n` requests have arrived; false after `timeout`.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const;

 private:
  void accept_loop();
  void serve(int fd);
  void serve_one(int fd);

  std::vector<scripted_answer> script_;
  scripted_answer then_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<received_request> got_;  // guarded by mu_
  std::vector<std::thread> sessions_;  // guarded by mu_
  std::thread acceptor_;
};

/// Answers for an http_receiver standing in for a vendor: HTTP 200, JSON `bodies` in order.
std::vector<scripted_answer> json_answers(const std::vector<std::string>& bodies);

/// Checks `pred` every 100 ms until it holds or `timeout` passes.
template <class F>
bool eventually(F pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace vgtest
