// The replicate dialect (Replicate predictions) against bodies shaped like Replicate's docs:
// the prediction object (replicate.com/docs/topics/predictions), the per-model inputs of
// openai/sora-2, google/veo-3 and kwaivgi/kling (the models' API pages), webhooks
// (…/webhooks/setup-webhook: the body is the prediction) and the 429 body of
// …/predictions/rate-limits.
#include "videogate/dialects/replicate.hpp"

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

// The docs' prediction object (replicate/hello-world), as a video model answers it: `output`
// the file URL, `urls.get` and `urls.cancel` where the dialect's calls go.
std::string prediction(std::string_view status, std::string_view output = "null", std::string_view error = "null") {
  return R"({
  "id": "gm3qorzdhgbfurvjtvhg6dckhu",
  "model": "openai/sora-2",
  "version": "hidden",
  "input": {"prompt": "A calico cat playing a piano on stage", "seconds": 8, "aspect_ratio": "landscape"},
  "logs": "",
  "output": )" + std::string(output) + R"(,
  "data_removed": false,
  "error": )" + std::string(error) + R"(,
  "status": ")" + std::string(status) + R"(",
  "created_at": "2023-09-08T16:19:34.765994Z",
  "started_at": "2023-09-08T16:19:34.779176Z",
  "completed_at": "2023-09-08T16:19:34.791859Z",
  "metrics": {"predict_time": 0.012683, "total_time": 0.025366},
  "urls": {
    "cancel": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
    "get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"
  }
})";
}

constexpr std::string_view prediction_id = "gm3qorzdhgbfurvjtvhg6dckhu";
constexpr std::string_view video_url = "https://replicate.delivery/xezq/abc123/output.mp4";

// The rate-limit body: vendors.md's form, and the one the rate-limits page shows today.
constexpr std::string_view throttled = R"({"detail":"Request was throttled. Your rate limit resets in ~30s."})";
constexpr std::string_view throttled_now = R"({"detail":"Request was throttled. Expected available in 1 second."})";

const replicate_dialect rep{};
constexpr std::string_view key = "r8_FAKE0123456789abcdefghijklmnopqrstuv";

config::upstream_config upstream() {
  return task_upstream(config::dialect_kind::replicate, "replicate-main", std::string(key),
                       {{"sora-2", "openai/sora-2"},
                        {"sora-2-pro", "openai/sora-2-pro"},
                        {"veo-3", "google/veo-3-fast"},
                        {"kling", "kwaivgi/kling-v2.1"},
                        {"wan", "wan-video/wan-2.2-t2v-fast"}},
                       {{"wan", "wan-video/wan-2.2-i2v-fast"}});
}

upstream_call create_call(const api::create_request& req, const std::string& seconds,
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  auto c = rep.create(req, up, seconds, extras);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
  if (!c) return {};
  expect_no_key(*c, key);
  return *c;
}

json::object input_of(const api::create_request& req, const std::string& seconds,
                      const config::upstream_config& up = upstream()) {
  auto body = read_json(create_call(req, seconds, up));
  return body.contains("input") && body.at("input").is_object() ? body.at("input").as_object() : json::object{};
}

// --- traits and durations ---------------------------------------------------------------------

TEST(ReplicateDialect, KindAuthorizationAndTraits) {
  auto d = make_dialect(config::dialect_kind::replicate);
  ASSERT_NE(d, nullptr);
  EXPECT_NE(dynamic_cast<replicate_dialect*>(d.get()), nullptr);
  EXPECT_EQ(rep.kind(), config::dialect_kind::replicate);
  EXPECT_EQ(rep.authorization("r8_x"), "Bearer r8_x");
  EXPECT_TRUE(rep.takes_callbacks());
  EXPECT_FALSE(rep.needs_image_url()) << "file inputs take data URLs";
}

TEST(ReplicateDurations, DefaultsPerModelFamily) {
  auto up = upstream();
  EXPECT_EQ(rep.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{4, 8, 12}));
  EXPECT_EQ(rep.allowed_durations(up, request("p", "sora-2-pro")), (std::vector<int>{4, 8, 12}));
  EXPECT_EQ(rep.allowed_durations(up, request("p", "veo-3")), (std::vector<int>{8}));
  EXPECT_EQ(rep.allowed_durations(up, request("p", "kling")), (std::vector<int>{5, 10}));
  EXPECT_EQ(rep.allowed_durations(up, request("p", "wan")), (std::vector<int>{5, 10}));
  up.durations = {{"veo-3", {4, 6, 8}}};
  EXPECT_EQ(rep.allowed_durations(up, request("p", "veo-3")), (std::vector<int>{4, 6, 8}));
}

