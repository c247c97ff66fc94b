// The ark dialect (Volcengine Ark / BytePlus ModelArk, Seedance) against bodies shaped like
// Ark's docs: the content generation task API (create with typed `content` parts, query with
// `status` and `content.video_url`, delete; volcengine.com/docs/82379 "创建视频生成任务",
// "查询视频生成任务", BytePlus ModelArk's "Video Generation API"), the public error codes
// (volcengine.com/docs/82379/1299023: OpenAI-like `{"error":{"code","message"}}`), and the
// callback, which posts the task object as the query answers it.
#include "videogate/dialects/ark.hpp"

#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace videogate::dialects {
namespace {

namespace json = boost::json;
using namespace std::string_literals;
using namespace test_support;

// --- fixtures -----------------------------------------------------------------------------

constexpr std::string_view task_id = "cgt-20250331175019-68d9t";

// The create answer (the docs' example).
constexpr std::string_view created = R"({"id": "cgt-20250331175019-68d9t"})";

constexpr std::string_view video_url =
    "https://ark-content-generation-cn-beijing.tos-cn-beijing.volces.com/doubao-seedance-1-0-pro/"
    "02174341461939900000000000000000000ffffac182c1723cf0e.mp4?X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Expires=86400";

// The query answer (the docs' example, a finished task); the callback posts the same object.
std::string task(std::string_view status) {
  json::object o{{"id", task_id},
                 {"model", "doubao-seedance-1-0-pro-250528"},
                 {"status", status},
                 {"created_at", 1743414619},
                 {"updated_at", 1743414673}};
  if (status == "succeeded") {
    o["content"] = json::object{{"video_url", video_url}};
    o["usage"] = json::object{{"completion_tokens", 108900}, {"total_tokens", 108900}};
    o["seed"] = 10;
    o["resolution"] = "720p";
    o["ratio"] = "16:9";
    o["duration"] = 5;
    o["framespersecond"] = 24;
  }
  if (status == "failed")
    o["error"] = json::object{
        {"code", "OutputVideoSensitiveContentDetected"},
        {"message", "The request failed because the output video may contain sensitive information. Request id: 0217"}};
  return json::serialize(o);
}

// An error answer in Ark's OpenAI-like shape, its `type` the HTTP status's name.
std::string ark_error(int status, std::string_view code, std::string_view message) {
  auto type = status == 401   ? "Unauthorized"
              : status == 403 ? "Forbidden"
              : status == 404 ? "NotFound"
              : status == 429 ? "TooManyRequests"
              : status >= 500 ? "InternalServerError"
                              : "BadRequest";
  return json::serialize(json::object{
      {"error",
       json::object{
           {"code", code}, {"message", std::string(message) + " Request id: 0217"}, {"param", ""}, {"type", type}}}});
}

error_case ark_case(int status, std::string_view code, std::string_view message, errc want) {
  return error_case{status, ark_error(status, code, message), want};
}

const ark_dialect ark{};
constexpr std::string_view key = "ark-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

config::upstream_config upstream() {
  return task_upstream(
      config::dialect_kind::ark, "ark-main", std::string(key),
      {{"seedance", "doubao-seedance-1-0-pro-250528"}, {"seedance-lite", "doubao-seedance-1-0-lite-t2v-250428"}},
      {{"seedance-lite", "doubao-seedance-1-0-lite-i2v-250428"}});
}

upstream_call create_call(const api::create_request& req, const std::string& seconds = "5",
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  return create_ok(ark, req, up, seconds, extras);
}

// --- traits and durations ---------------------------------------------------------------------

TEST(ArkDialect, KindAuthorizationAndTraits) {
  expect_made_for(ark, config::dialect_kind::ark);
  EXPECT_EQ(ark.authorization("k"), "Bearer k");
  EXPECT_TRUE(ark.takes_callbacks());
  EXPECT_FALSE(ark.needs_image_url()) << "Ark takes base64 data URLs";
}

TEST(ArkDurations, SeedanceByDefaultOverriddenPerModel) {
  auto up = upstream();
  EXPECT_EQ(ark.allowed_durations(up, request("p", "seedance")), (std::vector<int>{5, 10}));
  up.durations = {{"seedance", {3, 5, 8, 12}}};
  EXPECT_EQ(ark.allowed_durations(up, request("p", "seedance")), (std::vector<int>{3, 5, 8, 12}));
  EXPECT_EQ(ark.allowed_durations(up, request("p", "seedance-lite")), (std::vector<int>{5, 10}));
}

// --- create ---------------------------------------------------------------------------------

TEST(ArkCreate, TextToVideoIsATextPartWithTheOptionsAsFields) {
  auto req = request("A calico cat playing a piano on stage", "seedance");
  req.size = "1280x720";
  auto c = create_call(req, "5");
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/api/v3/contents/generations/tasks");
  EXPECT_TRUE(c.absolute_url.empty()) << "relative: Volcengine's and BytePlus's base URLs both work";
  EXPECT_TRUE(c.tag.empty());
  EXPECT_EQ(
      read_json(c),
      (json::object{
          {"model", "doubao-seedance-1-0-pro-250528"},
          {"content", json::array{json::object{{"type", "text"}, {"text", "A calico cat playing a piano on stage"}}}},
          {"ratio", "16:9"},
          {"duration", 5},
          {"resolution", "720p"}}))
      << c.body;
  EXPECT_TRUE(contains(c.body, "\"duration\":5")) << "an integer: " << c.body;
  EXPECT_FALSE(contains(c.body, "--ratio")) << "options are fields, not text flags";
}

TEST(ArkCreate, SizeBecomesRatioAndResolution) {
  struct row {
    const char *size, *ratio, *resolution;
  };
  for (auto r :
       {row{"720x1280", "9:16", "720p"}, row{"1280x720", "16:9", "720p"}, row{"1024x1792", "9:16", "1080p"},
        row{"1792x1024", "16:9", "1080p"}, row{"1080x1920", "9:16", "1080p"}, row{"1920x1080", "16:9", "1080p"}}) {
    SCOPED_TRACE(r.size);
    auto req = request("p", "seedance");
    req.size = r.size;
    auto o = read_json(create_call(req, "10"));
    EXPECT_EQ(o.at("ratio"), r.ratio);
    EXPECT_EQ(o.at("resolution"), r.resolution);
    EXPECT_EQ(o.at("duration"), 10);
  }
}

TEST(ArkCreate, WatermarkOnlyWhenAsked) {
  auto req = request("p", "seedance");
  EXPECT_FALSE(read_json(create_call(req)).contains("watermark"));
  req.watermark = false;
  EXPECT_EQ(read_json(create_call(req)).at("watermark"), false);
  req.watermark = true;
  EXPECT_EQ(read_json(create_call(req)).at("watermark"), true);
}

TEST(ArkCreate, AnImageIsAnImageUrlPartWithRoleFirstFrameAfterTheText) {
  auto req = request("The cat starts to play", "seedance-lite");
  req.input_reference = upload();
  auto o = read_json(create_call(req));
  EXPECT_EQ(o.at("model"), "doubao-seedance-1-0-lite-i2v-250428") << "the image model";
  EXPECT_EQ(o.at("content"), (json::array{json::object{{"type", "text"}, {"text", "The cat starts to play"}},
                                          json::object{{"type", "image_url"},
                                                       {"image_url", json::object{{"url", png_data_url}}},
                                                       {"role", "first_frame"}}}));

  req.input_reference = image_url("https://example.com/first frame.png?sig=a%2Fb");
  EXPECT_EQ(read_json(create_call(req)).at("content").at(1).at("image_url").at("url"),
            "https://example.com/first frame.png?sig=a%2Fb")
      << "a URL passes as given";

  // A single name serves text and image: Seedance pro takes both.
  auto pro = request("p", "seedance");
  pro.input_reference = image_url("https://example.com/a.png");
  auto p = read_json(create_call(pro));
  EXPECT_EQ(p.at("model"), "doubao-seedance-1-0-pro-250528");
  EXPECT_EQ(p.at("content").as_array().size(), 2u);

  // Text: the text model, and only the text part.
  auto text = read_json(create_call(request("p", "seedance-lite")));
  EXPECT_EQ(text.at("model"), "doubao-seedance-1-0-lite-t2v-250428");
  EXPECT_EQ(text.at("content").as_array().size(), 1u);
}

TEST(ArkCreate, NoImageModelMeansUnsupported) {
  auto up = upstream();
  up.image_models["seedance"] = "";  // models: {seedance: {text: doubao-seedance-1-0-pro-250528}}
  auto req = request("p", "seedance");
  req.input_reference = upload();
  expect_error(ark.create(req, up, "5"), errc::unsupported_value, "input_reference", {"ark-main", "seedance"});
}

TEST(ArkCreate, DefaultsFirstVendorParamsLast) {
  auto up = upstream();
  up.defaults = {{"camera_fixed", def_bool(false)}, {"seed", def_int(11)}, {"ratio", def_string("adaptive")}};
  auto req = request("p", "seedance");
  req.size = "1280x720";
  req.vendor_params = R"({"seed": 42, "generate_audio": true, "return_last_frame": true})";
  auto o = read_json(create_call(req, "5", up));
  EXPECT_EQ(o.at("camera_fixed"), false);
  EXPECT_EQ(o.at("seed"), 42) << "vendor_params win over defaults";
  EXPECT_EQ(o.at("generate_audio"), true);
  EXPECT_EQ(o.at("return_last_frame"), true);
  EXPECT_EQ(o.at("ratio"), "16:9") << "defaults never override what the request decides";
}

TEST(ArkCreate, VendorParamsMayNotSetModelContentOrCallback) {
  for (auto field : {"model", "content", "callback_url"}) {
    SCOPED_TRACE(field);
    auto req = request("p", "seedance");
    req.vendor_params = "{\""s + field + "\": \"x\"}";
    expect_error(ark.create(req, upstream(), "5"), errc::invalid_value, "vendor_params", {field});
  }
  auto req = request("p", "seedance");
  req.vendor_params = "[1]";
  expect_error(ark.create(req, upstream(), "5"), errc::invalid_value, "vendor_params", {"JSON object"});
}

TEST(ArkCreate, CallbackUrlIsABodyField) {
  gateway_extras gw;
  auto o = read_json(create_call(request("p", "seedance"), "5", upstream(), gw.make()));
  EXPECT_EQ(o.at("callback_url"), json::value(gateway_extras::callback)) << "as given: a JSON string needs no encoding";
  EXPECT_EQ(*gw.tags, (std::vector<std::string>{""}));
  EXPECT_FALSE(read_json(create_call(request("p", "seedance"))).contains("callback_url")) << "no callback: no field";
}

TEST(ArkCreate, StoryboardsAreUnsupported) {
  auto req = request("p", "seedance");
  req.shots = std::vector<api::shot>{{"a cat", 5}, {"a dog", 5}};
  expect_error(ark.create(req, upstream(), "10"), errc::unsupported_value, "shots", {"ark-main"});
}

// --- read_created and errors ----------------------------------------------------------------------

TEST(ArkReadCreated, TheTaskId) {
  auto r = ark.read_created(upstream_call{}, 200, {}, created);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, task_id);
  EXPECT_EQ(r->status, "queued");
  for (auto body : {"{}", R"({"id": ""})", R"({"id": 42})", "[]", "<html>"}) {
    SCOPED_TRACE(body);
    expect_error(ark.read_created(upstream_call{}, 200, {}, body), errc::bad_upstream_response, "");
  }
}

