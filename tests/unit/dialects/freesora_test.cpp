#include "videogate/dialects/freesora.hpp"

#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace videogate::dialects {
namespace {

namespace json = boost::json;
using namespace std::string_literals;
using namespace test_support;

// --- fixtures: seed 003 (freesoragenerator.com), the three request examples and the answer ---

constexpr std::string_view seed003_pro_text = R"({
"model": "sora-2-pro-text-to-video",
"prompt": "A cinematic shot of a futuristic city at sunset.",
"aspectRatio": "landscape",
"nFrames": "10",
"size": "high",
"removeWatermark": true,
"isPublic": true
})";

// The seed elides the base64 ("iVBORw0KGgoAAA..."); the fixture image below encodes to a full one.
constexpr std::string_view seed003_image_stable = R"({
"model": "sora-2-image-to-video-stable",
"prompt": "Turn this image into a dynamic 15s clip.",
"imageData": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==",
"aspectRatio": "portrait",
"nFrames": "15"
})";

constexpr std::string_view seed003_storyboard = R"({
"model": "sora-2-pro-storyboard",
"shots": [
{ "Scene": "Establishing shot of a city skyline at dusk", "duration": 5 },
{ "Scene": "Close-up of a runner splashing through puddles", "duration": 5 }
],
"aspectRatio": "landscape",
"nFrames": "10"
})";

constexpr std::string_view seed003_response = R"({
"code": 0,
"message": "ok",
"data": {
"taskId": "281e5b0*********************f39b9"
}
})";

// vendors.md: the check-result answer.
constexpr std::string_view check_running = R"({"code":0,"message":"Success","data":{"status":"running","progress":35,
"result_url":null,"result_urls":[],"failure_reason":"","error_message":null,"credits_refunded":false}})";

const freesora_dialect fs{};

config::upstream_config upstream() {
  config::upstream_config up;
  up.name = "freesora-main";
  up.dialect = config::dialect_kind::freesora;
  up.base_url = "https://freesoragenerator.com";
  up.keys = {"fs-secret-key-1"};
  return up;
}

std::vector<api::shot> seed_shots() {
  return {{"Establishing shot of a city skyline at dusk", 5}, {"Close-up of a runner splashing through puddles", 5}};
}

void expect_no_key(const upstream_call& call) { test_support::expect_no_key(call, "fs-secret-key-1"); }

json::object create_body(const api::create_request& req, const config::upstream_config& up, const std::string& seconds) {
  return test_support::create_body(fs, req, up, seconds);
}

std::string model_for(const api::create_request& req, const config::upstream_config& up = upstream()) {
  auto o = create_body(req, up, "10");
  auto m = o.if_contains("model");
  return m && m->is_string() ? std::string(m->as_string()) : "<none>";
}

std::string ok_with(std::string_view data) { return R"({"code":0,"message":"Success","data":{)" + std::string(data) + "}}"; }

result<job_state> status_of(std::string_view body, int http_status = 200, const http::header_list& h = {}) {
  return fs.read_status(http_status, h, body);
}

// --- make_dialect / kind ------------------------------------------------------------------

TEST(FreesoraMakeDialect, KindAndType) {
  auto d = make_dialect(config::dialect_kind::freesora);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind(), config::dialect_kind::freesora);
  EXPECT_NE(dynamic_cast<freesora_dialect*>(d.get()), nullptr);
  EXPECT_EQ(fs.kind(), config::dialect_kind::freesora);
}

// --- allowed_durations -------------------------------------------------------------------

TEST(FreesoraDurations, TenAndFifteenForTextAndImageModels) {
  EXPECT_EQ(fs.allowed_durations(upstream(), request("p", "sora-2")), (std::vector<int>{10, 15}));
  EXPECT_EQ(fs.allowed_durations(upstream(), request("p", "sora-2-pro")), (std::vector<int>{10, 15}));
  auto img = request("p", "sora-2-pro");
  img.input_reference = upload();
  EXPECT_EQ(fs.allowed_durations(upstream(), img), (std::vector<int>{10, 15}));
}

TEST(FreesoraDurations, StoryboardAddsTwentyFive) {
  auto req = request("p", "sora-2-pro");
  req.shots = seed_shots();
  EXPECT_EQ(fs.allowed_durations(upstream(), req), (std::vector<int>{10, 15, 25}));
  auto up = upstream();
  up.models = {{"storyboard", "sora-2-pro-storyboard"}};
  EXPECT_EQ(fs.allowed_durations(up, request("p", "storyboard")), (std::vector<int>{10, 15, 25}));
}

TEST(FreesoraDurations, OverrideIsKeyedByThePublicModel) {
  auto up = upstream();
  up.durations = {{"sora-2", {15}}, {"sora-2-text-to-video", {5}}};
  EXPECT_EQ(fs.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{15}));
  EXPECT_EQ(fs.allowed_durations(up, request("p", "sora-2-pro")), (std::vector<int>{10, 15}));
}

