#include "videogate/http/client.hpp"

#include "videogate/http/address.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <mutex>
#include <unordered_map>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace videogate::http {

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint32_t max_upstream_header_bytes = 64 * 1024;

struct target_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  ///< path + query
  bool public_only = false;
  /// Connections made under the public-only rule are kept apart: one made without it may
  /// lead to a private address.
  std::string pool_key() const { return (tls ? "https://" : "http://") + host + ":" + port + (public_only ? "#public" : ""); }
};

std::optional<target_url> split_url(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r) return std::nullopt;
  target_url t;
  auto scheme = r->scheme();
  if (scheme == "https") t.tls = true;
  else if (scheme != "http") return std::nullopt;
  t.host = std::string(r->encoded_host());
  if (t.host.empty()) return std::nullopt;
  // IPv6 literals come bracketed in URLs; the resolver and SNI want them bare.
  if (t.host.front() == '[' && t.host.back() == ']') t.host = t.host.substr(1, t.host.size() - 2);
  t.port = r->has_port() ? std::string(r->port()) : (t.tls ? "443" : "80");
  t.target = std::string(r->encoded_path());
  if (t.target.empty()) t.target = "/";
  if (r->has_query()) t.target += "?" + std::string(r->encoded_query());
  return t;
}

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS";
}

bool connection_lost(const boost::system::error_code& ec) {
  // partial_message: the answer was cut mid-body (a reset after the head), not malformed.
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated || ec == bhttp::error::partial_message;
}

}  // namespace

/// One upstream connection, plain or TLS; lives in the pool between exchanges.
struct connection {
  std::string key;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
};

struct client::impl : std::enable_shared_from_this<client::impl> {
  asio::any_io_executor ex;
  client_options opts;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::mutex mu;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> idle;
  std::chrono::steady_clock::time_point last_sweep = std::chrono::steady_clock::now();

  impl(asio::any_io_executor e, client_options o) : ex(std::move(e)), opts(std::move(o)) {
    tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls_ctx.set_default_verify_paths();
    for (auto& f : opts.ca_files) tls_ctx.load_verify_file(f);
    tls_ctx.set_verify_mode(ssl::verify_peer);
  }

  std::unique_ptr<connection> take_idle(const std::string& key) {
    std::lock_guard lk(mu);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto now = std::chrono::steady_clock::now();
    while (!it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      if (now - c->idle_since < opts.idle_timeout && c->lowest().socket().is_open()) return c;
    }
    return nullptr;
  }

  void give_back(std::unique_ptr<connection> c) {
    auto now = std::chrono::steady_clock::now();
    c->idle_since = now;
    c->lowest().expires_never();
    std::vector<std::unique_ptr<connection>> expired;  // closed outside the lock
    std::lock_guard lk(mu);
    // The reaper: every half idle period, drop what idled too long and the hosts left empty,
    // so hosts that are never asked again (one-off CDN names) do not hold sockets forever.
    if (now - last_sweep > opts.idle_timeout / 2) {
      last_sweep = now;
      for (auto it = idle.begin(); it != idle.end();) {
        auto& v = it->second;
        for (auto& x : v)
          if (now - x->idle_since >= opts.idle_timeout) expired.push_back(std::move(x));
        std::erase(v, nullptr);
        it = v.empty() ? idle.erase(it) : std::next(it);
      }
    }
    auto it = idle.find(c->key);
    if (it == idle.end()) {
      if (idle.size() >= opts.max_idle_hosts) return;  // c closes here: too many hosts pooled
      it = idle.emplace(c->key, std::vector<std::unique_ptr<connection>>{}).first;
    }
    if (it->second.size() < opts.max_idle_per_host) it->second.push_back(std::move(c));
  }

