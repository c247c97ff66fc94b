// The fal dialect (fal.ai's queue) against bodies shaped like fal's docs: the queue submit,
// status, result and cancel calls (docs.fal.ai "Queue", fal.ai/docs/api-reference/inference-api),
// the model inputs and outputs of Sora 2 and Veo 3 on fal (the models' API pages), the error
// shapes (fal.ai/docs/errors) and the webhook payload (docs.fal.ai/model-endpoints/webhooks).
#include "videogate/dialects/fal.hpp"

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

constexpr std::string_view request_id = "80e732af-660e-45cd-bd63-580e4f2a94cc";

// The queue's answer to a submit: the docs' example (for fal-ai/fast-sdxl, here the Sora 2
// app), with the status fields fal-js's InQueueQueueStatus adds. The URLs name owner/app only.
constexpr std::string_view submitted = R"({
  "status": "IN_QUEUE",
  "request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
  "response_url": "https://queue.fal.run/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc",
  "status_url": "https://queue.fal.run/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/status",
  "cancel_url": "https://queue.fal.run/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/cancel",
  "queue_position": 0
})";

// The status endpoint: 202 while queued or running, 200 once COMPLETED (the docs' examples).
constexpr std::string_view in_queue = R"({
  "status": "IN_QUEUE",
  "queue_position": 0,
  "response_url": "https://queue.fal.run/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc"
})";
constexpr std::string_view in_progress = R"({
  "status": "IN_PROGRESS",
  "response_url": "https://queue.fal.run/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc",
  "logs": [{"message": "Generating video", "level": "INFO", "timestamp": "2025-10-06T18:00:01.000Z"}]
})";
constexpr std::string_view completed = R"({
  "status": "COMPLETED",
  "response_url": "https://queue.fal.run/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc",
  "logs": null,
  "metrics": {"inference_time": 81.5}
})";

// The result of a Sora 2 run (the model's output schema: video, video_id, thumbnail, spritesheet).
constexpr std::string_view sora_result = R"({
  "video": {
    "url": "https://v3.fal.media/files/tiger/8Bc3x_output.mp4",
    "content_type": "video/mp4",
    "file_name": "output.mp4",
    "file_size": 4404019
  },
  "video_id": "video_123",
  "thumbnail": {"url": "https://v3.fal.media/files/tiger/8Bc3x_thumbnail.webp"},
  "spritesheet": {"url": "https://v3.fal.media/files/tiger/8Bc3x_spritesheet.jpg"}
})";

// A failed run surfaces on the result fetch with the model's error (fal.ai/docs/errors: a
// `detail` array of typed errors; not every endpoint is migrated, so a string too).
constexpr std::string_view failed_run = R"({
  "detail": [{
    "loc": ["body"],
    "msg": "The video could not be generated: the upstream provider returned an error.",
    "type": "downstream_service_error",
    "url": "https://docs.fal.ai/errors#downstream_service_error"
  }]
})";
constexpr std::string_view refused_content = R"({
  "detail": [{
    "loc": ["body", "prompt"],
    "msg": "The content could not be processed because it contained material flagged by a content checker.",
    "type": "content_policy_violation",
    "url": "https://docs.fal.ai/errors#content_policy_violation",
    "input": "a prompt"
  }]
})";
constexpr std::string_view failed_flat = R"({"detail": "Internal server error", "error_type": "internal_error"})";

// fal has no 402: an empty balance locks the user (vendors.md corrections).
constexpr std::string_view user_locked =
    R"({"detail": "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."})";

// The webhook fal POSTs when the request is done (the docs' examples, a video payload).
constexpr std::string_view webhook_ok = R"({
  "request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
  "gateway_request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
  "status": "OK",
  "payload": {"video": {"url": "https://v3.fal.media/files/tiger/8Bc3x_output.mp4", "content_type": "video/mp4"}},
  "error": null
})";
constexpr std::string_view webhook_error = R"({
  "request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
  "gateway_request_id": "80e732af-660e-45cd-bd63-580e4f2a94cc",
  "status": "ERROR",
  "error": "Invalid status code: 422",
  "payload": {"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]}
})";

