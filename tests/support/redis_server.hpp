#pragma once
// A real redis-server for tests (DESIGN §10): started on a free loopback port in a temp dir,
// persisting every write (appendonly yes, appendfsync always), stopped by PID at scope end.
// Self-contained (fork/exec, raw sockets): the unit and the integration test binaries both use
// it, and the unit binary has none of the integration helpers.

#include <chrono>
#include <filesystem>
#include <string>

namespace vgtest {

class redis_server {
 public:
  /// Starts redis-server (the `VIDEOGATE_REDIS_SERVER` environment variable names another
  /// binary) and returns once it answers PING. Throws std::runtime_error, with the server's
  /// log, when it cannot be started.
  redis_server();
  /// Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory.
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  int port() const { return port_; }
  /// "redis://127.0.0.1:PORT/DB".
  std::string url(int db = 0) const;
  /// Where the server keeps its AOF (and its log, redis.log).
  const std::filesystem::path& dir() const { return dir_; }
  /// The server's PID, -1 while it is stopped.
  int pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  /// SIGTERM and wait (SIGKILL after 5 s); the directory stays for start_again().
  void stop();
  /// SIGKILL and wait: a crash. With appendfsync always every acknowledged write is on disk.
  void kill9();
  /// Starts the server again on the same port and directory: it replays its AOF. Returns once
  /// it answers PING (not LOADING). Throws std::runtime_error when it does not come up.
  void start_again();

 private:
  /// Starts redis-server on `port` and waits until it answers; false (the child reaped, its log
  /// in `why`) when it exits or does not answer in time.
  bool launch(int port, std::chrono::milliseconds timeout, std::string& why);
  void halt(int sig);

  std::string binary_;
  std::filesystem::path dir_;
  int port_ = 0;
  int pid_ = -1;
};

/// A loopback TCP port the kernel had free a moment ago (for servers that cannot bind port 0
/// and say which port they got, or whose port must be known before they start).
int free_port();

/// One redis-server shared by every test of this process that asks for it: started on first
/// use, stopped at exit. Tests keep apart by a key prefix of their own.
redis_server& shared_redis_server();

}  // namespace vgtest
