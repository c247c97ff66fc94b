#include "support.hpp"

#include <cstdlib>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace vgtest {

namespace fs = std::filesystem;
using namespace std::chrono;

process::process(std::vector<std::string> argv, std::map<std::string, std::string> env) {
  static std::mt19937_64 rng{std::random_device{}()};
  err_path_ = fs::temp_directory_path() / ("vgtest-stderr-" + std::to_string(rng()) + ".log");
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto name = kv.substr(0, kv.find('='));
    if (!env.count(name)) envs.push_back(kv);
  }
  for (auto& [k, v] : env) envs.push_back(k + "=" + v);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // If the test process dies (a crash, an abort), its children go with it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(out[1], 1);
    int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) dup2(err, 2);
    close(out[0]);
    close(out[1]);
    std::vector<char*> a, e;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    for (auto& s : envs) e.push_back(s.data());
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  close(out[1]);
  out_fd_ = out[0];
}

process::~process() {
  if (!exited_) {
    signal(SIGTERM);
    if (wait(seconds(15)) == -1) {
      signal(SIGKILL);
      wait(seconds(5));
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
  std::error_code ec;
  fs::remove(err_path_, ec);
}

std::string process::wait_for_line(const std::string& needle, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  for (;;) {
    for (auto pos = out_buf_.find('\n'); pos != std::string::npos; pos = out_buf_.find('\n')) {
      auto line = out_buf_.substr(0, pos);
      out_buf_.erase(0, pos + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) throw std::runtime_error("timed out waiting for '" + needle + "'; stderr:\n" + stderr_text());
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    auto n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("process ended before '" + needle + "'; stderr:\n" + stderr_text());
    out_buf_.append(buf, static_cast<std::size_t>(n));
    out_all_.append(buf, static_cast<std::size_t>(n));
  }
}

std::string process::stdout_text(milliseconds wait) {
  auto deadline = steady_clock::now() + wait;
  while (out_fd_ >= 0 && !out_eof_) {
    auto left = std::max<long long>(0, duration_cast<milliseconds>(deadline - steady_clock::now()).count());
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[4096];
    auto n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) {
      out_eof_ = true;
      break;
    }
    out_buf_.append(buf, static_cast<std::size_t>(n));
    out_all_.append(buf, static_cast<std::size_t>(n));
  }
  return out_all_;
}

void process::signal(int sig) {
  if (!exited_ && pid_ > 0) ::kill(pid_, sig);
}

int process::wait(milliseconds timeout) {
  if (exited_) return status_;
  // A pidfd becomes readable when the child exits: a real wait, bounded, with no polling loop.
  int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pfd >= 0) {
    pollfd p{pfd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    close(pfd);
    if (ready <= 0) return -1;
  }
  int st = 0;
  if (waitpid(pid_, &st, pfd >= 0 ? 0 : WNOHANG) != pid_) return -1;
  exited_ = true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

std::string process::stderr_text() const { return read_file(err_path_); }

temp_dir::temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "vgtest-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}
temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

int port_of(const std::string& line) {
  auto colon = line.rfind(':');
  return std::stoi(line.substr(colon + 1));
}

namespace {
boost::asio::awaitable<void> do_send(videogate::http::client* c, videogate::http::client_request req,
                                     videogate::result<videogate::http::client_response>* out) {
  *out = co_await c->send(std::move(req));
}
}  // namespace

videogate::http::client_response request(const std::string& method, const std::string& url,
                                         videogate::http::header_list headers, std::string body,
                                         milliseconds timeout) {
  boost::asio::io_context ioc;
  videogate::http::client c(ioc.get_executor());
  videogate::http::client_request req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  req.body = std::move(body);
  req.timeout = timeout;
  req.max_response_bytes = 64 * 1024 * 1024;
  videogate::result<videogate::http::client_response> out = videogate::fail(videogate::errc::internal, "not run");
  boost::asio::co_spawn(ioc, do_send(&c, std::move(req), &out), boost::asio::detached);
  ioc.run();
  if (!out) throw std::runtime_error(method + " " + url + " failed: " + out.error().message);
  return *out;
}

std::string raw_exchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    throw std::runtime_error("connect failed");
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

raw_connection::raw_connection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed: " + std::string(std::strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    auto why = std::string(std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect failed: " + why);
  }
}

raw_connection::~raw_connection() { close(); }

