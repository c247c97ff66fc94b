#pragma once
/// @file One interface for every upstream API family. A dialect is a pure translator: unified
/// request -> upstream HTTP call, upstream answer -> job state or classified error. No I/O.

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/core/schema.hpp"
#include "videogate/http/message.hpp"

#include <chrono>
#include <functional>
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
  /// A note from create() to read_created() (the dialect's own: fal's app, kie's API family).
  std::string tag;
};

/// What an upstream says about a job, normalised.
struct job_state {
  std::string upstream_id;
  std::string status = "queued";  ///< queued | in_progress | completed | failed
  int progress = 0;
  std::optional<std::string> seconds;
  std::optional<std::string> size;  ///< what the vendor says it makes (edits of an upload have no size asked)
  std::optional<std::int64_t> created_at, completed_at, expires_at;
  std::optional<std::string> error_code, error_message;
  std::optional<std::string> content_url;
  std::optional<std::string> raw_status;  ///< the vendor's word, when it was not one we know
  /// The status answer says the run is over but not how it ended (fal: the queue says
  /// COMPLETED; the result, or the run's failure, is at another URL): make the dialect's
  /// result_call and read its answer with read_follow_up.
  bool fetch_result = false;
  std::string result_ref;  ///< what result_call needs from the status answer (MiniMax: the file_id)
};

/// What a create sends besides the client's request, decided by the gateway.
struct create_extras {
  /// Where the vendor may call back when the job ends, for the call's `tag` (the callback
  /// token binds it); empty: none.
  std::function<std::string(const std::string& tag)> callback_url;
  /// An image the client uploaded, served by the gateway at this URL (`/media/{token}`) for
  /// vendors that take image URLs only; empty: not served.
  std::string image_url;
};

/// What a vendor says about a character (`POST/GET /v1/videos/characters`).
struct character_state {
  std::string upstream_id;  ///< the vendor's character id
  std::int64_t created_at = 0;
  std::optional<std::string> name;
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
                                       const std::string& seconds, const create_extras& extras = {}) const = 0;
  /// Whether an uploaded image must reach the vendor as a URL (the gateway serves it).
  virtual bool needs_image_url() const noexcept { return false; }
  /// Whether the vendor takes a callback URL on create.
  virtual bool takes_callbacks() const noexcept { return false; }
  /// The Authorization header for a key: `Bearer <key>` unless the vendor wants another scheme.
  virtual std::string authorization(const std::string& key) const { return "Bearer " + key; }
  /// Reads a create's answer, knowing what was sent (its `tag`).
  virtual result<job_state> read_created(const upstream_call& sent, int status, const http::header_list& headers,
                                         std::string_view body) const {
    (void)sent;
    return read_create(status, headers, body);
  }
  /// The call that fetches a finished run's result (job_state::fetch_result).
  virtual upstream_call result_call(const std::string& upstream_id, const job_state& st) const;
  /// Reads the answer to result_call.
  virtual result<job_state> read_follow_up(int status, const http::header_list& headers, std::string_view body,
                                           const std::string& upstream_id) const;
  /// Our upstream id of the job a callback body names (untrusted: it only picks which job to
  /// poll); `tag`: the create call's tag, which the callback token carries.
  virtual std::optional<std::string> callback_job_id(std::string_view body, const std::string& tag) const;
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
  /// An edit or extension (`req.what`). `source_id`: the vendor's own id of the source video
  /// (empty when `req.video` is an upload); `seconds`: an extension's picked length. Default:
  /// 400 unsupported_value naming the upstream and the call (nothing is sent).
  virtual result<upstream_call> derive(const derive_request& req, const std::string& source_id,
                                       const config::upstream_config& up, const std::string& seconds) const;
  /// Makes a character from an uploaded video. Default: unsupported, as derive.
  virtual result<upstream_call> create_character(const character_request& req, const config::upstream_config& up) const;
  /// Fetches a character by the vendor's id. Default: unsupported, as derive.
  virtual result<upstream_call> character(const std::string& upstream_id, const config::upstream_config& up) const;
  /// Reads the answer to create_character or character.
  virtual result<character_state> read_character(int status, const http::header_list& headers, std::string_view body) const;
  /// nullopt: the vendor has no delete call (the gateway just forgets the job).
  virtual std::optional<upstream_call> remove(const std::string& upstream_id) const = 0;
};

std::unique_ptr<dialect> make_dialect(config::dialect_kind k);

/// A `{"error":{...}}`-style answer's error, with the vendor's code word judged first (DESIGN
/// §5: a documented code wins over the HTTP status): `codes` maps code words to our errc.
error classify_with_codes(int status, const http::header_list& headers, std::string_view body, std::string_view code,
                          std::initializer_list<std::pair<std::string_view, errc>> codes);

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

/// Merges the client's `vendor_params` (a JSON object's text) into `target`, last; a key in
/// `forbidden` (the vendor's model, prompt, image or callback fields) is 400 invalid_value
/// naming it (param "vendor_params").
result<void> merge_vendor_params(boost::json::object& target, const std::optional<std::string>& vendor_params,
                                 std::initializer_list<std::string_view> forbidden);

/// The vendor model for a request: the image model when it has an image (task-API
/// `models: {text, image}`), else the text one; unsupported_value when that form is missing.
result<std::string> task_model(const config::upstream_config& up, const create_request& req, std::string_view dialect);

/// `16:9` for landscape sizes, `9:16` for portrait ones; `landscape`/`portrait` when `words`.
std::string aspect_of(const std::string& size, bool words = false);
/// `1080p` for a long side of 1792 or more, else `720p`.
std::string resolution_of(const std::string& size);

/// `s` percent-encoded as one URL path segment or query value (RFC 3986 unreserved kept).
std::string url_component(std::string_view s);

/// The body as a JSON object, or bad_upstream_response naming `vendor`.
result<boost::json::object> json_object_of(std::string_view body, std::string_view vendor);

/// An uploaded image as a data URL, or the URL the client gave.
std::string image_ref(const image_input& img);

/// Standard base64 (for data URLs).
std::string base64_encode(std::string_view bytes);

}  // namespace videogate::dialects