  asio::awaitable<result<std::unique_ptr<connection>>> connect(const target_url& u, std::chrono::milliseconds timeout) {
    auto where = u.host + ":" + u.port;
    tcp::resolver resolver(ex);
    auto [rec, resolved] = co_await resolver.async_resolve(u.host, u.port, use_nothrow);
    if (rec) co_return fail(errc::upstream_unavailable, "cannot resolve upstream host " + u.host);
    // The addresses actually connected to are checked, not the name: a name that resolves (or
    // rebinds) to a private address reaches nothing.
    std::vector<tcp::endpoint> results;
    for (auto& r : resolved)
      if (!u.public_only || is_public_address(r.endpoint().address())) results.push_back(r.endpoint());
    if (results.empty())
      co_return fail(errc::content_url_refused,
                     "The vendor's content URL points at a host that resolves only to loopback, private, link-local "
                     "or other non-public addresses; videogate does not fetch it.");
    auto c = std::make_unique<connection>();
    c->key = u.pool_key();
    if (u.tls) c->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, tls_ctx);
    else c->plain = std::make_unique<beast::tcp_stream>(ex);
    auto& low = c->lowest();
    low.expires_after(timeout);
    auto [cec, ep] = co_await low.async_connect(results, use_nothrow);
    if (cec) {
      // A connect that timed out reached no one: like a refused one, the next key may try.
      co_return fail(errc::upstream_unavailable, "cannot connect to upstream " + where + ": " + cec.message());
    }
    low.socket().set_option(tcp::no_delay(true));
    if (u.tls) {
      if (!SSL_set_tlsext_host_name(c->secure->native_handle(), u.host.c_str()))
        co_return fail(errc::upstream_unavailable, "TLS setup failed for " + where);
      c->secure->set_verify_callback(ssl::host_name_verification(u.host));
      low.expires_after(timeout);
      auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, use_nothrow);
      if (hec) co_return fail(errc::upstream_unavailable, "TLS handshake with " + where + " failed: " + hec.message());
    }
    co_return std::move(c);
  }

  static bhttp::request<bhttp::string_body> build(const client_request& req, const target_url& u) {
    bhttp::request<bhttp::string_body> r;
    r.method_string(req.method);
    r.target(u.target);
    r.version(11);
    bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
    auto host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    r.set(bhttp::field::host, default_port ? host : host + ":" + u.port);
    r.set(bhttp::field::user_agent, "videogate/" VIDEOGATE_VERSION);
    for (auto& [k, v] : req.headers) r.set(k, v);
    r.body() = req.body;
    r.keep_alive(true);
    r.prepare_payload();
    return r;
  }

  template <class Stream>
  static asio::awaitable<boost::system::error_code> write_on(Stream& s, bhttp::request<bhttp::string_body>& r) {
    auto [ec, n] = co_await bhttp::async_write(s, r, use_nothrow);
    co_return ec;
  }
  template <class Stream, class Parser>
  static asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_on(Stream& s, beast::flat_buffer& b, Parser& p) {
    auto [ec, n] = co_await bhttp::async_read(s, b, p, use_nothrow);
    co_return std::pair{ec, n};
  }
  template <class Stream, class Parser>
  static asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_header_on(Stream& s, beast::flat_buffer& b, Parser& p) {
    auto [ec, n] = co_await bhttp::async_read_header(s, b, p, use_nothrow);
    co_return std::pair{ec, n};
  }

  asio::awaitable<boost::system::error_code> write(connection& c, bhttp::request<bhttp::string_body>& r) {
    return c.plain ? write_on(*c.plain, r) : write_on(*c.secure, r);
  }
  template <class Parser>
  asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read(connection& c, Parser& p) {
    return c.plain ? read_on(*c.plain, c.buffer, p) : read_on(*c.secure, c.buffer, p);
  }
  template <class Parser>
  asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_header(connection& c, Parser& p) {
    return c.plain ? read_header_on(*c.plain, c.buffer, p) : read_header_on(*c.secure, c.buffer, p);
  }

  /// Connects (or reuses) and writes the request. A reused connection the server had closed
  /// is replaced once by a fresh one: nothing reached the vendor in that case.
  asio::awaitable<result<std::unique_ptr<connection>>> connect_and_write(const client_request& req, const target_url& u,
                                                                         bhttp::request<bhttp::string_body>& r) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto c = attempt == 0 ? take_idle(u.pool_key()) : nullptr;
      bool reused = c != nullptr;
      if (!c) {
        auto fresh = co_await connect(u, req.connect_timeout);
        if (!fresh) co_return fresh.error();
        c = std::move(*fresh);
      }
      c->lowest().expires_after(req.timeout);
      auto ec = co_await write(*c, r);
      if (!ec) co_return std::move(c);
      if (reused) continue;
      if (ec == beast::error::timeout) {
        auto e = fail(errc::upstream_timeout, "upstream did not accept the request in time");
        co_return e;
      }
      co_return fail(errc::upstream_unavailable, "sending to upstream failed: " + ec.message());
    }
    co_return fail(errc::upstream_unavailable, "sending to upstream failed");
  }

  static error read_failure(const boost::system::error_code& ec) {
    error e;
    if (ec == beast::error::timeout) e = fail(errc::upstream_timeout, "upstream did not answer in time");
    else if (ec == bhttp::error::body_limit) e = fail(errc::bad_upstream_response, "upstream answer is larger than allowed");
    else if (connection_lost(ec)) e = fail(errc::upstream_unavailable, "upstream closed the connection without answering");
    else e = fail(errc::bad_upstream_response, "upstream answer is not valid HTTP: " + ec.message());
    e.after_send = true;
    return e;
  }
};