TEST(FreesoraDurations, PickedFromTheAllowedOnes) {
  auto up = upstream();
  auto plain = fs.allowed_durations(up, request("p", "sora-2"));
  EXPECT_EQ(pick_duration("4", plain, up.name, "sora-2").value(), 10);
  EXPECT_EQ(pick_duration("12", plain, up.name, "sora-2").value(), 15);
  auto too_long = pick_duration("20", plain, up.name, "sora-2");
  ASSERT_TRUE(too_long.has_error());
  EXPECT_EQ(too_long.error().code, errc::unsupported_value);
  EXPECT_TRUE(contains(too_long.error().message, "10, 15")) << too_long.error().message;
  auto story = request("p", "sora-2-pro");
  story.shots = seed_shots();
  EXPECT_EQ(pick_duration("20", fs.allowed_durations(up, story), up.name, "sora-2-pro").value(), 25);
}

// --- create: the seeds ---------------------------------------------------------------------

TEST(FreesoraCreate, Seed003ProTextToVideoExactly) {
  auto req = request("A cinematic shot of a futuristic city at sunset.", "sora-2-pro");
  req.size = "1920x1080";
  req.seconds = "10";
  req.watermark = false;
  req.is_private = false;
  auto call = fs.create(req, upstream(), "10");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  EXPECT_EQ(read_json(*call), parse(seed003_pro_text)) << call->body;
}

TEST(FreesoraCreate, Seed003ImageToVideoStableExactly) {
  auto up = upstream();
  up.models = {{"sora-2-stable", "sora-2-text-to-video-stable"}};
  auto req = request("Turn this image into a dynamic 15s clip.", "sora-2-stable");
  req.input_reference = upload();
  req.size = "720x1280";
  req.seconds = "15";
  auto call = fs.create(req, up, "15");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  EXPECT_EQ(read_json(*call), parse(seed003_image_stable)) << call->body;
}

TEST(FreesoraCreate, Seed003Storyboard) {
  auto req = request("ignored for storyboards", "sora-2-pro");
  req.size = "1280x720";
  req.shots = seed_shots();
  auto call = fs.create(req, upstream(), "10");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  auto o = read_json(*call);
  auto seed = parse(seed003_storyboard);
  EXPECT_EQ(o.size(), seed.size()) << call->body;
  for (auto k : {"model", "aspectRatio", "nFrames"}) EXPECT_EQ(o.at(k), seed.at(k)) << k;
  ASSERT_TRUE(o.contains("shots")) << call->body;
  auto& shots = o.at("shots").as_array();
  ASSERT_EQ(shots.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    auto& s = shots[i].as_object();
    auto& want = seed.at("shots").as_array()[i].as_object();
    EXPECT_EQ(s.size(), 2u);
    EXPECT_EQ(s.at("Scene"), want.at("Scene")) << "capital S";
    EXPECT_FALSE(s.contains("scene"));
    ASSERT_TRUE(s.at("duration").is_number());
    EXPECT_DOUBLE_EQ(s.at("duration").to_number<double>(), 5.0);
  }
  EXPECT_FALSE(o.contains("prompt")) << "the vendor ignores a storyboard prompt";
}

// The seed writes `"duration": 5`. Boost.JSON prints a double 5.0 as `5E0`: valid JSON, but not
// what the vendor documents, and typed decoders (Go's int, strict schema validators) refuse it.
TEST(FreesoraCreate, WholeShotDurationsAreSentAsTheSeedWritesThem) {
  auto req = request("p", "sora-2-pro");
  req.shots = seed_shots();
  auto call = fs.create(req, upstream(), "10");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  auto o = read_json(*call);
  for (auto& s : o.at("shots").as_array()) EXPECT_TRUE(s.as_object().at("duration").is_int64()) << call->body;
  EXPECT_FALSE(contains(call->body, "E0")) << call->body;

  // A fractional duration stays a number with its fraction.
  req.shots = std::vector<api::shot>{{"a", 2.5}, {"b", 7.5}};
  auto frac = fs.create(req, upstream(), "10");
  ASSERT_TRUE(frac.has_value()) << frac.error().message;
  EXPECT_DOUBLE_EQ(read_json(*frac).at("shots").as_array()[0].as_object().at("duration").to_number<double>(), 2.5);
}

TEST(FreesoraCreate, MethodPathAndHeaders) {
  auto call = fs.create(request(), upstream(), "10");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->path, "/api/v1/video/sora-pro");
  EXPECT_TRUE(call->absolute_url.empty());
  EXPECT_EQ(http::find_header(call->headers, "Content-Type"), "application/json");
  expect_no_key(*call);
}

TEST(FreesoraCreate, MinimalRequest) {
  auto o = create_body(request("p"), upstream(), "10");
  auto want = json::object{{"model", "sora-2-text-to-video"}, {"prompt", "p"},          {"aspectRatio", "portrait"},
                           {"nFrames", "10"},                 {"removeWatermark", true}};
  EXPECT_EQ(o, want) << json::serialize(o);
}

