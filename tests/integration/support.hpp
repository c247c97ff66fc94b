#pragma once
// Helpers for integration tests: start the real binaries on port 0, talk HTTP to them over
// loopback, stop only what we started.

#include "videogate/http/client.hpp"

#include <chrono>
#include <filesystem>
#include <map>
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

/// A gateway config with one openai-dialect upstream `vendor` (JSON creates, poll_interval 0)
/// holding `keys` (a YAML list), admin key "admin-secret-key"; `extra` goes at the top level,
/// `upstream_extra` after the upstream. ${DIR} and ${MOCK_URL} as in stack::write_config.
std::string openai_config(const std::string& keys, const std::string& extra = "", const std::string& upstream_extra = "");

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