namespace {

header_list copy_headers(const bhttp::fields& f) {
  header_list h;
  for (auto& x : f) h.emplace_back(std::string(x.name_string()), std::string(x.value()));
  return h;
}

class stream_impl final : public client_stream {
 public:
  stream_impl(std::shared_ptr<client::impl> owner, std::unique_ptr<connection> c,
              std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> p, std::chrono::milliseconds t)
      : owner_(std::move(owner)), conn_(std::move(c)), parser_(std::move(p)), timeout_(t) {
    // A body of known length (the usual video) is read straight from the socket into the
    // caller's buffer: no copy through the parser, one read per buffer instead of per packet.
    if (parser_->content_length() && !parser_->chunked() && !parser_->is_done()) raw_left_ = *parser_->content_length();
  }

  asio::awaitable<std::size_t> read_some(std::span<char> buf) override {
    if (raw_left_) co_return co_await read_raw(buf);
    if (!conn_ || parser_->is_done()) co_return 0;
    auto& body = parser_->get().body();
    body.data = buf.data();
    body.size = buf.size();
    conn_->lowest().expires_after(timeout_);
    auto [ec, n] = co_await owner_->read(*conn_, *parser_);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      conn_.reset();
      throw error_exception(client::impl::read_failure(ec));
    }
    std::size_t got = buf.size() - body.size;
    if (parser_->is_done()) {
      if (parser_->get().keep_alive()) owner_->give_back(std::move(conn_));
      conn_.reset();
    }
    co_return got;
  }

 private:
  template <class Stream>
  static asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some_on(Stream& s, asio::mutable_buffer b) {
    auto [ec, n] = co_await s.async_read_some(b, asio::as_tuple(asio::use_awaitable));
    co_return std::pair{ec, n};
  }