// --- create: the vendor model ----------------------------------------------------------------

TEST(FreesoraCreate, VendorModelFromTheFamilyAndTheInputs) {
  EXPECT_EQ(model_for(request("p", "sora-2")), "sora-2-text-to-video");
  EXPECT_EQ(model_for(request("p", "sora-2-pro")), "sora-2-pro-text-to-video");
  auto img = request("p", "sora-2");
  img.input_reference = upload();
  EXPECT_EQ(model_for(img), "sora-2-image-to-video");
  img.model = "sora-2-pro";
  EXPECT_EQ(model_for(img), "sora-2-pro-image-to-video");
  img.input_reference = image_url("https://example.com/cat.png");
  EXPECT_EQ(model_for(img), "sora-2-pro-image-to-video") << "an image URL is an image too";
  for (auto m : {"sora-2", "sora-2-pro"}) {
    auto story = request("p", m);
    story.shots = seed_shots();
    EXPECT_EQ(model_for(story), "sora-2-pro-storyboard") << m;
  }
}

TEST(FreesoraCreate, ModelsMayNameAVendorModelOutright) {
  auto up = upstream();
  up.models = {{"sora-2-stable", "sora-2-text-to-video-stable"},
               {"sora-2-stable-img", "sora-2-image-to-video-stable"},
               {"premium", "sora-2-pro"},
               {"storyboard", "sora-2-pro-storyboard"}};
  EXPECT_EQ(model_for(request("p", "sora-2-stable"), up), "sora-2-text-to-video-stable");
  auto img = request("p", "sora-2-stable");
  img.input_reference = upload();
  EXPECT_EQ(model_for(img, up), "sora-2-image-to-video-stable") << "an image makes it the image-to-video model";
  EXPECT_EQ(model_for(request("p", "sora-2-stable-img"), up), "sora-2-text-to-video-stable")
      << "no image: the text-to-video model";
  img.model = "sora-2-stable-img";
  EXPECT_EQ(model_for(img, up), "sora-2-image-to-video-stable");
  EXPECT_EQ(model_for(request("p", "premium"), up), "sora-2-pro-text-to-video") << "a family name gets its suffix";
  auto story = request("p", "storyboard");
  story.shots = seed_shots();
  EXPECT_EQ(model_for(story, up), "sora-2-pro-storyboard");
}

TEST(FreesoraCreate, StoryboardModelWithoutShotsIsMissingShots) {
  auto r = fs.create(request("p", "sora-2-pro-storyboard"), upstream(), "10");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::missing_required_parameter);
  EXPECT_EQ(r.error().param, "shots");

  auto up = upstream();
  up.models = {{"storyboard", "sora-2-pro-storyboard"}};
  auto mapped = fs.create(request("p", "storyboard"), up, "10");
  ASSERT_TRUE(mapped.has_error());
  EXPECT_EQ(mapped.error().code, errc::missing_required_parameter);
  EXPECT_EQ(mapped.error().param, "shots");
  EXPECT_TRUE(contains(mapped.error().message, "freesora-main")) << mapped.error().message;
}

TEST(FreesoraCreate, ShotsOnAModelThatTakesNoneAreRefused) {
  auto up = upstream();
  up.models = {{"sora-2-stable", "sora-2-text-to-video-stable"}};
  auto req = request("p", "sora-2-stable");
  req.shots = seed_shots();
  auto r = fs.create(req, up, "10");
  ASSERT_TRUE(r.has_error()) << "shots are never dropped silently";
  EXPECT_EQ(r.error().param, "shots");
}

// --- create: fields --------------------------------------------------------------------------

TEST(FreesoraCreate, AspectRatioFromTheSize) {
  const std::pair<const char*, const char*> rows[] = {{"720x1280", "portrait"},   {"1280x720", "landscape"},
                                                      {"1024x1792", "portrait"},  {"1792x1024", "landscape"},
                                                      {"1080x1920", "portrait"},  {"1920x1080", "landscape"}};
  for (auto& [size, ratio] : rows) {
    SCOPED_TRACE(size);
    auto req = request("p", "sora-2-pro");
    req.size = size;
    EXPECT_EQ(create_body(req, upstream(), "10").at("aspectRatio"), ratio);
  }
}

TEST(FreesoraCreate, NFramesIsAStringOfThePickedSeconds) {
  for (auto s : {"10", "15", "25"}) {
    SCOPED_TRACE(s);
    auto req = request("p", "sora-2-pro");
    req.seconds = "4";
    auto o = create_body(req, upstream(), s);
    ASSERT_TRUE(o.at("nFrames").is_string()) << json::serialize(o);
    EXPECT_EQ(o.at("nFrames"), s);
  }
}

