#include "videogate/http/server.hpp"

#include "head_parser.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <stdexcept>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace videogate::http {

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t max_discard_bytes = 64ull * 1024 * 1024;
constexpr std::size_t idle_buffer_bytes = 1024;

/// Streams a body through a serializer; Beast's buffer_body protocol (see its http_relay example).
class serializer_writer final : public body_writer {
 public:
  serializer_writer(beast::tcp_stream& s, bhttp::response<bhttp::buffer_body>& res,
                    bhttp::response_serializer<bhttp::buffer_body>& sr, std::chrono::milliseconds t, bool raw)
      : stream_(s), res_(res), sr_(sr), timeout_(t), raw_(raw) {}

  asio::awaitable<void> write(std::span<const char> chunk) override {
    if (chunk.empty()) co_return;
    if (raw_) {
      // Content-Length framing: the bytes go to the socket as they are.
      stream_.expires_after(timeout_);
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(chunk.data(), chunk.size()), use_nothrow);
      if (ec) throw boost::system::system_error(ec);
      co_return;
    }
    res_.body().data = const_cast<char*>(chunk.data());
    res_.body().size = chunk.size();
    res_.body().more = true;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await bhttp::async_write(stream_, sr_, use_nothrow);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) throw boost::system::system_error(ec);
  }

  asio::awaitable<void> finish() {
    if (raw_) co_return;
    res_.body().data = nullptr;
    res_.body().size = 0;
    res_.body().more = false;
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await bhttp::async_write(stream_, sr_, use_nothrow);
    if (ec) throw boost::system::system_error(ec);
  }

 private:
  beast::tcp_stream& stream_;
  bhttp::response<bhttp::buffer_body>& res_;
  bhttp::response_serializer<bhttp::buffer_body>& sr_;
  std::chrono::milliseconds timeout_;
  bool raw_;  ///< the head carries Content-Length: no chunk framing
};

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  asio::io_context& ioc;
  server_options opts;
  handler_fn handler;
  error_fn on_error;
  head_fn on_head;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> sessions{0};
  // The limits a reload may change; each request reads them once, at its start.
  std::atomic<std::uint64_t> max_body_bytes;
  std::atomic<std::chrono::milliseconds::rep> request_timeout_ms;
  std::atomic<std::chrono::milliseconds::rep> header_timeout_ms;
  std::atomic<std::uint32_t> max_connections;
  // Sessions waiting for a next request, so that stop() can close them at once.
  std::mutex idle_mu;
  std::unordered_map<beast::tcp_stream*, asio::any_io_executor> idle;

  void set_idle(beast::tcp_stream* s, bool on) {
    std::lock_guard lk(idle_mu);
    if (on) idle.emplace(s, s->get_executor());
    else idle.erase(s);
  }

  impl(asio::io_context& c, server_options o, handler_fn h, error_fn e, head_fn hd)
      : ioc(c), opts(std::move(o)), handler(std::move(h)), on_error(std::move(e)), on_head(std::move(hd)),
        acceptor(asio::make_strand(c)), max_body_bytes(opts.max_body_bytes),
        request_timeout_ms(opts.request_timeout.count()), header_timeout_ms(opts.header_timeout.count()),
        max_connections(opts.max_connections) {}

  /// Waits until busy sessions ended their current response, bounded by `grace`.
  static asio::awaitable<void> drain(std::shared_ptr<impl> self, std::chrono::milliseconds grace,
                                     std::function<void()> done) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    auto until = std::chrono::steady_clock::now() + grace;
    while (self->sessions.load() > 0 && std::chrono::steady_clock::now() < until) {
      t.expires_after(std::chrono::milliseconds(50));
      co_await t.async_wait(use_nothrow);
    }
    done();
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer pause(acceptor.get_executor());
    auto backoff = std::chrono::milliseconds(0);
    std::chrono::steady_clock::time_point last_log{};
    std::uint64_t failures_unlogged = 0;
    for (;;) {
      // At max_connections, accept waits (the kernel's backlog holds newcomers) until a
      // session ends: checked every 10 ms, no spinning.
      while (sessions.load() >= max_connections.load(std::memory_order_relaxed) && !stopping) {
        pause.expires_after(std::chrono::milliseconds(10));
        co_await pause.async_wait(use_nothrow);
      }
      if (stopping) co_return;
      auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ioc), use_nothrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        // EMFILE and friends: the pending connection stays in the backlog, so accepting again
        // at once would fail again at once. Back off (10 ms doubling to 1 s) and log at most
        // once a second, saying how many failures the quiet time hid.
        ++failures_unlogged;
        auto now = std::chrono::steady_clock::now();
        if (now - last_log >= std::chrono::seconds(1)) {
          spdlog::warn("accept failed: {} ({} time(s) since the last report); backing off", ec.message(),
                       failures_unlogged);
          last_log = now;
          failures_unlogged = 0;
        }
        backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
        pause.expires_after(backoff);
        co_await pause.async_wait(use_nothrow);
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      auto ex = sock.get_executor();
      asio::co_spawn(ex, session(beast::tcp_stream(std::move(sock))), asio::detached);
    }
  }

  /// After refusing a body, reads (and drops) what the client is still sending, bounded in
  /// bytes and time: closing a socket with unread data resets it, and the client would see a
  /// connection error instead of our 413.
  asio::awaitable<void> discard_body(beast::tcp_stream& stream, beast::flat_buffer& buffer, std::uint64_t expected) {
    std::uint64_t left = std::min<std::uint64_t>(expected, max_discard_bytes);
    left -= std::min<std::uint64_t>(left, buffer.size());
    buffer.consume(buffer.size());
    std::vector<char> sink(64 * 1024);
    stream.expires_after(std::chrono::seconds(5));
    while (left > 0) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink.data(), std::min<std::uint64_t>(left, sink.size())), use_nothrow);
      if (ec) break;
      left -= n;
    }
  }

  asio::awaitable<bool> write_plain(beast::tcp_stream& stream, response& r, bool keep_alive) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
    for (auto& [k, v] : r.headers) res.insert(k, v);
    res.body() = std::move(r.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    stream.expires_after(opts.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, res, use_nothrow);
    co_return !ec;
  }

  asio::awaitable<bool> write_streamed(beast::tcp_stream& stream, response& r, bool keep_alive) {
    bhttp::response<bhttp::buffer_body> res{static_cast<bhttp::status>(r.status), 11};
    for (auto& [k, v] : r.headers) res.insert(k, v);
    if (r.content_length) res.content_length(*r.content_length);
    else res.chunked(true);
    res.keep_alive(keep_alive);
    res.body().data = nullptr;
    res.body().more = true;
    bhttp::response_serializer<bhttp::buffer_body> sr{res};
    stream.expires_after(opts.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream, sr, use_nothrow);
    if (ec) co_return false;
    serializer_writer w(stream, res, sr, opts.write_timeout, r.content_length.has_value());
    try {
      co_await r.stream(w);
      co_await w.finish();
    } catch (const boost::system::system_error& e) {
      // The client went away (or stalled past the write deadline) mid-download.
      spdlog::debug("streamed response ended early: {}", e.code().message());
      co_return false;
    } catch (const std::exception& e) {
      // The upstream failed after the head is out: the only honest thing left is to end the
      // connection (the client sees a short body, never a wrong one).
      spdlog::warn("streamed response aborted: {}", e.what());
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<response> run_handler(request& req, std::chrono::milliseconds request_timeout) {
    asio::steady_timer deadline(co_await asio::this_coro::executor);
    deadline.expires_after(request_timeout);
    auto winner = co_await (invoke(req) || deadline.async_wait(use_nothrow));
    if (winner.index() == 0) co_return std::move(std::get<0>(winner));
    co_return on_error(req, fail(errc::upstream_timeout,
                                 "The request did not complete within the gateway's request timeout. If it was a "
                                 "create, the video job may exist at the vendor."));
  }

  asio::awaitable<response> invoke(request& req) {
    try {
      co_return co_await handler(req);
    } catch (const error_exception& e) {
      co_return on_error(req, e.err);
    } catch (const std::exception& e) {
      spdlog::error("handler failed on {} {}: {}", req.method, req.target, e.what());
      co_return on_error(req, fail(errc::internal, "The gateway failed to handle the request."));
    }
  }

  asio::awaitable<void> session(beast::tcp_stream stream) {
    auto self = shared_from_this();
    ++sessions;
    struct guard { std::atomic<std::size_t>& n; ~guard() { --n; } } g{sessions};
    beast::flat_buffer buffer;
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    while (!stopping) {
      const std::uint64_t body_cap = max_body_bytes.load(std::memory_order_relaxed);
      const head_limits limits{opts.max_header_bytes, body_cap};
      detail::head_parser parser;
      detail::prepare(parser, limits);
      // Between requests a connection may idle (idle_timeout); once a request's first byte is
      // in, its whole head must arrive within header_timeout (a slow sender is cut off).
      if (buffer.size() == 0) {
        // An idle keep-alive connection holds 1 KiB of buffer, not what its last request grew
        // it to (most request heads fit; a bigger one grows it while it is read).
        if (buffer.capacity() > idle_buffer_bytes) buffer.shrink_to_fit();
        stream.expires_after(opts.idle_timeout);
        set_idle(&stream, true);
        auto [iec, in] = co_await stream.async_read_some(buffer.prepare(idle_buffer_bytes), use_nothrow);
        set_idle(&stream, false);
        if (iec) break;
        buffer.commit(in);
      }
      stream.expires_after(std::chrono::milliseconds(header_timeout_ms.load(std::memory_order_relaxed)));
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_nothrow);
      if (ec) {
        if (ec == beast::error::timeout) {
          request req;
          response r = on_error(req, fail(errc::request_timeout, "The request head did not arrive in time."));
          co_await write_plain(stream, r, false);
          break;
        }
        if (ec == bhttp::error::header_limit) {
          request req;
          response r = on_error(req, fail(errc::invalid_value, "Request headers are too large."));
          r.status = 431;
          co_await write_plain(stream, r, false);
        } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                   ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
          // The peer sent something that is not HTTP/1.1: say so before closing.
          request req;
          response r = on_error(req, fail(errc::invalid_value, "Malformed HTTP request."));
          co_await write_plain(stream, r, false);
        }
        break;
      }
      auto judged = detail::judge(parser, limits);
      request& req = judged.req;
      req.remote = remote;
      if (judged.verdict == head_verdict::too_large) {
        response r = on_error(req, fail(errc::invalid_value, "Request headers are too large."));
        r.status = 431;
        co_await write_plain(stream, r, false);
        break;
      }

      if (on_head) {
        if (auto refused = on_head(req)) {
          // Refused on its head alone (a wrong client key): the body is drained, not kept,
          // and the connection closed.
          co_await write_plain(stream, *refused, false);
          if (auto len = parser.content_length(); len && *len > 0) co_await discard_body(stream, buffer, *len);
          break;
        }
      }
      const std::chrono::milliseconds request_timeout{request_timeout_ms.load(std::memory_order_relaxed)};
      if (judged.verdict == head_verdict::body_too_large) {
        response r = on_error(req, fail(errc::payload_too_large,
                                        "Request body is larger than the limit of " + std::to_string(body_cap) + " bytes."));
        co_await write_plain(stream, r, false);
        co_await discard_body(stream, buffer, *judged.content_length);
        break;
      }
      parser.body_limit(body_cap);
      if (judged.expect_continue) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        stream.expires_after(opts.write_timeout);
        auto [wec, wn] = co_await bhttp::async_write(stream, cont, use_nothrow);
        if (wec) break;
      }
      // Beast reads at most the buffer's free capacity per call: a large body would arrive in
      // header-sized (~4 KiB) pieces. Room for big reads now, given back after the request.
      bool grown = false;
      if (auto len = parser.content_length(); len && *len > 16 * 1024) {
        buffer.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*len, 256 * 1024)));
        grown = true;
      }
      stream.expires_after(request_timeout);
      auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
      if (grown) buffer.shrink_to_fit();
      if (rec) {
        if (rec == bhttp::error::body_limit) {
          response r = on_error(req, fail(errc::payload_too_large,
                                          "Request body is larger than the limit of " + std::to_string(body_cap) + " bytes."));
          co_await write_plain(stream, r, false);
          co_await discard_body(stream, buffer, max_discard_bytes);
        } else if (rec == beast::error::timeout) {
          response r = on_error(req, fail(errc::request_timeout, "The request body did not arrive in time."));
          co_await write_plain(stream, r, false);
        }
        break;
      }
      bool keep_alive = parser.get().keep_alive();
      req.body = std::move(parser.get().body());
      stream.expires_never();
      response r = co_await run_handler(req, request_timeout);
      keep_alive = keep_alive && !stopping;
      bool ok = r.stream ? co_await write_streamed(stream, r, keep_alive)
                         : co_await write_plain(stream, r, keep_alive);
      if (!ok || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.close();
  }
};

