// The `fal` dialect: fal.ai's queue (vendors.md "fal.ai queue"; fal.ai/docs inference-api,
// queue, webhooks, errors). Written from those pages, not from the gateway's translator, so a
// misreading on one side shows up as a failure.
//
// What sets it apart:
// - `Authorization: Key <key>`, not Bearer;
// - a create goes to the model's full id (`/{owner}/{app}[/{path}]`), but status, result and
//   cancel use `/{owner}/{app}/requests/{id}…` WITHOUT the endpoint path;
// - the status answer is 202 while queued or running and 200 `COMPLETED` once done, also for
//   a failed run: the failure surfaces only when the result is fetched;
// - errors are `{"detail": …}`: a string for platform errors, an array of typed objects for
//   model errors (fal.ai/docs/errors);
// - a `?fal_webhook=URL` on the create makes fal POST the outcome there.

#include "dialect.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "fal";
constexpr std::string_view errors_doc = "https://docs.fal.ai/errors#";

// Keys whose prefix picks a behaviour of this dialect only (the shared ones are in dialect.cpp).
constexpr std::string_view fail_flat_prefix = "failflat-";  // failed runs answer the legacy string detail

// First path segments other dialects or the mock itself own: never a fal owner.
constexpr std::array<std::string_view, 4> foreign_roots{"v1", "api", "files", "_mock"};

reply detail(http::status status, std::string_view message)
{
  return json_reply(status, {{"detail", message}});
}

/// A model error (fal.ai/docs/errors): `detail` is an array of typed error objects.
json::object error_object(json::array loc, std::string_view msg, std::string_view type,
                          std::optional<json::value> input = std::nullopt)
{
  json::object o{{"loc", std::move(loc)}, {"msg", msg}, {"type", type}, {"url", std::string(errors_doc) + std::string(type)}};
  if (input)
    o["input"] = *input;
  return o;
}

reply model_error(http::status status, json::object error, bool retryable = false)
{
  auto r = json_reply(status, {{"detail", json::array{std::move(error)}}});
  r.headers.set("X-Fal-Retryable", retryable ? "true" : "false");
  return r;
}

/// 422 for one input field, as the model's input validation answers.
reply invalid_field(std::string_view field, std::string_view msg, std::string_view type,
                    std::optional<json::value> input = std::nullopt)
{
  return model_error(http::status::unprocessable_entity,
                     error_object(json::array{"body", json::value(field)}, msg, type, std::move(input)));
}

/// What the model family of an app validates (DESIGN §2, vendors.md, the models' API pages).
enum class family { sora2, veo3, generic };

/// A parsed model id: owner/app[/endpoint path].
struct model_id {
  std::string owner, app, path;  // path without its leading '/', may be empty
  std::string root() const { return owner + "/" + app; }
  std::string full() const { return path.empty() ? root() : root() + "/" + path; }
  family fam() const
  {
    if (owner == "fal-ai" && app == "sora-2")
      return family::sora2;
    if (owner == "fal-ai" && starts_with(app, "veo3"))
      return family::veo3;
    return family::generic;
  }
};

template <std::size_t N>
std::string joined(const std::array<std::string_view, N>& values, bool quoted)
{
  std::string out;
  for (auto v : values) {
    if (!out.empty())
      out += ", ";
    // Appended piece by piece: with `"x" + std::string(...)` GCC 12 at -O2 warns -Wrestrict
    // about a memcpy that cannot happen (GCC bug 105329).
    if (quoted)
      out += '\'';
    out += v;
    if (quoted)
      out += '\'';
  }
  return out;
}