const fal_dialect fal{};
constexpr std::string_view key = "fal-key-id:fal-key-secret";
const std::string uid = "fal-ai/sora-2|" + std::string(request_id);

config::upstream_config upstream() {
  return task_upstream(config::dialect_kind::fal, "fal-main", std::string(key),
                       {{"sora-2", "fal-ai/sora-2/text-to-video"},
                        {"sora-2-pro", "fal-ai/sora-2/text-to-video/pro"},
                        {"veo-3", "fal-ai/veo3"},
                        {"veo-3-fast", "fal-ai/veo3/fast"},
                        {"kling", "fal-ai/kling-video/v2.1/master/text-to-video"}},
                       {{"sora-2", "fal-ai/sora-2/image-to-video"}, {"sora-2-pro", "fal-ai/sora-2/image-to-video/pro"}});
}

upstream_call create_call(const api::create_request& req, const std::string& seconds,
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  auto c = fal.create(req, up, seconds, extras);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  if (!c) return {};
  expect_no_key(*c, key);
  return *c;
}

json::object input_of(const api::create_request& req, const std::string& seconds,
                      const config::upstream_config& up = upstream()) {
  return read_json(create_call(req, seconds, up));
}

// --- the dialect's own traits ---------------------------------------------------------------

TEST(FalDialect, KindAuthorizationAndTraits) {
  auto d = make_dialect(config::dialect_kind::fal);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(dynamic_cast<fal_dialect*>(d.get()), nullptr);
  EXPECT_EQ(fal.kind(), config::dialect_kind::fal);
  EXPECT_EQ(fal.authorization("abc:def"), "Key abc:def") << "fal wants `Key`, not Bearer";
  EXPECT_TRUE(fal.takes_callbacks());
  EXPECT_FALSE(fal.needs_image_url()) << "fal takes data URIs";
}

TEST(FalDurations, DefaultsPerModelFamily) {
  auto up = upstream();
  EXPECT_EQ(fal.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{4, 8, 12}));
  EXPECT_EQ(fal.allowed_durations(up, request("p", "sora-2-pro")), (std::vector<int>{4, 8, 12}));
  EXPECT_EQ(fal.allowed_durations(up, request("p", "veo-3")), (std::vector<int>{8}));
  EXPECT_EQ(fal.allowed_durations(up, request("p", "veo-3-fast")), (std::vector<int>{8}));
  EXPECT_EQ(fal.allowed_durations(up, request("p", "kling")), (std::vector<int>{5, 10}));
}

TEST(FalDurations, OverrideKeyedByThePublicModel) {
  auto up = upstream();
  up.durations = {{"sora-2", {4, 8, 12, 16, 20}}};
  EXPECT_EQ(fal.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{4, 8, 12, 16, 20}));
  EXPECT_EQ(fal.allowed_durations(up, request("p", "sora-2-pro")), (std::vector<int>{4, 8, 12}));
}

// --- create ---------------------------------------------------------------------------------

TEST(FalCreate, Sora2TextToVideoAtTheAppPathWithAnIntegerDuration) {
  auto req = request("A calico cat playing a piano on stage");
  req.size = "1280x720";
  auto c = create_call(req, "8");
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/fal-ai/sora-2/text-to-video") << "the model's path, sub-path included";
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_EQ(c.tag, "fal-ai/sora-2") << "owner/app: what status, result and cancel need";
  // The model's own input JSON, as on the Sora 2 API page.
  EXPECT_EQ(read_json(c), (json::object{{"prompt", "A calico cat playing a piano on stage"},
                                        {"duration", 8},
                                        {"aspect_ratio", "16:9"},
                                        {"resolution", "720p"}}))
      << c.body;
  EXPECT_TRUE(contains(c.body, "\"duration\":8")) << "an integer, not \"8\": " << c.body;
}