TEST(FreesoraCreate, SizeOnlyForProTextAndImageModels) {
  const std::pair<const char*, const char*> pro_rows[] = {{"720x1280", "standard"}, {"1280x720", "standard"},
                                                          {"1024x1792", "high"},    {"1792x1024", "high"},
                                                          {"1080x1920", "high"},    {"1920x1080", "high"}};
  for (auto& [size, klass] : pro_rows) {
    SCOPED_TRACE(size);
    auto req = request("p", "sora-2-pro");
    req.size = size;
    EXPECT_EQ(create_body(req, upstream(), "10").at("size"), klass);
    req.input_reference = upload();
    EXPECT_EQ(create_body(req, upstream(), "10").at("size"), klass);
  }
  auto plain = request("p", "sora-2");
  plain.size = "1280x720";
  EXPECT_FALSE(create_body(plain, upstream(), "10").contains("size"));

  auto story = request("p", "sora-2-pro");
  story.size = "1792x1024";
  story.shots = seed_shots();
  EXPECT_FALSE(create_body(story, upstream(), "10").contains("size"));

  auto up = upstream();
  up.models = {{"sora-2-stable", "sora-2-text-to-video-stable"}};
  auto stable = request("p", "sora-2-stable");
  EXPECT_FALSE(create_body(stable, up, "10").contains("size"));
}

TEST(FreesoraCreate, PromptIsKeptExactlyAndOmittedForStoryboards) {
  auto req = request("一只凶猛的老虎 \"quoted\" \\ back\r\nline two\ttab \xF0\x9F\x90\xB1");
  EXPECT_EQ(create_body(req, upstream(), "10").at("prompt"), req.prompt.c_str());
  req.shots = seed_shots();
  EXPECT_FALSE(create_body(req, upstream(), "10").contains("prompt"));
}

TEST(FreesoraCreate, UploadedBytesBecomeImageData) {
  auto req = request();
  req.input_reference = upload();
  auto o = create_body(req, upstream(), "10");
  EXPECT_EQ(o.at("imageData"), png_data_url.c_str());
  EXPECT_FALSE(o.contains("imageUrl"));

  req.input_reference->bytes = "\xFF\xD8\xFF\xE0"s;
  req.input_reference->mime = "image/jpeg";
  EXPECT_EQ(create_body(req, upstream(), "10").at("imageData"), "data:image/jpeg;base64,/9j/4A==");
}

TEST(FreesoraCreate, DataUrlsAreImageDataAndHttpUrlsImageUrl) {
  auto req = request();
  req.input_reference = image_url(png_data_url);
  auto data = create_body(req, upstream(), "10");
  EXPECT_EQ(data.at("imageData"), png_data_url.c_str());
  EXPECT_FALSE(data.contains("imageUrl"));
  EXPECT_EQ(data.at("model"), "sora-2-image-to-video");

  for (auto url : {"https://example.com/cat.png?x=1&y=2", "http://example.com/cat.webp"}) {
    SCOPED_TRACE(url);
    req.input_reference = image_url(url);
    auto o = create_body(req, upstream(), "10");
    EXPECT_EQ(o.at("imageUrl"), url);
    EXPECT_FALSE(o.contains("imageData"));
  }
}

TEST(FreesoraCreate, NoImageSendsNeitherImageField) {
  auto o = create_body(request(), upstream(), "10");
  EXPECT_FALSE(o.contains("imageData"));
  EXPECT_FALSE(o.contains("imageUrl"));
}

TEST(FreesoraCreate, RemoveWatermarkIsTheOppositeOfWatermark) {
  auto unset = create_body(request(), upstream(), "10");
  ASSERT_TRUE(unset.at("removeWatermark").is_bool());
  EXPECT_TRUE(unset.at("removeWatermark").as_bool()) << "the vendor's default: no watermark";

  auto req = request();
  req.watermark = false;
  EXPECT_TRUE(create_body(req, upstream(), "10").at("removeWatermark").as_bool());
  req.watermark = true;
  EXPECT_FALSE(create_body(req, upstream(), "10").at("removeWatermark").as_bool());
  req.model = "sora-2-pro";
  EXPECT_FALSE(create_body(req, upstream(), "10").at("removeWatermark").as_bool());
}

TEST(FreesoraCreate, RemoveWatermarkIsOmittedForStoryboardsAndStableModels) {
  auto story = request("p", "sora-2-pro");
  story.shots = seed_shots();
  story.watermark = false;
  EXPECT_FALSE(create_body(story, upstream(), "10").contains("removeWatermark"));

  auto up = upstream();
  up.models = {{"sora-2-stable", "sora-2-text-to-video-stable"}};
  up.defaults = {{"watermark", def_bool(false)}};
  auto stable = request("p", "sora-2-stable");
  stable.watermark = false;
  EXPECT_FALSE(create_body(stable, up, "10").contains("removeWatermark"));
  stable.watermark.reset();
  EXPECT_FALSE(create_body(stable, up, "10").contains("removeWatermark")) << "not even from defaults:";
  story.watermark.reset();
  EXPECT_FALSE(create_body(story, up, "10").contains("removeWatermark")) << "not even from defaults:";
}

