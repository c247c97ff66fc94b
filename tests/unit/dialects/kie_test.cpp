// The kie dialect (kie.ai) against bodies shaped like kie's docs: the market jobs API
// (docs.kie.ai/market/common/get-task-detail: recordInfo with `resultJson` a JSON string, the
// code table; the Sora 2 and Kling createTask pages), the Veo 3 API
// (docs.kie.ai/veo3-api: generate, record-info with `successFlag`, callbacks), and errors that
// come as HTTP 200 with `code` != 200.
#include "videogate/dialects/kie.hpp"

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

// createTask's answer (the Kling page's example).
constexpr std::string_view created = R"({"code": 200, "msg": "success", "data": {"taskId": "task_kling-2.6_1765182425861"}})";
// generate's answer (Veo 3).
constexpr std::string_view veo_created = R"({"code": 200, "msg": "success", "data": {"taskId": "veo_task_abcdef123456"}})";

// recordInfo (get-task-detail's example, a video task): `resultJson` is a JSON *string*.
std::string record(std::string_view state, std::string_view result_json = "", std::string_view fail_code = "",
                   std::string_view fail_msg = "") {
  json::object data{{"taskId", "task_12345678"},
                    {"model", "sora-2-text-to-video"},
                    {"state", state},
                    {"param", R"({"model":"sora-2-text-to-video","callBackUrl":"https://your-domain.com/api/callback","input":{"prompt":"Cinematic portrait..."}})"},
                    {"resultJson", result_json},
                    {"failCode", fail_code},
                    {"failMsg", fail_msg},
                    {"completeTime", 1698765432000},
                    {"createTime", 1698765400000},
                    {"updateTime", 1698765432000}};
  return json::serialize(json::object{{"code", 200}, {"message", "success"}, {"data", data}});
}
constexpr std::string_view result_json = R"({"resultUrls":["https://tempfile.aiquickdraw.com/v/generated-content.mp4"]})";

// record-info (Veo 3): `successFlag` 0 generating, 1 success, 2 failed, 3 generation failed.
std::string veo_record(int flag, std::string_view error_message = "") {
  json::value response = nullptr;
  if (flag == 1)
    response = json::object{{"taskId", "veo_task_abcdef123456"},
                            {"resultUrls", json::array{"http://example.com/video1.mp4"}},
                            {"originUrls", json::array{"http://example.com/original_video1.mp4"}},
                            {"resolution", "1080p"}};
  json::object data{{"taskId", "veo_task_abcdef123456"},
                    {"paramJson", R"({"prompt":"A futuristic city with flying cars at sunset.","waterMark":"KieAI"})"},
                    {"completeTime", flag == 0 ? json::value(nullptr) : json::value("2025-06-06 10:30:00")},
                    {"response", response},
                    {"successFlag", flag},
                    {"errorCode", flag >= 2 ? json::value(501) : json::value(nullptr)},
                    {"errorMessage", error_message},
                    {"createTime", "2025-06-06 10:25:00"},
                    {"fallbackFlag", false}};
  return json::serialize(json::object{{"code", 200}, {"msg", "success"}, {"data", data}});
}

const kie_dialect kie{};
constexpr std::string_view key = "kie-0123456789abcdef0123456789abcdef";

config::upstream_config upstream() {
  return task_upstream(config::dialect_kind::kie, "kie-main", std::string(key),
                       {{"sora-2", "sora-2-text-to-video"},
                        {"sora-2-pro", "sora-2-pro-text-to-video"},
                        {"veo-3", "veo3_fast"},
                        {"kling", "kling-2.6/text-to-video"}},
                       {{"sora-2", "sora-2-image-to-video"},
                        {"sora-2-pro", "sora-2-pro-image-to-video"},
                        {"kling", "kling-2.6/image-to-video"}});
}

constexpr std::string_view served = "https://gw.example.com/media/Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFy";

upstream_call create_call(const api::create_request& req, const std::string& seconds,
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  auto c = kie.create(req, up, seconds, extras);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  if (!c) return {};
  expect_no_key(*c, key);
  return *c;
}

// --- traits and durations ---------------------------------------------------------------------

TEST(KieDialect, KindAuthorizationAndTraits) {
  auto d = make_dialect(config::dialect_kind::kie);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(dynamic_cast<kie_dialect*>(d.get()), nullptr);
  EXPECT_EQ(kie.kind(), config::dialect_kind::kie);
  EXPECT_EQ(kie.authorization("k"), "Bearer k");
  EXPECT_TRUE(kie.takes_callbacks());
  EXPECT_TRUE(kie.needs_image_url()) << "kie takes images by URL only";
}

TEST(KieDurations, DefaultsPerModelFamily) {
  auto up = upstream();
  EXPECT_EQ(kie.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{10, 15}));
  EXPECT_EQ(kie.allowed_durations(up, request("p", "sora-2-pro")), (std::vector<int>{10, 15}));
  EXPECT_EQ(kie.allowed_durations(up, request("p", "veo-3")), (std::vector<int>{8}));
  EXPECT_EQ(kie.allowed_durations(up, request("p", "kling")), (std::vector<int>{5, 10}));
  up.durations = {{"sora-2", {10}}};
  EXPECT_EQ(kie.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{10}));
}