// --- create ---------------------------------------------------------------------------------

TEST(ReplicateCreate, Sora2TakesSecondsAndPortraitOrLandscape) {
  auto req = request("A calico cat playing a piano on stage");
  req.size = "1280x720";
  auto c = create_call(req, "8");
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/v1/models/openai/sora-2/predictions");
  EXPECT_TRUE(c.tag.empty());
  EXPECT_EQ(read_json(c), (json::object{{"input", json::object{{"prompt", "A calico cat playing a piano on stage"},
                                                               {"seconds", 8},
                                                               {"aspect_ratio", "landscape"}}}}))
      << c.body;
  EXPECT_FALSE(contains(c.body, "Prefer")) << "never `Prefer: wait`";
  EXPECT_TRUE(http::find_header(c.headers, "prefer").empty());

  auto portrait = request();
  portrait.size = "1080x1920";
  EXPECT_EQ(input_of(portrait, "12").at("aspect_ratio"), "portrait");
}

TEST(ReplicateCreate, GenericAndFlagshipInputNames) {
  auto veo = input_of(request("p", "veo-3"), "8");
  EXPECT_EQ(veo, (json::object{{"prompt", "p"}, {"duration", 8}, {"aspect_ratio", "9:16"}})) << json::serialize(veo);

  auto kling_req = request("p", "kling");
  kling_req.size = "1280x720";
  kling_req.input_reference = image_url("https://example.com/start.png");
  auto kling = input_of(kling_req, "5");
  EXPECT_EQ(kling.at("duration"), 5);
  EXPECT_EQ(kling.at("aspect_ratio"), "16:9");
  EXPECT_EQ(kling.at("start_image"), "https://example.com/start.png") << "Kling's image input";

  auto wan = create_call(request("p", "wan"), "5");
  EXPECT_EQ(wan.path, "/v1/models/wan-video/wan-2.2-t2v-fast/predictions");
  EXPECT_EQ(read_json(wan).at("input").at("duration"), 5);
}

TEST(ReplicateCreate, ImagesAsADataUrlOrTheUrlInTheModelsField) {
  auto req = request();
  req.input_reference = upload();
  EXPECT_EQ(input_of(req, "4").at("input_reference"), json::string(png_data_url)) << "openai/sora-2's image input";

  auto veo = request("p", "veo-3");
  veo.input_reference = image_url("https://example.com/a.png");
  EXPECT_EQ(input_of(veo, "8").at("image"), "https://example.com/a.png");

  // A model with {text, image}: the image model's own path.
  auto wan = request("p", "wan");
  wan.input_reference = upload();
  auto c = create_call(wan, "5");
  EXPECT_EQ(c.path, "/v1/models/wan-video/wan-2.2-i2v-fast/predictions");
  EXPECT_EQ(read_json(c).at("input").at("image"), json::string(png_data_url));
}

TEST(ReplicateCreate, NoImageModelMeansUnsupported) {
  auto up = upstream();
  up.image_models["kling"] = "";  // models: {kling: {text: kwaivgi/kling-v2.1}}
  auto req = request("p", "kling");
  req.input_reference = upload();
  expect_error(rep.create(req, up, "5"), errc::unsupported_value, "input_reference", {"replicate-main", "kling"});
}

TEST(ReplicateCreate, WebhookWithTheCompletedEventOnly) {
  gateway_extras gw;
  auto c = create_call(request(), "4", upstream(), gw.make());
  auto o = read_json(c);
  EXPECT_EQ(o.at("webhook"), json::string(gateway_extras::callback)) << "the URL as given, in the body";
  EXPECT_EQ(o.at("webhook_events_filter"), (json::array{"completed"}));
  EXPECT_FALSE(o.at("input").as_object().contains("webhook")) << "beside input, not in it";
  EXPECT_EQ(c.path, "/v1/models/openai/sora-2/predictions");
  EXPECT_EQ(*gw.tags, (std::vector<std::string>{""})) << "a prediction id names its job alone";

  auto plain = read_json(create_call(request(), "4"));
  EXPECT_FALSE(plain.contains("webhook"));
  EXPECT_FALSE(plain.contains("webhook_events_filter"));
}