TEST(FreesoraCreate, IsPublicOnlyWhenPrivateIsGiven) {
  EXPECT_FALSE(create_body(request(), upstream(), "10").contains("isPublic"));
  auto req = request();
  req.is_private = true;
  auto priv = create_body(req, upstream(), "10");
  ASSERT_TRUE(priv.at("isPublic").is_bool());
  EXPECT_FALSE(priv.at("isPublic").as_bool());
  req.is_private = false;
  EXPECT_TRUE(create_body(req, upstream(), "10").at("isPublic").as_bool());
  req.shots = seed_shots();
  req.is_private = true;
  EXPECT_FALSE(create_body(req, upstream(), "10").at("isPublic").as_bool()) << "storyboards take isPublic too";
}

TEST(FreesoraCreate, DefaultsForWatermarkAndPrivateAreTranslated) {
  auto up = upstream();
  up.defaults = {{"watermark", def_bool(true)}, {"private", def_bool(true)}};
  auto unset = create_body(request(), up, "10");
  EXPECT_FALSE(unset.at("removeWatermark").as_bool()) << "defaults watermark: true";
  EXPECT_FALSE(unset.at("isPublic").as_bool()) << "defaults private: true";
  EXPECT_FALSE(unset.contains("watermark")) << "our names never reach the vendor";
  EXPECT_FALSE(unset.contains("private")) << "our names never reach the vendor";

  auto req = request();
  req.watermark = false;
  req.is_private = false;
  auto set = create_body(req, up, "10");
  EXPECT_TRUE(set.at("removeWatermark").as_bool()) << "the request wins";
  EXPECT_TRUE(set.at("isPublic").as_bool()) << "the request wins";

  up.defaults = {{"watermark", def_bool(false)}, {"private", def_bool(false)}};
  auto other = create_body(request(), up, "10");
  EXPECT_TRUE(other.at("removeWatermark").as_bool());
  EXPECT_TRUE(other.at("isPublic").as_bool());
}

TEST(FreesoraCreate, OtherDefaultsAreAddedButNeverOverride) {
  auto up = upstream();
  up.defaults = {{"callBackUrl", def_string("https://hooks.example.com/fs")},
                 {"priority", def_int(2)},
                 {"model", def_string("sora-2-pro-storyboard")},
                 {"nFrames", def_string("25")},
                 {"aspectRatio", def_string("landscape")},
                 {"prompt", def_string("x")}};
  auto o = create_body(request("p"), up, "10");
  EXPECT_EQ(o.at("callBackUrl"), "https://hooks.example.com/fs");
  ASSERT_TRUE(o.at("priority").is_int64());
  EXPECT_EQ(o.at("priority").as_int64(), 2);
  EXPECT_EQ(o.at("model"), "sora-2-text-to-video");
  EXPECT_EQ(o.at("nFrames"), "10");
  EXPECT_EQ(o.at("aspectRatio"), "portrait");
  EXPECT_EQ(o.at("prompt"), "p");
}

TEST(FreesoraCreate, ShotsLongerThanTheVideoAreInvalid) {
  auto req = request("p", "sora-2-pro");
  req.shots = std::vector<api::shot>{{"a", 6}, {"b", 5}};
  auto r = fs.create(req, upstream(), "10");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::invalid_value);
  EXPECT_EQ(r.error().param, "shots");
  EXPECT_TRUE(contains(r.error().message, "10")) << r.error().message;

  EXPECT_TRUE(fs.create(req, upstream(), "15").has_value()) << "11 s of shots fit into 15 s";
  req.shots = std::vector<api::shot>{{"a", 5.5}, {"b", 4.5}};
  EXPECT_TRUE(fs.create(req, upstream(), "10").has_value()) << "exactly the length is fine";
  req.shots = std::vector<api::shot>{{"a", 5.5}, {"b", 4.6}};
  auto over = fs.create(req, upstream(), "10");
  ASSERT_TRUE(over.has_error());
  EXPECT_EQ(over.error().code, errc::invalid_value);
}

TEST(FreesoraCreate, SceneTextIsKeptExactly) {
  auto req = request("p", "sora-2-pro");
  req.shots = std::vector<api::shot>{{"雨夜 \"neon\" \\ street\nsecond line", 10}};
  auto o = create_body(req, upstream(), "10");
  EXPECT_EQ(o.at("shots").as_array()[0].as_object().at("Scene"), "雨夜 \"neon\" \\ street\nsecond line");
}

TEST(FreesoraCreate, StyleIsUnsupportedNamingTheUpstream) {
  auto req = request();
  req.style = "anime";
  auto r = fs.create(req, upstream(), "10");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_EQ(r.error().param, "style");
  EXPECT_TRUE(contains(r.error().message, "freesora-main")) << r.error().message;
}

// --- read_create -----------------------------------------------------------------------------

