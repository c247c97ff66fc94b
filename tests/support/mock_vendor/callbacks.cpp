#include "callbacks.hpp"

#include "jobs.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <iostream>
#include <string>

namespace videogate::mock_vendor {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto delivery_timeout = 10s;           // connect + write + read, per step
constexpr std::size_t max_response_kept = 2048;  // of the receiver's answer, in the log

struct target {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path_and_query;
};

/// An absolute http(s) URL split for a request; nullopt when it is not one.
std::optional<target> parse_target_url(std::string_view url)
{
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->encoded_host().empty())
    return std::nullopt;
  target t;
  t.tls = u->scheme() == "https";
  t.host = std::string(u->host_address());
  if (!t.host.empty() && t.host.front() == '[' && t.host.back() == ']')
    t.host = t.host.substr(1, t.host.size() - 2);
  t.port = u->has_port() ? std::string(u->port()) : (t.tls ? "443" : "80");
  t.path_and_query = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
  if (u->has_query())
    t.path_and_query += "?" + std::string(u->encoded_query());
  return t;
}

/// The Host header: the authority as written (with its port when one was given).
std::string host_header(std::string_view url)
{
  auto u = boost::urls::parse_absolute_uri(url);
  return u ? std::string(u->encoded_host_and_port()) : std::string();
}

template <class Stream>
asio::awaitable<std::pair<int, std::string>> exchange(Stream& stream, http::request<http::string_body>& req,
                                                      boost::system::error_code& ec)
{
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(delivery_timeout);
  auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
  if (wec) {
    ec = wec;
    co_return std::pair<int, std::string>{0, {}};
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  lowest.expires_after(delivery_timeout);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (rec) {
    ec = rec;
    co_return std::pair<int, std::string>{0, {}};
  }
  auto res = parser.release();
  co_return std::pair<int, std::string>{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace

void callback_sender::send(outgoing_callback cb)
{
  const auto seq = next_seq_++;
  json::object e;
  e["seq"] = seq;
  e["job_id"] = cb.job_id;
  e["dialect"] = cb.dialect;
  e["event"] = cb.event;
  e["url"] = cb.url;
  e["body"] = cb.body;
  e["state"] = "pending";
  e["status"] = nullptr;
  e["response"] = nullptr;
  e["error"] = nullptr;
  e["sent_at_ms"] = unix_now_ms();
  e["done_at_ms"] = nullptr;
  log_.push_back(std::move(e));
  if (log_.size() > 10000)
    log_.pop_front();
  if (verbose_)
    std::cerr << "callback #" << seq << " " << cb.dialect << " " << cb.event << " job " << cb.job_id << " -> POST "
              << cb.url << "\n";
  asio::co_spawn(ioc_, deliver(seq, generation_, std::move(cb)), asio::detached);
}

json::object* callback_sender::entry(std::uint64_t seq, std::uint64_t generation)
{
  if (generation != generation_ || log_.empty())
    return nullptr;
  const auto first = log_.front().at("seq").to_number<std::uint64_t>();
  if (seq < first || seq - first >= log_.size())
    return nullptr;
  return &log_[seq - first];
}

json::array callback_sender::log() const
{
  return json::array(log_.begin(), log_.end());
}

void callback_sender::clear()
{
  log_.clear();
  ++generation_;
}

asio::awaitable<void> callback_sender::deliver(std::uint64_t seq, std::uint64_t generation, outgoing_callback cb)
{
  auto finish = [&](int status, std::string response, std::string error) {
    if (verbose_)
      std::cerr << "callback #" << seq << " -> "
                << (error.empty() ? "HTTP " + std::to_string(status) : "error: " + error) << "\n";
    json::object* e = entry(seq, generation);
    if (e == nullptr)
      return;
    (*e)["state"] = error.empty() ? "delivered" : "failed";
    (*e)["status"] = status == 0 ? json::value(nullptr) : json::value(status);
    if (response.size() > max_response_kept)
      response.resize(max_response_kept);
    (*e)["response"] = error.empty() ? json::value(response) : json::value(nullptr);
    (*e)["error"] = error.empty() ? json::value(nullptr) : json::value(error);
    (*e)["done_at_ms"] = unix_now_ms();
  };

  const auto t = parse_target_url(cb.url);
  if (!t) {
    finish(0, {}, "not an absolute http(s) URL");
    co_return;
  }

  http::request<http::string_body> req{http::verb::post, t->path_and_query, 11};
  req.set(http::field::host, host_header(cb.url));
  req.set(http::field::user_agent, "videogate-mock-vendor (" + cb.dialect + " callback)");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  req.body() = json::serialize(cb.body);
  req.prepare_payload();

  tcp::resolver resolver{ioc_};
  auto [rec, endpoints] = co_await resolver.async_resolve(t->host, t->port, use_tuple);
  if (rec) {
    finish(0, {}, "resolve: " + rec.message());
    co_return;
  }

  boost::system::error_code ec;
  std::pair<int, std::string> result;
  if (!t->tls) {
    beast::tcp_stream stream{ioc_};
    stream.expires_after(delivery_timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, use_tuple);
    if (cec) {
      finish(0, {}, "connect: " + cec.message());
      co_return;
    }
    result = co_await exchange(stream, req, ec);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  } else {
    ssl::context ctx{ssl::context::tls_client};
    ctx.set_verify_mode(ssl::verify_none);  // a test double talking to test receivers
    beast::ssl_stream<beast::tcp_stream> stream{ioc_, ctx};
    SSL_set_tlsext_host_name(stream.native_handle(), t->host.c_str());
    beast::get_lowest_layer(stream).expires_after(delivery_timeout);
    auto [cec, ep] = co_await beast::get_lowest_layer(stream).async_connect(endpoints, use_tuple);
    if (cec) {
      finish(0, {}, "connect: " + cec.message());
      co_return;
    }
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec) {
      finish(0, {}, "tls handshake: " + hec.message());
      co_return;
    }
    result = co_await exchange(stream, req, ec);
    beast::get_lowest_layer(stream).close();
  }
  if (ec) {
    finish(0, {}, ec.message());
    co_return;
  }
  finish(result.first, std::move(result.second), {});
}

}  // namespace videogate::mock_vendor
