// The `freesora` dialect: freesoragenerator.com (seed 003, vendors.md `freesora`). Written
// from those pages, not from the gateway's translator, so a misreading on one side shows up
// as a failure.
//
// What sets it apart: almost every error is HTTP 200 with `code != 0` (only a server error is
// a real 500), status is a POST with the task id in the body, and finished videos are a URL
// on the keyless `/files/` route.

#include "dialect.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "freesora";
constexpr std::string_view storyboard_model = "sora-2-pro-storyboard";
constexpr std::array<std::string_view, 7> models{
  "sora-2-text-to-video",     "sora-2-image-to-video",     "sora-2-text-to-video-stable", "sora-2-image-to-video-stable",
  "sora-2-pro-text-to-video", "sora-2-pro-image-to-video", "sora-2-pro-storyboard"};
constexpr std::array<std::string_view, 10> create_fields{"model",   "prompt", "imageData",       "imageUrl",
                                                         "aspectRatio", "nFrames", "size", "removeWatermark",
                                                         "isPublic",    "shots"};
constexpr int left_credits = 1000;

// Keys whose prefix picks a behaviour of this dialect only (the shared ones are in dialect.cpp).
constexpr std::string_view vip_prefix = "vip-";  // a VIP account: isPublic=false allowed

bool ends_with(std::string_view s, std::string_view suffix)
{
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// The vendor's envelope: HTTP 200 and `code` (0 = ok) for nearly everything.
reply coded(int code, std::string_view message, http::status status = http::status::ok)
{
  return json_reply(status, {{"code", code}, {"message", message}});
}

reply invalid(std::string_view message)
{
  return coded(400, message);
}

reply ok(json::value data, std::string_view message)
{
  return json_reply(http::status::ok, {{"code", 0}, {"message", message}, {"data", std::move(data)}});
}

/// "nFrames 会归一化到各模型允许值": the allowed value nearest to `n`, the longer one on a tie.
int normalise_frames(long n, bool storyboard)
{
  const std::array<int, 3> allowed{10, 15, 25};
  const std::size_t count = storyboard ? 3 : 2;
  int best = allowed[0];
  for (std::size_t i = 0; i < count; ++i)
    if (std::labs(allowed[i] - n) <= std::labs(best - n))
      best = allowed[i];
  return best;
}

/// The validated create body, with the vendor's defaults applied.
struct create_input {
  std::string model;
  std::string prompt;
  std::optional<std::string> image_data, image_url;
  std::string aspect_ratio = "landscape";
  std::optional<std::string> n_frames_sent;
  int n_frames = 10;
  std::optional<std::string> size;
  std::optional<bool> remove_watermark;
  bool is_public = true;
  json::array shots;
};

std::optional<reply> validate_create(const request_context& ctx, create_input& in)
{
  if (!ctx.json || !ctx.json->is_object())
    return invalid("Invalid request body: expected a JSON object.");
  const auto& body = ctx.json->as_object();
  for (auto& [k, v] : body)
    if (!one_of(std::string_view(k), create_fields))
      return invalid("Unknown parameter: " + std::string(k));
  // JavaScript backends treat null as "not given".
  auto given = [&](std::string_view name) -> const json::value* {
    auto* v = body.if_contains(name);
    return v == nullptr || v->is_null() ? nullptr : v;
  };
  auto string_field = [&](std::string_view name, std::optional<std::string>& out) -> std::optional<reply> {
    if (auto* v = given(name)) {
      if (!v->is_string())
        return invalid(std::string(name) + " must be a string");
      out = std::string(v->as_string());
    }
    return std::nullopt;
  };
  auto bool_field = [&](std::string_view name, std::optional<bool>& out) -> std::optional<reply> {
    if (auto* v = given(name)) {
      if (!v->is_bool())
        return invalid(std::string(name) + " must be a boolean");
      out = v->as_bool();
    }
    return std::nullopt;
  };

  std::optional<std::string> model;
  if (auto err = string_field("model", model))
    return err;
  if (!model)
    return invalid("model is required");
  if (!one_of(*model, models))
    return invalid("Invalid model: " + *model);
  in.model = *model;
  const bool storyboard = in.model == storyboard_model;
  const bool image_model = in.model.find("image-to-video") != std::string::npos;
  const bool stable = ends_with(in.model, "-stable");
  const bool pro_text_or_image = starts_with(in.model, "sora-2-pro-") && !storyboard;

  std::optional<std::string> prompt;
  if (auto err = string_field("prompt", prompt))
    return err;
  if (!storyboard && (!prompt || prompt->empty()))
    return invalid("prompt is required");
  in.prompt = prompt.value_or("");  // storyboard: optional and not passed upstream

  if (auto err = string_field("imageData", in.image_data))
    return err;
  if (auto err = string_field("imageUrl", in.image_url))
    return err;
  if (in.image_data) {
    if (!valid_data_url(*in.image_data))
      return invalid("imageData must be a base64 data URL (data:image/png;base64,...)");
    in.image_url.reset();  // imageData wins
  } else if (in.image_url && !valid_http_url(*in.image_url)) {
    return invalid("imageUrl must be a public http(s) URL");
  }
  const bool has_image = in.image_data || in.image_url;
  if (image_model && !has_image)
    return invalid("imageData or imageUrl is required for " + in.model);
  // The page is silent here; refusing keeps an image the gateway sent to the wrong model
  // from vanishing unnoticed.
  if (!image_model && has_image)
    return invalid(in.model + " does not accept an image; use an image-to-video model");

  std::optional<std::string> aspect;
  if (auto err = string_field("aspectRatio", aspect))
    return err;
  if (aspect) {
    if (*aspect != "portrait" && *aspect != "landscape")
      return invalid("aspectRatio must be portrait or landscape");
    in.aspect_ratio = *aspect;
  }

  // A string per the page; the vendor normalises the value, not the type.
  if (auto* v = given("nFrames")) {
    if (!v->is_string())
      return invalid("nFrames must be a string such as \"10\"");
    const std::string text(v->as_string());
    if (text.empty() || text.size() > 6 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return invalid("nFrames must be a number of seconds such as \"10\"");
    in.n_frames_sent = text;
    in.n_frames = normalise_frames(std::stol(text), storyboard);
  } else {
    in.n_frames = storyboard ? 15 : 10;  // "不同模型默认值不同"
  }

  if (auto err = string_field("size", in.size))
    return err;
  if (in.size && *in.size != "standard" && *in.size != "high")
    return invalid("size must be standard or high");
  if (!pro_text_or_image)
    in.size.reset();  // only Pro text/image models honour it; others ignore it
  else if (!in.size)
    in.size = "standard";

  if (auto err = bool_field("removeWatermark", in.remove_watermark))
    return err;
  if (storyboard || stable)
    in.remove_watermark.reset();  // not offered for these: ignored
  else if (!in.remove_watermark)
    in.remove_watermark = true;

  std::optional<bool> is_public;
  if (auto err = bool_field("isPublic", is_public))
    return err;
  in.is_public = is_public.value_or(true);

  if (auto* v = given("shots")) {
    if (!storyboard)
      return invalid("shots are only accepted by " + std::string(storyboard_model));
    if (!v->is_array() || v->as_array().empty())
      return invalid("shots must be a non-empty array of { Scene, duration }");
    std::size_t i = 0;
    for (auto& shot : v->as_array()) {
      const auto where = "shots[" + std::to_string(i++) + "]";
      if (!shot.is_object())
        return invalid(where + " must be an object { Scene, duration }");
      const auto& o = shot.as_object();
      for (auto& [k, sv] : o)
        if (k != "Scene" && k != "duration")
          return invalid(where + ": unknown field '" + std::string(k) + "' (expected Scene with a capital S, duration)");
      auto* scene = o.if_contains("Scene");
      if (scene == nullptr || !scene->is_string() || scene->as_string().empty())
        return invalid(where + ".Scene is required (capital S)");
      auto* duration = o.if_contains("duration");
      if (duration == nullptr || !duration->is_number() || duration->to_number<double>() <= 0)
        return invalid(where + ".duration must be a number > 0");
      in.shots.push_back(shot);
    }
  } else if (storyboard) {
    return invalid("shots is required for " + std::string(storyboard_model));
  }

  auto rejected = [](std::string_view text) { return text.find("[reject]") != std::string_view::npos; };
  bool blocked = !storyboard && rejected(in.prompt);
  for (auto& shot : in.shots)
    blocked = blocked || rejected(shot.as_object().at("Scene").as_string());
  if (blocked)
    return invalid("Prompt rejected by content moderation");
  if (in.prompt.find(echo_marker) != std::string::npos)
    return invalid("Invalid prompt: " + in.prompt);

  if (!in.is_public && !starts_with(ctx.key, vip_prefix))
    return coded(403, "Private videos (isPublic=false) require a VIP account");
  return std::nullopt;
}

class freesora_dialect final : public dialect {
public:
  explicit freesora_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override { return path == "/api" || starts_with(path, "/api/"); }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    if (ctx.req.method() != http::verb::post)
      return route_kind::other;
    if (ctx.path == "/api/v1/video/sora-pro")
      return route_kind::create;
    if (ctx.path == "/api/video-generations/check-result")
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key: return coded(401, "Missing API key");
    case fault::invalid_key: return coded(401, "Invalid API key");
    case fault::echo_key: return coded(401, echoed_key_message(ctx.key));
    case fault::forbidden: return coded(403, "API access is not enabled for this account");
    case fault::no_credit:
      // An empty account can still look at its balance.
      if (ctx.path == "/api/get-user-credits" && ctx.req.method() == http::verb::post)
        return ok({{"left_credits", 0}, {"is_vip", false}}, "Success");
      return coded(402, "Insufficient credits");
    case fault::rate_limited: return coded(429, "Too many requests");  // and no Retry-After
    default: return coded(500, "Internal server error", http::status::internal_server_error);
    }
  }

  reply handle(request_context& ctx) override
  {
    const bool post = ctx.req.method() == http::verb::post;
    if (ctx.path == "/api/v1/video/sora-pro")
      return post ? create(ctx) : method_not_allowed();
    if (ctx.path == "/api/video-generations/check-result")
      return post ? check_result(ctx) : method_not_allowed();
    if (ctx.path == "/api/get-user-credits")
      return post ? credits(ctx) : method_not_allowed();
    return coded(404, "Not found", http::status::not_found);
  }

private:
  static reply method_not_allowed()
  {
    auto r = coded(405, "Method not allowed", http::status::method_not_allowed);
    r.headers.set(http::field::allow, "POST");
    return r;
  }

  std::string new_task_id()
  {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 2; ++i) {
      auto bits = rng_();
      for (int n = 0; n < 16; ++n, bits >>= 4)
        out.push_back(digits[bits & 0xf]);
    }
    return out;
  }

  // POST /api/v1/video/sora-pro
  reply create(const request_context& ctx)
  {
    create_input in;
    if (auto err = validate_create(ctx, in))
      return std::move(*err);

    job j;
    j.id = new_task_id();
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = in.model;
    j.prompt = in.prompt;
    j.size = in.size.value_or("");
    j.seconds = std::to_string(in.n_frames);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.request["aspectRatio"] = in.aspect_ratio;
    j.request["nFrames"] = std::to_string(in.n_frames);
    if (in.n_frames_sent)
      j.request["nFrames_sent"] = *in.n_frames_sent;
    j.request["removeWatermark"] = in.remove_watermark ? json::value(*in.remove_watermark) : json::value(nullptr);
    j.request["isPublic"] = in.is_public;
    if (in.image_data)
      j.request["image"] = {{"from", "imageData"}, {"chars", in.image_data->size()}};
    else if (in.image_url)
      j.request["image"] = {{"from", "imageUrl"}, {"url", *in.image_url}};
    if (!in.shots.empty())
      j.request["shots"] = in.shots;
    const auto& created = state_.jobs.create(std::move(j));
    return ok({{"taskId", created.id}}, "ok");
  }

  // POST /api/video-generations/check-result {"taskId"}  (every read is a poll)
  reply check_result(const request_context& ctx)
  {
    const json::value* task = nullptr;
    if (ctx.json && ctx.json->is_object())
      task = ctx.json->as_object().if_contains("taskId");
    if (task == nullptr || !task->is_string() || task->as_string().empty())
      return invalid("taskId is required");
    job* j = state_.jobs.find(task->as_string(), ctx.key, dialect_name);
    if (j == nullptr)
      return coded(404, "Task not found");
    state_.jobs.poll(*j);  // still a poll: tests see that it was read
    if (ctx.forget)
      return coded(404, "Task not found");

    json::object d;
    switch (j->status) {
    case job_status::queued: d["status"] = "pending"; break;
    case job_status::in_progress: d["status"] = "running"; break;
    case job_status::completed: d["status"] = "succeeded"; break;
    case job_status::failed: d["status"] = "failed"; break;
    }
    d["progress"] = j->progress;
    if (j->status == job_status::completed) {
      const auto url = result_url(state_, *j);
      d["result_url"] = url;
      d["result_urls"] = json::array{json::value(url)};
    }
    const bool failed = j->status == job_status::failed;
    d["failure_reason"] = failed ? j->error_message : std::string();
    d["error_message"] = nullptr;
    d["credits_refunded"] = failed;  // the vendor refunds failed jobs
    return ok(std::move(d), "Success");
  }

  // POST /api/get-user-credits
  reply credits(const request_context& ctx) const
  {
    return ok({{"left_credits", left_credits}, {"is_vip", starts_with(ctx.key, vip_prefix)}}, "Success");
  }

  vendor_state& state_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

std::unique_ptr<dialect> make_freesora_dialect(vendor_state& state)
{
  return std::make_unique<freesora_dialect>(state);
}

}  // namespace videogate::mock_vendor