TEST(FreesoraReadCreate, Seed003Response) {
  auto r = fs.read_create(200, {}, seed003_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "281e5b0*********************f39b9");
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->progress, 0);
  EXPECT_EQ(r->content_url, std::nullopt);
  EXPECT_EQ(r->error_message, std::nullopt);
  EXPECT_EQ(r->raw_status, std::nullopt);
}

TEST(FreesoraReadCreate, CodeAsAStringZeroIsSuccess) {
  auto r = fs.read_create(200, {}, R"({"code":"0","message":"ok","data":{"taskId":"t1"}})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "t1");
}

struct code_case {
  const char* body;
  errc want;
};

TEST(FreesoraReadCreate, ErrorCodesOnHttp200AreClassified) {
  const code_case cases[] = {
      {R"({"code":401,"message":"Invalid API key"})", errc::upstream_auth},
      {R"({"code":401,"message":"Unauthorized"})", errc::upstream_auth},
      {R"({"code":401,"message":""})", errc::upstream_auth},
      {R"({"code":401})", errc::upstream_auth},
      {R"({"code":1001,"message":"Invalid API key"})", errc::upstream_auth},
      {R"({"code":402,"message":"Insufficient credits"})", errc::upstream_out_of_credit},
      {R"({"code":402})", errc::upstream_out_of_credit},
      {R"({"code":-1,"message":"Insufficient credits"})", errc::upstream_out_of_credit},
      {R"({"code":429,"message":"Too many requests"})", errc::upstream_rate_limited},
      {R"({"code":429})", errc::upstream_rate_limited},
      {R"({"code":400,"message":"Invalid nFrames: must be 10 or 15"})", errc::upstream_rejected},
      {R"({"code":404,"message":"Task not found"})", errc::not_found},
      {R"({"code":500,"message":"Internal server error"})", errc::upstream_unavailable},
      {R"({"code":1,"message":"Something went wrong"})", errc::upstream_rejected},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = fs.read_create(200, {}, c.body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, c.want) << r.error().message;
    // The status answer is read the same way.
    auto s = status_of(c.body);
    ASSERT_TRUE(s.has_error());
    EXPECT_EQ(s.error().code, c.want) << s.error().message;
  }
}

TEST(FreesoraReadCreate, ValidationRefusalKeepsTheVendorMessage) {
  auto r = fs.read_create(200, {}, R"({"code":400,"message":"Invalid nFrames: must be 10 or 15","data":null})");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::upstream_rejected);
  EXPECT_TRUE(contains(r.error().message, "Invalid nFrames: must be 10 or 15")) << r.error().message;
  auto other = fs.read_create(200, {}, R"({"code":1,"message":"Something went wrong"})");
  ASSERT_TRUE(other.has_error());
  EXPECT_TRUE(contains(other.error().message, "Something went wrong")) << other.error().message;
}

// A refusal of the request's content or length says nothing about the key: it must not become
// upstream_auth (which disables the key for everyone, DESIGN §5) just because its text
// contains a word like "token" or "forbidden".
TEST(FreesoraReadCreate, ContentRefusalsAreNotKeyFailures) {
  for (auto body : {R"({"code":400,"message":"Your prompt contains forbidden content"})",
                    R"({"code":400,"message":"Prompt too long: at most 2000 tokens"})"}) {
    SCOPED_TRACE(body);
    auto r = fs.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::upstream_rejected) << r.error().message;
  }
}