TEST(ArkErrors, DocumentedCodesDecide) {
  auto cases = {
      ark_case(401, "AuthenticationError", "The API key or AK/SK in the request is missing or invalid.",
               errc::upstream_auth),
      ark_case(403, "AccountOverdueError", "The request failed because your account has an overdue balance.",
               errc::upstream_out_of_credit),
      ark_case(403, "AccessDenied", "You do not have access to the requested resource.", errc::upstream_auth),
      ark_case(429, "RateLimitExceeded.EndpointRPMExceeded", "The Requests Per Minute (RPM) limit has been exceeded.",
               errc::upstream_rate_limited),
      ark_case(429, "QuotaExceeded", "The request has exceeded the quota.", errc::upstream_rate_limited),
      ark_case(400, "InputTextSensitiveContentDetected", "The input text may contain sensitive information.",
               errc::upstream_rejected),
      ark_case(400, "InvalidParameter", "A parameter specified in the request is not valid: duration.",
               errc::upstream_rejected),
      ark_case(404, "InvalidEndpointOrModel.NotFound", "The model or endpoint doubao-x does not exist.",
               errc::not_found),
      ark_case(500, "InternalServiceError", "The service encountered an unexpected internal error.",
               errc::upstream_unavailable),
  };
  expect_answers_classified(ark, cases);

  // A rate limit says when to come back.
  auto limited = ark.read_created(upstream_call{}, 429, {{"Retry-After", "20"}},
                                  ark_error(429, "RateLimitExceeded.EndpointTPMExceeded", "TPM exceeded."));
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().retry_after_s, 20);

  // An overdue account is the key's, even when the prompt talks about balance.
  auto overdue = ark.read_created(upstream_call{}, 403, {},
                                  ark_error(403, "AccountOverdueError", "Your account has an overdue balance."));
  ASSERT_TRUE(overdue.has_error());
  EXPECT_EQ(without_echo(overdue.error(), "A gymnast keeps her balance on the beam").code,
            errc::upstream_out_of_credit);

  auto looks_ok = ark.read_created(upstream_call{}, 503, {}, created);
  ASSERT_TRUE(looks_ok.has_error()) << "an HTTP error is never a task";
  EXPECT_EQ(looks_ok.error().code, errc::upstream_unavailable);
}

