// The `kling` dialect: Kling AI's official API (vendors.md "Kling (official)"; the Kling API
// reference "General Information" (JWT auth, error codes), "Video Generation" text-to-video
// and image-to-video, "Callback Protocol"). Written from those pages, not from the gateway's
// translator, so a misreading on one side shows up as a failure.
//
// What sets it apart:
// - no API key on the wire: each request carries `Authorization: Bearer <JWT>`, an HS256 JWT
//   (header {"alg":"HS256","typ":"JWT"}, claims iss = access key, exp, nbf) signed with the
//   secret key. The mock VERIFIES it. Its rule for secrets: the secret key of access key AK
//   is "sk-" + AK, so a test configures `good-kling-1:sk-good-kling-1`; the key prefixes
//   (bad-*, ratelimit-*, …) are read from the access key;
// - text-to-video and image-to-video are two families with their own create and status
//   paths (/v1/videos/text2video/{id} vs /v1/videos/image2video/{id}); a task is found only
//   under its own family;
// - `duration` is a STRING "5"|"10"; `image` a URL or raw Base64 WITHOUT a data: prefix;
//   image2video takes no `aspect_ratio`;
// - every answer is {"code","message","request_id","data"}, code 0 = ok; errors use the
//   HTTP status of their code: 1000–1004 auth 401, 1101/1102 balance 429 (!), 1103 403,
//   1201 400, 1203 404, 1301 content 400, 1302/1303 rate/concurrency 429, 5000 500;
// - a `callback_url` gets the task data object POSTed when the task finishes.

#include "dialect.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <random>
#include <string>

namespace videogate::mock_vendor {
namespace {
namespace http = boost::beast::http;
namespace json = boost::json;

constexpr std::string_view dialect_name = "kling";
constexpr std::string_view videos_root = "/v1/videos/";
constexpr std::array<std::string_view, 2> families{"text2video", "image2video"};
constexpr std::array<std::string_view, 3> ratios{"16:9", "9:16", "1:1"};
constexpr std::array<std::string_view, 2> modes{"std", "pro"};
constexpr std::array<std::string_view, 2> durations{"5", "10"};
constexpr std::size_t max_prompt = 2500;
/// The longest token life the mock accepts: the docs' 30 minutes plus a minute of clock skew.
constexpr std::int64_t max_token_life = 31 * 60;
/// The mock's rule: the secret key of access key AK is this + AK.
constexpr std::string_view secret_prefix = "sk-";

// Keys whose prefix picks a behaviour of this dialect only (read from the access key).
constexpr std::string_view concurrency_prefix = "concurrency-";  // creates: 429 code 1303

std::mt19937_64& rng()
{
  static std::mt19937_64 generator{std::random_device{}()};
  return generator;
}

std::string new_uuid()
{
  const std::uint64_t a = rng()();
  const std::uint64_t b = rng()();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(0x4000 | (a & 0x0fff)),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

/// An 18-digit task id, as Kling's look.
std::string new_task_id()
{
  std::uniform_int_distribution<std::uint64_t> pick(100'000'000'000'000'000ULL, 999'999'999'999'999'999ULL);
  return std::to_string(pick(rng()));
}

/// `{"code","message","request_id"}` with the HTTP status the docs pair with the code.
reply coded(http::status status, int code, std::string_view message)
{
  return json_reply(status, {{"code", code}, {"message", message}, {"request_id", new_uuid()}});
}

reply invalid(std::string_view message)
{
  return coded(http::status::bad_request, 1201, message);
}

reply not_found()
{
  return coded(http::status::not_found, 1203, "Requested resource does not exist");
}

reply ok(json::value data)
{
  return json_reply(http::status::ok,
                    {{"code", 0}, {"message", "SUCCEED"}, {"request_id", new_uuid()}, {"data", std::move(data)}});
}

/// Base64 (standard or URL-safe alphabet), padding optional. Null when not Base64.
std::optional<std::string> decode_base64(std::string_view in, bool url_safe)
{
  while (!in.empty() && in.back() == '=')
    in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == (url_safe ? '-' : '+'))
      v = 62;
    else if (c == (url_safe ? '_' : '/'))
      v = 63;
    else
      return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  if (count >= 6)  // a lone trailing character cannot be Base64
    return std::nullopt;
  return out;
}

/// What the JWT check found: the key (`AK:SK`) when it passed, else Kling's code and message.
struct auth_result {
  std::string key;
  int code = 0;
  std::string message;
};

auth_result fail(int code, std::string_view message)
{
  return {std::string(), code, std::string(message)};
}

std::optional<std::int64_t> number_claim(const json::object& claims, std::string_view name)
{
  const auto* v = claims.if_contains(name);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_int64())
    return v->get_int64();
  if (v->is_uint64())
    return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double())
    return static_cast<std::int64_t>(v->get_double());
  return std::nullopt;
}

