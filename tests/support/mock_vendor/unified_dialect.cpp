// The `unified` dialect: the create/query pair many resellers share (seeds 000 and 004,
// vendors.md `unified`). Written from those pages, not from the gateway's translator, so a
// misreading on one side shows up as a failure.
//
// Errors take the new-api shape these resellers run on: HTTP 4xx/5xx with
// {"error":{"message","type","code"}}. The query answer comes in the three shapes vendors.md
// lists (--unified-variant). Finished videos are a URL on the keyless `/files/` route.

#include "dialect.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>
#include <random>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "unified";
// Both seeds show "sora-2:task_…" ids, for sora-2-pro jobs as well.
constexpr std::string_view id_prefix = "sora-2:";
constexpr std::string_view task_prefix = "task_";
constexpr std::string_view ulid_alphabet = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lower case
constexpr std::size_t ulid_length = 26;
constexpr int frames_per_second = 30;

// Seed 000 orders (and requires) the fields so; the last two are sent by some clients.
constexpr std::array<std::string_view, 8> required_fields{"images", "model",    "orientation", "prompt",
                                                          "size",   "duration", "watermark",   "private"};
constexpr std::array<std::string_view, 2> optional_fields{"character_url", "character_timestamps"};

// Keys whose prefix picks a behaviour of this dialect only (the shared ones are in dialect.cpp).
constexpr std::string_view no_url_prefix = "nourl-";      // completed jobs have video_url null
constexpr std::string_view no_quota_prefix = "noquota-";  // new-api's own 403 "insufficient quota"

/// new-api's envelope: no `param`, `code` a string.
reply error_reply(http::status status, std::string_view message, std::string_view type, std::string_view code)
{
  return json_reply(status, {{"error", {{"message", message}, {"type", type}, {"code", code}}}});
}

reply bad_request(std::string_view message, std::string_view code = "invalid_request")
{
  return error_reply(http::status::bad_request, message, "invalid_request_error", code);
}

reply not_found_task(std::string_view id)
{
  return error_reply(http::status::not_found, "task_not_exist: " + std::string(id), "new_api_error", "task_not_exist");
}

/// A data URL summarised for /_mock/jobs (the request log keeps the whole body).
std::string summarise_image(std::string_view url)
{
  if (!starts_with(url, "data:"))
    return std::string(url);
  const auto comma = url.find(',');
  return std::string(url.substr(0, comma + 1)) + "<" + std::to_string(url.size() - comma - 1) + " chars>";
}

/// "start,end": two non-negative numbers, start before end.
bool valid_timestamps(std::string_view v)
{
  const auto comma = v.find(',');
  if (comma == std::string_view::npos)
    return false;
  auto number = [](std::string_view s, double& out) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }))
      return false;
    try {
      out = std::stod(std::string(s));
    } catch (const std::exception&) {
      return false;
    }
    return true;
  };
  double start = 0, end = 0;
  return number(v.substr(0, comma), start) && number(v.substr(comma + 1), end) && start < end;
}

/// A JSON integer (a double with no fraction counts, as JSON Schema's "integer" allows).
std::optional<std::int64_t> integer_of(const json::value& v)
{
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= 1'000'000'000)
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double()) && std::trunc(v.get_double()) == v.get_double() &&
      std::fabs(v.get_double()) <= 1e9)
    return static_cast<std::int64_t>(v.get_double());
  return std::nullopt;
}

/// The validated create body.
struct create_input {
  std::vector<std::string> images;
  std::string model, orientation, prompt, size;
  std::int64_t duration = 0;
  bool watermark = true;
  bool is_private = false;
  std::optional<std::string> character_url, character_timestamps;
};