// --- create: market models ----------------------------------------------------------------------

TEST(KieCreate, Sora2MarketTaskWithNFramesAsTextAndRemoveWatermark) {
  auto req = request("A calico cat playing a piano on stage");
  req.size = "1280x720";
  gateway_extras gw;
  auto c = create_call(req, "10", upstream(), gw.make());
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/api/v1/jobs/createTask");
  EXPECT_TRUE(c.tag.empty());
  // The Sora 2 createTask page's body.
  EXPECT_EQ(read_json(c), (json::object{{"model", "sora-2-text-to-video"},
                                        {"callBackUrl", gateway_extras::callback},
                                        {"input", json::object{{"prompt", "A calico cat playing a piano on stage"},
                                                               {"aspect_ratio", "landscape"},
                                                               {"n_frames", "10"},
                                                               {"remove_watermark", true}}}}))
      << c.body;
  EXPECT_EQ(*gw.tags, (std::vector<std::string>{""}));
}

TEST(KieCreate, WatermarkAndOrientation) {
  auto req = request();
  req.watermark = true;
  auto o = read_json(create_call(req, "15")).at("input").as_object();
  EXPECT_EQ(o.at("remove_watermark"), false);
  EXPECT_EQ(o.at("n_frames"), "15");
  EXPECT_EQ(o.at("aspect_ratio"), "portrait");
  req.watermark = false;
  EXPECT_EQ(read_json(create_call(req, "10")).at("input").at("remove_watermark"), true);
  EXPECT_FALSE(read_json(create_call(request(), "10")).contains("callBackUrl")) << "no callback: no field";
}

TEST(KieCreate, OtherMarketModelsTakeRatioAndDurationText) {
  auto req = request("p", "kling");
  req.size = "1920x1080";
  auto o = read_json(create_call(req, "5"));
  EXPECT_EQ(o.at("model"), "kling-2.6/text-to-video");
  EXPECT_EQ(o.at("input"), (json::object{{"prompt", "p"}, {"aspect_ratio", "16:9"}, {"duration", "5"}}))
      << json::serialize(o);
}

TEST(KieCreate, AnUploadNeedsTheGatewaysPublicUrl) {
  auto req = request();
  req.input_reference = upload();
  expect_error(kie.create(req, upstream(), "10"), errc::unsupported_value, "input_reference",
               {"public_base_url", "kie-main", "URL"});
  req.input_reference = image_url(png_data_url);
  expect_error(kie.create(req, upstream(), "10"), errc::unsupported_value, "input_reference", {"public_base_url"});

  // Served by the gateway: kie gets that URL, the image model, and never the bytes.
  req.input_reference = upload();
  auto c = create_call(req, "10", upstream(), gateway_extras{}.make(std::string(served)));
  auto o = read_json(c);
  EXPECT_EQ(o.at("model"), "sora-2-image-to-video");
  EXPECT_EQ(o.at("input").at("image_urls"), (json::array{json::string(served)}));
  EXPECT_FALSE(contains(c.body, "base64")) << c.body;
}

TEST(KieCreate, AnImageUrlPassesAsGiven) {
  auto req = request("p", "kling");
  req.input_reference = image_url("https://example.com/cat.png");
  auto o = read_json(create_call(req, "5"));
  EXPECT_EQ(o.at("model"), "kling-2.6/image-to-video");
  EXPECT_EQ(o.at("input").at("image_urls"), (json::array{"https://example.com/cat.png"}));
  // Even when the gateway serves the upload of another request, a URL stays the client's.
  EXPECT_EQ(read_json(create_call(req, "5", upstream(), gateway_extras{}.make(std::string(served))))
                .at("input")
                .at("image_urls"),
            (json::array{"https://example.com/cat.png"}));
}