/// Verifies `Authorization: Bearer <jwt>` as Kling does: HS256 signed with the access key's
/// secret, iss = access key, nbf reached, exp not passed (and not more than 31 min away).
auth_result verify(std::string_view authorization)
{
  const auto token = bearer_key(authorization);
  if (token.empty())
    return fail(1001, "Authorization is empty");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string::npos ? std::string::npos : token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos)
    return fail(1002, "Authorization is invalid: not a JWT");
  const std::string_view view(token);
  const auto header_text = decode_base64(view.substr(0, dot1), true);
  const auto claims_text = decode_base64(view.substr(dot1 + 1, dot2 - dot1 - 1), true);
  const auto signature = decode_base64(view.substr(dot2 + 1), true);
  if (!header_text || !claims_text || !signature)
    return fail(1002, "Authorization is invalid: not Base64url");
  boost::system::error_code ec;
  const auto header = json::parse(*header_text, ec);
  if (ec || !header.is_object())
    return fail(1002, "Authorization is invalid: bad JWT header");
  const auto claims_v = json::parse(*claims_text, ec);
  if (ec || !claims_v.is_object())
    return fail(1002, "Authorization is invalid: bad JWT payload");
  const auto* alg = header.as_object().if_contains("alg");
  const auto* typ = header.as_object().if_contains("typ");
  if (alg == nullptr || !alg->is_string() || alg->as_string() != "HS256" || typ == nullptr || !typ->is_string() ||
      typ->as_string() != "JWT")
    return fail(1002, "Authorization is invalid: the JWT header must be {\"alg\":\"HS256\",\"typ\":\"JWT\"}");
  const auto& claims = claims_v.as_object();
  const auto* iss = claims.if_contains("iss");
  if (iss == nullptr || !iss->is_string() || iss->as_string().empty())
    return fail(1002, "Authorization is invalid: iss (the access key) is missing");
  const std::string access_key(iss->as_string());
  const std::string secret = std::string(secret_prefix) + access_key;

  // The signature first: a forged token learns nothing about its claims.
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const std::string signing_input(view.substr(0, dot2));
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_len);
  if (signature->size() != mac_len || CRYPTO_memcmp(signature->data(), mac, mac_len) != 0)
    return fail(1000, "Authentication failed: the signature does not match the access key's secret key");

  const auto exp = number_claim(claims, "exp");
  const auto nbf = number_claim(claims, "nbf");
  if (!exp || !nbf)
    return fail(1002, "Authorization is invalid: exp and nbf are required");
  const auto now = unix_now();
  if (*nbf > now)
    return fail(1003, "Authorization is not yet valid");
  if (*exp <= now)
    return fail(1004, "Authorization has expired");
  if (*exp > now + max_token_life)
    return fail(1002, "Authorization is invalid: exp is more than 30 minutes ahead");
  return {access_key + ":" + secret, 0, {}};
}

std::string_view status_word(const job& j)
{
  switch (j.status) {
  case job_status::queued: return "submitted";
  case job_status::in_progress: return j.polls <= 1 ? "submitted" : "processing";
  case job_status::completed: return "succeed";
  case job_status::failed: return "failed";
  }
  return "submitted";
}

