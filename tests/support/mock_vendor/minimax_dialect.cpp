// The `minimax` dialect: MiniMax's video generation API (Hailuo) (vendors.md "MiniMax Hailuo";
// platform.minimax.io/docs/api-reference: video generation, "Query Video Generation Task
// Status", "Video Download" (files/retrieve), "Error Codes"). Written from those pages, not
// from the gateway's translator, so a misreading on one side shows up as a failure.
//
// What sets it apart:
// - THREE calls: create → `task_id`; query → `status` and, on Success, a `file_id` (a
//   string); GET /v1/files/retrieve?file_id= → `file.download_url` (there `file_id` is an
//   integer). Files belong to the account that made them: the retrieve must carry the key
//   that created the task;
// - every answer carries `base_resp: {status_code, status_msg}` and errors come as HTTP 200
//   with status_code ≠ 0 (1002 rate limit, 1004 not authorized, 1008 balance, 1026 input
//   sensitive, 1027 output sensitive, 2013 invalid params, 2049 invalid api key); only a
//   server error is a real HTTP 500;
// - `duration` is an integer 6|10, `resolution` "512P"|"768P"|"1080P", 1080P only at 6 s;
// - callbacks need a challenge handshake before MiniMax posts to them: the mock sends none.

#include "dialect.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <optional>
#include <random>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "minimax";
constexpr std::string_view create_path = "/v1/video_generation";
constexpr std::string_view query_path = "/v1/query/video_generation";
constexpr std::string_view retrieve_path = "/v1/files/retrieve";

// Models that animate an image: a first_frame_image is required.
constexpr std::array<std::string_view, 4> image_models{"I2V-01", "I2V-01-live", "I2V-01-Director",
                                                       "MiniMax-Hailuo-2.3-Fast"};
// Models that take no image at all.
constexpr std::array<std::string_view, 2> text_models{"T2V-01", "T2V-01-Director"};
// Models that take either.
constexpr std::array<std::string_view, 2> hailuo_models{"MiniMax-Hailuo-02", "MiniMax-Hailuo-2.3"};
constexpr std::array<std::string_view, 3> resolutions{"512P", "768P", "1080P"};
constexpr std::size_t max_prompt = 2000;

std::mt19937_64& rng()
{
  static std::mt19937_64 generator{std::random_device{}()};
  return generator;
}

/// A 15-digit id: MiniMax's task and file ids are numbers (the task id sent as a string).
std::string new_numeric_id()
{
  std::uniform_int_distribution<std::uint64_t> pick(100'000'000'000'000ULL, 999'999'999'999'999ULL);
  return std::to_string(pick(rng()));
}

json::object base_resp(int code, std::string_view msg)
{
  return {{"status_code", code}, {"status_msg", msg}};
}

/// An error as MiniMax sends it: HTTP 200 (unless said otherwise), only `base_resp` filled.
reply coded(int code, std::string_view msg, http::status status = http::status::ok)
{
  return json_reply(status, {{"base_resp", base_resp(code, msg)}});
}

reply invalid(std::string_view why)
{
  return coded(2013, "invalid params, " + std::string(why));
}

std::optional<std::int64_t> integer_of(const json::value& v)
{
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64() && v.get_uint64() < 1'000'000ULL)
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

/// Content-policy failures are reported as 1027 "output new_sensitive" in the query answer.
bool content_failure(const job& j)
{
  return j.error_code == "content_policy_violation" || j.error_code == "1027" || j.error_code == "output_moderation";
}