TEST(FalCreate, Veo3TypesTheDurationAsSecondsText) {
  auto req = request("p", "veo-3");
  req.size = "720x1280";
  auto c = create_call(req, "8");
  EXPECT_EQ(c.path, "/fal-ai/veo3");
  EXPECT_EQ(c.tag, "fal-ai/veo3");
  auto o = read_json(c);
  EXPECT_EQ(o.at("duration"), "8s") << c.body;
  EXPECT_EQ(o.at("aspect_ratio"), "9:16");
  EXPECT_EQ(o.at("resolution"), "720p");

  auto fast = create_call(request("p", "veo-3-fast"), "8");
  EXPECT_EQ(fast.path, "/fal-ai/veo3/fast");
  EXPECT_EQ(fast.tag, "fal-ai/veo3") << "the endpoint path is not part of the app";
  EXPECT_EQ(read_json(fast).at("duration"), "8s");
}

TEST(FalCreate, KlingTakesTheDurationAsTextAndNoResolution) {
  auto c = create_call(request("p", "kling"), "10");
  EXPECT_EQ(c.path, "/fal-ai/kling-video/v2.1/master/text-to-video");
  EXPECT_EQ(c.tag, "fal-ai/kling-video");
  auto o = read_json(c);
  EXPECT_EQ(o.at("duration"), "10");
  EXPECT_FALSE(o.contains("resolution")) << c.body;
}

TEST(FalCreate, SizeBecomesAspectRatioAndResolution) {
  struct row {
    const char *size, *aspect, *resolution;
  };
  for (auto r : {row{"720x1280", "9:16", "720p"}, row{"1280x720", "16:9", "720p"}, row{"1024x1792", "9:16", "1080p"},
                 row{"1792x1024", "16:9", "1080p"}, row{"1080x1920", "9:16", "1080p"},
                 row{"1920x1080", "16:9", "1080p"}}) {
    SCOPED_TRACE(r.size);
    auto req = request("p", "sora-2-pro");
    req.size = r.size;
    auto o = input_of(req, "4");
    EXPECT_EQ(o.at("aspect_ratio"), r.aspect);
    EXPECT_EQ(o.at("resolution"), r.resolution);
  }
}

TEST(FalCreate, ImageRequestsGoToTheImageModelWithADataUri) {
  auto req = request();
  req.input_reference = upload();
  auto c = create_call(req, "4");
  EXPECT_EQ(c.path, "/fal-ai/sora-2/image-to-video");
  EXPECT_EQ(c.tag, "fal-ai/sora-2");
  EXPECT_EQ(read_json(c).at("image_url"), json::string(png_data_url));

  req.input_reference = image_url("https://example.com/first frame.png?sig=a%2Fb");
  EXPECT_EQ(input_of(req, "4").at("image_url"), "https://example.com/first frame.png?sig=a%2Fb") << "URLs pass as given";

  auto pro = request("p", "sora-2-pro");
  pro.input_reference = upload();
  EXPECT_EQ(create_call(pro, "4").path, "/fal-ai/sora-2/image-to-video/pro");

  // No image: the text model, and no image field.
  auto text = create_call(request(), "4");
  EXPECT_EQ(text.path, "/fal-ai/sora-2/text-to-video");
  EXPECT_FALSE(read_json(text).contains("image_url"));
}

TEST(FalCreate, AnImageForAModelWithoutAnImageEntryIsUnsupported) {
  // `models: {veo-3: {text: fal-ai/veo3}}` names no image model: an image is refused, not
  // sent to the text endpoint (where fal would ignore it).
  auto up = task_upstream(config::dialect_kind::fal, "fal-main", std::string(key), {{"veo-3", "fal-ai/veo3"}},
                          {{"veo-3", ""}});
  auto req = request("p", "veo-3");
  req.input_reference = upload();
  expect_error(fal.create(req, up, "8"), errc::unsupported_value, "input_reference", {"fal-main", "veo-3", "image"});
  EXPECT_TRUE(fal.create(request("p", "veo-3"), up, "8").has_value()) << "text-to-video still works";

  // The same when another model of the upstream has an image entry.
  auto mixed = upstream();
  mixed.image_models["veo-3"] = "";
  expect_error(fal.create(req, mixed, "8"), errc::unsupported_value, "input_reference");
}