class kling_dialect final : public dialect {
public:
  explicit kling_dialect(vendor_state& state) : state_(state) {}

  std::string_view name() const noexcept override { return dialect_name; }

  bool owns(std::string_view path) const noexcept override
  {
    for (auto family : families) {
      const std::string root = std::string(videos_root) + std::string(family);
      if (path == root || starts_with(path, root + "/"))
        return true;
    }
    return false;
  }

  /// The key is the verified `ACCESS_KEY:SECRET_KEY` pair; empty when the JWT fails (the
  /// request then meets `fault::missing_key`, whose answer says why).
  std::string key_of(const http_request& req) const override { return verify(req[http::field::authorization]).key; }

  route_kind kind_of(const request_context& ctx) const noexcept override
  {
    const auto& s = ctx.segments;  // v1 videos {family} [{id}]
    const auto method = ctx.req.method();
    if (method == http::verb::post && s.size() == 3)
      return route_kind::create;
    if (method == http::verb::get && s.size() == 4)
      return route_kind::status;
    return route_kind::other;
  }

  reply fault_reply(fault f, const request_context& ctx) const override
  {
    switch (f) {
    case fault::missing_key: {
      auto why = verify(ctx.req[http::field::authorization]);
      return coded(http::status::unauthorized, why.code == 0 ? 1000 : why.code, why.message);
    }
    case fault::invalid_key: return coded(http::status::unauthorized, 1000, "Authentication failed");
    case fault::echo_key: return coded(http::status::unauthorized, 1000, echoed_key_message(ctx.key));
    case fault::forbidden:
      return coded(http::status::forbidden, 1103, "Unauthorized access to requested resource, such as API/model");
    case fault::no_credit:
      // Out of balance is a 429 at Kling: a gateway must read the code, not the status.
      return coded(http::status::too_many_requests, 1102, "Account exception: resource pack depleted or expired");
    case fault::rate_limited:
      return coded(http::status::too_many_requests, 1302,
                   "The API request is too fast, please slow down the request frequency");  // no Retry-After
    default: return coded(http::status::internal_server_error, 5000, "Server internal error");
    }
  }

  reply handle(request_context& ctx) override
  {
    const auto& s = ctx.segments;
    const auto method = ctx.req.method();
    if (s.size() == 3) {
      if (method == http::verb::post) {
        if (starts_with(ctx.key, concurrency_prefix))
          return coded(http::status::too_many_requests, 1303, "Parallel task over resource pack limit");
        return create(ctx, s[2]);
      }
      return method == http::verb::get ? list(ctx, s[2]) : method_not_allowed("GET, POST");
    }
    if (s.size() == 4 && !s[3].empty())
      return method == http::verb::get ? get(ctx, s[2], s[3]) : method_not_allowed("GET");
    return not_found();
  }

  void on_finished(const job& j) override
  {
    // The callback protocol: the task data object itself.
    if (!j.callback_url.empty())
      state_.send_callback({j.id, std::string(dialect_name), std::string(status_word(j)), j.callback_url, render(j)});
  }

private:
  static reply method_not_allowed(std::string_view allow)
  {
    auto r = coded(http::status::method_not_allowed, 1202, "Invalid request method");
    r.headers.set(http::field::allow, allow);
    return r;
  }