TEST(FreesoraReadCreate, MissingOrUnreadableCodeIsABadUpstreamResponse) {
  for (auto body : {R"({"message":"ok","data":{"taskId":"t1"}})", R"({"code":null,"data":{"taskId":"t1"}})",
                    R"({"code":[0],"data":{"taskId":"t1"}})", "{}"}) {
    SCOPED_TRACE(body);
    auto r = fs.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(FreesoraReadCreate, NoTaskIdIsABadUpstreamResponse) {
  for (auto body : {R"({"code":0,"message":"ok"})", R"({"code":0,"message":"ok","data":null})",
                    R"({"code":0,"message":"ok","data":{}})", R"({"code":0,"message":"ok","data":{"taskId":""}})",
                    R"({"code":0,"message":"ok","data":{"taskId":42}})"}) {
    SCOPED_TRACE(body);
    auto r = fs.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(FreesoraReadCreate, NonJsonIsABadUpstreamResponse) {
  for (auto body : {"<html><body>Cloudflare</body></html>", "", "{\"code\":0", "[]", "0"}) {
    SCOPED_TRACE(body);
    auto r = fs.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(FreesoraReadCreate, HttpErrorsAreClassified) {
  auto down = fs.read_create(500, {}, "<html>Internal Server Error</html>");
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);
  EXPECT_EQ(down.error().upstream_status, 500);

  auto down_json = fs.read_create(500, {}, R"({"code":500,"message":"Internal server error"})");
  ASSERT_TRUE(down_json.has_error());
  EXPECT_EQ(down_json.error().code, errc::upstream_unavailable);

  auto auth = fs.read_create(401, {}, R"({"code":401,"message":"Invalid API key"})");
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);

  auto credit = fs.read_create(402, {}, R"({"code":402,"message":"Insufficient credits"})");
  ASSERT_TRUE(credit.has_error());
  EXPECT_EQ(credit.error().code, errc::upstream_out_of_credit);

  auto refused = fs.read_create(400, {}, R"({"code":400,"message":"prompt is required"})");
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code, errc::upstream_rejected);
  EXPECT_TRUE(contains(refused.error().message, "prompt is required")) << refused.error().message;

  auto plain_limited = fs.read_create(429, {{"Retry-After", "17"}}, "Too Many Requests");
  ASSERT_TRUE(plain_limited.has_error());
  EXPECT_EQ(plain_limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(plain_limited.error().retry_after_s, 17);

  // A success envelope on an HTTP error is still an error.
  auto looks_ok = fs.read_create(503, {}, seed003_response);
  ASSERT_TRUE(looks_ok.has_error());
  EXPECT_EQ(looks_ok.error().code, errc::upstream_unavailable);
}

// An HTTP 429 that also carries the vendor's envelope must keep the Retry-After header: the
// key pool cools the key for exactly that long (DESIGN §5).
TEST(FreesoraReadCreate, RateLimitWithAnEnvelopeKeepsRetryAfter) {
  auto r = fs.read_create(429, {{"Retry-After", "17"}}, R"({"code":429,"message":"Too many requests"})");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(r.error().retry_after_s, 17);
}

// --- status call ---------------------------------------------------------------------------

TEST(FreesoraStatusCall, PostsTheTaskId) {
  auto c = fs.status("281e5b0*********************f39b9");
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/api/video-generations/check-result");
  EXPECT_TRUE(c.absolute_url.empty());
  auto o = read_json(c);
  EXPECT_EQ(o, (json::object{{"taskId", "281e5b0*********************f39b9"}})) << c.body;
  expect_no_key(c);
}

TEST(FreesoraStatusCall, TaskIdIsJsonEscaped) {
  const std::string id = "a\"b\\c\n猫";
  auto c = fs.status(id);
  EXPECT_EQ(read_json(c).at("taskId"), id.c_str()) << c.body;
}

// --- read_status -----------------------------------------------------------------------------

TEST(FreesoraReadStatus, VendorsExampleRunning) {
  auto r = status_of(check_running);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "in_progress");
  EXPECT_EQ(r->progress, 35);
  EXPECT_EQ(r->content_url, std::nullopt);
  EXPECT_EQ(r->error_message, std::nullopt) << "an empty failure_reason is no reason";
  EXPECT_EQ(r->raw_status, std::nullopt);
}

TEST(FreesoraReadStatus, EveryStatusOfTheVendor) {
  const std::map<std::string, std::string> words = {{"pending", "queued"},
                                                    {"running", "in_progress"},
                                                    {"succeeded", "completed"},
                                                    {"failed", "failed"},
                                                    {"PENDING", "queued"},
                                                    {"Running", "in_progress"},
                                                    {"SUCCEEDED", "completed"},
                                                    {"Failed", "failed"}};
  for (auto& [word, ours] : words) {
    SCOPED_TRACE(word);
    auto r = status_of(ok_with(R"("status":")" + word + R"(","progress":10)"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, ours);
    EXPECT_EQ(r->raw_status, std::nullopt);
    EXPECT_EQ(r->progress, ours == "completed" ? 100 : 10);
  }
}

TEST(FreesoraReadStatus, UnknownStatusIsInProgressWithTheRawWord) {
  auto r = status_of(ok_with(R"("status":"upscaling","progress":80)"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "in_progress");
  EXPECT_EQ(r->raw_status, "upscaling");
  EXPECT_EQ(r->progress, 80);
}

TEST(FreesoraReadStatus, ProgressShapes) {
  const std::pair<const char*, int> cases[] = {{R"("progress":35)", 35},   {R"("progress":"35")", 35},
                                               {R"("progress":"35%")", 35}, {R"("progress":0.35)", 35},
                                               {R"("progress":null)", 0},  {R"("progress":120)", 100}};
  for (auto& [field, want] : cases) {
    SCOPED_TRACE(field);
    auto r = status_of(ok_with(R"("status":"running",)" + std::string(field)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->progress, want);
  }
  auto none = status_of(ok_with(R"("status":"running")"));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->progress, 0);
}

TEST(FreesoraReadStatus, ResultUrlBecomesTheContentUrl) {
  auto r = status_of(ok_with(
      R"("status":"succeeded","progress":100,"result_url":"https://cdn.freesora.example/v/1.mp4","result_urls":["https://cdn.freesora.example/v/other.mp4"],"failure_reason":"","error_message":null,"credits_refunded":false)"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, "https://cdn.freesora.example/v/1.mp4") << "result_url wins";
  EXPECT_EQ(r->error_message, std::nullopt);
}

TEST(FreesoraReadStatus, FirstOfResultUrlsWhenThereIsNoResultUrl) {
  for (auto result_url : {R"("result_url":null,)", R"("result_url":"",)", ""}) {
    SCOPED_TRACE(result_url);
    auto r = status_of(ok_with(R"("status":"succeeded",)" + std::string(result_url) +
                               R"("result_urls":["https://cdn.freesora.example/v/a.mp4","https://cdn.freesora.example/v/b.mp4"])"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->content_url, "https://cdn.freesora.example/v/a.mp4");
  }
  auto skips_empty = status_of(ok_with(R"("status":"succeeded","result_urls":["","https://cdn.freesora.example/v/b.mp4"])"));
  ASSERT_TRUE(skips_empty.has_value());
  EXPECT_EQ(skips_empty->content_url, "https://cdn.freesora.example/v/b.mp4");
  auto none = status_of(ok_with(R"("status":"succeeded","result_url":null,"result_urls":[])"));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->content_url, std::nullopt);
}

TEST(FreesoraReadStatus, FailureReasonOrErrorMessage) {
  auto reason = status_of(ok_with(
      R"("status":"failed","progress":0,"result_url":null,"failure_reason":"Content policy violation","error_message":"generic","credits_refunded":true)"));
  ASSERT_TRUE(reason.has_value()) << reason.error().message;
  EXPECT_EQ(reason->status, "failed");
  EXPECT_EQ(reason->error_message, "Content policy violation");

  auto message = status_of(ok_with(R"("status":"failed","failure_reason":"","error_message":"GPU timeout")"));
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->error_message, "GPU timeout");

  auto nothing = status_of(ok_with(R"("status":"failed","failure_reason":"","error_message":null)"));
  ASSERT_TRUE(nothing.has_value());
  EXPECT_EQ(nothing->status, "failed");
  EXPECT_EQ(nothing->error_message, std::nullopt);
}

TEST(FreesoraReadStatus, ReasonsOfRunningJobsAreIgnored) {
  auto r = status_of(ok_with(R"("status":"running","failure_reason":"stale","error_message":"stale")"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->error_message, std::nullopt);
}

TEST(FreesoraReadStatus, NoStatusIsABadUpstreamResponse) {
  for (auto data : {R"("progress":35)", R"("status":null)", R"("status":3)"}) {
    SCOPED_TRACE(data);
    auto r = status_of(ok_with(data));
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
  auto no_data = status_of(R"({"code":0,"message":"Success"})");
  ASSERT_TRUE(no_data.has_error());
  EXPECT_EQ(no_data.error().code, errc::bad_upstream_response);
}

TEST(FreesoraReadStatus, ErrorsAreClassified) {
  auto gone = status_of(R"({"code":404,"message":"Task not found"})");
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);

  auto down = status_of("<html>502 Bad Gateway</html>", 502);
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);

  auto garbage = status_of("not json");
  ASSERT_TRUE(garbage.has_error());
  EXPECT_EQ(garbage.error().code, errc::bad_upstream_response);

  auto limited = status_of("", 429, {{"Retry-After", "9"}});
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(limited.error().retry_after_s, 9);
}

// --- content / remix / remove ----------------------------------------------------------------

TEST(FreesoraContent, VideoIsTheResultUrlFetchedWithoutTheKey) {
  auto st = status_of(ok_with(R"("status":"succeeded","result_url":"https://cdn.freesora.example/v/1.mp4")"));
  ASSERT_TRUE(st.has_value());
  auto c = fs.content("281e5b0", content_variant::video, st->content_url, upstream());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->absolute_url, "https://cdn.freesora.example/v/1.mp4");
  EXPECT_EQ(c->method, "GET");
  EXPECT_TRUE(c->body.empty());
  expect_no_key(*c);
}

TEST(FreesoraContent, ThumbnailAndSpritesheetAreNotFoundNamingTheUpstream) {
  for (auto v : {content_variant::thumbnail, content_variant::spritesheet}) {
    auto c = fs.content("t1", v, "https://cdn.freesora.example/v/1.mp4", upstream());
    ASSERT_TRUE(c.has_error());
    EXPECT_EQ(c.error().code, errc::not_found);
    EXPECT_TRUE(contains(c.error().message, "freesora-main")) << c.error().message;
  }
}

TEST(FreesoraContent, CompletedWithoutAUrlIsABadUpstreamResponse) {
  auto c = fs.content("t1", content_variant::video, std::nullopt, upstream());
  ASSERT_TRUE(c.has_error());
  EXPECT_EQ(c.error().code, errc::bad_upstream_response);
}

TEST(FreesoraRemix, IsUnsupportedNamingTheUpstream) {
  auto r = fs.remix("t1", "make it night", upstream());
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_TRUE(contains(r.error().message, "freesora-main")) << r.error().message;
}

TEST(FreesoraRemove, HasNoDeleteCall) { EXPECT_FALSE(fs.remove("t1").has_value()); }

}  // namespace
}  // namespace videogate::dialects