class minimax_dialect final : public dialect {
public:
  explicit minimax_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override
  {
    return path == create_path || starts_with(path, "/v1/video_generation/") || starts_with(path, "/v1/query/") ||
           starts_with(path, "/v1/files/");
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto method = ctx.req.method();
    if (method == http::verb::post && ctx.path == create_path)
      return route_kind::create;
    if (method == http::verb::get && ctx.path == query_path)
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
      return coded(1004, "login fail: Please carry the API secret key in the 'Authorization' field of the request header");
    case fault::invalid_key: return coded(2049, "invalid api key");
    case fault::echo_key: return coded(2049, echoed_key_message(ctx.key));
    case fault::forbidden: return coded(1004, "not authorized");
    case fault::no_credit: return coded(1008, "insufficient balance");
    case fault::rate_limited: return coded(1002, "rate limit");  // HTTP 200, no Retry-After
    default: return coded(1000, "unknown error", http::status::internal_server_error);
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto method = ctx.req.method();
    if (ctx.path == create_path)
      return method == http::verb::post ? create(ctx) : method_not_allowed("POST");
    if (ctx.path == query_path)
      return method == http::verb::get ? query(ctx) : method_not_allowed("GET");
    if (ctx.path == retrieve_path)
      return method == http::verb::get ? retrieve(ctx) : method_not_allowed("GET");
    return coded(404, "not found", http::status::not_found);
  }

  // No on_finished: MiniMax posts to a callback_url only after the receiver has echoed a
  // `challenge` MiniMax sends first (within 3 s); the mock skips the handshake and the posts.

private:
  static reply method_not_allowed(std::string_view allow)
  {
    auto r = coded(405, "method not allowed", http::status::method_not_allowed);
    r.headers.set(http::field::allow, allow);
    return r;
  }

  // POST /v1/video_generation {"model","prompt","duration","resolution","first_frame_image",…}
  reply create(const request_context& ctx)
  {
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return invalid("the request body must be a JSON object");
    const auto& body = ctx.json->as_object();
    auto given = [&](std::string_view name) -> const json::value* {
      auto* v = body.if_contains(name);
      return v == nullptr || v->is_null() ? nullptr : v;
    };

    const auto* model_v = given("model");
    if (model_v == nullptr || !model_v->is_string())
      return invalid("model is required");
    const std::string model(model_v->as_string());
    const bool image_model = one_of(std::string_view(model), image_models);
    const bool text_model = one_of(std::string_view(model), text_models);
    if (!image_model && !text_model && !one_of(std::string_view(model), hailuo_models))
      return invalid("model " + model + " is not supported");

    json::object normalised;
    std::string image;
    if (const auto* v = given("first_frame_image")) {
      if (!v->is_string() || !valid_image_ref(v->as_string()))
        return invalid("first_frame_image must be an http(s) image URL or a data:image/...;base64 URL");
      if (text_model)
        return invalid(model + " does not take first_frame_image");
      image = std::string(v->as_string());
      normalised["first_frame_image"] = summarise(image);
    } else if (image_model) {
      return invalid("first_frame_image is required for " + model);
    }

    std::string prompt;
    if (const auto* v = given("prompt")) {
      if (!v->is_string())
        return invalid("prompt must be a string");
      prompt = std::string(v->as_string());
      if (prompt.size() > max_prompt)
        return invalid("prompt is longer than 2000 characters");
    }
    if (prompt.empty() && image.empty())
      return invalid("prompt is required");
    if (prompt.find(echo_marker) != std::string::npos)
      return invalid("Invalid prompt: " + prompt);
    normalised["prompt"] = prompt;

    std::int64_t duration = 6;
    if (const auto* v = given("duration")) {
      auto n = integer_of(*v);
      if (!n)
        return invalid("duration must be an integer");
      if (*n != 6 && *n != 10)
        return invalid("duration must be 6 or 10");
      duration = *n;
    }
    std::string resolution = "768P";
    if (const auto* v = given("resolution")) {
      if (!v->is_string() || !one_of(std::string_view(v->as_string()), resolutions))
        return invalid("resolution must be one of 512P, 768P, 1080P");
      resolution = std::string(v->as_string());
    }
    if (resolution == "1080P" && duration != 6)
      return invalid("1080P only supports a duration of 6 seconds");
    if (resolution == "512P" && image.empty())
      return invalid("512P is only available for image-to-video");
    normalised["duration"] = duration;
    normalised["resolution"] = resolution;

    for (auto name : {"prompt_optimizer", "fast_pretreatment", "aigc_watermark"})
      if (const auto* v = given(name)) {
        if (!v->is_bool())
          return invalid(std::string(name) + " must be a boolean");
        normalised[name] = *v;
      }
    if (const auto* v = given("callback_url")) {
      if (!v->is_string() || !valid_http_url(v->as_string()))
        return invalid("callback_url must be an http(s) URL");
      normalised["callback_url"] = *v;  // recorded, never called (see on_finished above)
    }
    if (prompt.find("[reject]") != std::string::npos)
      return json_reply(http::status::ok, {{"task_id", ""}, {"base_resp", base_resp(1026, "input new_sensitive")}});

    job j;
    j.id = new_numeric_id();
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = model;
    j.prompt = prompt;
    j.size = resolution;
    j.seconds = std::to_string(duration);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.request = std::move(normalised);
    j.request["file_id"] = new_numeric_id();  // issued now, handed out once the task succeeds
    const auto& created = state_.jobs.create(std::move(j));
    return json_reply(http::status::ok, {{"task_id", created.id}, {"base_resp", base_resp(0, "success")}});
  }