/// Validates like the vendor: every seed field required, nothing unknown, values in range.
std::optional<reply> validate_create(const request_context& ctx, create_input& in)
{
  if (!ctx.body_error.empty())
    return bad_request(ctx.body_error, "invalid_json");
  if (!ctx.json || !ctx.json->is_object())
    return bad_request("Invalid request: the body must be a JSON object (Content-Type: application/json).",
                       "invalid_json");
  const auto& body = ctx.json->as_object();
  for (auto& [k, v] : body)
    if (!one_of(std::string_view(k), required_fields) && !one_of(std::string_view(k), optional_fields))
      return bad_request("Unknown field '" + std::string(k) + "'.", "unknown_parameter");
  for (auto name : required_fields) {
    auto* v = body.if_contains(name);
    if (v == nullptr || v->is_null())
      return bad_request("Missing required field '" + std::string(name) + "'.", "missing_required_parameter");
  }
  auto field_string = [&](std::string_view name, std::string& out) -> std::optional<reply> {
    const auto& v = body.at(name);
    if (!v.is_string())
      return bad_request("Field '" + std::string(name) + "' must be a string.", "invalid_parameter");
    out = std::string(v.as_string());
    return std::nullopt;
  };
  auto field_bool = [&](std::string_view name, bool& out) -> std::optional<reply> {
    const auto& v = body.at(name);
    if (!v.is_bool())
      return bad_request("Field '" + std::string(name) + "' must be a boolean.", "invalid_parameter");
    out = v.as_bool();
    return std::nullopt;
  };

  const auto& images = body.at("images");
  if (!images.is_array())
    return bad_request("Field 'images' must be an array of image URLs.", "invalid_parameter");
  for (auto& image : images.as_array()) {
    if (!image.is_string() || !valid_image_ref(image.as_string()))
      return bad_request("Each entry of 'images' must be an http(s) URL or a base64 data URL of a jpeg, png or webp image.",
                         "invalid_parameter");
    in.images.emplace_back(image.as_string());
  }
  if (auto err = field_string("model", in.model))
    return err;
  if (in.model != "sora-2" && in.model != "sora-2-pro")
    return bad_request("Invalid model '" + in.model + "': use 'sora-2' or 'sora-2-pro'.", "model_not_found");
  if (auto err = field_string("orientation", in.orientation))
    return err;
  if (in.orientation != "portrait" && in.orientation != "landscape")
    return bad_request("Invalid orientation '" + in.orientation + "': use 'portrait' or 'landscape'.", "invalid_parameter");
  if (auto err = field_string("prompt", in.prompt))
    return err;
  if (in.prompt.empty())
    return bad_request("Field 'prompt' must not be empty.", "invalid_parameter");
  if (auto err = field_string("size", in.size))
    return err;
  if (in.size != "small" && in.size != "large")
    return bad_request("Invalid size '" + in.size + "': use 'small' or 'large'.", "invalid_parameter");
  if (in.size == "large" && in.model != "sora-2-pro")
    return bad_request("Size 'large' (1080p) needs model 'sora-2-pro'.", "invalid_parameter");

  // An integer, as seed 000 types it: 15 and 15.0 pass, "15" does not.
  if (auto d = integer_of(body.at("duration")))
    in.duration = *d;
  else
    return bad_request("Field 'duration' must be an integer number of seconds.", "invalid_parameter");
  const bool pro = in.model == "sora-2-pro";
  const bool duration_ok = in.duration == 10 || in.duration == 15 || (pro && in.duration == 25);
  if (!duration_ok)
    return bad_request("Invalid duration " + std::to_string(in.duration) + " for " + in.model +
                         (pro ? ": use 10, 15 or 25." : ": use 10 or 15."),
                       "invalid_parameter");

  if (auto err = field_bool("watermark", in.watermark))
    return err;
  if (auto err = field_bool("private", in.is_private))
    return err;

  if (auto* v = body.if_contains("character_url"); v && !v->is_null()) {
    if (!v->is_string() || !valid_image_ref(v->as_string()) || starts_with(v->as_string(), "data:"))
      return bad_request("Field 'character_url' must be an http(s) URL.", "invalid_parameter");
    in.character_url = std::string(v->as_string());
  }
  if (auto* v = body.if_contains("character_timestamps"); v && !v->is_null()) {
    if (!v->is_string() || !valid_timestamps(v->as_string()))
      return bad_request("Field 'character_timestamps' must be \"start,end\" in seconds.", "invalid_parameter");
    in.character_timestamps = std::string(v->as_string());
  }

  if (in.prompt.find("[reject]") != std::string::npos)
    return bad_request("Your prompt was blocked by the content policy of the upstream model.",
                       "content_policy_violation");
  if (in.prompt.find(echo_marker) != std::string::npos)
    return bad_request("Invalid prompt: " + in.prompt, "invalid_parameter");
  return std::nullopt;
}

