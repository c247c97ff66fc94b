// The `replicate` dialect: Replicate's predictions API (vendors.md "Replicate predictions";
// replicate.com/docs: HTTP reference, webhooks, rate limits; the models' API pages). Written
// from those pages, not from the gateway's translator, so a misreading on one side shows up
// as a failure.
//
// What sets it apart:
// - a create names the model in the path and wraps the model input in {"input": …};
// - every input schema is the model's own (openai/sora-2 takes `seconds` and
//   portrait/landscape, google/veo-3 `duration` and 16:9/9:16);
// - `output` is whatever the model returns: a URL string, or an array of URLs;
// - errors are RFC 7807 problem details {"title","detail","status"}, except the rate limit,
//   which is {"detail":"Request was throttled. Your rate limit resets in ~Ns."} with no
//   Retry-After header;
// - a `webhook` gets the prediction JSON when the prediction completes.

#include "dialect.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "replicate";
constexpr std::string_view id_alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::size_t id_length = 26;
// Models of this owner return `output` as an array of URLs (the mock's choice of family; the
// docs only say that output is whatever the model returns).
constexpr std::string_view array_output_owner = "wan-video/";
constexpr std::array<std::string_view, 4> webhook_events{"start", "output", "logs", "completed"};

/// RFC 7807 problem details, Replicate's error shape.
reply problem(http::status status, std::string_view title, std::string_view detail)
{
  return json_reply(status, {{"title", title}, {"detail", detail}, {"status", static_cast<unsigned>(status)}});
}

reply not_found()
{
  return problem(http::status::not_found, "Not found", "The requested resource could not be found.");
}

/// 422 "Input validation failed" naming one field, as Replicate lists invalid fields.
reply invalid(std::string_view field, std::string_view description, std::string_view type = "invalid")
{
  json::object o{{"title", "Input validation failed"},
                 {"detail", "- " + std::string(field) + ": " + std::string(description) + "\n"},
                 {"status", 422},
                 {"invalid_fields", json::array{json::object{{"type", type}, {"field", field}, {"description", description}}}}};
  return json_reply(http::status::unprocessable_entity, o);
}

std::string iso8601(std::int64_t ms)
{
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000) * 1000);
  return buf;
}

/// A stable pseudo version id per model ("dp-" + 32 hex digits, like an official model's).
std::string version_of(std::string_view model)
{
  std::uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL;
  for (unsigned char c : model) {
    h1 = (h1 ^ c) * 1099511628211ULL;
    h2 = (h2 + c) * 6364136223846793005ULL + 1442695040888963407ULL;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "dp-%016llx%016llx", static_cast<unsigned long long>(h1),
                static_cast<unsigned long long>(h2));
  return buf;
}