// --- status -----------------------------------------------------------------------------------

TEST(ArkStatus, GetTheTaskByIdBothHosts) {
  auto c = ark.status(std::string(task_id));
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/api/v3/contents/generations/tasks/cgt-20250331175019-68d9t");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_TRUE(c.body.empty());
  EXPECT_EQ(ark.status("a/b?c").path, "/api/v3/contents/generations/tasks/a%2Fb%3Fc");
}

TEST(ArkStatus, EveryDocumentedWord) {
  expect_status_words([](std::string_view w) { return ark.read_status(200, {}, task(w)); }, {{"queued", "queued"},
                                                                                             {"running", "in_progress"},
                                                                                             {"cancelled", "failed"},
                                                                                             {"succeeded", "completed"},
                                                                                             {"failed", "failed"},
                                                                                             {"expired", "failed"}});
  auto odd = ark.read_status(200, {}, task("warming"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "warming");
}

TEST(ArkStatus, SucceededCarriesTheVideoUrl) {
  auto r = ark.read_status(200, {}, task("succeeded"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, task_id);
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, video_url);
  EXPECT_EQ(r->created_at, 1743414619);
  EXPECT_FALSE(r->fetch_result) << "the URL is in the status answer";

  auto no_url = parse(task("succeeded"));
  no_url["content"] = json::object{};
  expect_error(ark.read_status(200, {}, json::serialize(no_url)), errc::bad_upstream_response, "",
               {"content.video_url"});
  expect_error(ark.read_status(200, {}, R"({"status":"running"})"), errc::bad_upstream_response, "", {"id"});
}

TEST(ArkStatus, FailedExpiredAndCancelledSayWhy) {
  auto f = ark.read_status(200, {}, task("failed"));
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->error_code, "video_generation_failed");
  EXPECT_TRUE(contains(f->error_message.value_or(""), "output video may contain sensitive information"))
      << *f->error_message;

  auto e = ark.read_status(200, {}, task("expired"));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->error_code, "expired");
  EXPECT_TRUE(contains(e->error_message.value_or(""), "expired")) << "a reason even when Ark gives none";

  auto c = ark.read_status(200, {}, task("cancelled"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->error_code, "cancelled");
}