void raw_connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool raw_connection::send(const std::string& bytes) {
  if (fd_ < 0 || closed_) return false;
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

std::string raw_connection::read_for(milliseconds timeout) {
  std::string got;
  auto deadline = steady_clock::now() + timeout;
  while (fd_ >= 0 && !closed_) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    auto n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
    in_.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

bool raw_connection::read_until(const std::string& needle, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (in_.find(needle) == std::string::npos && !closed_) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) break;
    // Short slices so a match is seen as soon as its bytes arrive.
    read_for(std::min(left, milliseconds(50)));
  }
  return in_.find(needle) != std::string::npos;
}

bool raw_connection::wait_closed(milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (!closed_) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) break;
    read_for(left);
  }
  return closed_;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

void stack::start_mock(std::vector<std::string> mock_args) {
  std::vector<std::string> argv{VIDEOGATE_MOCK_BIN, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), mock_args.begin(), mock_args.end());
  mock = std::make_unique<process>(argv);
  mock_port = port_of(mock->wait_for_line("listening on"));
}

std::string openai_config(const std::string& keys, const std::string& extra, const std::string& upstream_extra) {
  return R"(
listen: "127.0.0.1:0"
log: { level: info }
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-abcdefgh" }
admin: { key: "admin-secret-key" }
)" + extra + R"(
upstreams:
  - name: vendor
    dialect: openai
    base_url: "${MOCK_URL}"
    request_format: json
    keys: )" + keys + R"(
    poll_interval: 0ms
    timeout: 10s
)" + upstream_extra;
}

void stack::write_config(const std::string& yaml) {
  auto text = yaml;
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
      text.replace(pos, from.size(), to);
  };
  replace_all("${MOCK_URL}", "http://127.0.0.1:" + std::to_string(mock_port));
  replace_all("${DIR}", dir.path.string());
  config_path = (dir.path / "videogate.yaml").string();
  // Written beside and renamed over, as config tools do: a reader never sees half a file.
  auto tmp = config_path + ".tmp";
  write_file(tmp, text);
  std::filesystem::rename(tmp, config_path);
}

void stack::start_gateway(const std::string& yaml, std::vector<std::string> wrapper) {
  write_config(yaml);
  // VIDEOGATE_BIN in the environment runs something else in its place (docker/run-in-container.sh).
  const char* bin = std::getenv("VIDEOGATE_BIN");
  auto argv = std::move(wrapper);
  argv.insert(argv.end(), {bin && *bin ? bin : VIDEOGATE_BIN, "--config", config_path});
  gateway = std::make_unique<process>(argv);
  gateway_port = port_of(gateway->wait_for_line("listening on"));
}

int stack::vendor_count(const std::string& method, const std::string& prefix) const {
  auto r = request("GET", vendor("/_mock/requests"));
  auto v = boost::json::parse(r.body);
  int n = 0;
  for (auto& e : v.as_array()) {
    auto& o = e.as_object();
    if (o.at("method").as_string() == method && std::string(o.at("target").as_string()).starts_with(prefix)) ++n;
  }
  return n;
}

std::vector<seen> vendor_log(const stack& s) {
  auto v = boost::json::parse(request("GET", s.vendor("/_mock/requests"), {}, {}, std::chrono::seconds(5)).body);
  std::vector<seen> out;
  for (auto& e : v.as_array()) {
    auto& o = e.as_object();
    auto target = std::string(o.at("target").as_string());
    auto key = o.at("key").is_string() ? std::string(o.at("key").as_string()) : std::string();
    out.push_back({std::string(o.at("method").as_string()), target.substr(0, target.find('?')), key});
  }
  return out;
}

int creates_with(const stack& s, const std::string& key) {
  int n = 0;
  for (auto& r : vendor_log(s))
    if (r.method == "POST" && r.path == "/v1/videos" && r.key == key) ++n;
  return n;
}

int status_reads_with(const stack& s, const std::string& key) {
  int n = 0;
  for (auto& r : vendor_log(s)) {
    bool status = (r.method == "GET" && (r.path.starts_with("/v1/videos/") || r.path == "/v1/video/query")) ||
                  (r.method == "POST" && r.path == "/api/video-generations/check-result");
    if (status && r.key == key) ++n;
  }
  return n;
}

std::string id_of(const videogate::http::client_response& r) {
  if (r.status != 200) return "";
  return std::string(boost::json::parse(r.body).at("id").as_string());
}

std::string error_code(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return "<not JSON: " + body.substr(0, 120) + ">";
  auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return "<no error object>";
  auto* c = e->as_object().if_contains("code");
  return c && c->is_string() ? std::string(c->as_string()) : "<no error.code>";
}

std::string field(const std::string& body, const char* name) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  auto* f = v.as_object().if_contains(name);
  return f && f->is_string() ? std::string(f->as_string()) : "";
}

}  // namespace vgtest