  /// `image` / `image_tail`: an http(s) URL, or raw Base64 of a jpeg or png — a `data:`
  /// prefix is refused, as the docs say.
  static std::optional<reply> check_image(const json::value& v, std::string_view field, json::object& normalised)
  {
    if (!v.is_string() || v.as_string().empty())
      return invalid(std::string(field) + " must be a non-empty string");
    const std::string_view text = v.as_string();
    if (starts_with(text, "data:"))
      return invalid(std::string(field) +
                     " must be an image URL or raw Base64: remove the data:image/...;base64, prefix");
    if (valid_http_url(text)) {
      normalised[field] = text;
      return std::nullopt;
    }
    const auto bytes = decode_base64(text, false);
    const bool jpeg = bytes && bytes->size() > 3 && static_cast<unsigned char>((*bytes)[0]) == 0xff &&
                      static_cast<unsigned char>((*bytes)[1]) == 0xd8;
    const bool png = bytes && bytes->size() > 8 && bytes->compare(0, 4, "\x89PNG") == 0;
    if (!jpeg && !png)
      return invalid(std::string(field) + " is neither an image URL nor Base64 of a jpg/png image");
    normalised[field] = "<base64 " + std::string(jpeg ? "jpeg" : "png") + ", " + std::to_string(text.size()) + " chars>";
    return std::nullopt;
  }

  // POST /v1/videos/text2video | /v1/videos/image2video
  reply create(const request_context& ctx, const std::string& family)
  {
    if (!one_of(std::string_view(family), families))
      return not_found();
    if (!ctx.body_error.empty() || !ctx.json || !ctx.json->is_object())
      return coded(http::status::bad_request, 1200, "Invalid request parameters: the body must be a JSON object");
    const auto& body = ctx.json->as_object();
    const bool image_family = family == "image2video";
    auto given = [&](std::string_view name) -> const json::value* {
      auto* v = body.if_contains(name);
      return v == nullptr || v->is_null() ? nullptr : v;
    };
    json::object normalised;
    normalised["family"] = family;

    std::string model = "kling-v1";
    if (const auto* v = given("model_name")) {
      if (!v->is_string() || !starts_with(v->as_string(), "kling-"))
        return invalid("model_name is invalid");
      model = std::string(v->as_string());
    }
    std::string prompt;
    if (const auto* v = given("prompt")) {
      if (!v->is_string())
        return invalid("prompt must be a string");
      prompt = std::string(v->as_string());
      if (prompt.size() > max_prompt)
        return invalid("prompt cannot exceed 2500 characters");
    }
    if (prompt.empty() && !image_family)
      return invalid("prompt is required");
    if (prompt.find(echo_marker) != std::string::npos)
      return invalid("Invalid prompt: " + prompt);
    if (const auto* v = given("negative_prompt"); v && (!v->is_string() || v->as_string().size() > max_prompt))
      return invalid("negative_prompt must be a string of at most 2500 characters");

    if (image_family) {
      const auto* image = given("image");
      const auto* tail = given("image_tail");
      if (image == nullptr && tail == nullptr)
        return invalid("image is required");
      if (image != nullptr)
        if (auto e = check_image(*image, "image", normalised))
          return std::move(*e);
      if (tail != nullptr)
        if (auto e = check_image(*tail, "image_tail", normalised))
          return std::move(*e);
      if (given("aspect_ratio") != nullptr)
        return invalid("aspect_ratio is not supported by image2video: the image sets the aspect ratio");
    } else {
      if (given("image") != nullptr || given("image_tail") != nullptr)
        return invalid("text2video does not take an image: use /v1/videos/image2video");
      std::string ratio = "16:9";
      if (const auto* v = given("aspect_ratio")) {
        if (!v->is_string() || !one_of(std::string_view(v->as_string()), ratios))
          return invalid("aspect_ratio must be one of \"16:9\", \"9:16\", \"1:1\"");
        ratio = std::string(v->as_string());
      }
      normalised["aspect_ratio"] = ratio;
    }
    std::string mode = "std";
    if (const auto* v = given("mode")) {
      if (!v->is_string() || !one_of(std::string_view(v->as_string()), modes))
        return invalid("mode must be \"std\" or \"pro\"");
      mode = std::string(v->as_string());
    }
    std::string duration = "5";
    if (const auto* v = given("duration")) {
      if (!v->is_string())
        return invalid("duration must be a string: \"5\" or \"10\"");
      if (!one_of(std::string_view(v->as_string()), durations))
        return invalid("duration must be \"5\" or \"10\"");
      duration = std::string(v->as_string());
    }
    if (const auto* v = given("cfg_scale")) {
      if (!v->is_number() || v->to_number<double>() < 0.0 || v->to_number<double>() > 1.0)
        return invalid("cfg_scale must be a number from 0 to 1");
      normalised["cfg_scale"] = *v;
    }
    std::string callback;
    if (const auto* v = given("callback_url")) {
      if (!v->is_string() || !valid_http_url(v->as_string()))
        return invalid("callback_url must be an http(s) URL");
      callback = std::string(v->as_string());
    }
    json::object task_info;
    if (const auto* v = given("external_task_id")) {
      if (!v->is_string())
        return invalid("external_task_id must be a string");
      task_info["external_task_id"] = *v;
    }
    if (prompt.find("[reject]") != std::string::npos)
      return coded(http::status::bad_request, 1301, "Trigger the content security policy of the platform");

    normalised["mode"] = mode;
    normalised["duration"] = duration;
    normalised["task_info"] = std::move(task_info);
    normalised["video_id"] = new_uuid();  // the id of the video once made

    job j;
    j.id = new_task_id();
    j.key = ctx.key;
    j.dialect = std::string(dialect_name);
    j.model = model;
    j.prompt = prompt;
    j.seconds = duration;
    j.fail_at_end = ctx.key_fault == fault::fail_jobs;
    j.media_name = j.id + ".mp4";
    j.callback_url = callback;
    j.request = std::move(normalised);
    const auto& created = state_.jobs.create(std::move(j));
    return ok(render(created));
  }