// --- delete, content, remix, callbacks ----------------------------------------------------------

TEST(ArkRemove, DeleteTheTask) {
  auto c = ark.remove(std::string(task_id));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->method, "DELETE");
  EXPECT_EQ(c->path, "/api/v3/contents/generations/tasks/cgt-20250331175019-68d9t");
  EXPECT_TRUE(c->body.empty());
}

TEST(ArkContent, TheVideoUrlWithoutTheKey) {
  auto up = upstream();
  auto c = ark.content(std::string(task_id), content_variant::video, std::string(video_url), up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, video_url);
  expect_error(ark.content(std::string(task_id), content_variant::thumbnail, std::string(video_url), up),
               errc::not_found, "variant", {"ark-main"});
  expect_error(ark.content(std::string(task_id), content_variant::video, std::nullopt, up), errc::bad_upstream_response,
               "", {"content.video_url"});
  expect_error(ark.remix(std::string(task_id), "again", up), errc::unsupported_value, "video_id", {"ark-main"});
}

TEST(ArkCallback, TheTaskObjectNamesTheJob) {
  EXPECT_EQ(ark.callback_job_id(task("succeeded"), ""), task_id);
  EXPECT_EQ(ark.callback_job_id(task("failed"), ""), task_id) << "a failure is polled too";
  EXPECT_EQ(ark.callback_job_id(R"({"status":"succeeded"})", ""), std::nullopt);
  EXPECT_EQ(ark.callback_job_id("garbage", ""), std::nullopt);
}

TEST(ArkIds, RoundTripFromCreateToStatusDeleteAndCallback) {
  gateway_extras gw;
  auto sent = create_call(request("p", "seedance"), "5", upstream(), gw.make());
  auto made = ark.read_created(sent, 200, {}, created);
  ASSERT_TRUE(made.has_value());
  ASSERT_EQ(gw.tags->size(), 1u);
  EXPECT_EQ(ark.callback_job_id(task("succeeded"), gw.tags->front()), made->upstream_id);
  EXPECT_TRUE(ark.status(made->upstream_id).path.ends_with("/tasks/" + std::string(task_id)));
  EXPECT_EQ(ark.remove(made->upstream_id)->path, ark.status(made->upstream_id).path);
}

}  // namespace
}  // namespace videogate::dialects
