#include "support.hpp"

#include "videogate/jobs/ids.hpp"

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
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
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

const std::string integration_ids_secret = "integration-secret-0123456789-abcdefgh";

std::string openai_config(const std::string& keys, const std::string& extra, const std::string& upstream_extra) {
  return R"(
listen: "127.0.0.1:0"
log: { level: info }
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: ")" + integration_ids_secret + R"(" }
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

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  if (pos == std::string::npos) throw std::logic_error("config edit: '" + from + "' not found");
  text.replace(pos, from.size(), to);
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

std::string upstream_id_of(const std::string& id, const std::string& ids_secret) {
  auto f = videogate::jobs::id_codec(ids_secret).open(id);
  return f ? f->upstream_id : "<not an id sealed with this secret: " + id + ">";
}

double metric_value(const stack& s, const std::string& series) {
  auto text = request("GET", s.gw("/metrics"), {}, {}, std::chrono::seconds(5)).body;
  std::istringstream lines(text);
  double total = -1;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    // Every sample line is `name{labels} value` or `name value`, the value a number.
    auto sp = line.rfind(' ');
    std::size_t used = 0;
    double value = 0;
    try {
      if (sp == std::string::npos) throw std::invalid_argument("no value");
      value = std::stod(line.substr(sp + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (sp == std::string::npos || used != line.size() - sp - 1)
      throw std::runtime_error("/metrics: not a sample line: " + line);
    if (line.compare(0, series.size(), series) == 0) total = std::max(total, 0.0) + value;
  }
  return total;
}

const std::string fleet_stack::ids_secret = "fleet-secret-0123456789-abcdefghijklmnop";

fleet_stack::fleet_stack(int replicas, const std::string& keys, std::vector<std::string> mock_args,
                         const std::string& poll_interval, const std::string& upstream_extra,
                         const std::string& top_extra) {
  static std::atomic<int> fleets{0};
  auto yaml = openai_config(keys, top_extra, upstream_extra);
  replace_once(yaml, R"(store: { kind: sqlite, path: "${DIR}/videogate.db" })",
               R"(store: { kind: redis, url: ")" + redis.url() + R"(", prefix: "fleet)" + std::to_string(fleets++) +
                   R"(:" })");
  replace_once(yaml, "ids: { secret: \"" + integration_ids_secret + "\" }", "ids: { secret: \"" + ids_secret + "\" }");
  replace_once(yaml, "poll_interval: 0ms", "poll_interval: " + poll_interval);
  for (int i = 0; i < replicas; ++i) {
    replicas_.push_back(std::make_unique<stack>());
    if (i == 0)
      replicas_[0]->start_mock(std::move(mock_args));
    else
      replicas_[i]->mock_port = replicas_[0]->mock_port;
    replicas_[i]->start_gateway(yaml);
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

/// The body of a chunked message (`raw` from the first chunk-size line on); nullopt until whole.
std::optional<std::string> dechunk(const std::string& raw) {
  std::string out;
  std::size_t at = 0;
  for (;;) {
    auto eol = raw.find("\r\n", at);
    if (eol == std::string::npos) return std::nullopt;
    std::size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (size == 0) return raw.find("\r\n", at) == std::string::npos ? std::nullopt : std::optional(out);
    if (raw.size() < at + size + 2) return std::nullopt;
    out.append(raw, at, size);
    at += size + 2;
  }
}

}  // namespace

http_receiver::http_receiver(std::vector<scripted_answer> script, scripted_answer then, int port)
    : script_(std::move(script)), then_(std::move(then)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("http_receiver: socket failed: " + std::string(std::strerror(errno)));
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  // A port asked for again may still be held a moment by a connection of the one before.
  bool bound = false;
  for (auto deadline = steady_clock::now() + seconds(5);;) {
    bound = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (bound || port == 0 || steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  socklen_t len = sizeof a;
  if (!bound || ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    auto why = std::string(std::strerror(errno));
    ::close(fd_);
    throw std::runtime_error("http_receiver: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

http_receiver::~http_receiver() {
  stop_ = true;
  acceptor_.join();
  // No session starts once the acceptor is gone: join what there is.
  std::vector<std::thread> sessions;
  {
    std::lock_guard lk(mu_);
    sessions.swap(sessions_);
  }
  for (auto& t : sessions) t.join();
  ::close(fd_);
}

std::string http_receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<received_request> http_receiver::requests() const {
  std::lock_guard lk(mu_);
  return got_;
}

std::size_t http_receiver::count() const {
  std::lock_guard lk(mu_);
  return got_.size();
}

bool http_receiver::wait_for(std::size_t n, milliseconds timeout) const {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return got_.size() >= n; });
}

void http_receiver::accept_loop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;  // short slices, so the destructor never waits long
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) continue;
    ++connections_;
    std::lock_guard lk(mu_);
    sessions_.emplace_back([this, c] { serve(c); });
  }
}

void http_receiver::serve(int fd) {
  try {
    serve_one(fd);
  } catch (const std::exception&) {
    // A request we cannot parse gets no answer; the sender sees the connection close.
  }
  ::close(fd);
}

void http_receiver::serve_one(int fd) {
  // Reads the head, then the body (Content-Length or chunked), for up to 10 s.
  std::string in;
  received_request r;
  std::optional<std::size_t> head_end;
  auto deadline = steady_clock::now() + seconds(10);
  for (bool whole = false; !whole;) {
    if (!head_end) {
      if (auto e = in.find("\r\n\r\n"); e != std::string::npos) {
        head_end = e + 4;
        std::istringstream head(in.substr(0, e));
        std::string line;
        std::getline(head, line);
        std::istringstream first(line);
        first >> r.method >> r.target;
        while (std::getline(head, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          auto value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(" \t"));
          r.headers.emplace_back(line.substr(0, colon), value);
        }
      }
    }
    if (head_end) {
      auto rest = in.substr(*head_end);
      if (lower(r.header("transfer-encoding")).find("chunked") != std::string::npos) {
        if (auto body = dechunk(rest)) {
          r.body = std::move(*body);
          whole = true;
        }
      } else {
        auto cl = r.header("content-length");
        std::size_t want = cl.empty() ? 0 : std::stoul(cl);
        if (rest.size() >= want) {
          r.body = rest.substr(0, want);
          whole = true;
        }
      }
      if (whole) break;
    }
    if (stop_ || steady_clock::now() >= deadline) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[8192];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;  // the peer gave up before a whole request: nothing to record
    in.append(buf, static_cast<std::size_t>(n));
  }
  r.at = steady_clock::now();
  scripted_answer answer;
  {
    std::lock_guard lk(mu_);
    answer = got_.size() < script_.size() ? script_[got_.size()] : then_;
    got_.push_back(std::move(r));
  }
  cv_.notify_all();
  for (auto until = steady_clock::now() + answer.delay; !stop_ && steady_clock::now() < until;)
    std::this_thread::sleep_for(std::min<steady_clock::duration>(until - steady_clock::now(), milliseconds(20)));
  std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " " + reason_phrase(answer.status) + "\r\n";
  for (auto& [k, v] : answer.headers) out += k + ": " + v + "\r\n";
  out += "Content-Length: " + std::to_string(answer.body.size()) + "\r\nConnection: close\r\n\r\n" + answer.body;
  ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
}

std::vector<scripted_answer> json_answers(const std::vector<std::string>& bodies) {
  std::vector<scripted_answer> out;
  for (auto& b : bodies) out.push_back({200, {{"Content-Type", "application/json"}}, b, {}});
  return out;
}

}  // namespace vgtest