struct dimensions {
  int width;
  int height;
};

dimensions dimensions_of(const job& j)
{
  const bool large = j.size == "large";
  const int long_side = large ? 1920 : 1280;
  const int short_side = large ? 1080 : 720;
  const auto* orientation = j.request.if_contains("orientation");
  const bool landscape = orientation != nullptr && orientation->is_string() && orientation->get_string() == "landscape";
  return landscape ? dimensions{long_side, short_side} : dimensions{short_side, long_side};
}

class unified_dialect final : public dialect {
public:
  explicit unified_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override
  {
    return path == "/v1/video" || starts_with(path, "/v1/video/");
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto method = ctx.req.method();
    if (ctx.path == "/v1/video/create" && method == http::verb::post)
      return route_kind::create;
    if (ctx.path == "/v1/video/query" && method == http::verb::get)
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
      return error_reply(http::status::unauthorized, "No token provided (未提供令牌). Send Authorization: Bearer <key>.",
                         "new_api_error", "missing_token");
    case fault::invalid_key:
      return error_reply(http::status::unauthorized, "Invalid token (无效的令牌).", "new_api_error", "invalid_api_key");
    case fault::echo_key:
      return error_reply(http::status::unauthorized, echoed_key_message(ctx.key), "new_api_error", "invalid_api_key");
    case fault::forbidden:
      return error_reply(http::status::forbidden, "This token is not allowed to use this model (该令牌无权使用此模型).",
                         "new_api_error", "model_not_allowed");
    case fault::no_credit:
      return error_reply(http::status::payment_required, "Insufficient user quota (用户额度不足).", "new_api_error",
                         "insufficient_user_quota");
    case fault::rate_limited: {
      const auto seconds = std::to_string(state_.retry_after.count());
      auto r = error_reply(http::status::too_many_requests,
                           "You have reached the request rate limit; try again in " + seconds + "s.", "new_api_error",
                           "rate_limit_exceeded");
      r.headers.set(http::field::retry_after, seconds);
      return r;
    }
    default:
      return error_reply(http::status::internal_server_error, "upstream error: do request failed", "upstream_error",
                         "do_request_failed");
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto method = ctx.req.method();
    if (ctx.path == "/v1/video/create")
      return method == http::verb::post ? create(ctx) : method_not_allowed(ctx, "POST");
    if (ctx.path == "/v1/video/query")
      return method == http::verb::get ? query(ctx) : method_not_allowed(ctx, "GET");
    return error_reply(http::status::not_found,
                       "Invalid URL (" + std::string(ctx.req.method_string()) + " " + ctx.path + ")",
                       "invalid_request_error", "not_found");
  }

private:
  static reply method_not_allowed(const request_context& ctx, std::string_view allow)
  {
    auto r = error_reply(http::status::method_not_allowed,
                         "Method " + std::string(ctx.req.method_string()) + " not allowed for " + ctx.path,
                         "invalid_request_error", "method_not_allowed");
    r.headers.set(http::field::allow, allow);
    return r;
  }

  std::string new_task_id()
  {
    std::string out(task_prefix);
    std::uniform_int_distribution<std::size_t> pick(0, ulid_alphabet.size() - 1);
    for (std::size_t i = 0; i < ulid_length; ++i)
      out.push_back(ulid_alphabet[pick(rng_)]);
    return out;
  }

  // POST /v1/video/create
  reply create(const request_context& ctx)
  {
    if (starts_with(ctx.key, no_quota_prefix))
      return error_reply(http::status::forbidden, "Insufficient user quota (用户额度不足), remaining quota: $0.00",
                         "new_api_error", "insufficient_user_quota");
    create_input in;
    if (auto err = validate_create(ctx, in))
      return std::move(*err);

    job j;
    const auto task = new_task_id();
    j.id = std::string(id_prefix) + task;
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = in.model;
    j.prompt = in.prompt;
    j.size = in.size;
    j.seconds = std::to_string(in.duration);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    if (!starts_with(ctx.key, no_url_prefix))
      j.media_name = task + ".mp4";
    json::array images;
    for (auto& image : in.images)
      images.emplace_back(summarise_image(image));
    j.request["images"] = std::move(images);
    j.request["orientation"] = in.orientation;
    j.request["duration"] = in.duration;
    j.request["watermark"] = in.watermark;
    j.request["private"] = in.is_private;
    if (in.character_url)
      j.request["character_url"] = *in.character_url;
    if (in.character_timestamps)
      j.request["character_timestamps"] = *in.character_timestamps;
    const auto& created = state_.jobs.create(std::move(j));
    return json_reply(http::status::ok,
                      {{"id", created.id}, {"status", "pending"}, {"status_update_time", created.status_changed_ms}});
  }