TEST(KieCreate, NoImageModelMeansUnsupported) {
  auto up = upstream();
  up.image_models["sora-2"] = "";  // models: {sora-2: {text: sora-2-text-to-video}}
  auto req = request();
  req.input_reference = image_url("https://example.com/cat.png");
  expect_error(kie.create(req, up, "10"), errc::unsupported_value, "input_reference", {"kie-main", "sora-2"});
}

TEST(KieCreate, VendorParamsMergeIntoInputAndMayNotSetModelPromptImageOrCallback) {
  auto up = upstream();
  up.defaults = {{"upload_method", def_string("s3")}};
  auto req = request();
  req.vendor_params = R"({"character_id_list": ["c1"], "remove_watermark": false, "upload_method": "oss"})";
  auto o = read_json(create_call(req, "10", up)).at("input").as_object();
  EXPECT_EQ(o.at("character_id_list"), (json::array{"c1"}));
  EXPECT_EQ(o.at("remove_watermark"), false);
  EXPECT_EQ(o.at("upload_method"), "oss");
  for (auto field : {"model", "prompt", "image_urls", "callBackUrl"}) {
    SCOPED_TRACE(field);
    auto bad = request();
    bad.vendor_params = "{\""s + field + "\": \"x\"}";
    expect_error(kie.create(bad, upstream(), "10"), errc::invalid_value, "vendor_params", {field});
  }
}

// --- create: Veo 3 ----------------------------------------------------------------------------------

TEST(KieCreate, Veo3GoesToItsOwnApiWithAFlatBody) {
  auto req = request("A futuristic city with flying cars at sunset.", "veo-3");
  req.size = "1280x720";
  gateway_extras gw;
  auto c = create_call(req, "8", upstream(), gw.make());
  EXPECT_EQ(c.path, "/api/v1/veo/generate");
  EXPECT_EQ(c.tag, "veo");
  EXPECT_EQ(read_json(c), (json::object{{"prompt", "A futuristic city with flying cars at sunset."},
                                        {"model", "veo3_fast"},
                                        {"aspectRatio", "16:9"},
                                        {"callBackUrl", gateway_extras::callback}}))
      << c.body;
  EXPECT_EQ(*gw.tags, (std::vector<std::string>{"veo"})) << "the token says which API the task is on";

  req.input_reference = upload();
  auto img = read_json(create_call(req, "8", upstream(), gateway_extras{}.make(std::string(served))));
  EXPECT_EQ(img.at("imageUrls"), (json::array{json::string(served)}));
  EXPECT_EQ(img.at("model"), "veo3_fast") << "one Veo model for text and image";

  auto bad = request("p", "veo-3");
  bad.vendor_params = R"({"imageUrls": ["https://evil.example/x.png"]})";
  expect_error(kie.create(bad, upstream(), "8"), errc::invalid_value, "vendor_params", {"imageUrls"});
  bad.vendor_params = R"({"enableTranslation": false, "seeds": 12345})";
  auto merged = read_json(create_call(bad, "8"));
  EXPECT_EQ(merged.at("enableTranslation"), false);
  EXPECT_EQ(merged.at("seeds"), 12345);
}

// --- read_created --------------------------------------------------------------------------------

TEST(KieReadCreated, TaskIdAndTheVeoPrefix) {
  auto market = kie.read_created(upstream_call{}, 200, {}, created);
  ASSERT_TRUE(market.has_value()) << market.error().message;
  EXPECT_EQ(market->upstream_id, "task_kling-2.6_1765182425861");
  EXPECT_EQ(market->status, "queued");

  upstream_call veo;
  veo.tag = "veo";
  auto v = kie.read_created(veo, 200, {}, veo_created);
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(v->upstream_id, "veo:veo_task_abcdef123456");

  expect_error(kie.read_created(upstream_call{}, 200, {}, R"({"code":200,"msg":"success","data":{}})"),
               errc::bad_upstream_response, "");
  expect_error(kie.read_created(upstream_call{}, 200, {}, "<html>"), errc::bad_upstream_response, "");
}