TEST(FalCreate, AModelServedForImagesOnlyRefusesText) {
  auto up = task_upstream(config::dialect_kind::fal, "fal-main", std::string(key), {{"animate", ""}},
                          {{"animate", "fal-ai/sora-2/image-to-video"}});
  expect_error(fal.create(request("p", "animate"), up, "4"), errc::unsupported_value, "input_reference",
               {"image-to-video only"});
  auto req = request("p", "animate");
  req.input_reference = upload();
  EXPECT_EQ(create_call(req, "4", up).path, "/fal-ai/sora-2/image-to-video");
}

TEST(FalCreate, ASingleNameServesBothTextAndImage) {
  // `models: {veo-3: fal-ai/veo3}`: one name for both, whatever other models say.
  auto up = upstream();
  auto req = request("p", "veo-3");
  req.input_reference = image_url("https://example.com/a.png");
  auto c = create_call(req, "8", up);
  EXPECT_EQ(c.path, "/fal-ai/veo3");
  EXPECT_EQ(read_json(c).at("image_url"), "https://example.com/a.png");
}

TEST(FalCreate, VendorParamsAreMergedLastAndDefaultsFirst) {
  auto up = upstream();
  up.defaults = {{"delete_video", def_bool(true)}, {"resolution", def_string("1080p")}};
  auto req = request("p", "sora-2-pro");
  req.vendor_params = R"({"delete_video": false, "detect_and_block_ip": true, "duration": 12, "seed": 42})";
  auto o = input_of(req, "4", up);
  EXPECT_EQ(o.at("delete_video"), false) << "vendor_params win over defaults";
  EXPECT_EQ(o.at("detect_and_block_ip"), true);
  EXPECT_EQ(o.at("duration"), 12) << "merged last, over what the gateway chose";
  EXPECT_EQ(o.at("seed"), 42);
  EXPECT_EQ(o.at("resolution"), "720p") << "defaults never override what the request decides";
}

TEST(FalCreate, VendorParamsMayNotSetModelPromptImageOrCallback) {
  for (auto field : {"prompt", "image_url", "fal_webhook", "model"}) {
    SCOPED_TRACE(field);
    auto req = request();
    req.vendor_params = "{\""s + field + "\": \"x\"}";
    expect_error(fal.create(req, upstream(), "4"), errc::invalid_value, "vendor_params", {field});
  }
  auto req = request();
  req.vendor_params = "[1, 2]";
  expect_error(fal.create(req, upstream(), "4"), errc::invalid_value, "vendor_params", {"JSON object"});
}

TEST(FalCreate, CallbackUrlGoesIntoTheFalWebhookQueryParameterEncoded) {
  gateway_extras gw;
  auto c = create_call(request(), "4", upstream(), gw.make());
  EXPECT_EQ(c.path,
            "/fal-ai/sora-2/text-to-video?fal_webhook="
            "https%3A%2F%2Fgw.example.com%3A8443%2Fcallbacks%2FdGFnLXRva2Vu_Zm9v-YmFy%3Fx%3D1%26y%3D2");
  EXPECT_EQ(*gw.tags, (std::vector<std::string>{"fal-ai/sora-2"})) << "the token binds the app";
  EXPECT_FALSE(contains(c.body, "webhook")) << "a query parameter, not a body field: " << c.body;
  EXPECT_EQ(create_call(request(), "4").path, "/fal-ai/sora-2/text-to-video") << "no callback: no parameter";
}

