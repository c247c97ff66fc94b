#include "server.hpp"

#include "callbacks.hpp"
#include "chaos.hpp"
#include "dialect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <exception>
#include <stdexcept>
#include <iostream>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace videogate::mock_vendor {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t body_limit = 64ULL * 1024 * 1024;  // like a vendor's upload cap: 413 above
constexpr std::uint32_t header_limit = 32 * 1024;
constexpr auto idle_timeout = 60s;       // waiting for the next request on a kept-alive connection
constexpr auto body_timeout = 120s;      // a whole 64 MiB body
constexpr auto write_timeout = 30s;      // each chunk of an answer
constexpr auto handshake_timeout = 10s;
constexpr auto shutdown_timeout = 2s;
constexpr auto linger_timeout = 2s;       // draining an unread body after a 413
constexpr auto hang_timeout = 10min;      // a hung answer ends when the client gives up, or after this
constexpr auto chaos_slow = 1500ms;       // the delay of a chaos "slow" answer
constexpr std::size_t chunk_size = 256 * 1024;  // streamed media: one deadline per chunk
constexpr std::size_t max_logged_requests = 100000;
constexpr std::size_t max_logged_answer = 64 * 1024;  // of a non-JSON answer body, in the request log

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view s)
{
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string sha256_hex(std::string_view data)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(digits[md[i] >> 4]);
    out.push_back(digits[md[i] & 0xf]);
  }
  return out;
}

/// A plain (non-dialect) JSON error, for the control endpoints and protocol errors.
reply plain_error(http::status status, std::string_view message)
{
  return json_reply(status,
                    {{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", nullptr}, {"code", nullptr}}}});
}

/// Claims JSON, is not: what a vendor behind a misconfigured proxy sends.
reply garbage_reply()
{
  reply r;
  r.headers.set(http::field::content_type, "application/json");
  r.body = "<html><head><title>200 OK</title></head><body><h1>Welcome to nginx!</h1></body></html>\n";
  return r;
}

/// Parses the target of `ctx.req` into path, segments and query. False when malformed.
bool parse_target(request_context& ctx)
{
  auto url = boost::urls::parse_origin_form(ctx.req.target());
  if (!url)
    return false;
  ctx.path = url->path();
  for (auto seg : url->segments())
    ctx.segments.emplace_back(seg);
  for (auto param : url->params())
    ctx.query.emplace_back(param.key, param.has_value ? param.value : std::string());
  return true;
}

/// Reads the Content-Type and parses a JSON or multipart body once for dialect and recorder.
void parse_body(request_context& ctx)
{
  const auto content_type = ctx.req[http::field::content_type];
  ctx.media_type = media_type_of(content_type);
  if (ctx.media_type == "application/json") {
    boost::system::error_code ec;
    auto v = json::parse(ctx.req.body(), ec);
    if (ec)
      ctx.body_error = "We could not parse the JSON body of your request: " + ec.message();
    else
      ctx.json = std::move(v);
  } else if (ctx.media_type == "multipart/form-data") {
    auto boundary = content_type_param(content_type, "boundary");
    std::string error;
    auto parts = parse_multipart(ctx.req.body(), boundary.value_or(""), error);
    if (!parts)
      ctx.body_error = "Invalid multipart/form-data body: " + error;
    else
      ctx.form = std::move(*parts);
  }
}

json::object record_of(const request_context& ctx, std::uint64_t seq, std::optional<chaos_fault> injected)
{
  json::object e;
  e["seq"] = seq;
  e["at_ms"] = unix_now_ms();  // received (its body read): orders it against /_mock/callbacks
  e["method"] = std::string(ctx.req.method_string());
  e["target"] = std::string(ctx.req.target());
  e["key"] = ctx.key.empty() ? json::value(nullptr) : json::value(ctx.key);
  const auto ct = ctx.req[http::field::content_type];
  e["content_type"] = ct.empty() ? json::value(nullptr) : json::value(std::string(ct));
  e["json"] = ctx.json ? *ctx.json : json::value(nullptr);
  json::object form;
  json::array files;
  if (ctx.form) {
    for (auto& part : *ctx.form) {
      if (part.filename) {
        files.push_back({{"name", part.name},
                         {"filename", *part.filename},
                         {"content_type", part.content_type},
                         {"size", part.data.size()},
                         {"sha256", sha256_hex(part.data)}});
        continue;
      }
      // A repeated text field becomes an array, so tests can see the duplicate.
      if (auto* existing = form.if_contains(part.name)) {
        if (!existing->is_array())
          *existing = json::array{*existing};
        existing->as_array().push_back(json::value(part.data));
      } else {
        form[part.name] = part.data;
      }
    }
  }
  e["form"] = std::move(form);
  e["files"] = std::move(files);
  json::object headers;
  for (auto& field : ctx.req) {
    auto name = lower(field.name_string());
    if (auto* existing = headers.if_contains(name))
      *existing = std::string(existing->as_string()) + ", " + std::string(field.value());
    else
      headers[name] = std::string(field.value());
  }
  e["headers"] = std::move(headers);
  e["body_bytes"] = ctx.req.body().size();
  e["fault"] = injected ? json::value(to_string(*injected)) : json::value(nullptr);
  return e;
}

/// What the mock answered, for the request log: status, content type and the body (parsed
/// when it is JSON; media are counted, not copied).
json::object answer_of(const reply& r)
{
  json::object a;
  if (r.drop) {
    a["dropped"] = true;
    return a;
  }
  if (r.hang) {
    a["hung"] = true;
    return a;
  }
  a["status"] = static_cast<unsigned>(r.status);
  const auto ct = r.headers[http::field::content_type];
  a["content_type"] = ct.empty() ? json::value(nullptr) : json::value(std::string(ct));
  a["bytes"] = r.blob ? r.blob->size() : r.body.size();
  a["truncated"] = r.truncate;
  a["json"] = nullptr;
  a["body"] = nullptr;
  if (r.blob)
    return a;  // media: the size says enough
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && media_type_of(ct) == "application/json")
    a["json"] = std::move(v);
  else
    a["body"] = r.body.size() > max_logged_answer ? r.body.substr(0, max_logged_answer) : r.body;
  return a;
}

template <class Stream>
tcp::socket& socket_of(Stream& stream)
{
  return beast::get_lowest_layer(stream).socket();
}

/// Ends a connection politely: TCP half-close, or a bounded TLS close_notify.
template <class Stream>
asio::awaitable<void> close_gracefully(Stream& stream)
{
  boost::system::error_code ec;
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  } else {
    beast::get_lowest_layer(stream).expires_after(shutdown_timeout);
    co_await stream.async_shutdown(use_tuple);
  }
  beast::get_lowest_layer(stream).close();
}

/// After refusing a body we did not read: stop sending, then read and discard what the client
/// still sends for a moment, so our answer is not destroyed by a TCP reset (lingering close).
template <class Stream>
asio::awaitable<void> close_lingering(Stream& stream)
{
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(linger_timeout);
    std::vector<char> scratch(64 * 1024);
    for (;;) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), use_tuple);
      if (rec)
        break;
    }
    stream.close();
  } else {
    co_await close_gracefully(stream);
  }
}