// Every answer's `code` is read: HTTP 200 with a code from kie's table is an error.
TEST(KieErrors, CodesInHttp200AnswersAreClassified) {
  struct row {
    int code;
    const char* msg;
    errc want;
  };
  for (auto r : {row{401, "You do not have access permissions", errc::upstream_auth},
                 row{402, "The current credits are insufficient. Please top up.", errc::upstream_out_of_credit},
                 row{404, "Task not found", errc::not_found},
                 row{422, "n_frames must be one of 10, 15", errc::upstream_rejected},
                 row{429, "The call frequency is too high. Please try again later.", errc::upstream_rate_limited},
                 row{455, "Service unavailable: the system is under maintenance", errc::upstream_unavailable},
                 row{500, "Server error", errc::upstream_unavailable},
                 row{501, "Generation failed", errc::upstream_unavailable},
                 row{505, "The feature is disabled", errc::upstream_rejected}}) {
    SCOPED_TRACE(r.code);
    auto body = json::serialize(json::object{{"code", r.code}, {"msg", r.msg}, {"data", nullptr}});
    auto c = kie.read_created(upstream_call{}, 200, {}, body);
    ASSERT_TRUE(c.has_error()) << "HTTP 200 is not success when code says otherwise";
    EXPECT_EQ(c.error().code, r.want) << c.error().message;
    EXPECT_TRUE(contains(c.error().message, r.msg) || r.code == 404) << c.error().message;
    EXPECT_FALSE(c.error().after_send) << "kie's own answer: it did not take the job, nothing is in doubt";
    auto s = kie.read_status(200, {}, body);
    ASSERT_TRUE(s.has_error());
    EXPECT_EQ(s.error().code, r.want);
  }
  auto limited = kie.read_created(upstream_call{}, 200, {}, R"({"code":429,"msg":"The call frequency is too high."})");
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().retry_after_s, std::nullopt) << "kie says no Retry-After";
  auto as_text = kie.read_created(upstream_call{}, 200, {}, R"({"code":"402","msg":"credits insufficient"})");
  ASSERT_TRUE(as_text.has_error());
  EXPECT_EQ(as_text.error().code, errc::upstream_out_of_credit) << "a code sent as a string";
}

TEST(KieErrors, RealHttpStatusesToo) {
  auto down = kie.read_created(upstream_call{}, 500, {}, R"({"code":500,"msg":"Server error"})");
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);
  auto html = kie.read_status(502, {}, "<html><body><h1>502 Bad Gateway</h1></body></html>");
  ASSERT_TRUE(html.has_error());
  EXPECT_EQ(html.error().code, errc::upstream_unavailable);
  EXPECT_TRUE(html.error().after_send) << "a proxy's 502: the answer was lost, not refused";
  auto looks_ok = kie.read_created(upstream_call{}, 503, {}, created);
  ASSERT_TRUE(looks_ok.has_error()) << "an HTTP error is never a task";
}

// --- status: market --------------------------------------------------------------------------------

TEST(KieStatus, RecordInfoForMarketTasksVeoRecordInfoForVeo) {
  auto m = kie.status("task_kling-2.6_1765182425861");
  EXPECT_EQ(m.method, "GET");
  EXPECT_EQ(m.path, "/api/v1/jobs/recordInfo?taskId=task_kling-2.6_1765182425861");
  auto v = kie.status("veo:veo_task_abcdef123456");
  EXPECT_EQ(v.path, "/api/v1/veo/record-info?taskId=veo_task_abcdef123456");
  EXPECT_EQ(kie.status("a&b=c").path, "/api/v1/jobs/recordInfo?taskId=a%26b%3Dc");
  EXPECT_EQ(kie.remove("task_1"), std::nullopt) << "kie has no cancel: the gateway just forgets";
}

TEST(KieStatus, EveryDocumentedState) {
  expect_status_words([](std::string_view w) { return kie.read_status(200, {}, record(w)); },
                      {{"waiting", "queued"}, {"queuing", "queued"}, {"generating", "in_progress"}});
  auto odd = kie.read_status(200, {}, record("uploading"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "uploading");
}

TEST(KieStatus, SuccessParsesTheResultJsonString) {
  auto r = kie.read_status(200, {}, record("success", result_json));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, "https://tempfile.aiquickdraw.com/v/generated-content.mp4");

  for (auto bad : {"", "{}", R"({"resultUrls":[]})", "not json", R"(["https://x/y.mp4"])"}) {
    SCOPED_TRACE(bad);
    expect_error(kie.read_status(200, {}, record("success", bad)), errc::bad_upstream_response, "", {"resultJson"});
  }
  auto running = kie.read_status(200, {}, record("generating", result_json));
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->content_url, std::nullopt) << "read only on success";
}