TEST(ReplicateCreate, VendorParamsGoIntoTheInput) {
  auto up = upstream();
  up.defaults = {{"generate_audio", def_bool(true)}};
  auto req = request("p", "veo-3");
  req.vendor_params = R"({"negative_prompt": "blur", "seed": 7, "resolution": "1080p", "generate_audio": false})";
  auto o = input_of(req, "8", up);
  EXPECT_EQ(o.at("negative_prompt"), "blur");
  EXPECT_EQ(o.at("seed"), 7);
  EXPECT_EQ(o.at("resolution"), "1080p");
  EXPECT_EQ(o.at("generate_audio"), false) << "merged after the defaults";
}

TEST(ReplicateCreate, VendorParamsMayNotSetPromptImageOrWebhook) {
  for (auto [model, field] : {std::pair{"sora-2", "prompt"}, std::pair{"sora-2", "input_reference"},
                              std::pair{"veo-3", "image"}, std::pair{"kling", "start_image"},
                              std::pair{"sora-2", "webhook"}, std::pair{"sora-2", "webhook_events_filter"}}) {
    SCOPED_TRACE(std::string(model) + " " + field);
    auto req = request("p", model);
    req.vendor_params = "{\""s + field + "\": \"https://evil.example/x\"}";
    expect_error(rep.create(req, upstream(), model == "kling"s ? "5" : "8"), errc::invalid_value, "vendor_params",
                 {field});
  }
}

TEST(ReplicateCreate, StoryboardsAreUnsupported) {
  auto req = request();
  req.shots = std::vector<api::shot>{{"a", 4}};
  expect_error(rep.create(req, upstream(), "4"), errc::unsupported_value, "shots", {"replicate-main"});
}

// --- predictions: create answer, status, output ---------------------------------------------------

TEST(ReplicateRead, TheCreateAnswerIsAStartingPrediction) {
  auto r = rep.read_created(upstream_call{}, 201, {}, prediction("starting"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, prediction_id);
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->content_url, std::nullopt);
  auto same = rep.read_create(201, {}, prediction("starting"));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->upstream_id, prediction_id);
}

TEST(ReplicateRead, EveryDocumentedStatusWord) {
  expect_status_words([](std::string_view w) { return rep.read_status(200, {}, prediction(w)); },
                      {{"starting", "queued"}, {"processing", "in_progress"}, {"failed", "failed"},
                       {"canceled", "failed"}, {"aborted", "failed"}});
  auto done = rep.read_status(200, {}, prediction("succeeded", "\"" + std::string(video_url) + "\""));
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(done->status, "completed");
  auto odd = rep.read_status(200, {}, prediction("booting"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "booting");
}

TEST(ReplicateRead, OutputAsAStringOrAnArray) {
  auto s = rep.read_status(200, {}, prediction("succeeded", "\"" + std::string(video_url) + "\""));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->upstream_id, prediction_id);
  EXPECT_EQ(s->content_url, video_url);
  EXPECT_EQ(s->progress, 100);

  auto a = rep.read_status(200, {}, prediction("succeeded", R"(["https://replicate.delivery/xezq/abc123/0.mp4",
                                                               "https://replicate.delivery/xezq/abc123/1.mp4"])"));
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->content_url, "https://replicate.delivery/xezq/abc123/0.mp4") << "the first is the video";

  for (auto out : {"null", "[]", "{\"video\":\"x\"}", "[42]"}) {
    SCOPED_TRACE(out);
    expect_error(rep.read_status(200, {}, prediction("succeeded", out)), errc::bad_upstream_response, "");
  }
  auto running = rep.read_status(200, {}, prediction("processing", "\"https://replicate.delivery/partial.mp4\""));
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->content_url, std::nullopt) << "a URL is read only once the vendor says succeeded";
}

TEST(ReplicateRead, FailedAndCanceledCarryTheReason) {
  auto f = rep.read_status(200, {}, prediction("failed", "null",
                                               R"("E005: The input or output was flagged as sensitive. Please try again with different inputs.")"));
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->error_message, "E005: The input or output was flagged as sensitive. Please try again with different inputs.");
  EXPECT_TRUE(f->error_code.has_value());

  auto c = rep.read_status(200, {}, prediction("canceled"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, "failed");
  EXPECT_EQ(c->error_code, "cancelled");
  EXPECT_TRUE(contains(c->error_message.value_or(""), "canceled")) << "a reason though `error` is null";
}

TEST(ReplicateRead, AnswersWithoutAnIdOrNotJsonAreBad) {
  expect_error(rep.read_status(200, {}, R"({"status":"starting"})"), errc::bad_upstream_response, "");
  expect_error(rep.read_status(200, {}, "<html>"), errc::bad_upstream_response, "");
  expect_error(rep.read_create(201, {}, "[]"), errc::bad_upstream_response, "");
}