/// Never answers: reads and discards until the peer closes (or hang_timeout), without
/// holding up the io_context, so other connections go on. A vendor that took a request and
/// went silent.
template <class Stream>
asio::awaitable<void> hold_open(Stream& stream)
{
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(hang_timeout);
  std::array<char, 4096> scratch;
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec)
      break;
  }
  lowest.close();
}

/// Writes `r`; media (`r.blob`) goes out in chunks straight from the shared buffer.
/// `head`: the answer to a HEAD request, the headers (with the real Content-Length) only.
/// False when the peer is gone, or the answer was cut (`r.truncate`): the connection must end.
template <class Stream>
asio::awaitable<bool> write_reply(Stream& stream, reply& r, unsigned version, bool keep_alive, bool head = false)
{
  auto& lowest = beast::get_lowest_layer(stream);
  if (head) {
    http::response<http::empty_body> res{r.status, version};
    for (auto& f : r.headers)
      res.insert(f.name_string(), f.value());
    res.set(http::field::server, "videogate-mock-vendor");
    res.keep_alive(keep_alive);
    res.content_length(r.blob ? r.blob->size() : r.body.size());
    lowest.expires_after(write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec && !r.truncate;
  }
  if (!r.blob && !r.truncate) {
    http::response<http::string_body> res{r.status, version};
    for (auto& f : r.headers)
      res.insert(f.name_string(), f.value());
    res.set(http::field::server, "videogate-mock-vendor");
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    lowest.expires_after(write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec;
  }

  const std::string_view bytes = r.blob ? *r.blob : std::string_view(r.body);
  // A cut answer announces the whole body and sends half: the peer sees the connection end early.
  const std::size_t sent = r.truncate ? bytes.size() / 2 : bytes.size();
  http::response<http::buffer_body> res{r.status, version};
  for (auto& f : r.headers)
    res.insert(f.name_string(), f.value());
  res.set(http::field::server, "videogate-mock-vendor");
  res.keep_alive(keep_alive);
  res.content_length(bytes.size());
  res.body().data = nullptr;
  res.body().more = true;
  http::response_serializer<http::buffer_body> sr{res};
  lowest.expires_after(write_timeout);
  if (auto [ec, n] = co_await http::async_write_header(stream, sr, use_tuple); ec)
    co_return false;
  std::size_t offset = 0;
  do {
    const std::size_t n = std::min(chunk_size, sent - offset);
    // buffer_body wants a mutable pointer but only reads through it.
    res.body().data = const_cast<char*>(bytes.data() + offset);
    res.body().size = n;
    res.body().more = offset + n < bytes.size();
    lowest.expires_after(write_timeout);
    auto [ec, written] = co_await http::async_write(stream, sr, use_tuple);
    if (ec == http::error::need_buffer)
      ec = {};  // the chunk is out; the serializer asks for the next one
    if (ec)
      co_return false;
    offset += n;
  } while (offset < sent);
  co_return !r.truncate;
}

}  // namespace

struct server::impl {
  impl(asio::io_context& ioc, options o)
    : ioc_(ioc),
      opts_(std::move(o)),
      acceptor_(ioc),
      state_{job_store{opts_.complete_after_polls}, media::catalog{opts_.video_bytes}, opts_.retry_after, {},
             opts_.unified_variant},
      chaos_{opts_.chaos_seed, opts_.chaos_rate},
      callbacks_{ioc, opts_.verbose}
  {
    if (!opts_.tls_cert.empty()) {
      tls_.emplace(ssl::context::tls_server);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::single_dh_use);
      SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
      try {
        tls_->use_certificate_chain_file(opts_.tls_cert);
        tls_->use_private_key_file(opts_.tls_key, ssl::context::pem);
      } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot load --tls-cert/--tls-key: " + e.code().message());
      }
    }

    tcp::endpoint endpoint{resolve(opts_.host), opts_.port};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);

    const auto bound = acceptor_.local_endpoint();
    const auto address = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    state_.base_url = std::string(tls_ ? "https://" : "http://") + address + ":" + std::to_string(bound.port());
    // By default a URL that reaches the mock itself under another host name, as an attacker's
    // vendor would point a gateway at its own internal services.
    state_.evil_url = !opts_.evil_url.empty() ? opts_.evil_url
                                              : std::string(tls_ ? "https://" : "http://") + "localhost:" +
                                                  std::to_string(bound.port()) + "/_mock/health";

    // One line per dialect file. The first whose owns() matches a path serves it: kling's
    // /v1/videos/text2video and /v1/videos/image2video come before openai's /v1/videos;
    // kie's /api/v1/jobs and /api/v1/veo, ark's /api/v3 and dashscope's /api/v1/services and
    // /api/v1/tasks before freesora's /api; and fal, which owns any /{owner}/{app} path no
    // other dialect claims, comes last.
    dialects_.push_back(make_kling_dialect(state_));
    dialects_.push_back(make_openai_dialect(state_));
    dialects_.push_back(make_unified_dialect(state_));
    dialects_.push_back(make_replicate_dialect(state_));
    dialects_.push_back(make_minimax_dialect(state_));
    dialects_.push_back(make_kie_dialect(state_));
    dialects_.push_back(make_ark_dialect(state_));
    dialects_.push_back(make_dashscope_dialect(state_));
    dialects_.push_back(make_freesora_dialect(state_));
    dialects_.push_back(make_files_dialect(state_));
    dialects_.push_back(make_fal_dialect(state_));

    // Vendor callbacks: a job that finishes (poll, /_mock/jobs/{id}/complete|fail, cancel)
    // lets its dialect send its callback, if the create named a URL.
    state_.send_callback = [this](outgoing_callback cb) { callbacks_.send(std::move(cb)); };
    state_.jobs.on_finish = [this](const job& j) {
      for (auto& d : dialects_)
        if (d->name() == j.dialect)
          d->on_finished(j);
    };
  }

  static asio::ip::address resolve(const std::string& host)
  {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (!ec)
      return address;
    asio::io_context scratch;
    tcp::resolver resolver{scratch};
    auto results = resolver.resolve(host, "0");  // throws for an unknown host
    return results.begin()->endpoint().address();
  }

  asio::awaitable<void> accept_loop()
  {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open())
        co_return;
      if (ec) {
        // Out of descriptors and the like: back off briefly instead of spinning.
        asio::steady_timer pause{ioc_, 50ms};
        co_await pause.async_wait(use_tuple);
        continue;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto on_done = [](std::exception_ptr e) {
        if (!e)
          return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "videogate-mock-vendor: connection error: " << ex.what() << "\n";
        }
      };
      ++connections_;
      if (tls_)
        asio::co_spawn(ioc_, run_tls(std::move(socket)), on_done);
      else
        asio::co_spawn(ioc_, run_plain(std::move(socket)), on_done);
    }
  }

  asio::awaitable<void> run_plain(tcp::socket socket)
  {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    co_await session(stream, buffer);
  }

  asio::awaitable<void> run_tls(tcp::socket socket)
  {
    beast::ssl_stream<beast::tcp_stream> stream{std::move(socket), *tls_};
    beast::get_lowest_layer(stream).expires_after(handshake_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (ec)
      co_return;
    ++tls_handshakes_;
    beast::flat_buffer buffer;
    co_await session(stream, buffer);
  }

  // read -> handle -> write -> keep-alive, each step with its own deadline.
  template <class Stream>
  asio::awaitable<void> session(Stream& stream, beast::flat_buffer& buffer)
  {
    auto& lowest = beast::get_lowest_layer(stream);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(header_limit);
      parser.body_limit(body_limit);

      lowest.expires_after(idle_timeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      if (ec == http::error::end_of_stream)
        co_return co_await close_gracefully(stream);
      if (ec) {
        co_await answer_protocol_error(stream, ec);
        co_return;
      }

      auto& head = parser.get();
      if (parser.content_length() && *parser.content_length() > body_limit) {
        // Refuse before reading (and before any 100 Continue), like a vendor's front proxy.
        auto r = plain_error(http::status::payload_too_large, "Request body exceeds 64 MiB");
        co_await write_reply(stream, r, head.version(), false);
        co_return co_await close_lingering(stream);
      }
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, head.version()};
        lowest.expires_after(write_timeout);
        if (auto [wec, wn] = co_await http::async_write(stream, cont, use_tuple); wec)
          co_return;
      }

      lowest.expires_after(body_timeout);
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (ec) {
        co_await answer_protocol_error(stream, ec);
        co_return;
      }

      http_request req = parser.release();
      reply r = co_await handle(req);
      if (opts_.verbose)
        std::cerr << req.method_string() << " " << req.target() << " -> "
                  << (r.drop   ? std::string("(dropped)")
                      : r.hang ? std::string("(hung)")
                               : std::to_string(static_cast<unsigned>(r.status)) + (r.truncate ? " (cut)" : ""))
                  << "\n";
      if (r.drop) {
        lowest.close();  // no answer at all: the client sees the connection vanish
        co_return;
      }
      if (r.hang)
        co_return co_await hold_open(stream);
      const bool keep_alive = req.keep_alive();
      if (!co_await write_reply(stream, r, req.version(), keep_alive, req.method() == http::verb::head))
        co_return;
      if (!keep_alive)
        co_return co_await close_gracefully(stream);
    }
  }

  /// A read failed: answer what deserves an answer (413, 431, 400), drop the rest.
  template <class Stream>
  asio::awaitable<void> answer_protocol_error(Stream& stream, boost::system::error_code ec)
  {
    std::optional<reply> r;
    if (ec == http::error::body_limit)
      r = plain_error(http::status::payload_too_large, "Request body exceeds 64 MiB");
    else if (ec == http::error::header_limit)
      r = plain_error(http::status::request_header_fields_too_large, "Request headers too large");
    else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
             ec != http::error::partial_message && ec != http::error::end_of_stream)
      r = plain_error(http::status::bad_request, "Malformed HTTP request");
    if (r) {
      co_await write_reply(stream, *r, 11, false);
      co_await close_lingering(stream);
    }
  }

  asio::awaitable<reply> handle(http_request& req)
  {
    std::optional<std::uint64_t> seq;
    reply r = co_await dispatch(req, seq);
    // Vendors tag every answer with a request id; gateways log it to correlate.
    if (!starts_with(req.target(), "/_mock/") && r.headers.count("x-request-id") == 0) {
      auto id = state_.jobs.new_id("req_");
      std::erase(id, '-');
      r.headers.set("x-request-id", id);
    }
    // The log entry gets the answer too, so a test sees one exchange in one place.
    if (seq && !log_.empty()) {
      const auto first = log_.front().at("seq").to_number<std::uint64_t>();
      if (*seq >= first && *seq - first < log_.size())
        log_[*seq - first]["response"] = answer_of(r);
    }
    co_return r;
  }

  asio::awaitable<reply> dispatch(http_request& req, std::optional<std::uint64_t>& logged_seq)
  {
    try {
      request_context ctx{req};
      if (!parse_target(ctx))
        co_return plain_error(http::status::bad_request, "Malformed request target");
      if (starts_with(ctx.path, "/_mock/"))
        co_return control(ctx);

      dialect* owner = nullptr;
      for (auto& d : dialects_)
        if (d->owns(ctx.path)) {
          owner = d.get();
          break;
        }
      // Each vendor has its own auth scheme (fal: `Key`, the others `Bearer`).
      ctx.key = owner != nullptr ? owner->key_of(req) : bearer_key(req[http::field::authorization]);
      ctx.key_fault = fault_for_key(ctx.key);
      parse_body(ctx);
      const bool keyed = owner != nullptr && !owner->is_public(ctx.path);
      const auto kind = keyed ? owner->kind_of(ctx) : route_kind::other;
      // Chaos only hits plain keys: a key with a prefix keeps its scripted behaviour.
      const auto injected = keyed && ctx.key_fault == fault::none ? chaos_.draw(kind == route_kind::status)
                                                                   : std::nullopt;

      if (kind == route_kind::status)
        count_status_read(ctx.key);
      const auto seq = next_seq_++;
      log_.push_back(record_of(ctx, seq, injected));
      logged_seq = seq;
      if (log_.size() > max_logged_requests)
        log_.pop_front();  // long benchmarks must not grow without bound; seq shows the gap

      if (owner == nullptr)
        co_return json_reply(http::status::not_found,
                             {{"error",
                               {{"message", "Invalid URL (" + std::string(req.method_string()) + " " + ctx.path + ")"},
                                {"type", "invalid_request_error"},
                                {"param", nullptr},
                                {"code", nullptr}}}});
      if (!keyed)
        co_return owner->handle(ctx);  // a CDN: the key (or its absence) changes nothing
      if (injected)
        co_return co_await inject(*injected, *owner, ctx, kind, seq);

      switch (ctx.key_fault) {
      case fault::drop:
        co_return reply{.drop = true};
      case fault::slow:
        co_await pause(opts_.slow);
        break;
      case fault::slow_poll:
        if (kind == route_kind::status)
          co_await pause(opts_.slow);
        break;
      case fault::hang:
        if (kind != route_kind::status)
          break;
        co_return reply{.hang = true};
      case fault::garbage:
        co_return garbage_reply();
      case fault::missing_key:
      case fault::invalid_key:
      case fault::forbidden:
      case fault::no_credit:
      case fault::rate_limited:
      case fault::server_error:
      case fault::echo_key:
        co_return owner->fault_reply(ctx.key_fault, ctx);
      case fault::made_502:
      case fault::made_504:
        if (kind != route_kind::create)
          break;
        serve(*owner, ctx, seq);  // the job is made; the proxy in front of the vendor then fails
        co_return gateway_page(ctx.key_fault == fault::made_502 ? http::status::bad_gateway
                                                                : http::status::gateway_timeout);
      case fault::forget:
        ctx.forget = true;
        break;
      case fault::none:
      case fault::fail_jobs:
      case fault::evil_url:  // the dialects hand out the URL (result_url)
      case fault::crlf_url:
        break;
      }
      co_return serve(*owner, ctx, seq);
    } catch (const std::exception& e) {
      // A bug in the mock itself: make it loud in the answer rather than a silent drop.
      co_return plain_error(http::status::internal_server_error, std::string("mock vendor bug: ") + e.what());
    }
  }

  /// One chaos fault (see README.md). A 502/504 or a cut answer to a create still makes the
  /// job, as when the vendor's proxy or network fails after the vendor acted.
  asio::awaitable<reply> inject(chaos_fault f, dialect& owner, request_context& ctx, route_kind kind,
                                std::uint64_t seq)
  {
    switch (f) {
    case chaos_fault::rate_limited: {
      // A real 429 in every dialect (freesora's own limiter answers 200): a front proxy's limiter.
      auto r = owner.fault_reply(fault::rate_limited, ctx);
      r.status = http::status::too_many_requests;
      r.headers.set(http::field::retry_after, "1");
      co_return r;
    }
    case chaos_fault::server_error:
      co_return owner.fault_reply(fault::server_error, ctx);
    case chaos_fault::bad_gateway:
    case chaos_fault::gateway_timeout:
      if (kind == route_kind::create)
        serve(owner, ctx, seq);
      co_return gateway_page(f == chaos_fault::bad_gateway ? http::status::bad_gateway
                                                           : http::status::gateway_timeout);
    case chaos_fault::reset:
      co_return reply{.drop = true};
    case chaos_fault::truncated: {
      auto r = serve(owner, ctx, seq);
      r.truncate = true;
      co_return r;
    }
    case chaos_fault::slow:
      co_await pause(chaos_slow);
      break;
    case chaos_fault::garbage:
      co_return garbage_reply();
    case chaos_fault::forget:
      ctx.forget = true;
      break;
    }
    co_return serve(owner, ctx, seq);
  }

  /// Waits without holding up other connections.
  static asio::awaitable<void> pause(std::chrono::milliseconds how_long)
  {
    asio::steady_timer timer{co_await asio::this_coro::executor, how_long};
    co_await timer.async_wait(use_tuple);
  }

  /// The dialect's answer. A job it makes is tagged with the request that made it, so a test
  /// can count the jobs behind one Idempotency-Key even when the answer was lost (a
  /// character too).
  reply serve(dialect& owner, request_context& ctx, std::uint64_t seq)
  {
    const auto made_before = state_.jobs.created_count();
    const auto characters_before = state_.characters.size();
    reply r = owner.handle(ctx);
    if (state_.characters.size() > characters_before)
      state_.characters.back().request_seq = seq;
    if (state_.jobs.created_count() != made_before) {
      if (job* j = state_.jobs.newest()) {
        j->request_seq = seq;
        if (const auto key = ctx.req["Idempotency-Key"]; !key.empty())
          j->idempotency_key = std::string(key);
      }
    }
    return r;
  }

  // /_mock/*: no auth, never recorded.
  reply control(request_context& ctx)
  {
    const auto& s = ctx.segments;  // "_mock", …
    const auto method = ctx.req.method();
    if (s.size() == 2 && s[1] == "health") {
      return json_reply(http::status::ok, {{"status", "ok"}});
    }
    if (s.size() == 2 && s[1] == "stats") {
      // Counters for benchmarks, where /_mock/requests and /_mock/jobs would be too big to read.
      if (method != http::verb::get)
        return plain_error(http::status::method_not_allowed, "use GET");
      json::object reads;
      for (auto& [key, r] : status_reads_)
        reads[key] = {{"total", r.total}, {"max_per_second", std::max(r.max_per_second, r.this_second)}};
      auto out = state_.jobs.stats();
      out["connections"] = connections_;
      out["tls_handshakes"] = tls_handshakes_;
      out["status_reads"] = std::move(reads);
      return json_reply(http::status::ok, out);
    }
    if (s.size() == 2 && s[1] == "requests") {
      if (method != http::verb::get)
        return plain_error(http::status::method_not_allowed, "use GET");
      return json_reply(http::status::ok, json::array(log_.begin(), log_.end()));
    }
    if (s.size() == 2 && s[1] == "reset") {
      if (method != http::verb::post)
        return plain_error(http::status::method_not_allowed, "use POST");
      log_.clear();
      next_seq_ = 1;
      state_.jobs.clear();
      state_.characters.clear();
      status_reads_.clear();
      callbacks_.clear();
      chaos_.reset();
      return json_reply(http::status::ok, {{"reset", true}});
    }
    if (s.size() == 2 && s[1] == "chaos") {
      // GET: the chaos settings; POST {"rate": R}: a new fault rate from now on (0 = off).
      if (method == http::verb::post) {
        boost::system::error_code ec;
        auto body = json::parse(ctx.req.body(), ec);
        const json::value* rate = !ec && body.is_object() ? body.as_object().if_contains("rate") : nullptr;
        if (rate == nullptr || !rate->is_number())
          return plain_error(http::status::bad_request, "send {\"rate\": <number 0..1>}");
        const double r = rate->to_number<double>();
        if (!(r >= 0.0 && r <= 1.0))
          return plain_error(http::status::bad_request, "rate must be from 0 to 1");
        chaos_.set_rate(r);
      } else if (method != http::verb::get) {
        return plain_error(http::status::method_not_allowed, "use GET or POST");
      }
      return json_reply(http::status::ok, {{"enabled", chaos_.on()},
                                           {"seed", chaos_.on() ? json::value(chaos_.seed()) : json::value(nullptr)},
                                           {"rate", chaos_.rate()}});
    }
    if (s.size() == 2 && s[1] == "callbacks") {
      if (method != http::verb::get)
        return plain_error(http::status::method_not_allowed, "use GET");
      return json_reply(http::status::ok, callbacks_.log());
    }
    if (s.size() == 2 && s[1] == "faults") {
      if (method != http::verb::get)
        return plain_error(http::status::method_not_allowed, "use GET");
      return json_reply(http::status::ok, chaos_.counts());
    }
    if (s.size() == 2 && s[1] == "jobs") {
      if (method != http::verb::get)
        return plain_error(http::status::method_not_allowed, "use GET");
      return json_reply(http::status::ok, state_.jobs.to_json());
    }
    if (s.size() == 2 && s[1] == "characters") {
      if (method != http::verb::get)
        return plain_error(http::status::method_not_allowed, "use GET");
      json::array out;
      for (const auto& c : state_.characters)
        out.push_back(to_json(c));
      return json_reply(http::status::ok, out);
    }
    if (s.size() == 4 && s[1] == "jobs" && (s[3] == "complete" || s[3] == "fail")) {
      if (method != http::verb::post)
        return plain_error(http::status::method_not_allowed, "use POST");
      job* j = state_.jobs.find_any(s[2]);
      if (j == nullptr)
        return plain_error(http::status::not_found, "no job " + s[2]);
      if (s[3] == "complete") {
        state_.jobs.complete(*j);
      } else {
        // Optional JSON body {"code","message"} picks the failure reason.
        std::string code = "generation_failed";
        std::string message = "The video could not be generated";
        boost::system::error_code ec;
        auto body = json::parse(ctx.req.body(), ec);
        if (!ec && body.is_object()) {
          if (auto* c = body.as_object().if_contains("code"); c && c->is_string())
            code = std::string(c->as_string());
          if (auto* m = body.as_object().if_contains("message"); m && m->is_string())
            message = std::string(m->as_string());
        }
        state_.jobs.fail(*j, std::move(code), std::move(message));
      }
      return json_reply(http::status::ok, to_json(*j));
    }
    return plain_error(http::status::not_found, "unknown control endpoint " + ctx.path);
  }

  asio::io_context& ioc_;
  options opts_;
  std::optional<ssl::context> tls_;
  tcp::acceptor acceptor_;
  vendor_state state_;
  std::vector<std::unique_ptr<dialect>> dialects_;
  chaos chaos_;
  callback_sender callbacks_;
  std::deque<json::object> log_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t connections_ = 0;     ///< accepted, ever (GET /_mock/stats)
  std::uint64_t tls_handshakes_ = 0;  ///< completed TLS handshakes, ever
  /// Status reads per key: in all, and the most in one wall-clock second.
  struct status_count {
    std::uint64_t total = 0, this_second = 0, max_per_second = 0;
    std::int64_t second = 0;
  };
  std::unordered_map<std::string, status_count> status_reads_;

  void count_status_read(const std::string& key)
  {
    auto& c = status_reads_[key];
    const auto now = unix_now();
    if (now != c.second) {
      c.max_per_second = std::max(c.max_per_second, c.this_second);
      c.this_second = 0;
      c.second = now;
    }
    ++c.total;
    ++c.this_second;
  }
};

server::server(asio::io_context& ioc, options opts) : impl_(std::make_unique<impl>(ioc, std::move(opts))) {}

server::~server() = default;

tcp::endpoint server::local_endpoint() const
{
  return impl_->acceptor_.local_endpoint();
}

void server::start()
{
  asio::co_spawn(impl_->ioc_, impl_->accept_loop(), [](std::exception_ptr e) {
    if (e)
      std::rethrow_exception(e);  // the listener itself failing is fatal
  });
}

void server::stop()
{
  boost::system::error_code ignored;
  impl_->acceptor_.close(ignored);
}

}  // namespace videogate::mock_vendor