TEST(FalCreate, StoryboardsAreUnsupported) {
  auto req = request();
  req.shots = std::vector<api::shot>{{"a cat", 4}, {"a dog", 4}};
  expect_error(fal.create(req, upstream(), "8"), errc::unsupported_value, "shots", {"fal-main"});
}

// --- read_created ---------------------------------------------------------------------------

TEST(FalReadCreated, TheDocsSubmitAnswerGivesAnIdThatNamesTheApp) {
  upstream_call sent;
  sent.tag = "fal-ai/sora-2";
  auto r = fal.read_created(sent, 200, {}, submitted);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, uid);
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->progress, 0);

  // The webhook variant of the answer: request_id and gateway_request_id only.
  auto w = fal.read_created(sent, 200, {}, R"({"request_id":"024ca5b1-45d3-4afd-883e-ad3abe2a1c4d",
                                               "gateway_request_id":"024ca5b1-45d3-4afd-883e-ad3abe2a1c4d"})");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->upstream_id, "fal-ai/sora-2|024ca5b1-45d3-4afd-883e-ad3abe2a1c4d");
}

TEST(FalReadCreated, WithoutARequestIdItIsABadAnswer) {
  upstream_call sent;
  sent.tag = "fal-ai/sora-2";
  for (auto body : {R"({"status":"IN_QUEUE"})", R"({"request_id":""})", R"({"request_id":42})", "[]", "<html>"}) {
    SCOPED_TRACE(body);
    expect_error(fal.read_created(sent, 200, {}, body), errc::bad_upstream_response, "");
  }
}

TEST(FalReadCreated, ErrorsAreClassified) {
  upstream_call sent;
  sent.tag = "fal-ai/sora-2";
  auto locked = fal.read_created(sent, 403, {}, user_locked);
  ASSERT_TRUE(locked.has_error());
  EXPECT_EQ(locked.error().code, errc::upstream_out_of_credit) << "403 'User is locked' is an empty balance";
  EXPECT_FALSE(locked.error().by_words) << "fal's documented answer, not words that may echo the prompt";
  EXPECT_EQ(without_echo(locked.error(), "A gymnast keeps her balance on the beam").code, errc::upstream_out_of_credit)
      << "a prompt that mentions a balance does not turn the empty balance into a refusal";

  auto denied = fal.read_created(sent, 403, {}, R"({"detail":"Access denied: this key may not use fal-ai/sora-2"})");
  ASSERT_TRUE(denied.has_error());
  EXPECT_EQ(denied.error().code, errc::upstream_auth);

  auto bad_key = fal.read_created(sent, 401, {}, R"({"detail":"No user found for Key ID and Secret"})");
  ASSERT_TRUE(bad_key.has_error());
  EXPECT_EQ(bad_key.error().code, errc::upstream_auth);

  auto limited = fal.read_created(sent, 429, {}, R"({"detail":"Too many requests: concurrency limit reached"})");
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(limited.error().retry_after_s, std::nullopt) << "fal documents no Retry-After";

  auto refused = fal.read_created(sent, 422, {}, refused_content);
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code, errc::upstream_rejected);

  auto down = fal.read_created(sent, 500, {}, failed_flat);
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);
}

// --- status -----------------------------------------------------------------------------------

TEST(FalStatus, AtOwnerAppWithoutTheSubPath) {
  auto c = fal.status(uid);
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/status");
  EXPECT_TRUE(c.body.empty());
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_EQ(fal.status("fal-ai/sora-2|a b/c?d").path, "/fal-ai/sora-2/requests/a%20b%2Fc%3Fd/status")
      << "the request id is encoded, the app is not";
}

TEST(FalStatus, QueuedAndRunningAre202) {
  auto q = fal.read_status(202, {}, in_queue);
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_EQ(q->status, "queued");
  EXPECT_FALSE(q->fetch_result);
  auto p = fal.read_status(202, {}, in_progress);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, "in_progress");
  EXPECT_FALSE(p->fetch_result);
}

