#pragma once
// Helpers for integration tests: start the real binaries on port 0, talk HTTP to them over
// loopback, stop only what we started.

#include "videogate/http/client.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
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
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string out_buf_;
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

videogate::http::client_response request(const std::string& method, const std::string& url,
                                         videogate::http::header_list headers = {}, std::string body = {});

/// Sends raw bytes and returns everything the server answers until it closes (or 5 s).
std::string raw_exchange(int port, const std::string& bytes);

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
  void start_gateway(const std::string& yaml);
  /// Writes `yaml` (same replacements) over the gateway's config file, atomically.
  void write_config(const std::string& yaml);
  std::string gw(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(gateway_port) + path; }
  std::string vendor(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(mock_port) + path; }
  /// Requests the vendor received whose target starts with `prefix` (from /_mock/requests).
  int vendor_count(const std::string& method, const std::string& prefix) const;
};

}  // namespace vgtest