TEST(KieStatus, FailCarriesFailMsgAndFailCode) {
  auto r = kie.read_status(200, {}, record("fail", "", "501", "The video could not be generated"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "failed");
  EXPECT_TRUE(r->error_code.has_value());
  EXPECT_TRUE(contains(r->error_message.value_or(""), "The video could not be generated")) << *r->error_message;
  EXPECT_TRUE(contains(r->error_message.value_or(""), "501")) << *r->error_message;

  auto silent = kie.read_status(200, {}, record("fail"));
  ASSERT_TRUE(silent.has_value());
  EXPECT_EQ(silent->status, "failed");
  EXPECT_FALSE(silent->error_message.value_or("").empty()) << "a reason even when kie gives none";
}

TEST(KieStatus, NoDataIsAnUnknownTask) {
  expect_error(kie.read_status(200, {}, R"({"code":200,"msg":"success","data":null})"), errc::not_found, "");
}

// --- status: Veo 3 ----------------------------------------------------------------------------------

TEST(KieVeoStatus, SuccessFlag) {
  auto running = kie.read_status(200, {}, veo_record(0));
  ASSERT_TRUE(running.has_value()) << running.error().message;
  EXPECT_EQ(running->status, "in_progress");

  auto done = kie.read_status(200, {}, veo_record(1));
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(done->content_url, "http://example.com/video1.mp4") << "already parsed: response.resultUrls";

  for (int flag : {2, 3}) {
    SCOPED_TRACE(flag);
    auto f = kie.read_status(200, {}, veo_record(flag, "Your prompt was flagged by the content policy."));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->status, "failed");
    EXPECT_EQ(f->error_message, "Your prompt was flagged by the content policy.");
  }
  auto no_urls = parse(veo_record(1));
  no_urls["data"].as_object()["response"] = json::object{{"resultUrls", json::array{}}};
  expect_error(kie.read_status(200, {}, json::serialize(no_urls)), errc::bad_upstream_response, "", {"resultUrls"});
}

// --- callbacks -----------------------------------------------------------------------------------------

TEST(KieCallback, MarketAndVeoBodiesNameTheTask) {
  // Market callback: the recordInfo data under `data`.
  auto market = R"({"code":200,"msg":"Playground task completed successfully.","data":)" +
                json::serialize(parse(record("success", result_json)).at("data")) + "}";
  EXPECT_EQ(kie.callback_job_id(market, ""), "task_12345678");
  // Veo callback: data.taskId and info.
  auto veo = R"({"code":200,"msg":"Veo3 video generated successfully.","data":{"taskId":"veo_task_abcdef123456",
                 "info":{"resultUrls":["http://example.com/video1.mp4"]},"fallbackFlag":false}})";
  EXPECT_EQ(kie.callback_job_id(veo, "veo"), "veo:veo_task_abcdef123456");
  auto failed = R"({"code":501,"msg":"Generation failed","data":{"taskId":"veo_task_abcdef123456","info":null}})";
  EXPECT_EQ(kie.callback_job_id(failed, "veo"), "veo:veo_task_abcdef123456") << "a failure is polled too";
  EXPECT_EQ(kie.callback_job_id(R"({"code":200,"data":{}})", ""), std::nullopt);
  EXPECT_EQ(kie.callback_job_id("nope", ""), std::nullopt);
}

TEST(KieIds, RoundTripForBothApis) {
  for (auto model : {"sora-2", "veo-3"}) {
    SCOPED_TRACE(model);
    gateway_extras gw;
    auto sent = create_call(request("p", model), model == "veo-3"s ? "8" : "10", upstream(), gw.make());
    auto made = kie.read_created(sent, 200, {}, model == "veo-3"s ? veo_created : created);
    ASSERT_TRUE(made.has_value());
    ASSERT_EQ(gw.tags->size(), 1u);
    auto raw_id = std::string(parse(model == "veo-3"s ? veo_created : created).at("data").at("taskId").as_string());
    auto body = R"({"code":200,"msg":"ok","data":{"taskId":")" + raw_id + "\"}}";
    EXPECT_EQ(kie.callback_job_id(body, gw.tags->front()), made->upstream_id);
    EXPECT_TRUE(kie.status(made->upstream_id).path.ends_with("?taskId=" + raw_id));
  }
}

TEST(KieContent, TheResultUrlWithoutTheKey) {
  auto up = upstream();
  auto c = kie.content("task_1", content_variant::video, "https://tempfile.aiquickdraw.com/v/x.mp4", up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, "https://tempfile.aiquickdraw.com/v/x.mp4");
  expect_error(kie.content("task_1", content_variant::thumbnail, "https://x/y.mp4", up), errc::not_found, "variant");
  expect_error(kie.remix("task_1", "again", up), errc::unsupported_value, "video_id", {"kie-main"});
}

}  // namespace
}  // namespace videogate::dialects
