#pragma once
/// @file
/// What every simulated dialect shares: the parsed request a dialect sees, the reply it
/// returns, the faults chosen by the key, and the interface one dialect implements.
/// A new dialect is one file (`<name>_dialect.cpp`) plus one line in server.cpp.
///
/// Everything here runs on the server's single io_context thread: no locking anywhere.

#include "jobs.hpp"
#include "media.hpp"
#include "multipart.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace videogate::mock_vendor {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;

/// Scripted misbehaviour, chosen by the prefix of the bearer key (see README.md).
enum class fault {
  none,
  missing_key,   ///< no bearer key at all
  invalid_key,   ///< `bad-*`, `invalid-*`
  forbidden,     ///< `forbidden-*`
  no_credit,     ///< `nocredit-*`
  rate_limited,  ///< `ratelimit-*`
  server_error,  ///< `error500-*`
  slow,          ///< `slow-*`: answered normally after --slow-ms
  drop,          ///< `drop-*`: socket closed without an answer
  garbage,       ///< `garbage-*`: 200 with a body that is not JSON
  fail_jobs,     ///< `fail-*`: jobs are created, then end `failed`
  made_502,      ///< `made502-*`: creates make the job, then answer a proxy's 502 page
  made_504,      ///< `made504-*`: the same with a 504 page
  forget,        ///< `forget-*`: jobs are made, then every status read answers "not found"
  hang,          ///< `hang-*`: status reads are never answered
  slow_poll,     ///< `slowpoll-*`: status reads answered after --slow-ms
  evil_url,      ///< `evilurl-*`: result URLs point at --evil-url
  crlf_url,      ///< `crlfurl-*`: result URLs carry a CR LF and a header line
  echo_key,      ///< `echokey-*`: 401 whose message holds the whole key, unmasked
};

/// What a request does to the job store, for faults that hit only some routes.
enum class route_kind {
  other,   ///< lists, content, delete, balance, errors
  create,  ///< makes a job: a create or a remix
  status,  ///< a status read (a poll)
};

// Small helpers every dialect uses.
bool starts_with(std::string_view s, std::string_view prefix);

