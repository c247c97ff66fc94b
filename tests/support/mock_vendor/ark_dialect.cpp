// The `ark` dialect: Volcengine Ark / BytePlus ModelArk content generation tasks (Seedance)
// (vendors.md "Volcengine Ark / BytePlus ModelArk"; docs.byteplus.com/docs/ModelArk/1520757
// "Video Generation API", …/1299023 "Common Error Codes", volcengine.com/docs/82379/1299023).
// Written from those pages, not from the gateway's translator, so a misreading on one side
// shows up as a failure.
//
// What sets it apart:
// - the prompt and the images travel as a `content` array of typed parts: `{"type":"text",
//   "text"}` and `{"type":"image_url","image_url":{"url"},"role":"first_frame"|…}`;
// - `ratio`, `duration` (an integer), `resolution` ("720p"), `watermark` are top-level fields;
// - the task answer says `queued running succeeded failed cancelled expired`, the video at
//   `content.video_url`, tokens at `usage.completion_tokens`, times in unix seconds;
// - DELETE cancels a queued task (it stays, `cancelled`) or deletes a finished record (then
//   404); a running or cancelled task cannot be deleted;
// - errors are OpenAI-like `{"error":{"code","message","param","type"}}`, the message ending
//   in "Request id: …"; out of balance is 403 `AccountOverdueError`, not 402;
// - a `callback_url` gets the task object POSTed when the task finishes.

#include "dialect.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <random>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "ark";
constexpr std::string_view api_root = "/api/v3/";
constexpr std::string_view tasks_path = "/api/v3/contents/generations/tasks";

constexpr std::array<std::string_view, 8> ratios{"16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21", "adaptive"};
constexpr std::array<std::string_view, 3> resolutions{"480p", "720p", "1080p"};
constexpr std::array<std::string_view, 3> image_roles{"first_frame", "last_frame", "reference_image"};
constexpr std::array<std::string_view, 5> bool_fields{"watermark", "camera_fixed", "return_last_frame", "generate_audio",
                                                      "draft"};
constexpr std::int64_t min_duration = 2;
constexpr std::int64_t max_duration = 15;
constexpr int frames_per_second = 24;

std::mt19937_64& rng()
{
  static std::mt19937_64 generator{std::random_device{}()};
  return generator;
}

std::string random_chars(std::size_t n, std::string_view alphabet)
{
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(alphabet[pick(rng())]);
  return out;
}

/// Ark's request ids: "02" + the time in ms + hex, as in its error messages.
std::string new_request_id()
{
  return "02" + std::to_string(unix_now_ms()) + random_chars(32, "0123456789abcdef");
}

/// `{"error":{"code","message","param","type"}}`, the message ending in "Request id: …"
/// as the docs' messages do; the same id is the answer's x-request-id.
reply ark_error(http::status status, std::string_view type, std::string_view code, std::string_view message,
                std::string_view param = "")
{
  const auto id = new_request_id();
  auto r = json_reply(status, {{"error",
                                {{"code", code},
                                 {"message", std::string(message) + " Request id: " + id},
                                 {"param", param},
                                 {"type", type}}}});
  r.headers.set("x-request-id", id);
  return r;
}

reply invalid(std::string_view param, std::string_view why)
{
  return ark_error(http::status::bad_request, "BadRequest", "InvalidParameter",
                   "The parameter `" + std::string(param) + "` specified in the request is not valid: " +
                     std::string(why) + ".",
                   param);
}

reply missing(std::string_view param)
{
  return ark_error(http::status::bad_request, "BadRequest", "MissingParameter",
                   "The request failed because it is missing one or multiple required parameters: " +
                     std::string(param) + ".",
                   param);
}

reply task_not_found(std::string_view id)
{
  // The docs' template: 404 NotFound "NotFound.{{Parameter}}", "The specified {{ResourceType}}
  // {{ResourceContent}} is not found."
  return ark_error(http::status::not_found, "NotFound", "NotFound.TaskId",
                   "The specified task " + std::string(id) + " is not found.", "id");
}

