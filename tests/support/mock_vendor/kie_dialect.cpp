// The `kie` dialect: kie.ai (vendors.md "kie.ai"; docs.kie.ai: Market createTask and
// "Get Task Details" (recordInfo), the Sora 2 model pages, Veo3.1 generate / record-info /
// callbacks). Written from those pages, not from the gateway's translator, so a misreading on
// one side shows up as a failure.
//
// What sets it apart:
// - every answer carries its own `code` (200 = ok) and `msg`, and errors nearly always come
//   as HTTP 200 with that code ≠ 200 (401 key, 402 credits, 404, 422 validation, 429 rate
//   limit, 455 maintenance, 501 generation failed, 505 feature disabled); only a server error
//   is a real HTTP 500;
// - market models (Sora 2, Kling, …) go through /api/v1/jobs/createTask + recordInfo, whose
//   `resultJson` is a JSON *string* holding {"resultUrls":[…]};
// - Veo 3 has its own API: /api/v1/veo/generate + /api/v1/veo/record-info with `successFlag`
//   0 generating, 1 success, 2 failed, 3 generation failed, the URLs already parsed in
//   `response.resultUrls`;
// - `callBackUrl` gets a POST when the task finishes.

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

constexpr std::string_view dialect_name = "kie";
constexpr std::string_view market_prefix = "/api/v1/jobs/";
constexpr std::string_view veo_prefix = "/api/v1/veo/";
constexpr std::string_view credit_path = "/api/v1/chat/credit";
constexpr int credits = 1000;

// Keys whose prefix picks a behaviour of this dialect only (the shared ones are in dialect.cpp).
constexpr std::string_view maintenance_prefix = "maint-";  // every route: code 455

constexpr std::array<std::string_view, 4> sora_models{"sora-2-text-to-video", "sora-2-image-to-video",
                                                      "sora-2-pro-text-to-video", "sora-2-pro-image-to-video"};
constexpr std::array<std::string_view, 3> veo_models{"veo3", "veo3_fast", "veo3_lite"};

/// kie's envelope: `code` and `msg`, HTTP 200 unless said otherwise.
reply coded(int code, std::string_view msg, http::status status = http::status::ok)
{
  return json_reply(status, {{"code", code}, {"msg", msg}, {"data", nullptr}});
}

reply ok(json::value data)
{
  return json_reply(http::status::ok, {{"code", 200}, {"msg", "success"}, {"data", std::move(data)}});
}

reply invalid(std::string_view msg)
{
  return coded(422, msg);
}

reply task_not_found()
{
  return coded(404, "Task not found");
}

