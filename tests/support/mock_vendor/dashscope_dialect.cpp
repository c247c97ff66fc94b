// The `dashscope` dialect: Alibaba Cloud Model Studio / DashScope video synthesis (Wan)
// (vendors.md "Alibaba DashScope"; alibabacloud.com/help/en/model-studio: the Wan
// text-to-video and image-to-video API references, "Error messages"; help.aliyun.com
// dashscope "状态码参考"). Written from those pages, not from the gateway's translator, so a
// misreading on one side shows up as a failure.
//
// What sets it apart:
// - a create MUST carry `X-DashScope-Async: enable`; without it the answer is 403
//   `AccessDenied` "current user api does not support synchronous calls";
// - the body nests `{"model","input":{"prompt","img_url"},"parameters":{…}}`: text-to-video
//   takes `parameters.size` ("1280*720", with a star), image-to-video `parameters.resolution`
//   ("720P"); `duration` is an integer;
// - GET /api/v1/tasks/{id} answers `output.task_status` PENDING RUNNING SUCCEEDED FAILED
//   CANCELED, and an unknown task is HTTP 200 with `UNKNOWN` — never a 404;
// - errors are `{"code","message","request_id"}`: 401 InvalidApiKey, 400 Arrearage (out of
//   balance), 429 Throttling.RateQuota, 400 DataInspectionFailed, 400 InvalidParameter;
// - no callbacks.

#include "dialect.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <random>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "dashscope";
constexpr std::string_view synthesis_path = "/api/v1/services/aigc/video-generation/video-synthesis";
constexpr std::string_view services_root = "/api/v1/services/";
constexpr std::string_view tasks_root = "/api/v1/tasks";

// Text-to-video sizes (width*height) of the Wan 2.x models, by tier.
constexpr std::array<std::string_view, 13> t2v_sizes{"832*480",   "480*832",   "624*624",   "1280*720",  "720*1280",
                                                     "960*960",   "1088*832",  "832*1088",  "1920*1080", "1080*1920",
                                                     "1440*1440", "1632*1248", "1248*1632"};
constexpr std::array<std::string_view, 3> i2v_resolutions{"480P", "720P", "1080P"};
constexpr std::int64_t min_duration = 2;
constexpr std::int64_t max_duration = 15;

/// What a model takes: its name says it (wan2.5-t2v-preview, wan2.2-i2v-plus, …).
enum class kind { text, image, other };

kind kind_of_model(std::string_view model)
{
  if (model.find("i2v") != std::string_view::npos)
    return kind::image;
  if (model.find("t2v") != std::string_view::npos)
    return kind::text;
  return kind::other;
}