  // GET /v1/video/query?id=  (every read is a poll and moves the job's timeline on)
  reply query(const request_context& ctx)
  {
    const auto id = ctx.query_param("id");
    if (!id || id->empty())
      return bad_request("Missing query parameter 'id'.", "missing_required_parameter");
    job* j = state_.jobs.find(*id, ctx.key, dialect_name);
    if (j == nullptr)
      return not_found_task(*id);
    state_.jobs.poll(*j);  // still a poll: tests see that it was read
    if (ctx.forget)
      return not_found_task(*id);
    return json_reply(http::status::ok, render(*j));
  }

  /// The query answer in the shape --unified-variant picks (see README.md).
  json::object render(const job& j) const
  {
    const auto& variant = state_.unified_variant;
    const bool rich = variant == "rich";
    const bool detail = variant == "detail";
    const auto url = j.status == job_status::completed && !j.media_name.empty()
                       ? json::value(result_url(state_, j))
                       : json::value(nullptr);

    json::object o;
    o["id"] = j.id;
    if (rich || detail)
      o["object"] = "video";
    if (rich || detail)
      o["model"] = j.model;
    o["status"] = status_word(j.status, rich);
    if (rich)
      o["progress"] = std::to_string(j.progress);  // a string on these resellers
    if (rich || detail) {
      o["created_at"] = j.created_at;
      const auto dim = dimensions_of(j);
      o["size"] = std::to_string(dim.width) + "x" + std::to_string(dim.height);
    }
    o["video_url"] = url;
    o["enhanced_prompt"] = j.prompt;
    o["status_update_time"] = j.status_changed_ms;
    if (j.status == job_status::failed)
      o["fail_reason"] = j.error_message;
    if (detail)
      o["detail"] = raw_task(j, url);
    return o;
  }

  /// `detail`: the upstream's own task, progress as a 0–1 fraction.
  static json::object raw_task(const job& j, const json::value& url)
  {
    const auto dim = dimensions_of(j);
    const auto frames = std::stoi(j.seconds) * frames_per_second;
    json::object d;
    d["id"] = j.id.substr(id_prefix.size());
    switch (j.status) {
    case job_status::queued: d["status"] = "pending"; break;
    case job_status::in_progress: d["status"] = "running"; break;
    case job_status::completed: d["status"] = "succeeded"; break;
    case job_status::failed: d["status"] = "failed"; break;
    }
    if (j.status == job_status::queued || j.status == job_status::in_progress)
      d["pending_info"] = {{"progress_pct", j.progress / 100.0}};
    else
      d["pending_info"] = nullptr;
    d["n_frames"] = frames;
    d["width"] = dim.width;
    d["height"] = dim.height;
    json::array generations;
    if (j.status == job_status::completed)
      generations.push_back({{"id", "gen_" + j.id.substr(id_prefix.size() + task_prefix.size())},
                             {"url", url},
                             {"width", dim.width},
                             {"height", dim.height},
                             {"n_frames", frames}});
    d["generations"] = std::move(generations);
    if (j.status == job_status::failed)
      d["failure_reason"] = j.error_message;
    return d;
  }

  /// Resellers differ in the running word: `rich` says "in_progress", the others "processing".
  static std::string_view status_word(job_status s, bool rich)
  {
    switch (s) {
    case job_status::queued: return "pending";
    case job_status::in_progress: return rich ? "in_progress" : "processing";
    case job_status::completed: return "completed";
    case job_status::failed: return "failed";
    }
    return "pending";
  }

  vendor_state& state_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

std::unique_ptr<dialect> make_unified_dialect(vendor_state& state)
{
  return std::make_unique<unified_dialect>(state);
}

}  // namespace videogate::mock_vendor