/// "2025-06-06 10:30:00": how the Veo API writes times.
std::string datetime(std::int64_t ms)
{
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

/// A failed Veo task: 501 when the generation itself failed (`fail-*`, a cancel), else 400
/// (refused, e.g. /_mock/jobs/{id}/fail with another code such as a content-policy one).
int veo_error_code(const job& j)
{
  return j.error_code == "generation_failed" ? 501 : 400;
}

bool is_veo(const job& j)
{
  auto* api = j.request.if_contains("api");
  return api != nullptr && api->is_string() && api->as_string() == "veo";
}

class kie_dialect final : public dialect {
public:
  explicit kie_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override
  {
    return starts_with(path, market_prefix) || starts_with(path, veo_prefix) || path == credit_path;
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto method = ctx.req.method();
    if (method == http::verb::post && (ctx.path == "/api/v1/jobs/createTask" || ctx.path == "/api/v1/veo/generate"))
      return route_kind::create;
    if (method == http::verb::get && (ctx.path == "/api/v1/jobs/recordInfo" || ctx.path == "/api/v1/veo/record-info"))
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
    case fault::invalid_key: return coded(401, "You do not have access permissions");
    case fault::echo_key: return coded(401, echoed_key_message(ctx.key));
    case fault::forbidden: return coded(505, "The feature is disabled");
    case fault::no_credit:
      if (ctx.path == credit_path)  // an empty account can still read its balance
        return ok(0);
      return coded(402, "The current credits are insufficient. Please top up.");
    case fault::rate_limited:
      return coded(429, "The call frequency is too high and exceeds the limit. Please try again later.");  // no Retry-After
    default: return coded(500, "Internal Error, Please try again later.", http::status::internal_server_error);
    }
  }

  reply handle(request_context& ctx) override
  {
    if (starts_with(ctx.key, maintenance_prefix))
      return coded(455, "Service unavailable: the system is under maintenance. Please try again later.");
    const auto method = ctx.req.method();
    if (ctx.path == "/api/v1/jobs/createTask")
      return method == http::verb::post ? create_task(ctx) : method_not_allowed("POST");
    if (ctx.path == "/api/v1/jobs/recordInfo")
      return method == http::verb::get ? record_info(ctx) : method_not_allowed("GET");
    if (ctx.path == "/api/v1/veo/generate")
      return method == http::verb::post ? veo_generate(ctx) : method_not_allowed("POST");
    if (ctx.path == "/api/v1/veo/record-info")
      return method == http::verb::get ? veo_record_info(ctx) : method_not_allowed("GET");
    if (ctx.path == credit_path)
      return method == http::verb::get ? ok(credits) : method_not_allowed("GET");
    return coded(404, "Not found", http::status::not_found);
  }

  void on_finished(const job& j) override
  {
    if (j.callback_url.empty())
      return;
    const bool success = j.status == job_status::completed;
    json::object body;
    if (is_veo(j)) {
      // docs.kie.ai veo3-api/generate-veo-3-video-callbacks: 200, or 400 (refused, e.g. content
      // policy: successFlag 2) / 501 (generation failed: successFlag 3).
      body["code"] = success ? 200 : veo_error_code(j);
      body["msg"] = success ? std::string("Veo3 video generated successfully.") : j.error_message;
      json::object data{{"taskId", j.id}, {"fallbackFlag", false}};
      if (success) {
        const auto url = result_url(state_, j);
        data["info"] = {{"resultUrls", json::array{json::value(url)}},
                        {"originUrls", json::array{json::value(url)}},
                        {"resolution", "720p"}};
      } else {
        data["info"] = nullptr;
      }
      body["data"] = std::move(data);
    } else {
      // The market callback: the recordInfo data, with a code saying how it ended.
      body["code"] = success ? 200 : 501;
      body["msg"] = success ? std::string("Playground task completed successfully.") : j.error_message;
      body["data"] = market_record(j);
    }
    state_.send_callback({j.id, std::string(dialect_name), success ? "success" : "fail", j.callback_url, std::move(body)});
  }

private:
  static reply method_not_allowed(std::string_view allow)
  {
    auto r = coded(405, "Method not allowed", http::status::method_not_allowed);
    r.headers.set(http::field::allow, allow);
    return r;
  }

  std::string hex(std::size_t digits)
  {
    static constexpr char alphabet[] = "0123456789abcdef";
    std::string out;
    while (out.size() < digits) {
      auto bits = rng_();
      for (int n = 0; n < 16 && out.size() < digits; ++n, bits >>= 4)
        out.push_back(alphabet[bits & 0xf]);
    }
    return out;
  }

  /// "task_<model>_<ms>" as in the docs' examples; a clash within one ms moves on a ms.
  std::string new_market_id(std::string_view model)
  {
    std::string m(model);
    std::replace(m.begin(), m.end(), '/', '-');
    auto ms = unix_now_ms();
    if (ms <= last_ms_)
      ms = last_ms_ + 1;
    last_ms_ = ms;
    return "task_" + m + "_" + std::to_string(ms);
  }

  static std::optional<reply> check_callback(const json::object& body, std::string& out)
  {
    if (auto* cb = body.if_contains("callBackUrl"); cb && !cb->is_null()) {
      if (!cb->is_string() || !valid_http_url(cb->as_string()))
        return invalid("callBackUrl must be a valid http(s) URL");
      out = std::string(cb->as_string());
    }
    return std::nullopt;
  }

  static std::optional<reply> check_prompt(const json::value* prompt, bool required, std::string& out)
  {
    if (prompt == nullptr || prompt->is_null()) {
      if (required)
        return invalid("prompt is required");
      return std::nullopt;
    }
    if (!prompt->is_string() || prompt->as_string().empty())
      return invalid("prompt must be a non-empty string");
    out = std::string(prompt->as_string());
    if (out.find(echo_marker) != std::string::npos)
      return invalid("Invalid prompt: " + out);
    return std::nullopt;
  }

  /// image URLs as kie wants them: public http(s) URLs only (no data URLs, no uploads).
  static std::optional<reply> check_urls(const json::value* v, std::string_view field, json::array& out)
  {
    if (v == nullptr || v->is_null())
      return std::nullopt;
    if (!v->is_array())
      return invalid(std::string(field) + " must be an array of image URLs");
    for (auto& u : v->as_array()) {
      if (!u.is_string() || !valid_http_url(u.as_string()))
        return invalid(std::string(field) + " must hold publicly accessible http(s) image URLs (data URLs are not accepted)");
      out.push_back(u);
    }
    return std::nullopt;
  }

  // POST /api/v1/jobs/createTask {"model","callBackUrl"?,"input":{…}}
  reply create_task(const request_context& ctx)
  {
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return invalid("Invalid request body: expected a JSON object");
    const auto& body = ctx.json->as_object();
    const json::value* model_v = body.if_contains("model");
    if (model_v == nullptr || !model_v->is_string() || model_v->as_string().empty())
      return invalid("model is required");
    const std::string model(model_v->as_string());
    if (one_of(std::string_view(model), veo_models))
      return invalid("Veo models are not market models: use /api/v1/veo/generate");
    std::string callback;
    if (auto err = check_callback(body, callback))
      return std::move(*err);
    const json::value* input_v = body.if_contains("input");
    if (input_v == nullptr || !input_v->is_object())
      return invalid("input is required and must be an object");
    const auto& input = input_v->as_object();

    json::object normalised;
    std::string prompt;
    if (auto err = check_prompt(input.if_contains("prompt"), true, prompt))
      return std::move(*err);
    normalised["prompt"] = prompt;
    json::array images;
    if (auto err = check_urls(input.if_contains("image_urls"), "image_urls", images))
      return std::move(*err);

    std::string seconds;
    if (one_of(std::string_view(model), sora_models)) {
      // docs.kie.ai market/sora2: aspect_ratio portrait|landscape, n_frames a STRING "10"|"15",
      // remove_watermark a boolean, image_urls (image-to-video only), size standard|high (pro).
      const bool image_model = model.find("image-to-video") != std::string::npos;
      const bool pro = starts_with(model, "sora-2-pro-");
      if (image_model && images.empty())
        return invalid("image_urls is required for " + model);
      if (!image_model && !images.empty())
        return invalid(model + " does not take image_urls; use the image-to-video model");
      if (image_model)
        normalised["image_urls"] = images;
      auto str_enum = [&](std::string_view name, auto allowed, std::string_view fallback) -> std::optional<reply> {
        auto* v = input.if_contains(name);
        if (v == nullptr || v->is_null()) {
          normalised[name] = fallback;
          return std::nullopt;
        }
        if (!v->is_string() || !one_of(std::string_view(v->as_string()), allowed)) {
          std::string list;
          for (auto a : allowed)
            list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
          return invalid(std::string(name) + " must be one of " + list + " (a string)");
        }
        normalised[name] = *v;
        return std::nullopt;
      };
      static constexpr std::array<std::string_view, 2> ratios{"portrait", "landscape"};
      if (auto e = str_enum("aspect_ratio", ratios, "landscape"))
        return std::move(*e);
      static constexpr std::array<std::string_view, 2> frames{"10", "15"};
      if (auto e = str_enum("n_frames", frames, "10"))
        return std::move(*e);
      seconds = std::string(normalised.at("n_frames").as_string());
      if (pro) {
        static constexpr std::array<std::string_view, 2> sizes{"standard", "high"};
        if (auto e = str_enum("size", sizes, "standard"))
          return std::move(*e);
      }
      if (auto* w = input.if_contains("remove_watermark"); w && !w->is_null()) {
        if (!w->is_bool())
          return invalid("remove_watermark must be a boolean");
        normalised["remove_watermark"] = *w;
      }
    } else {
      // Other market models (Kling, Wan, Seedance, Hailuo, …): their schemas are their own;
      // the prompt is checked, the rest passed through.
      if (!images.empty())
        normalised["image_urls"] = images;
      for (auto name : {"duration", "aspect_ratio", "resolution"})
        if (auto* v = input.if_contains(name))
          normalised[name] = *v;
      if (auto* d = input.if_contains("duration"))
        seconds = d->is_string() ? std::string(d->as_string()) : json::serialize(*d);
    }
    if (prompt.find("[reject]") != std::string::npos)
      return coded(400, "Your prompt was flagged by the content policy. Please modify it and try again.");

    job j;
    j.id = new_market_id(model);
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = model;
    j.prompt = prompt;
    j.seconds = seconds;
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.callback_url = callback;
    j.request = std::move(normalised);
    j.request["api"] = "market";
    j.request["param"] = json::serialize(body);  // recordInfo echoes the create as a JSON string
    const auto& created = state_.jobs.create(std::move(j));
    return ok(json::object{{"taskId", created.id}});
  }

  /// The recordInfo `data` of a market task (docs.kie.ai market/common/get-task-detail).
  json::object market_record(const job& j) const
  {
    json::object d;
    d["taskId"] = j.id;
    d["model"] = j.model;
    switch (j.status) {
    case job_status::queued: d["state"] = "waiting"; break;
    case job_status::in_progress: d["state"] = j.polls <= 1 ? "waiting" : j.polls == 2 ? "queuing" : "generating"; break;
    case job_status::completed: d["state"] = "success"; break;
    case job_status::failed: d["state"] = "fail"; break;
    }
    d["param"] = j.request.at("param");
    // A JSON *string*, to be parsed again.
    d["resultJson"] = j.status == job_status::completed
                        ? json::serialize(json::object{{"resultUrls", json::array{json::value(result_url(state_, j))}}})
                        : std::string();
    d["failCode"] = j.status == job_status::failed ? std::string("501") : std::string();
    d["failMsg"] = j.status == job_status::failed ? j.error_message : std::string();
    const std::int64_t created_ms = j.created_at * 1000;
    const bool finished = j.status == job_status::completed || j.status == job_status::failed;
    d["costTime"] = finished ? json::value(std::max<std::int64_t>(j.status_changed_ms - created_ms, 0)) : json::value(nullptr);
    d["completeTime"] = finished ? json::value(j.status_changed_ms) : json::value(nullptr);
    d["createTime"] = created_ms;
    d["updateTime"] = j.status_changed_ms;
    return d;
  }

  // GET /api/v1/jobs/recordInfo?taskId=  (a poll)
  reply record_info(const request_context& ctx)
  {
    const auto id = ctx.query_param("taskId");
    if (!id || id->empty())
      return invalid("taskId is required");
    job* j = state_.jobs.find(*id, ctx.key, dialect_name);
    if (j == nullptr || is_veo(*j))
      return task_not_found();
    state_.jobs.poll(*j);
    if (ctx.forget)
      return task_not_found();
    return ok(market_record(*j));
  }

  // POST /api/v1/veo/generate {prompt, model, aspectRatio|aspect_ratio, imageUrls, callBackUrl, …}
  reply veo_generate(const request_context& ctx)
  {
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return invalid("Invalid request body: expected a JSON object");
    const auto& body = ctx.json->as_object();
    json::object normalised;
    std::string prompt;
    if (auto err = check_prompt(body.if_contains("prompt"), true, prompt))
      return std::move(*err);
    normalised["prompt"] = prompt;

    std::string model = "veo3_fast";
    if (auto* m = body.if_contains("model"); m && !m->is_null()) {
      if (!m->is_string() || !one_of(std::string_view(m->as_string()), veo_models))
        return invalid("model must be one of \"veo3\", \"veo3_fast\", \"veo3_lite\"");
      model = std::string(m->as_string());
    }
    normalised["model"] = model;

    // The page has written both `aspectRatio` (older) and `aspect_ratio` (current): take either.
    static constexpr std::array<std::string_view, 3> ratios{"16:9", "9:16", "Auto"};
    const json::value* ratio = body.if_contains("aspectRatio");
    std::string_view ratio_field = "aspectRatio";
    if (ratio == nullptr || ratio->is_null()) {
      ratio = body.if_contains("aspect_ratio");
      ratio_field = "aspect_ratio";
    }
    if (ratio != nullptr && !ratio->is_null()) {
      if (!ratio->is_string() || !one_of(std::string_view(ratio->as_string()), ratios))
        return invalid(std::string(ratio_field) + " must be one of \"16:9\", \"9:16\", \"Auto\"");
      normalised["aspectRatio"] = *ratio;
      normalised["aspect_ratio_field"] = ratio_field;
    } else {
      normalised["aspectRatio"] = "16:9";
    }

    json::array images;
    if (auto err = check_urls(body.if_contains("imageUrls"), "imageUrls", images))
      return std::move(*err);
    if (images.size() > 3)
      return invalid("imageUrls takes at most 3 images");
    if (!images.empty())
      normalised["imageUrls"] = images;

    static constexpr std::array<std::string_view, 3> types{"TEXT_2_VIDEO", "FIRST_AND_LAST_FRAMES_2_VIDEO", "REFERENCE_2_VIDEO"};
    if (auto* g = body.if_contains("generationType"); g && !g->is_null()) {
      if (!g->is_string() || !one_of(std::string_view(g->as_string()), types))
        return invalid("generationType must be TEXT_2_VIDEO, FIRST_AND_LAST_FRAMES_2_VIDEO or REFERENCE_2_VIDEO");
      if (g->as_string() == "REFERENCE_2_VIDEO" && model == "veo3")
        return invalid("REFERENCE_2_VIDEO is only available with veo3_fast and veo3_lite");
      if (g->as_string() != "TEXT_2_VIDEO" && images.empty())
        return invalid("imageUrls is required for " + std::string(g->as_string()));
      normalised["generationType"] = *g;
    }
    for (auto name : {"enableFallback", "enableTranslation"})
      if (auto* b = body.if_contains(name); b && !b->is_null()) {
        if (!b->is_bool())
          return invalid(std::string(name) + " must be a boolean");
        normalised[name] = *b;
      }
    std::string callback;
    if (auto err = check_callback(body, callback))
      return std::move(*err);
    if (prompt.find("[reject]") != std::string::npos)
      return coded(400, "Your prompt was flagged by Website as violating content policies.");

    job j;
    j.id = "veo_task_" + hex(16);
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = model;
    j.prompt = prompt;
    j.seconds = "8";
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.callback_url = callback;
    j.request = std::move(normalised);
    j.request["api"] = "veo";
    j.request["paramJson"] = json::serialize(body);
    const auto& created = state_.jobs.create(std::move(j));
    return ok(json::object{{"taskId", created.id}});
  }

  // GET /api/v1/veo/record-info?taskId=  (a poll)
  reply veo_record_info(const request_context& ctx)
  {
    const auto id = ctx.query_param("taskId");
    if (!id || id->empty())
      return invalid("taskId is required");
    job* j = state_.jobs.find(*id, ctx.key, dialect_name);
    if (j == nullptr || !is_veo(*j))
      return task_not_found();
    state_.jobs.poll(*j);
    if (ctx.forget)
      return task_not_found();

    json::object d;
    d["taskId"] = j->id;
    d["paramJson"] = j->request.at("paramJson");
    const bool finished = j->status == job_status::completed || j->status == job_status::failed;
    d["completeTime"] = finished ? json::value(datetime(j->status_changed_ms)) : json::value(nullptr);
    if (j->status == job_status::completed) {
      const auto url = result_url(state_, *j);
      d["response"] = {{"taskId", j->id},
                       {"resultUrls", json::array{json::value(url)}},
                       {"originUrls", json::array{json::value(url)}},
                       {"resolution", "720p"}};
    } else {
      d["response"] = nullptr;
    }
    int flag = 0;
    if (j->status == job_status::completed)
      flag = 1;
    else if (j->status == job_status::failed)
      flag = veo_error_code(*j) == 501 ? 3 : 2;  // 3: made, then the generation failed
    d["successFlag"] = flag;
    d["errorCode"] = j->status == job_status::failed ? json::value(veo_error_code(*j)) : json::value(nullptr);
    d["errorMessage"] = j->status == job_status::failed ? j->error_message : std::string();
    d["createTime"] = datetime(j->created_at * 1000);
    d["fallbackFlag"] = false;
    return ok(std::move(d));
  }

  vendor_state& state_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::int64_t last_ms_ = 0;
};

}  // namespace

std::unique_ptr<dialect> make_kie_dialect(vendor_state& state)
{
  return std::make_unique<kie_dialect>(state);
}

}  // namespace videogate::mock_vendor
