// The dashscope dialect (Alibaba Cloud Model Studio, Wan) against bodies shaped like the
// DashScope docs (alibabacloud.com/help/en/model-studio: "Wan text-to-video API reference",
// "image-to-video (first frame)", "Status codes"): an asynchronous create that needs
// `X-DashScope-Async: enable`, text-to-video `parameters.size` ("1280*720") and image-to-video
// `parameters.resolution` ("720P") with `input.img_url`, the task query `GET /api/v1/tasks/{id}`
// (`output.task_status`, `output.video_url`; an unknown task is 200 `UNKNOWN`), and errors as
// `{"code","message","request_id"}`.
#include "videogate/dialects/dashscope.hpp"

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

constexpr std::string_view task_id = "0385dc79-5ff8-4d82-bcb6-4e8a1c2b3d4e";

// The create answer (the docs' example).
constexpr std::string_view created = R"({
  "output": {"task_status": "PENDING", "task_id": "0385dc79-5ff8-4d82-bcb6-4e8a1c2b3d4e"},
  "request_id": "4909100c-7b5a-9f92-bfe5-5b2c1d3e4f5a"
})";

constexpr std::string_view video_url =
    "https://dashscope-result-sh.oss-cn-shanghai.aliyuncs.com/1d/a8/20250929/5f4e3d2c/"
    "0385dc79.mp4?Expires=1759299819&Signature=abc";

// The task query (the docs' examples: a running, a finished and a failed task).
std::string task(std::string_view status) {
  json::object out{{"task_id", task_id},
                   {"task_status", status},
                   {"submit_time", "2025-09-29 14:18:52.331"},
                   {"scheduled_time", "2025-09-29 14:18:59.290"}};
  json::object o{{"request_id", "caa62a12-8841-41a6-8af2-9a8b7c6d5e4f"}};
  if (status == "SUCCEEDED") {
    out["end_time"] = "2025-09-29 14:23:39.407";
    out["orig_prompt"] = "A calico cat playing a piano on stage";
    out["video_url"] = video_url;
    o["usage"] = json::object{
        {"duration", 5}, {"size", "1280*720"}, {"output_video_duration", 5}, {"video_count", 1}, {"SR", 720}};
  }
  if (status == "FAILED") {
    out["code"] = "InvalidParameter";
    out["message"] = "The size is not match the model's supported sizes";
  }
  o["output"] = std::move(out);
  return json::serialize(o);
}

std::string ds_error(std::string_view code, std::string_view message) {
  return json::serialize(
      json::object{{"code", code}, {"message", message}, {"request_id", "a1b2c3d4-0000-1111-2222-333344445555"}});
}

const dashscope_dialect dashscope{};
constexpr std::string_view key = "sk-4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c";

config::upstream_config upstream() {
  return task_upstream(config::dialect_kind::dashscope, "wan-main", std::string(key), {{"wan", "wan2.5-t2v-preview"}},
                       {{"wan", "wan2.5-i2v-preview"}});
}

upstream_call create_call(const api::create_request& req, const std::string& seconds = "5",
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  return create_ok(dashscope, req, up, seconds, extras);
}

// --- traits and durations ---------------------------------------------------------------------

TEST(DashscopeDialect, KindAuthorizationAndTraits) {
  expect_made_for(dashscope, config::dialect_kind::dashscope);
  EXPECT_EQ(dashscope.authorization("k"), "Bearer k");
  EXPECT_FALSE(dashscope.takes_callbacks()) << "DashScope has no callback field";
  EXPECT_FALSE(dashscope.needs_image_url()) << "img_url takes a data URL";
}

TEST(DashscopeDurations, WanByDefault) {
  auto up = upstream();
  EXPECT_EQ(dashscope.allowed_durations(up, request("p", "wan")), (std::vector<int>{5, 10}));
  up.durations = {{"wan", {5}}};
  EXPECT_EQ(dashscope.allowed_durations(up, request("p", "wan")), (std::vector<int>{5}));
}

// --- create ---------------------------------------------------------------------------------

TEST(DashscopeCreate, TextToVideoIsAsynchronousWithASize) {
  auto req = request("A calico cat playing a piano on stage", "wan");
  req.size = "1280x720";
  gateway_extras gw;
  auto c = create_call(req, "5", upstream(), gw.make());
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/api/v1/services/aigc/video-generation/video-synthesis");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_EQ(http::find_header(c.headers, "x-dashscope-async"), "enable") << "a create without it is refused";
  EXPECT_EQ(read_json(c), (json::object{{"model", "wan2.5-t2v-preview"},
                                        {"input", json::object{{"prompt", "A calico cat playing a piano on stage"}}},
                                        {"parameters", json::object{{"size", "1280*720"}, {"duration", 5}}}}))
      << c.body;
  EXPECT_TRUE(gw.tags->empty()) << "no callback is asked for";
  EXPECT_FALSE(contains(c.body, "callback")) << c.body;
}