// --- errors ------------------------------------------------------------------------------------------

TEST(ReplicateErrors, ThrottledDetailSaysWhenToComeBack) {
  auto r = rep.read_create(429, {}, throttled);
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(r.error().retry_after_s, 30) << "the only place Replicate says it";

  auto now = rep.read_status(429, {}, throttled_now);
  ASSERT_TRUE(now.has_error());
  EXPECT_EQ(now.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(now.error().retry_after_s, 1) << "the rate-limits page's own example";

  auto header = rep.read_create(429, {{"Retry-After", "5"}}, throttled);
  ASSERT_TRUE(header.has_error());
  EXPECT_EQ(header.error().retry_after_s, 5) << "a header wins over the text";

  auto silent = rep.read_create(429, {}, R"({"detail":"Request was throttled."})");
  ASSERT_TRUE(silent.has_error());
  EXPECT_EQ(silent.error().retry_after_s, std::nullopt);
}

TEST(ReplicateErrors, ProblemDetailsAreClassified) {
  auto auth = rep.read_create(401, {}, R"({"title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401})");
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);

  auto credit = rep.read_create(402, {}, R"({"title":"Insufficient credit","detail":"You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit.","status":402})");
  ASSERT_TRUE(credit.has_error());
  EXPECT_EQ(credit.error().code, errc::upstream_out_of_credit);

  auto invalid = rep.read_create(422, {}, R"({"title":"Input validation failed","detail":"- input.seconds: seconds must be one of the following: 4, 8, 12","status":422,"invalid_fields":[{"type":"enum","field":"input.seconds","description":"seconds must be one of the following: 4, 8, 12"}]})");
  ASSERT_TRUE(invalid.has_error());
  EXPECT_EQ(invalid.error().code, errc::upstream_rejected);
  EXPECT_TRUE(contains(invalid.error().message, "seconds must be one of")) << invalid.error().message;

  auto gone = rep.read_status(404, {}, R"({"title":"Not found","detail":"Not found.","status":404})");
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);

  auto down = rep.read_status(500, {}, R"({"title":"Internal Server Error","status":500})");
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);

  auto looks_ok = rep.read_create(503, {}, prediction("starting"));
  ASSERT_TRUE(looks_ok.has_error()) << "an HTTP error is never a prediction";
}

// --- paths, cancel, content, callbacks ------------------------------------------------------------

TEST(ReplicateIds, RoundTripThroughStatusCancelAndTheWebhook) {
  gateway_extras gw;
  auto sent = create_call(request(), "4", upstream(), gw.make());
  auto made = rep.read_created(sent, 201, {}, prediction("starting"));
  ASSERT_TRUE(made.has_value());
  auto id = made->upstream_id;
  auto urls = parse(prediction("starting")).at("urls").as_object();
  auto path_of = [](const json::value& u) {
    std::string s(u.as_string());
    return s.substr(s.find("/v1/"));
  };
  auto st = rep.status(id);
  EXPECT_EQ(st.method, "GET");
  EXPECT_EQ(st.path, path_of(urls.at("get")));
  auto cancel = rep.remove(id);
  ASSERT_TRUE(cancel.has_value());
  EXPECT_EQ(cancel->method, "POST");
  EXPECT_EQ(cancel->path, path_of(urls.at("cancel")));
  // The webhook's body is the prediction.
  ASSERT_EQ(gw.tags->size(), 1u);
  EXPECT_EQ(rep.callback_job_id(prediction("succeeded", "\"" + std::string(video_url) + "\""), gw.tags->front()), id);
  EXPECT_EQ(rep.callback_job_id(R"({"status":"succeeded"})", ""), std::nullopt);
  EXPECT_EQ(rep.callback_job_id("not json", ""), std::nullopt);
  EXPECT_EQ(rep.status("a/b?c").path, "/v1/predictions/a%2Fb%3Fc") << "an id is one path segment";
}

TEST(ReplicateContent, TheOutputUrlWithoutTheKey) {
  auto up = upstream();
  auto c = rep.content(std::string(prediction_id), content_variant::video, std::string(video_url), up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, video_url);
  expect_error(rep.content(std::string(prediction_id), content_variant::spritesheet, std::string(video_url), up),
               errc::not_found, "variant");
  expect_error(rep.content(std::string(prediction_id), content_variant::video, std::nullopt, up),
               errc::bad_upstream_response, "", {"output"});
  expect_error(rep.remix(std::string(prediction_id), "again", up), errc::unsupported_value, "video_id",
               {"replicate-main"});
}

}  // namespace
}  // namespace videogate::dialects