std::optional<std::int64_t> integer_of(const json::value& v)
{
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64() && v.get_uint64() < 4'294'967'296ULL)
    return static_cast<std::int64_t>(v.get_uint64());
  return std::nullopt;
}

std::string summarise(std::string_view url)
{
  if (!starts_with(url, "data:"))
    return std::string(url);
  const auto comma = url.find(',');
  return std::string(url.substr(0, comma + 1)) + "<" + std::to_string(url.size() - comma - 1) + " chars>";
}

/// "cgt-20250331175019-68d9t": how Ark's task ids look.
std::string new_task_id()
{
  const std::time_t now = static_cast<std::time_t>(unix_now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return "cgt-" + std::string(stamp) + "-" + random_chars(5, "0123456789abcdefghijklmnopqrstuvwxyz");
}

/// The status word of a job, as the task answer spells it.
std::string_view status_word(const job& j)
{
  switch (j.status) {
  case job_status::queued: return "queued";
  case job_status::in_progress: return j.polls <= 1 ? "queued" : "running";
  case job_status::completed: return "succeeded";
  case job_status::failed:
    if (j.error_code == "cancelled" || j.error_code == "canceled")
      return "cancelled";
    if (j.error_code == "expired")
      return "expired";
    return "failed";
  }
  return "queued";
}

/// What DELETE does to a task in that status (the docs' table).
bool cancellable(const job& j)
{
  return status_word(j) == "queued";
}

bool deletable(const job& j)
{
  const auto w = status_word(j);
  return w == "succeeded" || w == "failed" || w == "expired";
}

/// Ark's error code for a failed task.
std::string failure_code(const job& j)
{
  if (j.error_code == "generation_failed")
    return "InternalServiceError";
  if (j.error_code == "content_policy_violation")
    return "OutputVideoSensitiveContentDetected";
  return j.error_code;
}

class ark_dialect final : public dialect {
public:
  explicit ark_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override { return starts_with(path, api_root); }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto method = ctx.req.method();
    if (method == http::verb::post && ctx.path == tasks_path)
      return route_kind::create;
    if (method == http::verb::get && is_task_path(ctx))
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
    case fault::invalid_key:
      return ark_error(http::status::unauthorized, "Unauthorized", "AuthenticationError",
                       "The API key or AK/SK in the request is missing or invalid.");
    case fault::echo_key:
      return ark_error(http::status::unauthorized, "Unauthorized", "AuthenticationError", echoed_key_message(ctx.key));
    case fault::forbidden:
      return ark_error(http::status::forbidden, "Forbidden", "AccessDenied",
                       "The request failed because you do not have access to the requested resource.");
    case fault::no_credit:
      return ark_error(http::status::forbidden, "Forbidden", "AccountOverdueError",
                       "The request failed because your account has an overdue balance.");
    case fault::rate_limited:
      // No Retry-After: Ark documents none.
      return ark_error(http::status::too_many_requests, "TooManyRequests", "RateLimitExceeded.EndpointRPMExceeded",
                       "The Requests Per Minute (RPM) limit of the associated endpoint for your account has been "
                       "exceeded.");
    default:
      return ark_error(http::status::internal_server_error, "InternalServerError", "InternalServiceError",
                       "The service encountered an unexpected internal error.");
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto method = ctx.req.method();
    if (ctx.path == tasks_path) {
      if (method == http::verb::post)
        return create(ctx);
      return method == http::verb::get ? list(ctx) : method_not_allowed("GET, POST");
    }
    if (is_task_path(ctx)) {
      const auto& id = ctx.segments.back();
      if (method == http::verb::get)
        return get(ctx, id);
      return method == http::verb::delete_ ? remove(ctx, id) : method_not_allowed("GET, DELETE");
    }
    return ark_error(http::status::not_found, "NotFound", "NotFound",
                     "The requested API " + std::string(ctx.req.method_string()) + " " + ctx.path + " does not exist.");
  }

  void on_finished(const job& j) override
  {
    // The callback carries the task object, as GET answers it.
    if (!j.callback_url.empty())
      state_.send_callback({j.id, std::string(dialect_name), std::string(status_word(j)), j.callback_url, render(j)});
  }

private:
  static bool is_task_path(const request_context& ctx)
  {
    // api v3 contents generations tasks {id}
    const auto& s = ctx.segments;
    return s.size() == 6 && s[0] == "api" && s[1] == "v3" && s[2] == "contents" && s[3] == "generations" &&
           s[4] == "tasks" && !s[5].empty();
  }

  static reply method_not_allowed(std::string_view allow)
  {
    auto r = ark_error(http::status::method_not_allowed, "MethodNotAllowed", "MethodNotAllowed",
                       "The request method is not allowed on this path.");
    r.headers.set(http::field::allow, allow);
    return r;
  }

  /// The `content` array: typed parts, at least one text part (the prompt), image parts with
  /// an http(s) or base64 data URL and an optional role.
  static std::optional<reply> check_content(const json::value* content, std::string& prompt, json::array& images)
  {
    if (content == nullptr || content->is_null())
      return missing("content");
    if (!content->is_array() || content->as_array().empty())
      return invalid("content", "content must be a non-empty array of content parts");
    std::size_t i = 0;
    bool has_text = false;
    for (auto& part_v : content->as_array()) {
      const std::string where = "content[" + std::to_string(i++) + "]";
      if (!part_v.is_object())
        return invalid(where, "a content part must be an object");
      const auto& part = part_v.as_object();
      const auto* type = part.if_contains("type");
      if (type == nullptr || !type->is_string())
        return missing(where + ".type");
      if (type->as_string() == "text") {
        const auto* text = part.if_contains("text");
        if (text == nullptr || !text->is_string() || text->as_string().empty())
          return invalid(where + ".text", "text must be a non-empty string");
        if (has_text)
          return invalid(where, "only one text part is allowed");
        has_text = true;
        prompt = std::string(text->as_string());
      } else if (type->as_string() == "image_url") {
        const auto* image = part.if_contains("image_url");
        const json::value* url = image != nullptr && image->is_object() ? image->as_object().if_contains("url") : nullptr;
        if (url == nullptr || !url->is_string())
          return missing(where + ".image_url.url");
        if (!valid_image_ref(url->as_string()))
          return invalid(where + ".image_url.url",
                         "the image must be an http(s) URL or a data:image/<format>;base64,<data> string");
        std::string role = "first_frame";
        if (const auto* r = part.if_contains("role"); r != nullptr && !r->is_null()) {
          if (!r->is_string() || !one_of(std::string_view(r->as_string()), image_roles))
            return invalid(where + ".role", "role must be first_frame, last_frame or reference_image");
          role = std::string(r->as_string());
        }
        images.push_back(json::object{{"url", summarise(url->as_string())}, {"role", role}});
      } else {
        return invalid(where + ".type", "type must be text or image_url");
      }
    }
    if (!has_text)
      return invalid("content", "a text part (the prompt) is required");
    bool first = false, last = false, reference = false;
    for (auto& img : images) {
      const auto role = img.as_object().at("role").as_string();
      if (role == "first_frame") {
        if (first)
          return invalid("content", "at most one first_frame image");
        first = true;
      } else if (role == "last_frame") {
        if (last)
          return invalid("content", "at most one last_frame image");
        last = true;
      } else {
        reference = true;
      }
    }
    if (last && !first)
      return invalid("content", "a last_frame image needs a first_frame image");
    if (reference && (first || last))
      return invalid("content", "reference_image cannot be combined with first_frame or last_frame");
    return std::nullopt;
  }

  // POST /api/v3/contents/generations/tasks
  reply create(const request_context& ctx)
  {
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return ark_error(http::status::bad_request, "BadRequest", "InvalidParameter",
                       "The request body must be a JSON object.");
    const auto& body = ctx.json->as_object();
    const auto* model = body.if_contains("model");
    if (model == nullptr || model->is_null())
      return missing("model");
    if (!model->is_string() || model->as_string().empty())
      return invalid("model", "model must be a non-empty string");

    std::string prompt;
    json::array images;
    if (auto err = check_content(body.if_contains("content"), prompt, images))
      return std::move(*err);
    if (prompt.find(echo_marker) != std::string::npos)
      return invalid("content", "Invalid prompt: " + prompt);

    json::object normalised;
    auto given = [&](std::string_view name) -> const json::value* {
      auto* v = body.if_contains(name);
      return v == nullptr || v->is_null() ? nullptr : v;
    };
    // ratio and resolution: strings of the documented values.
    std::string ratio = images.empty() ? "16:9" : "adaptive";
    if (const auto* v = given("ratio")) {
      if (!v->is_string())
        return invalid("ratio", "ratio must be a string");
      if (!one_of(std::string_view(v->as_string()), ratios))
        return invalid("ratio", "ratio must be one of 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, 9:21, adaptive");
      ratio = std::string(v->as_string());
    }
    std::string resolution = "720p";
    if (const auto* v = given("resolution")) {
      if (!v->is_string())
        return invalid("resolution", "resolution must be a string");
      if (!one_of(std::string_view(v->as_string()), resolutions))
        return invalid("resolution", "resolution must be one of 480p, 720p, 1080p");
      resolution = std::string(v->as_string());
    }
    // duration: an integer number of seconds ("5" and 5.5 are refused).
    std::int64_t duration = 5;
    if (const auto* v = given("duration")) {
      auto n = integer_of(*v);
      if (!n)
        return invalid("duration", "duration must be an integer");
      if (*n < min_duration || *n > max_duration)
        return invalid("duration", "duration must be from 2 to 15 seconds");
      duration = *n;
    }
    for (auto name : bool_fields)
      if (const auto* v = given(name)) {
        if (!v->is_bool())
          return invalid(name, std::string(name) + " must be a boolean");
        normalised[name] = *v;
      }
    if (const auto* v = given("seed")) {
      auto n = integer_of(*v);
      if (!n || *n < -1)
        return invalid("seed", "seed must be an integer from -1 to 2^32-1");
      normalised["seed"] = *n;
    }
    if (const auto* v = given("frames")) {
      auto n = integer_of(*v);
      if (!n || *n <= 0)
        return invalid("frames", "frames must be a positive integer");
      normalised["frames"] = *n;
    }
    std::string callback;
    if (const auto* v = given("callback_url")) {
      if (!v->is_string() || !valid_http_url(v->as_string()))
        return invalid("callback_url", "callback_url must be an http(s) URL");
      callback = std::string(v->as_string());
    }
    if (prompt.find("[reject]") != std::string::npos)
      return ark_error(http::status::bad_request, "BadRequest", "InputTextSensitiveContentDetected",
                       "The request failed because the input text may contain sensitive information.");

    normalised["text"] = prompt;
    normalised["images"] = std::move(images);
    normalised["ratio"] = ratio;
    normalised["resolution"] = resolution;
    normalised["duration"] = duration;
    if (!normalised.contains("seed"))
      normalised["seed"] = static_cast<std::int64_t>(rng()() % 100000);

    job j;
    j.id = new_task_id();
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = std::string(model->as_string());
    j.prompt = prompt;
    j.size = resolution;
    j.seconds = std::to_string(duration);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.callback_url = callback;
    j.request = std::move(normalised);
    const auto& created = state_.jobs.create(std::move(j));
    return json_reply(http::status::ok, {{"id", created.id}});
  }

  /// The task object (GET …/tasks/{id}, the list's items, the callback body).
  json::object render(const job& j) const
  {
    json::object o;
    o["id"] = j.id;
    o["model"] = j.model;
    o["status"] = status_word(j);
    const auto word = status_word(j);
    if (word == "failed" || word == "expired")
      o["error"] = {{"code", failure_code(j)}, {"message", j.error_message}};
    else
      o["error"] = nullptr;
    o["created_at"] = j.created_at;
    o["updated_at"] = j.status_changed_ms / 1000;
    const std::int64_t duration = j.request.at("duration").as_int64();
    if (j.status == job_status::completed) {
      o["content"] = {{"video_url", result_url(state_, j)}};
      // Ark counts video tokens as width * height * fps * seconds / 1024.
      const auto res = j.request.at("resolution").as_string();
      const std::int64_t area = res == "480p" ? 864 * 480 : res == "1080p" ? 1920 * 1080 : 1280 * 720;
      const std::int64_t tokens = area * frames_per_second * duration / 1024;
      o["usage"] = {{"completion_tokens", tokens}, {"total_tokens", tokens}};
    }
    o["seed"] = j.request.at("seed");
    o["resolution"] = j.request.at("resolution");
    o["ratio"] = j.request.at("ratio");
    o["duration"] = duration;
    o["framespersecond"] = frames_per_second;
    o["service_tier"] = "default";
    o["execution_expires_after"] = 172800;
    return o;
  }

  // GET …/tasks/{id}  (a poll)
  reply get(const request_context& ctx, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr)
      return task_not_found(id);
    state_.jobs.poll(*j);
    if (ctx.forget)
      return task_not_found(id);
    return json_reply(http::status::ok, render(*j));
  }

  // DELETE …/tasks/{id}: queued → cancelled; succeeded, failed, expired → record deleted.
  reply remove(const request_context& ctx, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr || ctx.forget)
      return task_not_found(id);
    if (cancellable(*j)) {
      state_.jobs.fail(*j, "cancelled", "The task was cancelled");
      return json_reply(http::status::ok, json::object{});
    }
    if (deletable(*j)) {
      state_.jobs.erase(id);
      return json_reply(http::status::ok, json::object{});
    }
    return ark_error(http::status::bad_request, "BadRequest", "InvalidParameter",
                     "The task " + id + " cannot be cancelled or deleted while it is " + std::string(status_word(*j)) +
                       ".",
                     "id");
  }

  // GET …/tasks?page_num=&page_size=&filter.status=  (not a poll; newest first)
  reply list(const request_context& ctx) const
  {
    auto number = [&](std::string_view name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
      auto v = ctx.query_param(name);
      if (!v || v->empty())
        return fallback;
      try {
        return std::clamp<std::int64_t>(std::stoll(std::string(*v)), lo, hi);
      } catch (const std::exception&) {
        return fallback;
      }
    };
    const auto page = number("page_num", 1, 1, 500);
    const auto size = number("page_size", 10, 1, 500);
    const auto status = ctx.query_param("filter.status");
    json::array matching;
    auto jobs = state_.jobs.list(ctx.key, dialect_name);
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
      if (!status || status->empty() || status_word(**it) == *status)
        matching.push_back(render(**it));
    json::array items;
    for (std::size_t i = static_cast<std::size_t>((page - 1) * size);
         i < matching.size() && items.size() < static_cast<std::size_t>(size); ++i)
      items.push_back(matching[i]);
    return json_reply(http::status::ok, {{"items", std::move(items)}, {"total", matching.size()}});
  }

  vendor_state& state_;
};

}  // namespace

std::unique_ptr<dialect> make_ark_dialect(vendor_state& state)
{
  return std::make_unique<ark_dialect>(state);
}

}  // namespace videogate::mock_vendor