template <std::size_t N>
bool one_of(std::string_view v, const std::array<std::string_view, N>& allowed)
{
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

/// The image types the vendors take (for uploads and data URLs).
inline constexpr std::array<std::string_view, 3> image_types{"image/jpeg", "image/png", "image/webp"};

/// A base64 data URL of a jpeg, png or webp image.
bool valid_data_url(std::string_view url);
/// An absolute http(s) URL with a host.
bool valid_http_url(std::string_view url);
/// Either of the two: what the vendors accept as an image reference.
bool valid_image_ref(std::string_view url);

/// The token of an `Authorization: Bearer <token>` value; empty when absent or another scheme.
std::string bearer_key(std::string_view authorization);

/// The credential of an `Authorization: <scheme> <credential>` value when the scheme is
/// `scheme` (case-insensitive); empty otherwise.
std::string scheme_credential(std::string_view authorization, std::string_view scheme);

/// The fault a key asks for (`fault::missing_key` for an empty key).
fault fault_for_key(std::string_view key) noexcept;

/// The 401 message of `echokey-*` keys: the key in full, as a careless vendor writes it (a
/// gateway must not pass it on to its clients or its logs).
std::string echoed_key_message(std::string_view key);

/// A create prompt holding this is refused with an error that quotes the whole prompt: a
/// gateway must not judge its key by words the client wrote ("insufficient balance").
inline constexpr std::string_view echo_marker = "[echo]";

/// An answer. Either `body` (small, owned) or `blob` (a view of process-lifetime media,
/// streamed in chunks so a 100 MiB video is never copied per request).
struct reply {
  boost::beast::http::status status = boost::beast::http::status::ok;
  boost::beast::http::fields headers;  ///< Content-Type and friends; Content-Length is computed
  std::string body;
  std::optional<std::string_view> blob;
  bool drop = false;                   ///< close the connection without answering
  bool hang = false;                   ///< never answer; hold the connection until the peer leaves
  bool truncate = false;               ///< announce the whole body, send half of it, then close
};

/// The HTML page a vendor's front proxy sends for 502 or 504, whatever the API behind it.
reply gateway_page(boost::beast::http::status status);

/// `status` with a JSON body.
reply json_reply(boost::beast::http::status status, const boost::json::value& body);

/// Serves `bytes` honouring a `Range: bytes=a-b | a- | -n` header of `req`: 200 with the
/// whole body, 206 with Content-Range, or 416. A malformed or multi-range header is ignored
/// (200), as RFC 9110 allows. Always sets Accept-Ranges and Content-Type.
reply media_reply(const http_request& req, std::string_view bytes, std::string_view content_type);

/// A request as the dialect sees it: parsed once by the server (the recorder uses it too).
struct request_context {
  const http_request& req;
  std::string path;                       ///< percent-decoded path, no query
  std::vector<std::string> segments;      ///< decoded path segments (`/v1/videos/x` -> v1 videos x)
  std::vector<std::pair<std::string, std::string>> query;  ///< decoded query parameters
  std::string key;                        ///< bearer token, empty when absent
  fault key_fault = fault::none;
  std::string media_type;                 ///< lower-case Content-Type without parameters
  std::optional<boost::json::value> json; ///< set when the body is valid JSON
  std::optional<std::vector<form_part>> form;  ///< set when the body is valid multipart
  std::string body_error;                 ///< why a JSON/multipart body could not be parsed
  bool forget = false;                    ///< status, content and delete answer "not found" for the job

  /// First value of query parameter `name`, if present.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

/// A POST the vendor makes to a client's callback URL when a job finishes (fal webhooks,
/// Replicate webhooks, kie callbacks). Sent best effort, once, asynchronously; every attempt
/// is listed by GET /_mock/callbacks.
struct outgoing_callback {
  std::string job_id;
  std::string dialect;
  std::string event;  ///< e.g. "completed", "start": what made the vendor call
  std::string url;
  boost::json::value body;
};

/// State shared by every dialect of the process.
struct vendor_state {
  job_store jobs;
  media::catalog media;
  std::chrono::seconds retry_after{7};
  std::string base_url;  ///< e.g. "http://127.0.0.1:9090", known after binding (for result URLs)
  std::string unified_variant = "rich";  ///< shape of `unified` query answers: minimal | rich | detail
  std::string evil_url;  ///< the result URL of `evilurl-*` jobs (--evil-url)
  /// Queues a callback POST (set by the server; a no-op until then).
  std::function<void(outgoing_callback)> send_callback;
  /// Characters (openai `POST /v1/videos/characters`), creation order (GET /_mock/characters).
  std::vector<character> characters;
};

/// One upstream API family. Implementations are pure functions of the request and the
/// shared state: the server does the I/O, the faults and the recording.
class dialect {
public:
  virtual ~dialect() = default;

  /// Short name, e.g. "openai"; also the `dialect` tag of the jobs it creates.
  virtual std::string_view name() const noexcept = 0;

  /// True when `path` belongs to this dialect's API: its faults and errors then take this
  /// dialect's shape.
  virtual bool owns(std::string_view path) const noexcept = 0;

  /// True when `path` is served without looking at the key (a CDN): no auth, no key faults.
  virtual bool is_public(std::string_view /*path*/) const noexcept { return false; }

  /// The key a request carries, in this vendor's auth scheme (default `Authorization: Bearer`).
  /// Empty when there is none in that scheme: the request then meets `fault::missing_key`.
  virtual std::string key_of(const http_request& req) const;

  /// Called when one of this dialect's jobs finishes (`job_store::on_finish`): a vendor with
  /// callbacks sends them from here through `vendor_state::send_callback`.
  virtual void on_finished(const job& /*j*/) {}

  /// Which of this dialect's routes `ctx` is: the server aims route-specific faults with it.
  virtual route_kind kind_of(const request_context& /*ctx*/) const noexcept { return route_kind::other; }

  /// The answer for a key fault (missing/invalid key, forbidden, no credit, rate limit,
  /// server error, echoed key) in this dialect's error shape.
  virtual reply fault_reply(fault f, const request_context& ctx) const = 0;

  /// Serves a request that passed the key checks.
  virtual reply handle(request_context& ctx) = 0;
};

/// Factories, one per dialect file.
std::unique_ptr<dialect> make_openai_dialect(vendor_state& state);
std::unique_ptr<dialect> make_unified_dialect(vendor_state& state);
std::unique_ptr<dialect> make_freesora_dialect(vendor_state& state);
std::unique_ptr<dialect> make_fal_dialect(vendor_state& state);
std::unique_ptr<dialect> make_replicate_dialect(vendor_state& state);
std::unique_ptr<dialect> make_kie_dialect(vendor_state& state);
std::unique_ptr<dialect> make_ark_dialect(vendor_state& state);
std::unique_ptr<dialect> make_minimax_dialect(vendor_state& state);
std::unique_ptr<dialect> make_dashscope_dialect(vendor_state& state);
std::unique_ptr<dialect> make_kling_dialect(vendor_state& state);
/// The unauthenticated `/files/` route holding the results of `unified` and `freesora`.
std::unique_ptr<dialect> make_files_dialect(vendor_state& state);

/// The absolute URL of a job's result on the `/files/` route (its `media_name`).
std::string media_url(const vendor_state& state, const job& j);

/// The result URL a status answer hands out: `media_url`, or the hostile URL the job's key
/// asks for (`evilurl-*`, `crlfurl-*`).
std::string result_url(const vendor_state& state, const job& j);

}  // namespace videogate::mock_vendor
