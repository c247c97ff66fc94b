#include "redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace vgtest {

namespace fs = std::filesystem;
using namespace std::chrono;

// Redis cannot bind port 0 and tell us which it got: it is given one that was free.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("free_port: socket failed: " + std::string(std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("free_port: cannot find a free port: " + std::string(std::strerror(errno)));
  return ntohs(a.sin_port);
}

namespace {

/// The redis-server binary: $VIDEOGATE_REDIS_SERVER, else the first redis-server on PATH.
/// Resolved before fork: the child of a threaded process calls nothing that may allocate.
std::string redis_binary() {
  const char* env = std::getenv("VIDEOGATE_REDIS_SERVER");
  std::string name = env && *env ? env : "redis-server";
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    auto candidate = (fs::path(d.empty() ? "." : d) / name).string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("redis_server: '" + name +
                           "' not found on PATH (scripts/install-deps.sh --tests installs redis-server)");
}

/// Sends `command` to 127.0.0.1:port and reads until the answer contains `until`, the server
/// closes, or `timeout` passes; returns what it read ("" when it cannot connect).
std::string exchange(int port, const std::string& command, const std::string& until, milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string in;
  // A connect to loopback is refused or accepted at once: no deadline of its own needed.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, command.data(), command.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(command.size())) {
    auto deadline = steady_clock::now() + timeout;
    while (in.find(until) == std::string::npos) {
      auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return in;
}

/// Reaps `pid` if it has exited by `timeout`; true when it is gone.
bool reap(int pid, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    auto r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

std::string tail_of(const fs::path& log) {
  std::ifstream in(log, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  return text.size() > 3000 ? "..." + text.substr(text.size() - 3000) : text;
}

}  // namespace

redis_server::redis_server() : binary_(redis_binary()) {
  std::string tmpl = (fs::temp_directory_path() / "vgtest-redis-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("redis_server: mkdtemp failed");
  dir_ = tmpl;
  std::string why;
  // The port may be taken between our probe and the server's bind (another test process
  // starting its own server): then the server exits and another port is tried.
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = free_port();
    if (launch(port, seconds(10), why)) {
      port_ = port;
      return;
    }
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  throw std::runtime_error("redis_server: redis-server did not start: " + why);
}

redis_server::~redis_server() {
  halt(SIGTERM);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string redis_server::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

bool redis_server::launch(int port, milliseconds timeout, std::string& why) {
  const auto log = dir_ / "redis.log";
  std::vector<std::string> args{binary_, "--port", std::to_string(port), "--bind", "127.0.0.1",
                                "--dir", dir_.string(), "--appendonly", "yes", "--appendfsync", "always",
                                "--save", "", "--daemonize", "no", "--protected-mode", "no"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(null_fd);
    throw std::runtime_error("redis_server: fork failed: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    // If the test process dies (a crash, an abort), its server goes with it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  pid_ = pid;

  const std::string ours = "process_id:" + std::to_string(pid) + "\r\n";
  auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      pid_ = -1;
      why = "redis-server on port " + std::to_string(port) + " exited (" +
            (WIFEXITED(st) ? "status " + std::to_string(WEXITSTATUS(st)) : "signal " + std::to_string(WTERMSIG(st))) +
            "); its log:\n" + tail_of(log);
      return false;
    }
    // "-LOADING" while it replays its AOF: not ready yet.
    if (exchange(port, "PING\r\n", "\r\n", milliseconds(200)).starts_with("+PONG")) {
      // The answer may come from another server that took the port first: ours says its PID.
      if (exchange(port, "INFO server\r\n", ours, seconds(2)).find(ours) != std::string::npos) return true;
      halt(SIGKILL);
      why = "port " + std::to_string(port) + " is served by another redis-server";
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  halt(SIGKILL);
  why = "redis-server on port " + std::to_string(port) + " did not answer PING within " +
        std::to_string(duration_cast<milliseconds>(timeout).count()) + " ms; its log:\n" + tail_of(log);
  return false;
}

void redis_server::halt(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  if (!reap(pid_, seconds(5)) && sig != SIGKILL) {
    ::kill(pid_, SIGKILL);
    reap(pid_, seconds(5));
  }
  pid_ = -1;
}

void redis_server::stop() { halt(SIGTERM); }

void redis_server::kill9() { halt(SIGKILL); }

void redis_server::start_again() {
  if (running()) throw std::logic_error("redis_server::start_again: the server is running");
  std::string why;
  // Replaying a large AOF takes time: a longer bound than a first start.
  if (!launch(port_, seconds(30), why)) throw std::runtime_error("redis_server: restart failed: " + why);
}

redis_server& shared_redis_server() {
  static redis_server server;
  return server;
}

}  // namespace vgtest