TEST(DashscopeCreate, EverySizeIsOneWanTakes) {
  // Wan's text-to-video sizes are its own list ("1280*720", "1920*1080", …): 1792x1024 is a
  // 1080P landscape request, sent as Wan's 1080P landscape size.
  struct row {
    const char *size, *wan;
  };
  for (auto r : {row{"1280x720", "1280*720"}, row{"720x1280", "720*1280"}, row{"1920x1080", "1920*1080"},
                 row{"1080x1920", "1080*1920"}, row{"1792x1024", "1920*1080"}, row{"1024x1792", "1080*1920"}}) {
    SCOPED_TRACE(r.size);
    auto req = request("p", "wan");
    req.size = r.size;
    auto p = read_json(create_call(req)).at("parameters").as_object();
    EXPECT_EQ(p.at("size"), r.wan);
    EXPECT_FALSE(p.contains("resolution")) << "text-to-video takes no resolution tier";
  }
}

TEST(DashscopeCreate, ImageToVideoTakesImgUrlAndAResolutionTier) {
  auto req = request("The cat starts to play", "wan");
  req.size = "1280x720";
  req.input_reference = upload();
  auto c = create_call(req, "10");
  EXPECT_EQ(http::find_header(c.headers, "x-dashscope-async"), "enable");
  EXPECT_EQ(read_json(c),
            (json::object{{"model", "wan2.5-i2v-preview"},
                          {"input", json::object{{"prompt", "The cat starts to play"}, {"img_url", png_data_url}}},
                          {"parameters", json::object{{"resolution", "720P"}, {"duration", 10}}}}))
      << c.body;

  req.size = "1080x1920";
  req.input_reference = image_url("https://example.com/cat.png");
  auto o = read_json(create_call(req));
  EXPECT_EQ(o.at("input").at("img_url"), "https://example.com/cat.png");
  EXPECT_EQ(o.at("parameters"), (json::object{{"resolution", "1080P"}, {"duration", 5}})) << "no size with an image";

  auto up = upstream();
  up.image_models["wan"] = "";
  expect_error(dashscope.create(req, up, "5"), errc::unsupported_value, "input_reference", {"wan-main", "wan"});
}

TEST(DashscopeCreate, VendorParamsGoIntoInputAndTheirParametersIntoParameters) {
  auto up = upstream();
  up.defaults = {{"prompt_extend", def_bool(true)}, {"watermark", def_bool(false)}, {"size", def_string("832*480")}};
  auto req = request("p", "wan");
  req.size = "1280x720";
  req.vendor_params =
      R"({"negative_prompt": "blurry, low quality", "audio_url": "https://example.com/a.mp3",
          "parameters": {"seed": 12345, "prompt_extend": false, "audio": true}})";
  auto o = read_json(create_call(req, "5", up));
  EXPECT_EQ(o.at("input"), (json::object{{"prompt", "p"},
                                         {"negative_prompt", "blurry, low quality"},
                                         {"audio_url", "https://example.com/a.mp3"}}))
      << json::serialize(o);
  EXPECT_EQ(o.at("parameters"), (json::object{{"size", "1280*720"},
                                              {"duration", 5},
                                              {"prompt_extend", false},
                                              {"watermark", false},
                                              {"seed", 12345},
                                              {"audio", true}}))
      << "defaults in parameters, never over the request's size; vendor_params' parameters merged in last: "
      << json::serialize(o);
}

TEST(DashscopeCreate, VendorParamsMayNotSetModelInputPromptOrImage) {
  for (auto field : {"model", "input", "prompt", "img_url"}) {
    SCOPED_TRACE(field);
    auto req = request("p", "wan");
    req.vendor_params = "{\""s + field + "\": \"x\"}";
    expect_error(dashscope.create(req, upstream(), "5"), errc::invalid_value, "vendor_params", {field});
  }
  auto shots = request("p", "wan");
  shots.shots = std::vector<api::shot>{{"a cat", 5}, {"a dog", 5}};
  expect_error(dashscope.create(shots, upstream(), "10"), errc::unsupported_value, "shots", {"wan-main"});
}

// --- read_created and errors ----------------------------------------------------------------------

TEST(DashscopeReadCreated, TheTaskIdUnderOutput) {
  auto r = dashscope.read_created(upstream_call{}, 200, {}, created);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, task_id);
  EXPECT_EQ(r->status, "queued");
  for (auto body : {R"({"output":{"task_status":"PENDING"},"request_id":"x"})", R"({"task_id":"x"})", "[]", "<html>"}) {
    SCOPED_TRACE(body);
    expect_error(dashscope.read_created(upstream_call{}, 200, {}, body), errc::bad_upstream_response, "");
  }
}