TEST(FalStatus, CompletedMeansFetchTheResult) {
  auto r = fal.read_status(200, {}, completed);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->fetch_result) << "COMPLETED says the run is over, not how it ended";
  EXPECT_EQ(r->status, "in_progress") << "not completed before the result is read";
  EXPECT_EQ(r->content_url, std::nullopt);
}

TEST(FalStatus, EveryDocumentedWord) {
  expect_status_words(
      [](std::string_view w) { return fal.read_status(202, {}, R"({"status":")" + std::string(w) + "\"}"); },
      {{"IN_QUEUE", "queued"}, {"IN_PROGRESS", "in_progress"}, {"FAILED", "failed"}, {"CANCELED", "failed"}});
  auto odd = fal.read_status(202, {}, R"({"status":"WARMING_UP"})");
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "WARMING_UP") << "an unknown word is kept for the log";
}

TEST(FalStatus, ErrorsAreClassified) {
  auto gone = fal.read_status(404, {}, R"({"detail":"Request not found: 80e732af"})");
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);
  auto locked = fal.read_status(403, {}, user_locked);
  ASSERT_TRUE(locked.has_error());
  EXPECT_EQ(locked.error().code, errc::upstream_out_of_credit);
  auto wrong_path = fal.read_status(405, {}, R"({"detail":"Method Not Allowed"})");
  ASSERT_TRUE(wrong_path.has_error());
  EXPECT_NE(wrong_path.error().code, errc::ok);
  expect_error(fal.read_status(200, {}, "<html>"), errc::bad_upstream_response, "");
}

// --- the result (fetch_result -> result_call -> read_follow_up) ----------------------------

TEST(FalResult, ResultCallAtOwnerAppRequestsId) {
  auto c = fal.result_call(uid, {});
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc");
  EXPECT_TRUE(c.absolute_url.empty()) << "with the key: the result is the vendor's API";
}

TEST(FalResult, TheVideoUrl) {
  auto r = fal.read_follow_up(200, {}, sora_result, uid);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, uid);
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, "https://v3.fal.media/files/tiger/8Bc3x_output.mp4");
  EXPECT_FALSE(r->fetch_result);
}

TEST(FalResult, AResultWithoutAVideoIsABadAnswer) {
  for (auto body : {R"({"images":[{"url":"https://v3.fal.media/x.png"}]})", R"({"video":{"content_type":"video/mp4"}})",
                    R"({"video":"https://v3.fal.media/x.mp4"})", "not json"}) {
    SCOPED_TRACE(body);
    expect_error(fal.read_follow_up(200, {}, body, uid), errc::bad_upstream_response, "");
  }
}

TEST(FalResult, AFailedRunFailsWithItsReason) {
  auto arr = fal.read_follow_up(500, {}, failed_run, uid);
  ASSERT_TRUE(arr.has_value()) << "a failed run is a job state, not a call error: " << arr.error().message;
  EXPECT_EQ(arr->status, "failed");
  EXPECT_EQ(arr->error_message, "The video could not be generated: the upstream provider returned an error.");
  EXPECT_TRUE(arr->error_code.has_value());

  auto content = fal.read_follow_up(422, {}, refused_content, uid);
  ASSERT_TRUE(content.has_value());
  EXPECT_EQ(content->status, "failed");
  EXPECT_TRUE(contains(content->error_message.value_or(""), "flagged by a content checker")) << *content->error_message;

  auto flat = fal.read_follow_up(500, {}, failed_flat, uid);
  ASSERT_TRUE(flat.has_value());
  EXPECT_EQ(flat->status, "failed");
  EXPECT_EQ(flat->error_message, "Internal server error") << "the legacy `detail` string";

  auto cancelled = fal.read_follow_up(400, {}, R"({"detail":"Request was cancelled"})", uid);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_EQ(cancelled->status, "failed");
  EXPECT_EQ(cancelled->error_message, "Request was cancelled");

  auto bare = fal.read_follow_up(502, {}, "<html>bad gateway</html>", uid);
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->status, "failed");
  EXPECT_TRUE(contains(bare->error_message.value_or(""), "502")) << "a reason even without a body";
}

