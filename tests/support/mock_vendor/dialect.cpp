#include "dialect.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <utility>

namespace videogate::mock_vendor {
namespace http = boost::beast::http;
namespace {

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Digits only (no sign, no spaces), fitting in 64 bits.
std::optional<std::uint64_t> parse_u64(std::string_view s)
{
  if (s.empty())
    return std::nullopt;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

/// A parsed `Range` header against a body of `size` bytes.
struct byte_range {
  enum class kind { whole, partial, unsatisfiable } k = kind::whole;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

byte_range parse_range(std::string_view header, std::uint64_t size)
{
  using kind = byte_range::kind;
  header = trim(header);
  constexpr std::string_view unit = "bytes=";
  if (header.size() < unit.size())
    return {};
  for (std::size_t i = 0; i < unit.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(header[i]))) != unit[i])
      return {};  // an unknown unit is ignored
  auto spec = trim(header.substr(unit.size()));
  if (spec.find(',') != std::string_view::npos)
    return {};  // multi-range: we choose to send the whole body, as RFC 9110 permits
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos)
    return {};
  const auto first_text = trim(spec.substr(0, dash));
  const auto last_text = trim(spec.substr(dash + 1));

  if (first_text.empty()) {  // suffix: the last n bytes
    auto n = parse_u64(last_text);
    if (!n)
      return {};
    if (*n == 0 || size == 0)
      return {kind::unsatisfiable};
    return {kind::partial, size - std::min(*n, size), size - 1};
  }
  auto first = parse_u64(first_text);
  if (!first)
    return {};
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    auto l = parse_u64(last_text);
    if (!l)
      return {};
    if (*l < *first)
      return {kind::unsatisfiable};
    last = std::min(*l, last);
  }
  if (*first >= size)
    return {kind::unsatisfiable};
  return {kind::partial, *first, last};
}

}  // namespace

bool starts_with(std::string_view s, std::string_view prefix)
{
  return s.substr(0, prefix.size()) == prefix;
}

std::string scheme_credential(std::string_view auth, std::string_view scheme)
{
  auth = trim(auth);
  if (auth.size() <= scheme.size() || auth[scheme.size()] != ' ')
    return {};
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(auth[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
      return {};
  return std::string(trim(auth.substr(scheme.size() + 1)));
}

std::string bearer_key(std::string_view auth)
{
  return scheme_credential(auth, "Bearer");
}

std::string dialect::key_of(const http_request& req) const
{
  return bearer_key(req[http::field::authorization]);
}

bool valid_data_url(std::string_view url)
{
  if (!starts_with(url, "data:"))
    return false;
  const auto comma = url.find(',');
  if (comma == std::string_view::npos)
    return false;
  const auto meta = url.substr(5, comma - 5);  // "image/png;base64"
  const auto semi = meta.find(';');
  if (semi == std::string_view::npos || meta.substr(semi) != ";base64" || !one_of(meta.substr(0, semi), image_types))
    return false;
  const auto data = url.substr(comma + 1);
  return !data.empty() && std::all_of(data.begin(), data.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
  });
}

bool valid_http_url(std::string_view url)
{
  auto parsed = boost::urls::parse_absolute_uri(url);
  return parsed && (parsed->scheme() == "http" || parsed->scheme() == "https") && !parsed->host().empty();
}

bool valid_image_ref(std::string_view url)
{
  return valid_data_url(url) || valid_http_url(url);
}

fault fault_for_key(std::string_view key) noexcept
{
  if (key.empty())
    return fault::missing_key;
  static constexpr std::array<std::pair<std::string_view, fault>, 20> table{{
    {"bad-", fault::invalid_key},
    {"invalid-", fault::invalid_key},
    {"forbidden-", fault::forbidden},
    {"nocredit-", fault::no_credit},
    {"ratelimit-", fault::rate_limited},
    {"error500-", fault::server_error},
    {"slow-", fault::slow},
    {"drop-", fault::drop},
    {"garbage-", fault::garbage},
    {"fail-", fault::fail_jobs},
    {"made502-", fault::made_502},
    {"made504-", fault::made_504},
    {"forget-", fault::forget},
    {"hang-", fault::hang},
    {"slowpoll-", fault::slow_poll},
    {"evilurl-", fault::evil_url},
    {"crlfurl-", fault::crlf_url},
    {"echokey-", fault::echo_key},
    // One dead key of each kind for a chaos soak (chaos never touches keys with a prefix).
    {"chaos401-", fault::invalid_key},
    {"chaos402-", fault::no_credit},
  }};
  for (auto& [prefix, f] : table)
    if (starts_with(key, prefix))
      return f;
  return fault::none;
}

std::string echoed_key_message(std::string_view key)
{
  return "Incorrect API key provided: " + std::string(key) +
         ". You can find your API key at https://platform.openai.com/account/api-keys.";
}

reply json_reply(http::status status, const boost::json::value& body)
{
  reply r;
  r.status = status;
  r.headers.set(http::field::content_type, "application/json");
  r.body = boost::json::serialize(body);
  return r;
}

reply gateway_page(http::status status)
{
  reply r;
  r.status = status;
  r.headers.set(http::field::content_type, "text/html");
  r.body = status == http::status::gateway_timeout ? "<html><body><h1>504 Gateway Time-out</h1></body></html>"
                                                   : "<html><body><h1>502 Bad Gateway</h1></body></html>";
  return r;
}

reply media_reply(const http_request& req, std::string_view bytes, std::string_view content_type)
{
  reply r;
  r.headers.set(http::field::content_type, content_type);
  r.headers.set(http::field::accept_ranges, "bytes");
  const auto range = parse_range(req[http::field::range], bytes.size());
  switch (range.k) {
  case byte_range::kind::whole:
    r.blob = bytes;
    break;
  case byte_range::kind::partial:
    r.status = http::status::partial_content;
    r.headers.set(http::field::content_range, "bytes " + std::to_string(range.first) + "-" +
                                                std::to_string(range.last) + "/" + std::to_string(bytes.size()));
    r.blob = bytes.substr(range.first, range.last - range.first + 1);
    break;
  case byte_range::kind::unsatisfiable:
    r.status = http::status::range_not_satisfiable;
    r.headers.set(http::field::content_range, "bytes */" + std::to_string(bytes.size()));
    r.headers.erase(http::field::content_type);
    break;
  }
  return r;
}

std::optional<std::string_view> request_context::query_param(std::string_view name) const
{
  for (auto& [k, v] : query)
    if (k == name)
      return std::string_view(v);
  return std::nullopt;
}

}  // namespace videogate::mock_vendor