server::server(asio::io_context& ioc, server_options opts, handler_fn handler, error_fn on_error, head_fn on_head)
    : impl_(std::make_shared<impl>(ioc, std::move(opts), std::move(handler), std::move(on_error), std::move(on_head))) {}

server::~server() = default;

std::uint16_t server::start() {
  auto& a = impl_->acceptor;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.host, ec);
  if (ec) throw std::runtime_error("invalid listen address '" + impl_->opts.host + "'");
  tcp::endpoint ep{addr, impl_->opts.port};
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + impl_->opts.host + ":" + std::to_string(impl_->opts.port) +
                             ": " + ec.message());
  auto port = a.local_endpoint().port();
  asio::co_spawn(a.get_executor(), impl_->accept_loop(), asio::detached);
  return port;
}

void server::set_limits(const server_limits& l) {
  impl_->max_body_bytes = l.max_body_bytes;
  impl_->request_timeout_ms = l.request_timeout.count();
  impl_->header_timeout_ms = l.header_timeout.count();
  impl_->max_connections = l.max_connections;
}

void server::stop(std::chrono::milliseconds grace, std::function<void()> done) {
  auto self = impl_;
  asio::post(self->acceptor.get_executor(), [self, grace, done = std::move(done)]() mutable {
    self->stopping = true;
    boost::system::error_code ec;
    self->acceptor.close(ec);
    {
      // Cancel on each session's own strand, re-checking there that it is still idle, so a
      // request that started meanwhile is never cut.
      std::lock_guard lk(self->idle_mu);
      for (auto& [s, ex] : self->idle)
        asio::post(ex, [self, s] {
          std::lock_guard lk2(self->idle_mu);
          if (self->idle.count(s)) s->cancel();
        });
    }
    asio::co_spawn(self->ioc, impl::drain(self, grace, std::move(done)), asio::detached);
  });
}

std::size_t server::active_sessions() const { return impl_->sessions.load(); }

}  // namespace videogate::http