  static std::pair<int, int> dimensions(const job& j)
  {
    if (j.size == "1080P")
      return {1920, 1080};
    if (j.size == "512P")
      return {912, 512};
    return {1366, 768};
  }

  // GET /v1/query/video_generation?task_id=  (a poll)
  reply query(const request_context& ctx)
  {
    const auto id = ctx.query_param("task_id");
    if (!id || id->empty())
      return invalid("task_id is required");
    job* j = state_.jobs.find(*id, ctx.key, dialect_name);
    const auto not_found = [&] {
      return json_reply(http::status::ok, {{"task_id", *id}, {"status", ""}, {"base_resp", base_resp(2013, "invalid task_id")}});
    };
    if (j == nullptr)
      return not_found();
    state_.jobs.poll(*j);
    if (ctx.forget)
      return not_found();

    json::object o;
    o["task_id"] = j->id;
    json::object resp = base_resp(0, "success");
    switch (j->status) {
    case job_status::queued: o["status"] = "Preparing"; break;
    case job_status::in_progress: o["status"] = j->polls <= 1 ? "Preparing" : j->polls == 2 ? "Queueing" : "Processing"; break;
    case job_status::completed: {
      o["status"] = "Success";
      o["file_id"] = j->request.at("file_id");  // a string here, an integer in files/retrieve
      const auto [w, h] = dimensions(*j);
      o["video_width"] = w;
      o["video_height"] = h;
      break;
    }
    case job_status::failed:
      o["status"] = "Fail";
      // No failure-reason field is documented: the reason rides in base_resp.status_msg.
      resp = content_failure(*j) ? base_resp(1027, "output new_sensitive") : base_resp(0, j->error_message);
      break;
    }
    o["base_resp"] = std::move(resp);
    return json_reply(http::status::ok, o);
  }

  // GET /v1/files/retrieve?file_id=  (not a poll). Only the key that made the task finds its
  // file: another key's file_id is as unknown as a made-up one.
  reply retrieve(const request_context& ctx)
  {
    const auto id = ctx.query_param("file_id");
    if (!id || id->empty())
      return invalid("file_id is required");
    if (id->find_first_not_of("0123456789") != std::string_view::npos)
      return invalid("file_id must be an integer");
    const job* found = nullptr;
    for (const job* j : state_.jobs.list(ctx.key, dialect_name))
      if (j->request.at("file_id").as_string() == *id)
        found = j;
    if (found == nullptr || found->status != job_status::completed || ctx.forget)
      return json_reply(http::status::ok, {{"file", nullptr}, {"base_resp", base_resp(2013, "invalid params, file not found")}});
    json::object file;
    file["file_id"] = static_cast<std::int64_t>(std::stoll(std::string(*id)));
    file["bytes"] = state_.media.video().size();
    file["created_at"] = found->completed_at.value_or(found->created_at);
    file["filename"] = "output_aigc.mp4";
    file["purpose"] = "video_generation";
    file["download_url"] = result_url(state_, *found);
    return json_reply(http::status::ok, {{"file", std::move(file)}, {"base_resp", base_resp(0, "success")}});
  }

  vendor_state& state_;
};

}  // namespace

std::unique_ptr<dialect> make_minimax_dialect(vendor_state& state)
{
  return std::make_unique<minimax_dialect>(state);
}

}  // namespace videogate::mock_vendor