/// A random version-4 UUID: DashScope's task and request ids.
std::string new_uuid()
{
  static std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(0x4000 | (a & 0x0fff)),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

/// DashScope's error shape, with a fresh request id.
reply ds_error(http::status status, std::string_view code, std::string_view message)
{
  return json_reply(status, {{"code", code}, {"message", message}, {"request_id", new_uuid()}});
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

/// "2025-10-11 19:02:27.297": how task times are written.
std::string datetime(std::int64_t ms)
{
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string_view status_word(const job& j)
{
  switch (j.status) {
  case job_status::queued: return "PENDING";
  case job_status::in_progress: return j.polls <= 1 ? "PENDING" : "RUNNING";
  case job_status::completed: return "SUCCEEDED";
  case job_status::failed: return j.error_code == "canceled" || j.error_code == "cancelled" ? "CANCELED" : "FAILED";
  }
  return "PENDING";
}

/// DashScope's code for a failed task.
std::string failure_code(const job& j)
{
  if (j.error_code == "generation_failed")
    return "InternalError.Algo";
  if (j.error_code == "content_policy_violation")
    return "DataInspectionFailed";
  return j.error_code;
}

class dashscope_dialect final : public dialect {
public:
  explicit dashscope_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override
  {
    return starts_with(path, services_root) || path == tasks_root || starts_with(path, "/api/v1/tasks/");
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto method = ctx.req.method();
    if (method == http::verb::post && ctx.path == synthesis_path)
      return route_kind::create;
    if (method == http::verb::get && is_task_path(ctx))
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key: return ds_error(http::status::unauthorized, "InvalidApiKey", "No API-key provided.");
    case fault::invalid_key:
      return ds_error(http::status::unauthorized, "InvalidApiKey", "Invalid API-key provided.");
    case fault::echo_key: return ds_error(http::status::unauthorized, "InvalidApiKey", echoed_key_message(ctx.key));
    case fault::forbidden: return ds_error(http::status::forbidden, "AccessDenied", "Access denied.");
    case fault::no_credit:
      // Out of balance is a 400, not a 402 or 403.
      return ds_error(http::status::bad_request, "Arrearage",
                      "Access denied, please make sure your account is in good standing.");
    case fault::rate_limited:
      return ds_error(http::status::too_many_requests, "Throttling.RateQuota",
                      "Requests rate limit exceeded, please try again later.");  // no Retry-After
    default:
      return ds_error(http::status::internal_server_error, "InternalError",
                      "An internal error has occured, please try again later or contact service support.");
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto method = ctx.req.method();
    if (ctx.path == synthesis_path)
      return method == http::verb::post ? create(ctx) : method_not_allowed("POST");
    if (is_task_path(ctx))
      return method == http::verb::get ? get(ctx, ctx.segments[3]) : method_not_allowed("GET");
    return ds_error(http::status::not_found, "NotFound", "The requested URL " + ctx.path + " was not found.");
  }

private:
  static bool is_task_path(const request_context& ctx)
  {
    const auto& s = ctx.segments;  // api v1 tasks {id}
    return s.size() == 4 && s[0] == "api" && s[1] == "v1" && s[2] == "tasks" && !s[3].empty();
  }

  reply method_not_allowed(std::string_view allow) const
  {
    auto r = ds_error(http::status::method_not_allowed, "MethodNotAllowed", "Method not allowed.");
    r.headers.set(http::field::allow, allow);
    return r;
  }

  reply invalid(std::string_view message) const
  {
    return ds_error(http::status::bad_request, "InvalidParameter", message);
  }

  // POST /api/v1/services/aigc/video-generation/video-synthesis (X-DashScope-Async: enable)
  reply create(const request_context& ctx)
  {
    if (!beast_iequals(ctx.req["X-DashScope-Async"], "enable"))
      return ds_error(http::status::forbidden, "AccessDenied", "current user api does not support synchronous calls");
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return invalid("Required body invalid, please check the request body format.");
    const auto& body = ctx.json->as_object();
    const auto* model_v = body.if_contains("model");
    if (model_v == nullptr || model_v->is_null() || (model_v->is_string() && model_v->as_string().empty()))
      return ds_error(http::status::bad_request, "BadRequest.EmptyModel", "Required parameter \"model\" missing from request.");
    if (!model_v->is_string())
      return invalid("Model must be a string.");
    const std::string model(model_v->as_string());
    const auto k = kind_of_model(model);

    const auto* input_v = body.if_contains("input");
    if (input_v == nullptr || input_v->is_null())
      return ds_error(http::status::bad_request, "BadRequest.EmptyInput", "Required input parameter missing from request.");
    if (!input_v->is_object())
      return invalid("input must be an object.");
    const auto& input = input_v->as_object();
    json::object parameters;
    if (const auto* p = body.if_contains("parameters"); p != nullptr && !p->is_null()) {
      if (!p->is_object())
        return invalid("parameters must be an object.");
      parameters = p->as_object();
    }
    auto in = [&](const json::object& o, std::string_view name) -> const json::value* {
      auto* v = o.if_contains(name);
      return v == nullptr || v->is_null() ? nullptr : v;
    };

    json::object normalised;
    std::string prompt;
    if (const auto* v = in(input, "prompt")) {
      if (!v->is_string())
        return invalid("input.prompt must be a string.");
      prompt = std::string(v->as_string());
    }
    if (prompt.empty() && k != kind::image)
      return invalid("input.prompt is required.");
    if (prompt.find(echo_marker) != std::string::npos)
      return invalid("Invalid prompt: " + prompt);
    normalised["prompt"] = prompt;
    if (const auto* v = in(input, "negative_prompt")) {
      if (!v->is_string())
        return invalid("input.negative_prompt must be a string.");
      normalised["negative_prompt"] = *v;
    }

    const auto* img = in(input, "img_url");
    if (img != nullptr && (!img->is_string() || !valid_image_ref(img->as_string())))
      return ds_error(http::status::bad_request, "InvalidURL", "Invalid URL provided in your request: input.img_url.");
    const auto* size = in(parameters, "size");
    const auto* resolution = in(parameters, "resolution");
    std::string shape;  // the size or the resolution, for the usage block
    if (k == kind::text) {
      // Text-to-video: parameters.size "W*H"; no image, no resolution tier.
      if (img != nullptr)
        return invalid("input.img_url is not supported by " + model + "; use an i2v model.");
      if (resolution != nullptr)
        return invalid("parameters.resolution is not supported by " + model + "; use parameters.size (e.g. \"1280*720\").");
      shape = "1920*1080";
      if (size != nullptr) {
        if (!size->is_string() || !one_of(std::string_view(size->as_string()), t2v_sizes))
          return invalid("parameters.size must be one of the supported \"width*height\" values, e.g. \"1280*720\".");
        shape = std::string(size->as_string());
      }
      normalised["size"] = shape;
    } else if (k == kind::image) {
      // Image-to-video: input.img_url required, parameters.resolution "480P|720P|1080P".
      if (img == nullptr)
        return invalid("input.img_url is required by " + model + ".");
      if (size != nullptr)
        return invalid("parameters.size is not supported by " + model + "; use parameters.resolution (e.g. \"720P\").");
      shape = "1080P";
      if (resolution != nullptr) {
        if (!resolution->is_string() || !one_of(std::string_view(resolution->as_string()), i2v_resolutions))
          return invalid("parameters.resolution must be one of 480P, 720P, 1080P.");
        shape = std::string(resolution->as_string());
      }
      normalised["img_url"] = summarise(img->as_string());
      normalised["resolution"] = shape;
    } else {
      // Another family (kf2v, vace, …): its own schema, passed through.
      if (img != nullptr)
        normalised["img_url"] = summarise(img->as_string());
      if (size != nullptr)
        normalised["size"] = *size;
      if (resolution != nullptr)
        normalised["resolution"] = *resolution;
      shape = size != nullptr && size->is_string() ? std::string(size->as_string()) : std::string("1280*720");
    }

    std::int64_t duration = 5;
    if (const auto* v = in(parameters, "duration")) {
      auto n = integer_of(*v);
      if (!n)
        return invalid("parameters.duration must be an integer.");
      if (*n < min_duration || *n > max_duration)
        return invalid("parameters.duration must be from 2 to 15 seconds.");
      duration = *n;
    }
    normalised["duration"] = duration;
    if (const auto* v = in(parameters, "seed")) {
      auto n = integer_of(*v);
      if (!n || *n < 0 || *n > 2147483647)
        return invalid("parameters.seed must be an integer from 0 to 2147483647.");
      normalised["seed"] = *n;
    }
    for (auto name : {"prompt_extend", "watermark", "audio"})
      if (const auto* v = in(parameters, name)) {
        if (!v->is_bool())
          return invalid("parameters." + std::string(name) + " must be a boolean.");
        normalised[name] = *v;
      }
    if (prompt.find("[reject]") != std::string::npos)
      return ds_error(http::status::bad_request, "DataInspectionFailed", "Input data may contain inappropriate content.");

    job j;
    j.id = new_uuid();
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = model;
    j.prompt = prompt;
    j.size = shape;
    j.seconds = std::to_string(duration);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.request = std::move(normalised);
    const auto& created = state_.jobs.create(std::move(j));
    return json_reply(http::status::ok, {{"output", {{"task_id", created.id}, {"task_status", "PENDING"}}},
                                         {"request_id", new_uuid()}});
  }

  reply unknown_task(std::string_view id) const
  {
    // An unknown (or another account's) task is not a 404: 200 with UNKNOWN.
    return json_reply(http::status::ok, {{"request_id", new_uuid()},
                                         {"output", {{"task_id", id}, {"task_status", "UNKNOWN"}}}});
  }

  // GET /api/v1/tasks/{id}  (a poll)
  reply get(const request_context& ctx, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr)
      return unknown_task(id);
    state_.jobs.poll(*j);
    if (ctx.forget)
      return unknown_task(id);

    const auto word = status_word(*j);
    json::object out;
    out["task_id"] = j->id;
    out["task_status"] = word;
    const std::int64_t created_ms = j->created_at * 1000;
    out["submit_time"] = datetime(created_ms);
    if (word != "PENDING" && word != "CANCELED")
      out["scheduled_time"] = datetime(created_ms);
    const bool finished = j->status == job_status::completed || j->status == job_status::failed;
    if (finished)
      out["end_time"] = datetime(j->status_changed_ms);
    json::object answer;
    answer["request_id"] = new_uuid();
    if (word == "SUCCEEDED") {
      out["video_url"] = result_url(state_, *j);
      out["orig_prompt"] = j->prompt;
      out["actual_prompt"] = j->prompt;
      json::object usage{{"video_duration", std::stoll(j->seconds)}, {"video_count", 1}};
      if (j->request.contains("resolution"))
        usage["SR"] = std::stoll(j->size);  // "720P" -> 720
      else
        usage["video_ratio"] = j->size;
      answer["usage"] = std::move(usage);
    } else if (word == "FAILED") {
      out["code"] = failure_code(*j);
      out["message"] = j->error_message;
    }
    answer["output"] = std::move(out);
    return json_reply(http::status::ok, answer);
  }

  static bool beast_iequals(std::string_view a, std::string_view b)
  {
    if (a.size() != b.size())
      return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
        return false;
    return true;
  }

  vendor_state& state_;
};

}  // namespace

std::unique_ptr<dialect> make_dashscope_dialect(vendor_state& state)
{
  return std::make_unique<dashscope_dialect>(state);
}

}  // namespace videogate::mock_vendor