TEST(FalResult, KeyAndLookupErrorsStayErrors) {
  auto locked = fal.read_follow_up(403, {}, user_locked, uid);
  ASSERT_TRUE(locked.has_error()) << "the key ran dry: not the job's failure";
  EXPECT_EQ(locked.error().code, errc::upstream_out_of_credit);
  auto auth = fal.read_follow_up(401, {}, R"({"detail":"No user found for Key ID and Secret"})", uid);
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);
  auto gone = fal.read_follow_up(404, {}, R"({"detail":"Request not found"})", uid);
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);
  auto limited = fal.read_follow_up(429, {}, R"({"detail":"Too many requests"})", uid);
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
}

// --- cancel, content, remix, callbacks ----------------------------------------------------------

TEST(FalRemove, PutCancelAtOwnerApp) {
  auto c = fal.remove(uid);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->method, "PUT");
  EXPECT_EQ(c->path, "/fal-ai/sora-2/requests/80e732af-660e-45cd-bd63-580e4f2a94cc/cancel");
  EXPECT_TRUE(c->body.empty());
}

TEST(FalContent, TheVideoUrlWithoutTheKeyAndNoOtherVariant) {
  auto up = upstream();
  auto c = fal.content(uid, content_variant::video, "https://v3.fal.media/files/tiger/8Bc3x_output.mp4", up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, "https://v3.fal.media/files/tiger/8Bc3x_output.mp4");
  expect_error(fal.content(uid, content_variant::thumbnail, "https://v3.fal.media/x.mp4", up), errc::not_found, "variant",
               {"fal-main"});
  expect_error(fal.content(uid, content_variant::video, std::nullopt, up), errc::bad_upstream_response, "",
               {"video.url"});
  expect_error(fal.remix(uid, "again", up), errc::unsupported_value, "video_id", {"fal-main"});
}

TEST(FalCallback, TheWebhookNamesTheJobItsTokenBoundTheAppOf) {
  EXPECT_EQ(fal.callback_job_id(webhook_ok, "fal-ai/sora-2"), uid);
  EXPECT_EQ(fal.callback_job_id(webhook_error, "fal-ai/sora-2"), uid) << "a failed run is polled too";
  EXPECT_EQ(fal.callback_job_id(webhook_ok, "fal-ai/veo3"), "fal-ai/veo3|" + std::string(request_id))
      << "the app comes from the token, never from the body";
  EXPECT_EQ(fal.callback_job_id(R"({"status":"OK"})", "fal-ai/sora-2"), std::nullopt);
  EXPECT_EQ(fal.callback_job_id("garbage", "fal-ai/sora-2"), std::nullopt);
}

TEST(FalIds, RoundTripFromCreateToStatusResultCancelAndCallback) {
  gateway_extras gw;
  auto sent = create_call(request(), "4", upstream(), gw.make());
  auto made = fal.read_created(sent, 200, {}, submitted);
  ASSERT_TRUE(made.has_value());
  auto id = made->upstream_id;
  // The submit answer's own URLs are where each call goes.
  auto o = parse(submitted);
  auto path_of = [](const json::value& url) {
    std::string u(url.as_string());
    return u.substr(u.find("/fal-ai/"));
  };
  EXPECT_EQ(fal.status(id).path, path_of(o.at("status_url")));
  EXPECT_EQ(fal.result_call(id, {}).path, path_of(o.at("response_url")));
  EXPECT_EQ(fal.remove(id)->path, path_of(o.at("cancel_url")));
  ASSERT_EQ(gw.tags->size(), 1u);
  EXPECT_EQ(fal.callback_job_id(webhook_ok, gw.tags->front()), id);
}

}  // namespace
}  // namespace videogate::dialects