class fal_dialect final : public dialect {
public:
  explicit fal_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  /// Any /{owner}/{app}… path that no other dialect claims (fal is registered last).
  bool owns(std::string_view path) const noexcept override
  {
    if (path.size() < 4 || path.front() != '/')
      return false;
    const auto rest = path.substr(1);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size())
      return false;  // one segment: not a model id
    return !one_of(rest.substr(0, slash), foreign_roots);
  }

  std::string key_of(const http_request& req) const override
  {
    // fal's scheme is `Key`; a Bearer header counts as no key at all (401).
    return scheme_credential(req[http::field::authorization], "Key");
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto& s = ctx.segments;
    const auto method = ctx.req.method();
    if (method == http::verb::post && !is_queue_path(s))
      return route_kind::create;
    if (method == http::verb::get && s.size() == 5 && s[2] == "requests" && s[4] == "status")
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
      return detail(http::status::unauthorized,
                    "Missing or malformed credentials: send 'Authorization: Key <FAL_KEY>' (Bearer is not accepted).");
    case fault::invalid_key: return detail(http::status::unauthorized, "No user found for Key ID and Secret");
    case fault::echo_key: return detail(http::status::unauthorized, echoed_key_message(ctx.key));
    case fault::forbidden:
      return detail(http::status::forbidden, "Access denied: this key has no permission to call this application.");
    case fault::no_credit:
      // fal answers an empty balance with 403 "User is locked", not 402 (vendors.md corrections).
      return detail(http::status::forbidden,
                    "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.");
    case fault::rate_limited:
      // Rare on fal (over-limit requests wait in the queue); no Retry-After is documented.
      return detail(http::status::too_many_requests,
                    "Too many requests: the concurrent request limit of your account was exceeded.");
    default: {
      auto r = json_reply(http::status::internal_server_error,
                          {{"detail", "Internal server error"}, {"error_type", "internal_error"}});
      r.headers.set("X-Fal-Error-Type", "internal_error");
      return r;
    }
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto& s = ctx.segments;
    const auto method = ctx.req.method();
    if (is_queue_path(s)) {
      const auto root = s[0] + "/" + s[1];
      const auto& id = s[3];
      if (s.size() == 5 && s[4] == "status")
        return method == http::verb::get ? status(ctx, root, id) : method_not_allowed("GET");
      if (s.size() == 4)
        return method == http::verb::get ? result(ctx, root, id) : method_not_allowed("GET");
      if (s.size() == 5 && s[4] == "cancel")
        return method == http::verb::put ? cancel(ctx, root, id) : method_not_allowed("PUT");
      return detail(http::status::not_found, "Not Found");
    }
    // Anything else is a model id: only a POST submits. A GET on a longer path is also what a
    // status call with the endpoint path included looks like: fal answers it 405.
    if (method != http::verb::post)
      return method_not_allowed("POST");
    return submit(ctx);
  }

  void on_finished(const job& j) override
  {
    if (j.callback_url.empty())
      return;
    // fal.ai/docs webhooks: {request_id, gateway_request_id, status OK|ERROR, payload, error}.
    json::object body;
    body["request_id"] = j.id;
    body["gateway_request_id"] = j.id;
    if (j.status == job_status::completed) {
      body["status"] = "OK";
      body["payload"] = result_body(j);
      body["error"] = nullptr;
    } else {
      const auto r = failure_reply(j);
      body["status"] = "ERROR";
      body["payload"] = json::parse(r.body);
      body["error"] = "Invalid status code: " + std::to_string(static_cast<unsigned>(r.status));
    }
    state_.send_callback({j.id, std::string(dialect_name), j.status == job_status::completed ? "OK" : "ERROR",
                          j.callback_url, std::move(body)});
  }

