#pragma once
/// @file One interface for every upstream API family. A dialect is a pure translator: unified
/// request -> upstream HTTP call, upstream answer -> job state or classified error. No I/O.

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/core/schema.hpp"
#include "videogate/http/message.hpp"

#include <chrono>
#include <initializer_list>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::json {
class value;
class object;
}  // namespace boost::json

namespace videogate::dialects {

/// What to send upstream, minus the key (the I/O layer adds `Authorization`).
struct upstream_call {
  std::string method = "GET";
  std::string path;               ///< appended to the upstream's base_url, e.g. "/v1/videos"
  std::string absolute_url;       ///< when set: fetch this URL instead, and send no key with it
  http::header_list headers;      ///< e.g. Content-Type
  std::string body;
};

/// What an upstream says about a job, normalised.
struct job_state {
  std::string upstream_id;
  std::string status = "queued";  ///< queued | in_progress | completed | failed
  int progress = 0;
  std::optional<std::string> seconds;
  std::optional<std::int64_t> created_at, completed_at, expires_at;
  std::optional<std::string> error_code, error_message;
  std::optional<std::string> content_url;
  std::optional<std::string> raw_status;  ///< the vendor's word, when it was not one we know
};

using videogate::content_variant;

class dialect {
 public:
  virtual ~dialect() = default;
  virtual config::dialect_kind kind() const noexcept = 0;

  /// Durations (seconds) this upstream can make for the request's public model (and its
  /// inputs: a storyboard may allow more); `durations:` overrides.
  virtual std::vector<int> allowed_durations(const config::upstream_config& up, const create_request& req) const = 0;

  virtual result<upstream_call> create(const create_request& req, const config::upstream_config& up,
                                       const std::string& seconds) const = 0;
  virtual result<job_state> read_create(int status, const http::header_list& headers, std::string_view body) const = 0;
  virtual upstream_call status(const std::string& upstream_id) const = 0;
  virtual result<job_state> read_status(int status, const http::header_list& headers, std::string_view body) const = 0;
  /// `content_url`: where the status answer said the result is (dialects without a content
  /// call of their own need it).
  virtual result<upstream_call> content(const std::string& upstream_id, content_variant v,
                                        const std::optional<std::string>& content_url,
                                        const config::upstream_config& up) const = 0;
  virtual result<upstream_call> remix(const std::string& upstream_id, const std::string& prompt,
                                      const config::upstream_config& up) const = 0;
  /// nullopt: the vendor has no delete call (the gateway just forgets the job).
  virtual std::optional<upstream_call> remove(const std::string& upstream_id) const = 0;
};

std::unique_ptr<dialect> make_dialect(config::dialect_kind k);

// ---- shared, pure helpers every dialect uses --------------------------------------------

/// Rounds `asked` (nullopt: the smallest) up to the nearest allowed duration; above the
/// maximum: unsupported_value (param "seconds") listing what `upstream` can do.
result<int> pick_duration(const std::optional<std::string>& asked, const std::vector<int>& allowed,
                          const std::string& upstream, const std::string& model);

/// High resolution (long side >= 1792) needs a pro model: unsupported_value (param "size").
result<void> check_size_for_model(const std::string& size, const std::string& upstream_model);

/// Maps a vendor's status word (case-insensitive) to ours; nullopt when unknown.
std::optional<std::string> normalize_status(std::string_view vendor_status);

/// Progress 0..100 from an int, a float 0..1 (a fraction), or a string like "35" / "35%";
/// 0 when absent or unreadable.
int normalize_progress(const boost::json::value* v);

/// A timestamp in seconds from seconds or milliseconds (values above 1e11 are ms).
std::optional<std::int64_t> unix_seconds(const boost::json::value* v);

/// The first non-empty string among `keys` of `o` (a string, or an object's "message").
std::optional<std::string> first_message(const boost::json::object& o, std::initializer_list<std::string_view> keys);

/// Classifies a non-2xx upstream answer: 401/403 auth, 402/quota out of credit, 429 rate
/// limited (with Retry-After, seconds or HTTP date, relative to `now`), content refusals,
/// 404, 5xx. The vendor's message is kept (callers scrub keys before it leaves).
error classify_http_error(int status, const http::header_list& headers, std::string_view body,
                          std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// `e` unless its key judgment came from words (`by_words`) that may echo `request_text` (the
/// prompt): a prompt saying "insufficient balance" disables nothing (DESIGN §5). Then it is
/// upstream_rejected, a refusal of the request that says nothing about the key.
error without_echo(error e, std::string_view request_text);

/// A vendor message that says the key is the problem (credit/balance/quota, an invalid key,
/// a rate limit), for vendors that put errors in 200 answers; nullopt for anything else.
std::optional<errc> key_failure_in(std::string_view message);

/// The upstream's name for a public model (its `models:` map; identity when absent).
std::string mapped_model(const config::upstream_config& up, const std::string& model);

/// A `defaults:` value as JSON of its YAML type.
boost::json::value default_json(const config::default_value& d);

/// Content for dialects whose status answer carries the video's URL (unified, freesora):
/// the URL, fetched without the key; other variants are a 404 naming the upstream; a
/// completed job without a URL is a 502.
result<upstream_call> content_from_url(content_variant v, const std::optional<std::string>& content_url,
                                       const config::upstream_config& up, std::string_view dialect,
                                       std::string_view url_field);

/// Remix for dialects without a remix call: 400 unsupported_value naming the upstream.
error no_remix(const config::upstream_config& up, std::string_view dialect);

/// Removes every occurrence of each secret (and bearer tokens) from a vendor message.
std::string scrub(std::string text, const std::vector<std::string>& secrets);

/// Standard base64 (for data URLs).
std::string base64_encode(std::string_view bytes);

}  // namespace videogate::dialects