TEST(DashscopeErrors, DocumentedCodesDecide) {
  auto cases = {
      error_case{400, ds_error("Arrearage", "Access denied, please make sure your account is in good standing."),
                 errc::upstream_out_of_credit},
      error_case{401, ds_error("InvalidApiKey", "Invalid API-key provided."), errc::upstream_auth},
      error_case{403, ds_error("AccessDenied", "current user api does not support synchronous calls"),
                 errc::upstream_auth},
      error_case{429, ds_error("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
                 errc::upstream_rate_limited},
      error_case{429,
                 ds_error("Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit."),
                 errc::upstream_rate_limited},
      error_case{429, ds_error("Throttling", "Requests throttling triggered."), errc::upstream_rate_limited},
      error_case{400, ds_error("InvalidParameter", "The size is not match the model's supported sizes"),
                 errc::upstream_rejected},
      error_case{400, ds_error("DataInspectionFailed", "Input data may contain inappropriate content."),
                 errc::upstream_rejected},
      error_case{500, ds_error("InternalError", "An internal error has occured, please try again later."),
                 errc::upstream_unavailable},
  };
  expect_answers_classified(dashscope, cases);

  // Arrearage is HTTP 400: the code, not the status, says the account is out of money, and a
  // prompt about a balance changes nothing.
  auto dry =
      dashscope.read_created(upstream_call{}, 400, {}, ds_error("Arrearage", "Access denied, account in arrears."));
  ASSERT_TRUE(dry.has_error());
  EXPECT_EQ(without_echo(dry.error(), "A gymnast keeps her balance on the beam").code, errc::upstream_out_of_credit);

  auto limited = dashscope.read_created(upstream_call{}, 429, {{"Retry-After", "7"}},
                                        ds_error("Throttling.RateQuota", "Requests rate limit exceeded"));
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().retry_after_s, 7);

  auto looks_ok = dashscope.read_created(upstream_call{}, 503, {}, created);
  ASSERT_TRUE(looks_ok.has_error()) << "an HTTP error is never a task";
}

// --- status -----------------------------------------------------------------------------------

TEST(DashscopeStatus, TheTasksApi) {
  auto c = dashscope.status(std::string(task_id));
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/api/v1/tasks/0385dc79-5ff8-4d82-bcb6-4e8a1c2b3d4e");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_TRUE(http::find_header(c.headers, "x-dashscope-async").empty()) << "only the create is asynchronous";
  EXPECT_EQ(dashscope.status("a/b").path, "/api/v1/tasks/a%2Fb");
  EXPECT_EQ(dashscope.remove(std::string(task_id)), std::nullopt) << "no delete call";
}

TEST(DashscopeStatus, EveryDocumentedWord) {
  expect_status_words([](std::string_view w) { return dashscope.read_status(200, {}, task(w)); },
                      {{"PENDING", "queued"},
                       {"RUNNING", "in_progress"},
                       {"SUCCEEDED", "completed"},
                       {"FAILED", "failed"},
                       {"CANCELED", "failed"}});
  auto odd = dashscope.read_status(200, {}, task("SUSPENDED"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "SUSPENDED");
}

TEST(DashscopeStatus, UnknownIsATaskDashscopeDoesNotKnow) {
  expect_error(dashscope.read_status(200, {}, task("UNKNOWN")), errc::not_found, "", {"UNKNOWN"});
}

TEST(DashscopeStatus, SucceededCarriesTheVideoUrl) {
  auto r = dashscope.read_status(200, {}, task("SUCCEEDED"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, task_id);
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, video_url);
  EXPECT_FALSE(r->fetch_result);

  auto no_url = parse(task("SUCCEEDED"));
  no_url["output"].as_object().erase("video_url");
  expect_error(dashscope.read_status(200, {}, json::serialize(no_url)), errc::bad_upstream_response, "",
               {"output.video_url"});
  expect_error(dashscope.read_status(200, {}, R"({"request_id":"x"})"), errc::bad_upstream_response, "", {"output"});
}

TEST(DashscopeStatus, FailedSaysWhyWithItsCode) {
  auto f = dashscope.read_status(200, {}, task("FAILED"));
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->error_code, "video_generation_failed");
  EXPECT_TRUE(contains(f->error_message.value_or(""), "The size is not match")) << *f->error_message;
  EXPECT_TRUE(contains(f->error_message.value_or(""), "InvalidParameter")) << *f->error_message;

  auto c = dashscope.read_status(200, {}, task("CANCELED"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->error_code, "cancelled");
  EXPECT_FALSE(c->error_message.value_or("").empty()) << "a reason even when DashScope gives none";
}

TEST(DashscopeContent, TheVideoUrlWithoutTheKey) {
  auto up = upstream();
  auto c = dashscope.content(std::string(task_id), content_variant::video, std::string(video_url), up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, video_url);
  expect_error(dashscope.content(std::string(task_id), content_variant::thumbnail, std::string(video_url), up),
               errc::not_found, "variant", {"wan-main"});
  expect_error(dashscope.remix(std::string(task_id), "again", up), errc::unsupported_value, "video_id", {"wan-main"});
  EXPECT_EQ(dashscope.callback_job_id(task("SUCCEEDED"), ""), std::nullopt) << "no callbacks";
}

TEST(DashscopeIds, RoundTripFromCreateToStatus) {
  auto made = dashscope.read_created(create_call(request("p", "wan")), 200, {}, created);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(dashscope.status(made->upstream_id).path, "/api/v1/tasks/" + std::string(task_id));
  auto st = dashscope.read_status(200, {}, task("RUNNING"));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->upstream_id, made->upstream_id);
}

}  // namespace
}  // namespace videogate::dialects