private:
  /// /{owner}/{app}/requests/{id}[/status|/cancel]: the queue's own routes (no endpoint path).
  static bool is_queue_path(const std::vector<std::string>& s)
  {
    return s.size() >= 4 && s.size() <= 5 && s[2] == "requests" && !s[3].empty();
  }

  static reply method_not_allowed(std::string_view allow)
  {
    auto r = detail(http::status::method_not_allowed, "Method Not Allowed");
    r.headers.set(http::field::allow, allow);
    return r;
  }

  std::string queue_url(const std::string& root, const std::string& id, std::string_view suffix = {}) const
  {
    return state_.base_url + "/" + root + "/requests/" + id + std::string(suffix);
  }

  // POST /{owner}/{app}[/{path}][?fal_webhook=URL]
  reply submit(const request_context& ctx)
  {
    model_id m;
    m.owner = ctx.segments[0];
    m.app = ctx.segments[1];
    for (std::size_t i = 2; i < ctx.segments.size(); ++i)
      m.path += (m.path.empty() ? "" : "/") + ctx.segments[i];

    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return model_error(http::status::unprocessable_entity,
                         error_object(json::array{"body"}, "Input should be a valid JSON object", "model_attributes_type"));
    const auto& in = ctx.json->as_object();

    if (auto err = check_endpoint(m))
      return std::move(*err);

    std::string callback;
    if (auto hook = ctx.query_param("fal_webhook")) {
      if (!valid_http_url(*hook))
        return detail(http::status::bad_request, "Invalid fal_webhook: it must be an absolute http(s) URL.");
      callback = std::string(*hook);
    }

    json::object normalised;
    if (auto err = validate(m, in, normalised))
      return std::move(*err);

    job j;
    j.id = state_.jobs.new_id("");
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = m.full();
    j.prompt = in.contains("prompt") && in.at("prompt").is_string() ? std::string(in.at("prompt").as_string()) : "";
    if (auto* d = normalised.if_contains("duration"))
      j.seconds = d->is_string() ? std::string(d->as_string()) : json::serialize(*d);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs || starts_with(ctx.key, fail_flat_prefix);
    j.media_name = j.id + ".mp4";
    j.callback_url = callback;
    j.request = std::move(normalised);
    j.request["app"] = m.root();
    j.request["endpoint"] = m.full();
    const auto& created = state_.jobs.create(std::move(j));

    json::object out;
    out["status"] = "IN_QUEUE";
    out["request_id"] = created.id;
    if (!callback.empty())
      out["gateway_request_id"] = created.id;
    out["response_url"] = queue_url(m.root(), created.id);
    out["status_url"] = queue_url(m.root(), created.id, "/status");
    out["cancel_url"] = queue_url(m.root(), created.id, "/cancel");
    out["queue_position"] = 0;
    return json_reply(http::status::ok, out);
  }

  /// Endpoint paths the known families have; an unknown app takes any path.
  static std::optional<reply> check_endpoint(const model_id& m)
  {
    static constexpr std::array<std::string_view, 4> sora_paths{"text-to-video", "text-to-video/pro", "image-to-video",
                                                                "image-to-video/pro"};
    static constexpr std::array<std::string_view, 7> veo_paths{
      "", "fast", "image-to-video", "fast/image-to-video", "reference-to-video", "first-last-frame-to-video",
      "fast/first-last-frame-to-video"};
    const bool ok = m.fam() == family::sora2  ? one_of(std::string_view(m.path), sora_paths)
                    : m.fam() == family::veo3 ? one_of(std::string_view(m.path), veo_paths)
                                              : true;
    if (!ok)
      return detail(http::status::not_found, "Endpoint '/" + m.path + "' not found for application '" + m.root() + "'.");
    return std::nullopt;
  }

  /// Validates the model input the way its schema does. Fields the schema does not know are
  /// accepted and ignored, as fal does; `normalised` gets the values the run will use.
  static std::optional<reply> validate(const model_id& m, const json::object& in, json::object& normalised)
  {
    auto given = [&](std::string_view name) -> const json::value* {
      auto* v = in.if_contains(name);
      return v == nullptr || v->is_null() ? nullptr : v;
    };
    auto enum_field = [&](std::string_view name, auto allowed, std::string_view fallback) -> std::optional<reply> {
      const json::value* v = given(name);
      if (v == nullptr) {
        if (!fallback.empty())
          normalised[name] = fallback;
        return std::nullopt;
      }
      if (!v->is_string() || !one_of(std::string_view(v->as_string()), allowed))
        return invalid_field(name, "Input should be " + joined(allowed, true), "enum", *v);
      normalised[name] = *v;
      return std::nullopt;
    };
    auto bool_field = [&](std::string_view name) -> std::optional<reply> {
      if (const json::value* v = given(name)) {
        if (!v->is_bool())
          return invalid_field(name, "Input should be a valid boolean", "bool_type", *v);
        normalised[name] = *v;
      }
      return std::nullopt;
    };

    // prompt: required by every video model we serve.
    const json::value* prompt = given("prompt");
    if (prompt == nullptr)
      return invalid_field("prompt", "Field required", "missing");
    if (!prompt->is_string())
      return invalid_field("prompt", "Input should be a valid string", "string_type", *prompt);
    const std::string text(prompt->as_string());
    if (text.empty())
      return invalid_field("prompt", "String should have at least 1 character", "string_too_short", *prompt);
    if (text.find("[reject]") != std::string::npos)
      return model_error(http::status::unprocessable_entity,
                         error_object(json::array{"body", "prompt"}, "The content was flagged by a content checker.",
                                      "content_policy_violation", *prompt));
    if (text.find(echo_marker) != std::string::npos)
      return invalid_field("prompt", "Invalid prompt: " + text, "value_error", *prompt);
    normalised["prompt"] = text;

    const bool image_endpoint = m.path.find("image-to-video") != std::string::npos ||
                                m.path.find("first-last-frame") != std::string::npos ||
                                m.path.find("reference-to-video") != std::string::npos;
    const json::value* image = given("image_url");
    if (image != nullptr) {
      if (!image->is_string() || !valid_image_ref(image->as_string()))
        return invalid_field("image_url", "Input should be a valid URL or a base64 data URI of an image", "url_parsing",
                             *image);
      if (image_endpoint)
        normalised["image_url"] = summarise(image->as_string());
      else
        normalised["ignored"] = json::array{"image_url"};  // a text endpoint has no image input: dropped
    } else if (image_endpoint && m.fam() != family::generic) {
      return invalid_field("image_url", "Field required", "missing");
    }

    switch (m.fam()) {
    case family::sora2: {
      // fal-ai/sora-2/*: duration an integer 4|8|12|16|20 (the page lists 16 and 20 too);
      // aspect_ratio 16:9|9:16 (+auto for image-to-video); resolution 720p (+1080p on /pro,
      // +auto for image-to-video).
      const bool pro = m.path.ends_with("/pro");
      if (const json::value* d = given("duration")) {
        const bool integer = d->is_int64() || d->is_uint64();
        const auto n = d->is_int64() ? d->get_int64() : d->is_uint64() ? static_cast<std::int64_t>(d->get_uint64()) : 0;
        if (!integer)
          return invalid_field("duration", "Input should be 4, 8, 12, 16 or 20 (an integer)", "enum", *d);
        if (n != 4 && n != 8 && n != 12 && n != 16 && n != 20)
          return invalid_field("duration", "Input should be 4, 8, 12, 16 or 20", "enum", *d);
        normalised["duration"] = n;
      } else {
        normalised["duration"] = 4;
      }
      static constexpr std::array<std::string_view, 2> ratios{"16:9", "9:16"};
      static constexpr std::array<std::string_view, 3> ratios_i2v{"auto", "16:9", "9:16"};
      if (auto err = image_endpoint ? enum_field("aspect_ratio", ratios_i2v, "auto") : enum_field("aspect_ratio", ratios, "16:9"))
        return err;
      static constexpr std::array<std::string_view, 1> res{"720p"};
      static constexpr std::array<std::string_view, 2> res_pro{"720p", "1080p"};
      static constexpr std::array<std::string_view, 2> res_i2v{"auto", "720p"};
      static constexpr std::array<std::string_view, 3> res_i2v_pro{"auto", "720p", "1080p"};
      const auto fallback = image_endpoint ? "auto" : "720p";
      auto err = image_endpoint ? (pro ? enum_field("resolution", res_i2v_pro, fallback) : enum_field("resolution", res_i2v, fallback))
                                : (pro ? enum_field("resolution", res_pro, fallback) : enum_field("resolution", res, fallback));
      if (err)
        return err;
      static constexpr std::array<std::string_view, 3> snapshots{"sora-2", "sora-2-2025-12-08", "sora-2-2025-10-06"};
      static constexpr std::array<std::string_view, 2> pro_snapshots{"sora-2-pro", "sora-2-pro-2025-10-06"};
      if (auto e = pro ? enum_field("model", pro_snapshots, "") : enum_field("model", snapshots, ""))
        return e;
      if (auto e = bool_field("delete_video"))
        return e;
      if (auto e = bool_field("detect_and_block_ip"))
        return e;
      break;
    }
    case family::veo3: {
      // fal-ai/veo3*: duration a STRING "4s"|"6s"|"8s" (default "8s").
      static constexpr std::array<std::string_view, 3> durations{"4s", "6s", "8s"};
      if (auto e = enum_field("duration", durations, "8s"))
        return e;
      static constexpr std::array<std::string_view, 3> ratios{"16:9", "9:16", "1:1"};
      static constexpr std::array<std::string_view, 3> ratios_i2v{"auto", "16:9", "9:16"};
      if (auto e = image_endpoint ? enum_field("aspect_ratio", ratios_i2v, "auto") : enum_field("aspect_ratio", ratios, "16:9"))
        return e;
      static constexpr std::array<std::string_view, 2> res{"720p", "1080p"};
      if (auto e = enum_field("resolution", res, "720p"))
        return e;
      if (auto e = bool_field("generate_audio"))
        return e;
      break;
    }
    case family::generic:
      // Unknown app: its schema is not ours to know; pass the known fields through.
      for (auto name : {"duration", "aspect_ratio", "resolution"})
        if (const json::value* v = given(name))
          normalised[name] = *v;
      break;
    }
    return std::nullopt;
  }

  static std::string summarise(std::string_view url)
  {
    if (!starts_with(url, "data:"))
      return std::string(url);
    const auto comma = url.find(',');
    return std::string(url.substr(0, comma + 1)) + "<" + std::to_string(url.size() - comma - 1) + " chars>";
  }

  /// The job `id` of this key, created at app `root` (another app's root does not find it).
  job* find(const request_context& ctx, const std::string& root, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr)
      return nullptr;
    auto* app = j->request.if_contains("app");
    return app != nullptr && app->is_string() && app->as_string() == root ? j : nullptr;
  }

  static reply request_not_found(const std::string& id)
  {
    return detail(http::status::not_found, "Request not found: " + id);
  }

  // GET /{owner}/{app}/requests/{id}/status[?logs=1]  (a poll)
  reply status(const request_context& ctx, const std::string& root, const std::string& id)
  {
    job* j = find(ctx, root, id);
    if (j == nullptr)
      return request_not_found(id);
    state_.jobs.poll(*j);
    if (ctx.forget)
      return request_not_found(id);
    const bool with_logs = ctx.query_param("logs").value_or("0") == "1";
    json::object o;
    o["request_id"] = j->id;
    o["response_url"] = queue_url(root, j->id);
    o["status_url"] = queue_url(root, j->id, "/status");
    o["cancel_url"] = queue_url(root, j->id, "/cancel");
    if (j->status == job_status::completed || j->status == job_status::failed) {
      // A failed run is COMPLETED too: the error comes with the result.
      o["status"] = "COMPLETED";
      o["logs"] = with_logs ? json::value(logs_of(*j)) : json::value(nullptr);
      o["metrics"] = {{"inference_time", 1.0}};
      return json_reply(http::status::ok, o);
    }
    // First read: still waiting for a runner; later reads: running.
    if (j->polls <= 1) {
      o["status"] = "IN_QUEUE";
      o["queue_position"] = 0;
    } else {
      o["status"] = "IN_PROGRESS";
      o["logs"] = with_logs ? logs_of(*j) : json::array{};
    }
    return json_reply(http::status::accepted, o);
  }

  static json::array logs_of(const job& j)
  {
    json::array logs;
    logs.push_back({{"message", "Generating video: " + std::to_string(j.progress) + "%"},
                    {"level", "INFO"},
                    {"source", "user"},
                    {"timestamp", "2026-01-01T00:00:00.000000"}});
    return logs;
  }

  json::object result_body(const job& j) const
  {
    json::object video{{"url", result_url(state_, j)},
                       {"content_type", "video/mp4"},
                       {"file_name", j.media_name},
                       {"file_size", state_.media.video().size()}};
    json::object o{{"video", std::move(video)}};
    if (j.model.find("sora-2") != std::string::npos)
      o["video_id"] = "video_" + j.id;
    return o;
  }

  /// How a finished-but-failed run answers its result fetch (and what its webhook carries).
  reply failure_reply(const job& j) const
  {
    if (j.error_code == "cancelled")
      return detail(http::status::bad_request, "Request was cancelled");
    if (starts_with(j.key, fail_flat_prefix))  // the legacy, not yet migrated shape
      return detail(http::status::internal_server_error, j.error_message);
    if (j.error_code == "content_policy_violation")
      return model_error(http::status::unprocessable_entity,
                         error_object(json::array{"body", "prompt"}, j.error_message, "content_policy_violation"));
    return model_error(http::status::internal_server_error,
                       error_object(json::array{"body"}, j.error_message, "downstream_service_error"));
  }

  // GET /{owner}/{app}/requests/{id}  (the result; not a poll)
  reply result(const request_context& ctx, const std::string& root, const std::string& id)
  {
    job* j = find(ctx, root, id);
    if (j == nullptr || ctx.forget)
      return request_not_found(id);
    switch (j->status) {
    case job_status::queued:
    case job_status::in_progress: return detail(http::status::bad_request, "Request is still in progress");
    case job_status::failed: return failure_reply(*j);
    case job_status::completed: break;
    }
    return json_reply(http::status::ok, result_body(*j));
  }

  // PUT /{owner}/{app}/requests/{id}/cancel
  reply cancel(const request_context& ctx, const std::string& root, const std::string& id)
  {
    job* j = find(ctx, root, id);
    if (j == nullptr || ctx.forget)
      return json_reply(http::status::not_found, {{"status", "NOT_FOUND"}});
    if (j->status == job_status::completed || j->status == job_status::failed)
      return json_reply(http::status::bad_request, {{"status", "ALREADY_COMPLETED"}});
    state_.jobs.fail(*j, "cancelled", "Request was cancelled");
    return json_reply(http::status::accepted, {{"status", "CANCELLATION_REQUESTED"}});
  }

  vendor_state& state_;
};

}  // namespace

std::unique_ptr<dialect> make_fal_dialect(vendor_state& state)
{
  return std::make_unique<fal_dialect>(state);
}

}  // namespace videogate::mock_vendor