std::optional<std::int64_t> integer_of(const json::value& v)
{
  if (v.is_int64())
    return v.get_int64();
  if (v.is_uint64() && v.get_uint64() < 1'000'000'000ULL)
    return static_cast<std::int64_t>(v.get_uint64());
  return std::nullopt;
}

class replicate_dialect final : public dialect {
public:
  explicit replicate_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override
  {
    return starts_with(path, "/v1/models/") || path == "/v1/predictions" || starts_with(path, "/v1/predictions/");
  }

  std::string key_of(const http_request& req) const override
  {
    const auto auth = req[http::field::authorization];
    auto key = bearer_key(auth);
    return key.empty() ? scheme_credential(auth, "Token") : key;  // the older scheme still works
  }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto& s = ctx.segments;  // v1 predictions {id} | v1 models {owner} {name} predictions
    const auto method = ctx.req.method();
    if (method == http::verb::post && ((s.size() == 5 && s[1] == "models" && s[4] == "predictions") ||
                                       (s.size() == 2 && s[1] == "predictions")))
      return route_kind::create;
    if (method == http::verb::get && s.size() == 3 && s[1] == "predictions")
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key:
      return problem(http::status::unauthorized, "Unauthenticated", "You did not pass an authentication token");
    case fault::invalid_key:
      return problem(http::status::unauthorized, "Unauthenticated", "You did not pass a valid authentication token");
    case fault::echo_key: return problem(http::status::unauthorized, "Unauthenticated", echoed_key_message(ctx.key));
    case fault::forbidden:
      return problem(http::status::forbidden, "Forbidden", "You do not have permission to run this model.");
    case fault::no_credit:
      return problem(http::status::payment_required, "Insufficient credit",
                     "You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing "
                     "to purchase credit. Once you purchase credit, please wait a few minutes before trying again.");
    case fault::rate_limited:
      // replicate.com/docs/topics/predictions/rate-limits: this body, and no Retry-After.
      return json_reply(http::status::too_many_requests,
                        {{"detail", "Request was throttled. Your rate limit resets in ~" +
                                      std::to_string(state_.retry_after.count()) + "s."}});
    default:
      return problem(http::status::internal_server_error, "Internal Server Error",
                     "An unexpected error occurred. Please try again later.");
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto& s = ctx.segments;
    const auto method = ctx.req.method();
    if (s.size() == 5 && s[1] == "models" && s[4] == "predictions")
      return method == http::verb::post ? create(ctx, s[2] + "/" + s[3], std::nullopt) : method_not_allowed("POST");
    if (s.size() == 2 && s[1] == "predictions") {
      if (method == http::verb::post)
        return create_by_version(ctx);
      return method == http::verb::get ? list(ctx) : method_not_allowed("GET, POST");
    }
    if (s.size() == 3 && s[1] == "predictions")
      return method == http::verb::get ? get(ctx, s[2]) : method_not_allowed("GET");
    if (s.size() == 4 && s[1] == "predictions" && s[3] == "cancel")
      return method == http::verb::post ? cancel(ctx, s[2]) : method_not_allowed("POST");
    return not_found();
  }

  void on_finished(const job& j) override
  {
    if (!j.callback_url.empty() && wants(j, "completed"))
      state_.send_callback({j.id, std::string(dialect_name), "completed", j.callback_url, render(j)});
  }

private:
  static reply method_not_allowed(std::string_view allow)
  {
    auto r = problem(http::status::method_not_allowed, "Method Not Allowed", "Method not allowed on this endpoint.");
    r.headers.set(http::field::allow, allow);
    return r;
  }

  /// Whether the create's webhook_events_filter asks for `event` (default: completed only).
  static bool wants(const job& j, std::string_view event)
  {
    auto* filter = j.request.if_contains("webhook_events_filter");
    if (filter == nullptr || !filter->is_array())
      return event == "completed";
    for (auto& e : filter->as_array())
      if (e.is_string() && e.as_string() == event)
        return true;
    return false;
  }

  std::string new_id()
  {
    std::uniform_int_distribution<std::size_t> pick(0, id_alphabet.size() - 1);
    std::string out;
    for (std::size_t i = 0; i < id_length; ++i)
      out.push_back(id_alphabet[pick(rng_)]);
    return out;
  }

  static std::string summarise(std::string_view url)
  {
    if (!starts_with(url, "data:"))
      return std::string(url);
    const auto comma = url.find(',');
    return std::string(url.substr(0, comma + 1)) + "<" + std::to_string(url.size() - comma - 1) + " chars>";
  }

  /// Validates `input` against the model's schema (the flagship models' own, else the generic
  /// names); fills the defaults into `normalised`. Unknown input fields are ignored.
  static std::optional<reply> validate(std::string_view model, const json::object& input, json::object& normalised)
  {
    auto given = [&](std::string_view name) -> const json::value* {
      auto* v = input.if_contains(name);
      return v == nullptr || v->is_null() ? nullptr : v;
    };
    auto str_enum = [&](std::string_view name, auto allowed, std::string_view fallback) -> std::optional<reply> {
      const json::value* v = given(name);
      if (v == nullptr) {
        normalised[name] = fallback;
        return std::nullopt;
      }
      if (!v->is_string() || !one_of(std::string_view(v->as_string()), allowed)) {
        std::string list;
        for (auto a : allowed)
          list += (list.empty() ? "" : ", ") + std::string(a);
        return invalid("input." + std::string(name), std::string(name) + " must be one of the following: " + list, "enum");
      }
      normalised[name] = *v;
      return std::nullopt;
    };
    auto int_enum = [&](std::string_view name, auto allowed, std::int64_t fallback) -> std::optional<reply> {
      const json::value* v = given(name);
      if (v == nullptr) {
        normalised[name] = fallback;
        return std::nullopt;
      }
      auto n = integer_of(*v);
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::to_string(a);
      if (!n)
        return invalid("input." + std::string(name), "Invalid type. Expected: integer, given: " + type_name(*v), "invalid_type");
      if (std::find(allowed.begin(), allowed.end(), *n) == allowed.end())
        return invalid("input." + std::string(name), std::string(name) + " must be one of the following: " + list, "enum");
      normalised[name] = *n;
      return std::nullopt;
    };
    auto uri = [&](std::string_view name) -> std::optional<reply> {
      if (const json::value* v = given(name)) {
        if (!v->is_string() || !valid_image_ref(v->as_string()))
          return invalid("input." + std::string(name), "Does not match format 'uri'", "format");
        normalised[name] = summarise(v->as_string());
      }
      return std::nullopt;
    };

    const json::value* prompt = given("prompt");
    if (prompt == nullptr)
      return invalid("input", "prompt is required", "required");
    if (!prompt->is_string())
      return invalid("input.prompt", "Invalid type. Expected: string, given: " + type_name(*prompt), "invalid_type");
    const std::string text(prompt->as_string());
    if (text.empty())
      return invalid("input.prompt", "String length must be greater than or equal to 1", "string_gte");
    if (text.find(echo_marker) != std::string::npos)
      return invalid("input.prompt", "Invalid prompt: " + text);
    normalised["prompt"] = text;

    if (model == "openai/sora-2" || model == "openai/sora-2-pro") {
      // replicate.com/openai/sora-2/api: seconds 4|8|12 (default 4), aspect_ratio
      // portrait|landscape (default portrait), input_reference an optional image URI.
      static constexpr std::array<std::int64_t, 3> seconds{4, 8, 12};
      if (auto e = int_enum("seconds", seconds, 4))
        return e;
      static constexpr std::array<std::string_view, 2> ratios{"portrait", "landscape"};
      if (auto e = str_enum("aspect_ratio", ratios, "portrait"))
        return e;
      if (auto e = uri("input_reference"))
        return e;
      if (model == "openai/sora-2-pro") {
        static constexpr std::array<std::string_view, 2> res{"standard", "high"};
        if (auto e = str_enum("resolution", res, "standard"))
          return e;
      }
      if (const json::value* k = given("openai_api_key"); k && !k->is_string())
        return invalid("input.openai_api_key", "Invalid type. Expected: string", "invalid_type");
    } else if (starts_with(model, "google/veo-3")) {
      // replicate.com/google/veo-3*/api: duration 4|6|8 (default 8), aspect_ratio 16:9|9:16,
      // resolution 720p|1080p, image an optional URI.
      static constexpr std::array<std::int64_t, 3> durations{4, 6, 8};
      if (auto e = int_enum("duration", durations, 8))
        return e;
      static constexpr std::array<std::string_view, 2> ratios{"16:9", "9:16"};
      if (auto e = str_enum("aspect_ratio", ratios, "16:9"))
        return e;
      static constexpr std::array<std::string_view, 2> res{"720p", "1080p"};
      if (auto e = str_enum("resolution", res, "720p"))
        return e;
      if (auto e = uri("image"))
        return e;
      if (const json::value* a = given("generate_audio")) {
        if (!a->is_bool())
          return invalid("input.generate_audio", "Invalid type. Expected: boolean", "invalid_type");
        normalised["generate_audio"] = *a;
      }
    } else {
      // Any other model: the generic names, all optional but the prompt.
      if (const json::value* d = given("duration")) {
        auto n = integer_of(*d);
        if (!n || *n <= 0)
          return invalid("input.duration", "Invalid type. Expected: integer", "invalid_type");
        normalised["duration"] = *n;
      }
      if (const json::value* a = given("aspect_ratio")) {
        if (!a->is_string())
          return invalid("input.aspect_ratio", "Invalid type. Expected: string", "invalid_type");
        normalised["aspect_ratio"] = *a;
      }
      if (auto e = uri("image"))
        return e;
    }
    json::array ignored;
    for (auto& [k, v] : input)
      if (!normalised.contains(k) && k != "openai_api_key" && k != "negative_prompt" && k != "seed")
        ignored.push_back(json::value(k));
    if (!ignored.empty())
      normalised["ignored"] = std::move(ignored);
    return std::nullopt;
  }

  static std::string type_name(const json::value& v)
  {
    switch (v.kind()) {
    case json::kind::string: return "string";
    case json::kind::bool_: return "boolean";
    case json::kind::double_: return "number";
    case json::kind::int64:
    case json::kind::uint64: return "integer";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
    case json::kind::null: return "null";
    }
    return "unknown";
  }

  // POST /v1/predictions {"version": "owner/name:hash" | "hash", "input", …}
  reply create_by_version(const request_context& ctx)
  {
    const json::value* version = nullptr;
    if (ctx.json && ctx.json->is_object())
      version = ctx.json->as_object().if_contains("version");
    if (version == nullptr || !version->is_string() || version->as_string().empty())
      return invalid("version", "version is required", "required");
    const std::string v(version->as_string());
    const auto colon = v.find(':');
    const auto model = colon == std::string::npos ? std::string("unknown/model") : v.substr(0, colon);
    return create(ctx, model, colon == std::string::npos ? v : v.substr(colon + 1));
  }

  // POST /v1/models/{owner}/{name}/predictions {"input", "webhook"?, "webhook_events_filter"?}
  reply create(const request_context& ctx, const std::string& model, std::optional<std::string> version)
  {
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return problem(http::status::bad_request, "Bad request", "The request body must be a JSON object.");
    const auto& body = ctx.json->as_object();
    const json::value* input = body.if_contains("input");
    if (input == nullptr || input->is_null())
      return invalid("input", "input is required", "required");
    if (!input->is_object())
      return invalid("input", "Invalid type. Expected: object, given: " + type_name(*input), "invalid_type");

    std::string webhook;
    if (auto* w = body.if_contains("webhook"); w && !w->is_null()) {
      if (!w->is_string() || !valid_http_url(w->as_string()))
        return invalid("webhook", "Does not match format 'uri'", "format");
      webhook = std::string(w->as_string());
    }
    std::optional<json::array> filter;
    if (auto* f = body.if_contains("webhook_events_filter"); f && !f->is_null()) {
      if (!f->is_array())
        return invalid("webhook_events_filter", "Invalid type. Expected: array", "invalid_type");
      for (auto& e : f->as_array())
        if (!e.is_string() || !one_of(std::string_view(e.as_string()), webhook_events))
          return invalid("webhook_events_filter", "webhook_events_filter must be one of the following: start, output, logs, completed",
                         "enum");
      filter = f->as_array();
    }

    json::object normalised;
    if (auto err = validate(model, input->as_object(), normalised))
      return std::move(*err);

    job j;
    j.id = new_id();
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = model;
    j.prompt = std::string(normalised.at("prompt").as_string());
    for (auto name : {"seconds", "duration"})
      if (auto* d = normalised.if_contains(name))
        j.seconds = json::serialize(*d);
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    if (j.prompt.find("[reject]") != std::string::npos) {
      // Moderation on Replicate fails the prediction; the create itself succeeds.
      j.fail_at_end = true;
      j.fail_code = "E005";
      j.fail_message = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)";
    }
    j.media_name = j.id + ".mp4";
    j.callback_url = webhook;
    j.request["input"] = std::move(normalised);
    j.request["version"] = version ? *version : version_of(model);
    if (filter)
      j.request["webhook_events_filter"] = *filter;
    auto& created = state_.jobs.create(std::move(j));
    auto prediction = render(created);
    if (!created.callback_url.empty() && wants(created, "start"))
      state_.send_callback({created.id, std::string(dialect_name), "start", created.callback_url, prediction});
    return json_reply(http::status::created, prediction);
  }

  /// The prediction object (replicate.com/docs/reference/http, "Get a prediction").
  json::object render(const job& j) const
  {
    const bool finished = j.status == job_status::completed || j.status == job_status::failed;
    const bool started = finished || (j.status == job_status::in_progress && j.polls > 1);
    json::object o;
    o["id"] = j.id;
    o["model"] = j.model;
    o["version"] = j.request.at("version");
    o["input"] = j.request.at("input");
    std::string logs;
    if (started)
      logs = "Starting video generation\n";
    if (j.status == job_status::in_progress && started)
      logs += "Generating… " + std::to_string(j.progress) + "%\n";
    if (j.status == job_status::completed)
      logs += "Generating… 100%\nDone\n";
    o["logs"] = logs;
    o["output"] = nullptr;
    o["data_removed"] = false;
    o["error"] = nullptr;
    switch (j.status) {
    case job_status::queued: o["status"] = "starting"; break;
    case job_status::in_progress: o["status"] = started ? "processing" : "starting"; break;
    case job_status::completed: {
      o["status"] = "succeeded";
      const auto url = result_url(state_, j);
      if (starts_with(j.model, array_output_owner))
        o["output"] = json::array{json::value(url)};
      else
        o["output"] = url;
      break;
    }
    case job_status::failed:
      o["status"] = j.error_code == "canceled" ? "canceled" : "failed";
      if (j.error_code != "canceled")
        o["error"] = j.error_message;
      break;
    }
    const std::int64_t created_ms = j.created_at * 1000;
    o["created_at"] = iso8601(created_ms);
    o["started_at"] = started ? json::value(iso8601(created_ms)) : json::value(nullptr);  // created_at is whole seconds
    o["completed_at"] = finished ? json::value(iso8601(j.status_changed_ms)) : json::value(nullptr);
    const auto base = state_.base_url + "/v1/predictions/" + j.id;
    o["urls"] = {{"get", base}, {"cancel", base + "/cancel"}, {"web", "https://replicate.com/p/" + j.id}};
    if (j.status == job_status::completed)
      o["metrics"] = {{"predict_time", 1.0}, {"total_time", 2.0}};
    else
      o["metrics"] = json::object{};
    return o;
  }

  // GET /v1/predictions/{id}  (a poll)
  reply get(const request_context& ctx, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr)
      return not_found();
    state_.jobs.poll(*j);
    if (ctx.forget)
      return not_found();
    return json_reply(http::status::ok, render(*j));
  }

  // POST /v1/predictions/{id}/cancel
  reply cancel(const request_context& ctx, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr || ctx.forget)
      return not_found();
    if (j->status == job_status::queued || j->status == job_status::in_progress)
      state_.jobs.fail(*j, "canceled", "Prediction was canceled");
    return json_reply(http::status::ok, render(*j));
  }

  // GET /v1/predictions  (this key's predictions, newest first; not a poll)
  reply list(const request_context& ctx) const
  {
    json::array results;
    auto jobs = state_.jobs.list(ctx.key, dialect_name);
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
      results.push_back(render(**it));
    return json_reply(http::status::ok, {{"previous", nullptr}, {"next", nullptr}, {"results", std::move(results)}});
  }

  vendor_state& state_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

std::unique_ptr<dialect> make_replicate_dialect(vendor_state& state)
{
  return std::make_unique<replicate_dialect>(state);
}

}  // namespace videogate::mock_vendor