  /// The task data object (status answer, list items, callback body).
  json::object render(const job& j) const
  {
    json::object d;
    d["task_id"] = j.id;
    d["task_status"] = status_word(j);
    d["task_status_msg"] = j.status == job_status::failed ? j.error_message : std::string();
    d["task_info"] = j.request.at("task_info");
    d["created_at"] = j.created_at * 1000;
    d["updated_at"] = j.status_changed_ms;
    if (j.status == job_status::completed)
      d["task_result"] = {
        {"videos", json::array{json::object{
                      {"id", j.request.at("video_id")}, {"url", result_url(state_, j)}, {"duration", j.seconds}}}}};
    return d;
  }

  job* find(const request_context& ctx, const std::string& family, const std::string& id)
  {
    job* j = state_.jobs.find(id, ctx.key, dialect_name);
    if (j == nullptr || j->request.at("family").as_string() != family)
      return nullptr;  // another family's task is not found under this one
    return j;
  }

  // GET /v1/videos/{family}/{task_id}  (a poll)
  reply get(const request_context& ctx, const std::string& family, const std::string& id)
  {
    job* j = find(ctx, family, id);
    if (j == nullptr)
      return not_found();
    state_.jobs.poll(*j);
    if (ctx.forget)
      return not_found();
    return ok(render(*j));
  }

  // GET /v1/videos/{family}?pageNum=&pageSize=  (not a poll; newest first)
  reply list(const request_context& ctx, const std::string& family) const
  {
    if (!one_of(std::string_view(family), families))
      return not_found();
    auto number = [&](std::string_view name, std::int64_t fallback) {
      auto v = ctx.query_param(name);
      if (!v || v->empty())
        return fallback;
      try {
        return std::clamp<std::int64_t>(std::stoll(std::string(*v)), 1, 500);
      } catch (const std::exception&) {
        return fallback;
      }
    };
    const auto page = number("pageNum", 1);
    const auto size = number("pageSize", 30);
    json::array data;
    auto jobs = state_.jobs.list(ctx.key, dialect_name);
    std::int64_t index = 0;
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
      if ((*it)->request.at("family").as_string() != family)
        continue;
      if (index >= (page - 1) * size && index < page * size)
        data.push_back(render(**it));
      ++index;
    }
    return ok(std::move(data));
  }

  vendor_state& state_;
};

}  // namespace

std::unique_ptr<dialect> make_kling_dialect(vendor_state& state)
{
  return std::make_unique<kling_dialect>(state);
}

}  // namespace videogate::mock_vendor