  asio::awaitable<std::size_t> read_raw(std::span<char> buf) {
    if (!conn_ || *raw_left_ == 0) co_return 0;
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), *raw_left_));
    std::size_t got = 0;
    if (auto buffered = conn_->buffer.size(); buffered > 0) {
      // Body bytes that arrived with the head.
      got = std::min(want, buffered);
      asio::buffer_copy(asio::buffer(buf.data(), got), conn_->buffer.data());
      conn_->buffer.consume(got);
    } else {
      conn_->lowest().expires_after(timeout_);
      auto b = asio::buffer(buf.data(), want);
      auto [ec, n] = conn_->plain ? co_await read_some_on(*conn_->plain, b) : co_await read_some_on(*conn_->secure, b);
      if (ec) {
        conn_.reset();
        throw error_exception(client::impl::read_failure(ec == asio::error::eof ? bhttp::error::partial_message : ec));
      }
      got = n;
    }
    *raw_left_ -= got;
    if (*raw_left_ == 0) {
      if (parser_->get().keep_alive() && conn_->buffer.size() == 0) owner_->give_back(std::move(conn_));
      conn_.reset();
    }
    co_return got;
  }

  std::shared_ptr<client::impl> owner_;
  std::unique_ptr<connection> conn_;
  std::unique_ptr<bhttp::response_parser<bhttp::buffer_body>> parser_;
  std::chrono::milliseconds timeout_;
  std::optional<std::uint64_t> raw_left_;
};

}  // namespace

client::client(asio::any_io_executor ex, client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}
client::~client() = default;

asio::awaitable<result<client_response>> client::send(client_request req) {
  auto self = impl_;
  auto u = split_url(req.url);
  if (!u) co_return fail(errc::internal, "invalid upstream URL");
  u->public_only = req.public_only;
  auto r = impl::build(req, *u);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = co_await self->connect_and_write(req, *u, r);
    if (!c) co_return c.error();
    auto conn = std::move(*c);
    bhttp::response_parser<bhttp::string_body> p;
    p.header_limit(max_upstream_header_bytes);
    p.body_limit(req.max_response_bytes);
    conn->lowest().expires_after(req.timeout);
    auto [ec, n] = co_await self->read(*conn, p);
    if (ec) {
      // An idempotent request on a connection the vendor closed is safe to send once more.
      if (attempt == 0 && n == 0 && connection_lost(ec) && idempotent(req.method)) continue;
      co_return impl::read_failure(ec);
    }
    client_response out;
    out.status = static_cast<int>(p.get().result_int());
    out.headers = copy_headers(p.get().base());
    out.body = std::move(p.get().body());
    if (p.get().keep_alive()) self->give_back(std::move(conn));
    co_return out;
  }
  co_return fail(errc::upstream_unavailable, "upstream closed the connection without answering");
}

asio::awaitable<result<std::unique_ptr<client_stream>>> client::open(client_request req) {
  auto self = impl_;
  auto u = split_url(req.url);
  if (!u) co_return fail(errc::internal, "invalid upstream URL");
  u->public_only = req.public_only;
  auto r = impl::build(req, *u);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = co_await self->connect_and_write(req, *u, r);
    if (!c) co_return c.error();
    auto conn = std::move(*c);
    auto p = std::make_unique<bhttp::response_parser<bhttp::buffer_body>>();
    p->header_limit(max_upstream_header_bytes);
    p->body_limit(boost::none);  // streamed: the size is the client's business, not our memory's
    conn->lowest().expires_after(req.timeout);
    auto [ec, n] = co_await self->read_header(*conn, *p);
    if (ec) {
      if (attempt == 0 && n == 0 && connection_lost(ec) && idempotent(req.method)) continue;
      co_return impl::read_failure(ec);
    }
    std::unique_ptr<stream_impl> out;
    auto status = static_cast<int>(p->get().result_int());
    auto headers = copy_headers(p->get().base());
    std::optional<std::uint64_t> len;
    if (auto cl = p->content_length()) len = *cl;
    out = std::make_unique<stream_impl>(self, std::move(conn), std::move(p), req.timeout);
    out->status = status;
    out->headers = std::move(headers);
    out->content_length = len;
    co_return std::unique_ptr<client_stream>(std::move(out));
  }
  co_return fail(errc::upstream_unavailable, "upstream closed the connection without answering");
}

}  // namespace videogate::http
