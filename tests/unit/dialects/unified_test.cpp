#include "videogate/dialects/unified.hpp"

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

// --- fixtures -----------------------------------------------------------------------------

// Seed 000 (create sora-2-pro), the request example verbatim (apart from the CRLFs).
constexpr std::string_view seed000_request = R"({
 "images": [],
 "model": "sora-2-pro",
 "orientation": "portrait",
 "prompt": "make animate",
 "size": "large",
 "duration": 15,
 "watermark": false,
 "private": true
})";

// Seed 000, the success example.
constexpr std::string_view seed000_response = R"({
 "id": "sora-2:task_01k9009g8ef1esae6388chgcpx",
 "status": "pending",
 "status_update_time": 1762010645686
})";

// Seed 004 (yunwu.ai), the request payload of the Python example and the returned body.
constexpr std::string_view seed004_prompt =
    "Two huskies were playing in a courtyard when suddenly a white cat came into the camera and the white cat gave "
    "a cry. A husky crashed into the gate in a panic and passed out. Another husky climbed the wall and ran away. "
    "The environment is a stone road in front of the courtyard gate.";

constexpr std::string_view seed004_response = R"({
    "id": "sora-2:task_01k7znn323fywsam5cjy0btrwj",
    "status": "pending",
    "status_update_time": 1760925748868
})";

// vendors.md: the minimal query answer.
constexpr std::string_view minimal_query = R"({
  "id": "sora-2:task_01k9009g8ef1esae6388chgcpx",
  "status": "pending",
  "video_url": null,
  "enhanced_prompt": "make animate",
  "status_update_time": 1762010645686
})";

// vendors.md: a richer answer (object, model, progress as a string, created_at, size, detail).
constexpr std::string_view rich_query = R"({
  "id": "sora-2:task_01k9009g8ef1esae6388chgcpx",
  "object": "video",
  "model": "sora-2",
  "status": "processing",
  "progress": "35",
  "created_at": 1762010645,
  "size": "small",
  "video_url": null,
  "enhanced_prompt": "make animate",
  "status_update_time": 1762010700123,
  "detail": {
    "id": "task_01k9009g8ef1esae6388chgcpx",
    "status": "running",
    "pending_info": {"progress_pct": 0.9},
    "n_frames": 300,
    "width": 704,
    "height": 1280,
    "generations": []
  }
})";

constexpr std::string_view rich_completed = R"({
  "id": "sora-2:task_01k9009g8ef1esae6388chgcpx",
  "object": "video",
  "model": "sora-2",
  "status": "completed",
  "progress": "100",
  "created_at": 1762010645,
  "size": "small",
  "video_url": "https://cdn.example.com/videos/task_01k9009g8ef1esae6388chgcpx.mp4",
  "enhanced_prompt": "make animate",
  "status_update_time": 1762010845686,
  "detail": {"status": "succeeded", "n_frames": 300, "width": 704, "height": 1280,
             "generations": [{"url": "https://cdn.example.com/g.mp4"}]}
})";

const unified_dialect uni{};

config::upstream_config upstream() {
  config::upstream_config up;
  up.name = "reseller-u";
  up.dialect = config::dialect_kind::unified;
  up.base_url = "https://yunwu.example.com";
  up.keys = {"sk-unified-key-1"};
  return up;
}

void expect_no_key(const upstream_call& call) { test_support::expect_no_key(call, "sk-unified-key-1"); }

json::object create_body(const api::create_request& req, const config::upstream_config& up, const std::string& seconds) {
  return test_support::create_body(uni, req, up, seconds);
}

result<job_state> status_of(std::string_view body, int http_status = 200, const http::header_list& h = {}) {
  return uni.read_status(http_status, h, body);
}

std::string task_with(std::string_view fields) {
  return R"({"id":"sora-2:task_01k9009g8ef1esae6388chgcpx")" + std::string(fields.empty() ? "" : ",") +
         std::string(fields) + "}";
}

// --- make_dialect / kind ------------------------------------------------------------------

TEST(UnifiedMakeDialect, KindAndType) {
  auto d = make_dialect(config::dialect_kind::unified);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind(), config::dialect_kind::unified);
  EXPECT_NE(dynamic_cast<unified_dialect*>(d.get()), nullptr);
  EXPECT_EQ(uni.kind(), config::dialect_kind::unified);
}

// --- allowed_durations -------------------------------------------------------------------

TEST(UnifiedDurations, Sora2DefaultsToTenAndFifteen) {
  EXPECT_EQ(uni.allowed_durations(upstream(), request("p", "sora-2")), (std::vector<int>{10, 15}));
}

TEST(UnifiedDurations, ProModelAddsTwentyFive) {
  EXPECT_EQ(uni.allowed_durations(upstream(), request("p", "sora-2-pro")), (std::vector<int>{10, 15, 25}));
}

TEST(UnifiedDurations, DecidedByTheMappedModel) {
  auto up = upstream();
  up.models = {{"sora-2-hd", "sora-2-pro"}, {"sora-2", "sora-2-vendor"}};
  EXPECT_EQ(uni.allowed_durations(up, request("p", "sora-2-hd")), (std::vector<int>{10, 15, 25}))
      << "a public name mapped to a pro model gets the pro durations";
  EXPECT_EQ(uni.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{10, 15}));
}

TEST(UnifiedDurations, OverrideIsKeyedByThePublicModel) {
  auto up = upstream();
  up.models = {{"sora-2", "sora-2-vendor"}, {"sora-2-pro", "sora-2-pro-vendor"}};
  up.durations = {{"sora-2", {5, 10}}, {"sora-2-pro-vendor", {30}}};
  EXPECT_EQ(uni.allowed_durations(up, request("p", "sora-2")), (std::vector<int>{5, 10}));
  EXPECT_EQ(uni.allowed_durations(up, request("p", "sora-2-pro")), (std::vector<int>{10, 15, 25}))
      << "an override under the upstream's model name is not the public model's";
}

TEST(UnifiedDurations, PickedFromTheAllowedOnes) {
  auto up = upstream();
  auto sora2 = uni.allowed_durations(up, request("p", "sora-2"));
  auto pro = uni.allowed_durations(up, request("p", "sora-2-pro"));
  EXPECT_EQ(pick_duration(std::nullopt, sora2, up.name, "sora-2").value(), 10);
  EXPECT_EQ(pick_duration("4", sora2, up.name, "sora-2").value(), 10);
  EXPECT_EQ(pick_duration("12", sora2, up.name, "sora-2").value(), 15);
  EXPECT_EQ(pick_duration("20", pro, up.name, "sora-2-pro").value(), 25);
  auto too_long = pick_duration("20", sora2, up.name, "sora-2");
  ASSERT_TRUE(too_long.has_error());
  EXPECT_EQ(too_long.error().code, errc::unsupported_value);
  EXPECT_EQ(too_long.error().param, "seconds");
  EXPECT_TRUE(contains(too_long.error().message, "10, 15")) << too_long.error().message;
  EXPECT_TRUE(contains(too_long.error().message, "reseller-u")) << too_long.error().message;
  auto pro_too_long = pick_duration("30", pro, up.name, "sora-2-pro");
  ASSERT_TRUE(pro_too_long.has_error());
  EXPECT_TRUE(contains(pro_too_long.error().message, "10, 15, 25")) << pro_too_long.error().message;
}

// --- create: the seeds ---------------------------------------------------------------------

TEST(UnifiedCreate, Seed000RequestExactly) {
  auto req = request("make animate", "sora-2-pro");
  req.size = "1024x1792";
  req.seconds = "15";
  req.watermark = false;
  req.is_private = true;
  auto call = uni.create(req, upstream(), "15");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  auto o = read_json(*call);
  EXPECT_EQ(o, parse(seed000_request)) << call->body;
  ASSERT_TRUE(o.at("duration").is_int64()) << "seed 000 types duration as an integer: " << call->body;
  ASSERT_TRUE(o.at("watermark").is_bool());
  ASSERT_TRUE(o.at("private").is_bool());
  ASSERT_TRUE(o.at("images").is_array());
}

TEST(UnifiedCreate, Seed004RequestPlusTheRequiredBooleans) {
  // The dialect translates; that 1080p needs a pro model is checked before it is called
  // (check_size_for_model). Seed 004 sends sora-2 with size large.
  auto req = request(std::string(seed004_prompt), "sora-2");
  req.size = "1080x1920";
  auto call = uni.create(req, upstream(), "15");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  auto expected = json::object{{"images", json::array{}},     {"model", "sora-2"}, {"orientation", "portrait"},
                               {"prompt", seed004_prompt},    {"size", "large"},   {"duration", 15},
                               {"watermark", true},           {"private", false}};
  EXPECT_EQ(read_json(*call), expected) << call->body;
}

TEST(UnifiedCreate, MethodPathAndHeaders) {
  auto call = uni.create(request(), upstream(), "10");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->path, "/v1/video/create");
  EXPECT_TRUE(call->absolute_url.empty());
  EXPECT_EQ(http::find_header(call->headers, "Content-Type"), "application/json");
  EXPECT_EQ(http::find_header(call->headers, "Accept"), "application/json");
  expect_no_key(*call);
}

TEST(UnifiedCreate, MinimalRequestHasEveryRequiredFieldOfTheSeed) {
  auto o = create_body(request("p"), upstream(), "10");
  for (auto k : {"images", "model", "orientation", "prompt", "size", "duration", "watermark", "private"})
    EXPECT_TRUE(o.contains(k)) << k;
  EXPECT_EQ(o.size(), 8u) << json::serialize(o);
  EXPECT_EQ(o.at("images"), json::array{});
  EXPECT_EQ(o.at("model"), "sora-2");
  EXPECT_EQ(o.at("orientation"), "portrait") << "720x1280 is the default size";
  EXPECT_EQ(o.at("size"), "small");
  EXPECT_EQ(o.at("duration"), 10);
}

TEST(UnifiedCreate, ModelIsMappedThroughModels) {
  auto up = upstream();
  up.models = {{"sora-2", "sora-2-all"}, {"sora-2-pro", "sora-2-pro-all"}};
  EXPECT_EQ(create_body(request("p", "sora-2"), up, "10").at("model"), "sora-2-all");
  EXPECT_EQ(create_body(request("p", "sora-2-pro"), up, "10").at("model"), "sora-2-pro-all");
  EXPECT_EQ(create_body(request("p", "veo3"), up, "10").at("model"), "veo3") << "identity when unmapped";
}

TEST(UnifiedCreate, SizeBecomesOrientationAndResolutionClass) {
  struct row {
    const char* size;
    const char* orientation;
    const char* klass;
  };
  const row rows[] = {
      {"720x1280", "portrait", "small"},   {"1280x720", "landscape", "small"}, {"1024x1792", "portrait", "large"},
      {"1792x1024", "landscape", "large"}, {"1080x1920", "portrait", "large"}, {"1920x1080", "landscape", "large"},
  };
  for (auto& r : rows) {
    SCOPED_TRACE(r.size);
    auto req = request("p", "sora-2-pro");
    req.size = r.size;
    auto o = create_body(req, upstream(), "10");
    EXPECT_EQ(o.at("orientation"), r.orientation);
    EXPECT_EQ(o.at("size"), r.klass);
  }
}

TEST(UnifiedCreate, DurationIsAnIntegerOfThePickedSeconds) {
  for (auto s : {"10", "15", "25"}) {
    SCOPED_TRACE(s);
    auto req = request("p", "sora-2-pro");
    req.seconds = "4";  // as asked: the body carries the picked value
    auto call = uni.create(req, upstream(), s);
    ASSERT_TRUE(call.has_value());
    auto o = read_json(*call);
    ASSERT_TRUE(o.at("duration").is_int64()) << call->body;
    EXPECT_EQ(o.at("duration").as_int64(), std::stoi(s));
    EXPECT_TRUE(contains(call->body, "\"duration\":"s + s)) << call->body;
  }
}

// --- create: images ------------------------------------------------------------------------

TEST(UnifiedCreate, UploadedBytesBecomeADataUrl) {
  auto req = request();
  req.input_reference = upload();
  auto o = create_body(req, upstream(), "10");
  EXPECT_EQ(o.at("images"), (json::array{json::string(png_data_url)}));

  req.input_reference = upload("image/jpeg");
  req.input_reference->bytes = "\xFF\xD8\xFF\xE0"s;
  EXPECT_EQ(create_body(req, upstream(), "10").at("images"), (json::array{"data:image/jpeg;base64,/9j/4A=="}));

  req.input_reference = upload("image/webp");
  req.input_reference->bytes = "RIFF\0\0\0\0WEBPVP8 "s;
  EXPECT_EQ(create_body(req, upstream(), "10").at("images"),
            (json::array{"data:image/webp;base64,UklGRgAAAABXRUJQVlA4IA=="}));
}

TEST(UnifiedCreate, DataUrlOfEveryByteValue) {
  auto req = request();
  req.input_reference = upload("image/png");
  req.input_reference->bytes.clear();
  for (int i = 0; i < 256; ++i) req.input_reference->bytes += static_cast<char>(i);
  auto o = create_body(req, upstream(), "10");
  ASSERT_EQ(o.at("images").as_array().size(), 1u);
  EXPECT_EQ(o.at("images").as_array()[0],
            "data:image/png;base64,"
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==");
}

TEST(UnifiedCreate, ImageUrlsPassThrough) {
  auto req = request();
  req.input_reference = image_url("https://example.com/cat.png?sig=a%2Fb&x=1");
  EXPECT_EQ(create_body(req, upstream(), "10").at("images"), (json::array{"https://example.com/cat.png?sig=a%2Fb&x=1"}));

  req.input_reference = image_url(png_data_url);
  EXPECT_EQ(create_body(req, upstream(), "10").at("images"), (json::array{json::string(png_data_url)}))
      << "a data: URL is already what the vendor takes";
}

// --- create: watermark / private / defaults -------------------------------------------------

TEST(UnifiedCreate, WatermarkAndPrivateAreAlwaysSentWithTheVendorDefaults) {
  auto call = uni.create(request(), upstream(), "10");
  ASSERT_TRUE(call.has_value());
  auto o = read_json(*call);
  ASSERT_TRUE(o.at("watermark").is_bool()) << call->body;
  EXPECT_TRUE(o.at("watermark").as_bool());
  ASSERT_TRUE(o.at("private").is_bool()) << call->body;
  EXPECT_FALSE(o.at("private").as_bool());
}

TEST(UnifiedCreate, RequestValuesAreSent) {
  for (bool wm : {false, true})
    for (bool priv : {false, true}) {
      SCOPED_TRACE(std::to_string(wm) + "/" + std::to_string(priv));
      auto req = request();
      req.watermark = wm;
      req.is_private = priv;
      auto o = create_body(req, upstream(), "10");
      EXPECT_EQ(o.at("watermark").as_bool(), wm);
      EXPECT_EQ(o.at("private").as_bool(), priv);
    }
}

TEST(UnifiedCreate, DefaultsSupplyWatermarkAndPrivateWhenUnset) {
  auto up = upstream();
  up.defaults = {{"watermark", def_bool(false)}, {"private", def_bool(true)}};
  auto unset = create_body(request(), up, "10");
  EXPECT_FALSE(unset.at("watermark").as_bool());
  EXPECT_TRUE(unset.at("private").as_bool());
  EXPECT_EQ(unset.size(), 8u) << json::serialize(unset);

  auto req = request();
  req.watermark = true;
  req.is_private = false;
  auto set = create_body(req, up, "10");
  EXPECT_TRUE(set.at("watermark").as_bool()) << "the request wins over defaults:";
  EXPECT_FALSE(set.at("private").as_bool()) << "the request wins over defaults:";

  // Only one of the two set: the other still comes from defaults:.
  auto half = request();
  half.watermark = true;
  auto h = create_body(half, up, "10");
  EXPECT_TRUE(h.at("watermark").as_bool());
  EXPECT_TRUE(h.at("private").as_bool());
}

TEST(UnifiedCreate, OtherDefaultsAreAddedTyped) {
  auto up = upstream();
  up.defaults = {{"character_url", def_string("https://example.com/char.mp4")},
                 {"character_timestamps", def_string("1,3")},
                 {"fps", def_int(24)},
                 {"cfg", def_number(7.5, "7.5")},
                 {"hd", def_bool(true)}};
  auto o = create_body(request(), up, "10");
  EXPECT_EQ(o.at("character_url"), "https://example.com/char.mp4");
  EXPECT_EQ(o.at("character_timestamps"), "1,3");
  ASSERT_TRUE(o.at("fps").is_int64());
  EXPECT_EQ(o.at("fps").as_int64(), 24);
  ASSERT_TRUE(o.at("cfg").is_double());
  EXPECT_DOUBLE_EQ(o.at("cfg").as_double(), 7.5);
  ASSERT_TRUE(o.at("hd").is_bool());
  EXPECT_TRUE(o.at("hd").as_bool());
  EXPECT_EQ(o.size(), 13u) << json::serialize(o);
}

TEST(UnifiedCreate, DefaultsNeverOverrideWhatTheRequestDecides) {
  auto up = upstream();
  up.defaults = {{"model", def_string("other")},      {"prompt", def_string("x")},      {"size", def_string("large")},
                 {"orientation", def_string("landscape")}, {"duration", def_int(25)},   {"images", def_string("x")}};
  auto o = create_body(request("p"), up, "10");
  EXPECT_EQ(o.at("model"), "sora-2");
  EXPECT_EQ(o.at("prompt"), "p");
  EXPECT_EQ(o.at("size"), "small");
  EXPECT_EQ(o.at("orientation"), "portrait");
  EXPECT_EQ(o.at("duration"), 10);
  EXPECT_EQ(o.at("images"), json::array{});
}

TEST(UnifiedCreate, PromptIsKeptExactly) {
  auto req = request("一只凶猛的老虎破门闯入农家小院 \"quoted\" \\ back\r\nline two\ttab \xF0\x9F\x90\xB1");
  auto call = uni.create(req, upstream(), "10");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(read_json(*call).at("prompt"), req.prompt.c_str());
}

// --- create: refusals ----------------------------------------------------------------------

TEST(UnifiedCreate, ShotsAreUnsupportedNamingTheUpstream) {
  auto req = request();
  req.shots = std::vector<api::shot>{{"a cat", 5}, {"a dog", 5}};
  auto r = uni.create(req, upstream(), "10");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_EQ(r.error().param, "shots");
  EXPECT_TRUE(contains(r.error().message, "reseller-u")) << r.error().message;
}

TEST(UnifiedCreate, StyleIsUnsupportedNamingTheUpstream) {
  auto req = request();
  req.style = "anime";
  auto r = uni.create(req, upstream(), "10");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_EQ(r.error().param, "style");
  EXPECT_TRUE(contains(r.error().message, "reseller-u")) << r.error().message;
}

// --- read_create -----------------------------------------------------------------------------

TEST(UnifiedReadCreate, Seed000Response) {
  auto r = uni.read_create(200, {}, seed000_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "sora-2:task_01k9009g8ef1esae6388chgcpx");
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->progress, 0);
  EXPECT_EQ(r->completed_at, std::nullopt) << "status_update_time of a pending job is no completion";
  EXPECT_EQ(r->content_url, std::nullopt);
  EXPECT_EQ(r->error_code, std::nullopt);
  EXPECT_EQ(r->error_message, std::nullopt);
  EXPECT_EQ(r->raw_status, std::nullopt);
}

TEST(UnifiedReadCreate, Seed004Response) {
  auto r = uni.read_create(200, {}, seed004_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "sora-2:task_01k7znn323fywsam5cjy0btrwj");
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->raw_status, std::nullopt);
}

TEST(UnifiedReadCreate, ErrorObjectOnHttp200IsAnError) {
  const std::string bodies[] = {
      R"({"error":{"message":"当前分组上游负载已饱和,请稍后再试","type":"new_api_error","code":null}})",
      R"({"error":"model sora-3 is not available"})",
      R"({"code":"invalid_request","message":"prompt is required","data":null})",
  };
  for (auto& body : bodies) {
    SCOPED_TRACE(body);
    auto r = uni.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().code, errc::ok);
  }
  auto r = uni.read_create(200, {}, bodies[1]);
  ASSERT_TRUE(r.has_error());
  EXPECT_TRUE(contains(r.error().message, "model sora-3 is not available")) << r.error().message;
}

// DESIGN §5: "invalid key" and "insufficient quota / credit or balance" messages are key
// failures whatever the HTTP status, so that the key pool disables the key and the create
// fails over to the next one. Resellers that answer HTTP 200 with an error object say so in
// the message only (freesora's dialect reads its HTTP-200 errors the same way).
TEST(UnifiedReadCreate, KeyFailuresOnHttp200AreClassifiedForTheKeyPool) {
  auto credit = uni.read_create(200, {}, R"({"error":{"message":"Insufficient balance, please top up","type":"new_api_error"}})");
  ASSERT_TRUE(credit.has_error());
  EXPECT_EQ(credit.error().code, errc::upstream_out_of_credit) << credit.error().message;

  auto auth = uni.read_create(200, {}, R"({"error":{"message":"Invalid API key provided","type":"new_api_error"}})");
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth) << auth.error().message;
}

TEST(UnifiedReadCreate, AnswerWithoutAnIdIsABadUpstreamResponse) {
  for (auto body : {R"({"status":"pending"})", R"({"id":"","status":"pending"})", R"({"id":42,"status":"pending"})",
                    R"({"id":null,"status":"pending"})", "{}"}) {
    SCOPED_TRACE(body);
    auto r = uni.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(UnifiedReadCreate, NonJsonIsABadUpstreamResponse) {
  for (auto body : {"<html><body>502 Bad Gateway</body></html>", "", "{\"id\":\"x\"", "[]", "\"sora-2:task_1\"", "null"}) {
    SCOPED_TRACE(body);
    auto r = uni.read_create(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(UnifiedReadCreate, HttpErrorsAreClassified) {
  auto auth = uni.read_create(401, {}, R"({"error":{"message":"无效的令牌","type":"new_api_error"}})");
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);
  EXPECT_EQ(auth.error().upstream_status, 401);

  auto credit = uni.read_create(402, {}, R"({"error":{"message":"用户额度不足"}})");
  ASSERT_TRUE(credit.has_error());
  EXPECT_EQ(credit.error().code, errc::upstream_out_of_credit);

  auto limited = uni.read_create(429, {{"Retry-After", "12"}}, R"({"error":{"message":"Too many requests"}})");
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(limited.error().retry_after_s, 12);

  auto down = uni.read_create(500, {}, "<html>Internal Server Error</html>");
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);

  auto refused = uni.read_create(400, {}, R"({"error":{"message":"duration must be 10 or 15"}})");
  ASSERT_TRUE(refused.has_error());
  EXPECT_EQ(refused.error().code, errc::upstream_rejected);
  EXPECT_TRUE(contains(refused.error().message, "duration must be 10 or 15")) << refused.error().message;

  // A body that looks like a job never turns an HTTP error into a success.
  auto looks_ok = uni.read_create(503, {}, seed000_response);
  ASSERT_TRUE(looks_ok.has_error());
  EXPECT_EQ(looks_ok.error().code, errc::upstream_unavailable);
}

// --- status call ---------------------------------------------------------------------------

TEST(UnifiedStatusCall, QueryWithThePercentEncodedId) {
  auto c = uni.status("sora-2:task_01k9009g8ef1esae6388chgcpx");
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/v1/video/query?id=sora-2%3Atask_01k9009g8ef1esae6388chgcpx");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_TRUE(c.body.empty());
  expect_no_key(c);
}

TEST(UnifiedStatusCall, EveryReservedCharacterIsEncoded) {
  EXPECT_EQ(uni.status("a&b=c").path, "/v1/video/query?id=a%26b%3Dc");
  EXPECT_EQ(uni.status("a b+c").path, "/v1/video/query?id=a%20b%2Bc");
  EXPECT_EQ(uni.status("x#y?z/w%").path, "/v1/video/query?id=x%23y%3Fz%2Fw%25");
  EXPECT_EQ(uni.status("猫").path, "/v1/video/query?id=%E7%8C%AB");
  EXPECT_EQ(uni.status("task_01k9-AZ.az~09").path, "/v1/video/query?id=task_01k9-AZ.az~09");
}

// --- read_status -----------------------------------------------------------------------------

TEST(UnifiedReadStatus, MinimalAnswer) {
  auto r = status_of(minimal_query);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "sora-2:task_01k9009g8ef1esae6388chgcpx");
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->progress, 0);
  EXPECT_EQ(r->content_url, std::nullopt) << "video_url null is no URL";
  EXPECT_EQ(r->completed_at, std::nullopt);
  EXPECT_EQ(r->error_message, std::nullopt);
}

TEST(UnifiedReadStatus, RichAnswerWithProgressAsAString) {
  auto r = status_of(rich_query);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "sora-2:task_01k9009g8ef1esae6388chgcpx");
  EXPECT_EQ(r->status, "in_progress");
  EXPECT_EQ(r->raw_status, std::nullopt);
  EXPECT_EQ(r->progress, 35) << "the top-level progress wins over detail";
  EXPECT_EQ(r->created_at, 1762010645);
  EXPECT_EQ(r->completed_at, std::nullopt);
  EXPECT_EQ(r->content_url, std::nullopt);
}

TEST(UnifiedReadStatus, RichCompletedAnswer) {
  auto r = status_of(rich_completed);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, "https://cdn.example.com/videos/task_01k9009g8ef1esae6388chgcpx.mp4");
  EXPECT_EQ(r->completed_at, 1762010845) << "status_update_time is in milliseconds";
  EXPECT_EQ(r->created_at, 1762010645);
  EXPECT_EQ(r->error_message, std::nullopt);
}

TEST(UnifiedReadStatus, ProgressFromDetailPendingInfo) {
  auto r = status_of(task_with(R"("status":"processing","detail":{"status":"running","pending_info":{"progress_pct":0.42}})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "in_progress");
  EXPECT_EQ(r->progress, 42);

  auto null_top = status_of(task_with(R"("status":"processing","progress":null,"detail":{"pending_info":{"progress_pct":0.29}})"));
  ASSERT_TRUE(null_top.has_value());
  EXPECT_EQ(null_top->progress, 29);
}

TEST(UnifiedReadStatus, DetailStatusWhenThereIsNoTopLevelStatus) {
  auto running = status_of(task_with(R"("detail":{"status":"running","pending_info":{"progress_pct":0.42}})"));
  ASSERT_TRUE(running.has_value()) << running.error().message;
  EXPECT_EQ(running->status, "in_progress");
  EXPECT_EQ(running->progress, 42);

  auto done = status_of(task_with(R"("status":null,"video_url":"https://cdn.example.com/a.mp4","detail":{"status":"succeeded"})"));
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(done->status, "completed");
  EXPECT_EQ(done->progress, 100);
  EXPECT_EQ(done->content_url, "https://cdn.example.com/a.mp4");

  auto failed = status_of(task_with(R"("detail":{"status":"failed","failure_reason":"content policy"})"));
  ASSERT_TRUE(failed.has_value()) << failed.error().message;
  EXPECT_EQ(failed->status, "failed");
  EXPECT_EQ(failed->error_message, "content policy");
}

TEST(UnifiedReadStatus, TopLevelStatusWinsOverDetail) {
  auto r = status_of(task_with(R"("status":"completed","video_url":"https://x/v.mp4","detail":{"status":"running"})"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, "completed");
}

TEST(UnifiedReadStatus, EveryStatusWordOfTheVendorsNotes) {
  const std::map<std::string, std::string> words = {
      // Sora models
      {"pending", "queued"},
      {"queued", "queued"},
      {"processing", "in_progress"},
      {"in_progress", "in_progress"},
      {"completed", "completed"},
      {"failed", "failed"},
      {"cancelled", "failed"},
      // non-Sora models on the same API
      {"image_downloading", "in_progress"},
      {"video_generating", "in_progress"},
      {"video_generation_completed", "completed"},
      {"video_generation_failed", "failed"},
      {"video_upsampling", "in_progress"},
      {"error", "failed"},
      // the shared table (DESIGN §2)
      {"submitted", "queued"},
      {"not_start", "queued"},
      {"running", "in_progress"},
      {"succeeded", "completed"},
      {"success", "completed"},
      {"failure", "failed"},
      {"canceled", "failed"},
  };
  for (auto& [word, ours] : words) {
    SCOPED_TRACE(word);
    auto body = task_with(R"("status":")" + word + R"(","video_url":"https://x/v.mp4")");
    auto r = status_of(body);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, ours);
    EXPECT_EQ(r->raw_status, std::nullopt) << "a known word is not reported as unknown";
    if (ours == "completed") {
      EXPECT_EQ(r->progress, 100);
    }
    // Status answers and create answers read alike.
    auto c = uni.read_create(200, {}, body);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->status, ours);
  }
}

TEST(UnifiedReadStatus, StatusWordsAreCaseInsensitive) {
  const std::map<std::string, std::string> words = {{"PENDING", "queued"},
                                                    {"Processing", "in_progress"},
                                                    {"COMPLETED", "completed"},
                                                    {"Cancelled", "failed"},
                                                    {"VIDEO_GENERATING", "in_progress"},
                                                    {"Video_Generation_Completed", "completed"},
                                                    {"VIDEO_GENERATION_FAILED", "failed"},
                                                    {"Image_Downloading", "in_progress"}};
  for (auto& [word, ours] : words) {
    auto r = status_of(task_with(R"("status":")" + word + "\""));
    ASSERT_TRUE(r.has_value()) << word;
    EXPECT_EQ(r->status, ours) << word;
    EXPECT_EQ(r->raw_status, std::nullopt) << word;
  }
}

TEST(UnifiedReadStatus, UnknownStatusIsInProgressWithTheRawWord) {
  for (auto word : {"moderating", "Rendering_Frames", "waiting_for_gpu_slot"}) {
    SCOPED_TRACE(word);
    auto r = status_of(task_with(R"("status":")" + std::string(word) + R"(","progress":"40")"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, "in_progress");
    EXPECT_EQ(r->raw_status, word);
    EXPECT_EQ(r->progress, 40);
  }
}

TEST(UnifiedReadStatus, ProgressShapes) {
  const std::pair<const char*, int> cases[] = {
      {R"("progress":"0")", 0},        {R"("progress":"35")", 35}, {R"("progress":"35%")", 35},
      {R"("progress":35)", 35},        {R"("progress":0.35)", 35}, {R"("progress":"soon")", 0},
      {R"("progress":"250")", 100},
  };
  for (auto& [field, want] : cases) {
    SCOPED_TRACE(field);
    auto r = status_of(task_with(R"("status":"processing",)" + std::string(field)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->progress, want);
  }
}

TEST(UnifiedReadStatus, FailureReasonFromEveryKnownField) {
  const std::string cases[] = {
      R"("fail_reason":"no GPU available")",
      R"("error":"no GPU available")",
      R"("error":{"message":"no GPU available","code":"gpu"})",
      R"("message":"no GPU available")",
      R"("failure_reason":"no GPU available")",
      R"("error_message":"no GPU available")",
  };
  for (auto& field : cases) {
    SCOPED_TRACE(field);
    auto r = status_of(task_with(R"("status":"failed",)" + field));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, "failed");
    EXPECT_EQ(r->error_message, "no GPU available");
  }
}

TEST(UnifiedReadStatus, FailureReasonSkipsEmptyFieldsAndPrefersFailReason) {
  auto r = status_of(task_with(R"("status":"failed","fail_reason":"","error":null,"message":"moderation blocked")"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->error_message, "moderation blocked");
  auto both = status_of(task_with(R"("status":"failed","fail_reason":"the real reason","message":"failed")"));
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->error_message, "the real reason");
}

TEST(UnifiedReadStatus, FailedWithoutAReason) {
  auto r = status_of(task_with(R"("status":"video_generation_failed","video_url":null)"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "failed");
  EXPECT_EQ(r->error_message, std::nullopt) << "the gateway supplies a generic message";
}

TEST(UnifiedReadStatus, FailedJobWithAnIdIsAJobNotAnError) {
  auto r = status_of(task_with(R"("status":"failed","error":{"message":"Your prompt violates our policy"},"code":"x")"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "failed");
  EXPECT_EQ(r->error_message, "Your prompt violates our policy");
}

TEST(UnifiedReadStatus, StatusUpdateTimeInMillisecondsOrSeconds) {
  auto ms = status_of(task_with(R"("status":"completed","video_url":"https://x/v.mp4","status_update_time":1762010645686)"));
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(ms->completed_at, 1762010645);
  auto s = status_of(task_with(R"("status":"completed","video_url":"https://x/v.mp4","status_update_time":1762010645)"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->completed_at, 1762010645);
  auto none = status_of(task_with(R"("status":"completed","video_url":"https://x/v.mp4")"));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->completed_at, std::nullopt) << "the gateway stamps its own time";
  auto running = status_of(task_with(R"("status":"processing","status_update_time":1762010645686)"));
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->completed_at, std::nullopt);
}

TEST(UnifiedReadStatus, CreatedAtInMillisecondsOrSeconds) {
  auto ms = status_of(task_with(R"("status":"pending","created_at":1762010645686)"));
  ASSERT_TRUE(ms.has_value());
  EXPECT_EQ(ms->created_at, 1762010645);
  auto s = status_of(task_with(R"("status":"pending","created_at":1762010645)"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->created_at, 1762010645);
}

TEST(UnifiedReadStatus, VideoUrlBecomesTheContentUrl) {
  auto r = status_of(task_with(R"("status":"completed","video_url":"https://cdn.example.com/v.mp4?sig=a%2Fb")"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->content_url, "https://cdn.example.com/v.mp4?sig=a%2Fb");
  for (auto field : {R"("video_url":"")", R"("video_url":null)", R"("video_url":42)", ""}) {
    SCOPED_TRACE(field);
    auto e = status_of(task_with(R"("status":"completed")" + std::string(*field ? "," : "") + field));
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->content_url, std::nullopt);
  }
}

TEST(UnifiedReadStatus, ErrorObjectOnHttp200WithoutAnIdIsAnError) {
  for (auto body : {R"({"error":{"message":"task not exist","type":"new_api_error"}})", R"({"error":"task not exist"})",
                    R"({"code":"task_not_exist","message":"task not exist"})"}) {
    SCOPED_TRACE(body);
    auto r = status_of(body);
    ASSERT_TRUE(r.has_error());
    EXPECT_NE(r.error().code, errc::ok);
    EXPECT_TRUE(contains(r.error().message, "task not exist")) << r.error().message;
  }
}

TEST(UnifiedReadStatus, NonJsonIsABadUpstreamResponse) {
  for (auto body : {"<html><body>502 Bad Gateway</body></html>", "", "not json at all", "[1,2]", "42"}) {
    SCOPED_TRACE(body);
    auto r = status_of(body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(UnifiedReadStatus, HttpErrorsAreClassified) {
  auto auth = status_of(R"({"error":{"message":"invalid token"}})", 401);
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);
  EXPECT_EQ(auth.error().upstream_status, 401);

  auto credit = status_of(R"({"error":{"message":"insufficient balance"}})", 402);
  ASSERT_TRUE(credit.has_error());
  EXPECT_EQ(credit.error().code, errc::upstream_out_of_credit);

  auto limited = status_of(R"({"error":{"message":"slow down"}})", 429, {{"Retry-After", "5"}});
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(limited.error().retry_after_s, 5);

  auto down = status_of("oops", 500);
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);
  EXPECT_EQ(down.error().upstream_status, 500);

  auto gone = status_of(R"({"error":{"message":"task not found"}})", 404);
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);

  auto looks_ok = status_of(rich_completed, 502);
  ASSERT_TRUE(looks_ok.has_error());
  EXPECT_EQ(looks_ok.error().code, errc::upstream_unavailable);
}

// --- content / remix / remove ----------------------------------------------------------------

TEST(UnifiedContent, VideoIsTheVideoUrlFetchedWithoutTheKey) {
  const std::string url = "https://cdn.example.com/videos/task_01k9009g8ef1esae6388chgcpx.mp4";
  auto c = uni.content("sora-2:task_01k9009g8ef1esae6388chgcpx", content_variant::video, url, upstream());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->absolute_url, url);
  EXPECT_EQ(c->method, "GET");
  EXPECT_TRUE(c->body.empty());
  expect_no_key(*c);
}

TEST(UnifiedContent, FromTheStatusAnswerToTheDownload) {
  auto st = status_of(rich_completed);
  ASSERT_TRUE(st.has_value());
  auto c = uni.content(st->upstream_id, content_variant::video, st->content_url, upstream());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->absolute_url, "https://cdn.example.com/videos/task_01k9009g8ef1esae6388chgcpx.mp4");
}

TEST(UnifiedContent, ThumbnailAndSpritesheetAreNotFoundNamingTheUpstream) {
  for (auto v : {content_variant::thumbnail, content_variant::spritesheet}) {
    auto c = uni.content("sora-2:task_1", v, "https://cdn.example.com/v.mp4", upstream());
    ASSERT_TRUE(c.has_error());
    EXPECT_EQ(c.error().code, errc::not_found);
    EXPECT_TRUE(contains(c.error().message, "reseller-u")) << c.error().message;
    EXPECT_TRUE(contains(c.error().message, v == content_variant::thumbnail ? "thumbnail" : "spritesheet"))
        << c.error().message;
  }
}

TEST(UnifiedContent, CompletedWithoutAUrlIsABadUpstreamResponse) {
  auto c = uni.content("sora-2:task_1", content_variant::video, std::nullopt, upstream());
  ASSERT_TRUE(c.has_error());
  EXPECT_EQ(c.error().code, errc::bad_upstream_response);
  EXPECT_TRUE(contains(c.error().message, "reseller-u")) << c.error().message;
}

TEST(UnifiedRemix, IsUnsupportedNamingTheUpstream) {
  auto r = uni.remix("sora-2:task_1", "make it night", upstream());
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_TRUE(contains(r.error().message, "reseller-u")) << r.error().message;
}

TEST(UnifiedRemove, HasNoDeleteCall) { EXPECT_FALSE(uni.remove("sora-2:task_1").has_value()); }

// --- edits, extensions and characters: the dialect defaults -----------------------------

api::derive_request derive_of(api::derive_request::kind k) {
  api::derive_request r;
  r.what = k;
  r.prompt = "Make it snow";
  if (k == api::derive_request::kind::extension) r.seconds = "8";
  r.video.id = "video_1";
  return r;
}

api::character_request character_of() {
  api::character_request r;
  r.name = "Mochi";
  r.video.bytes = "\0\0\0\x20" "ftypisom\0\0\x02\0isomiso2"s;
  r.video.mime = "video/mp4";
  r.video.filename = "mochi.mp4";
  return r;
}

TEST(UnifiedDerive, EditsAndExtensionsAreUnsupportedNamingTheUpstream) {
  expect_error(uni.derive(derive_of(api::derive_request::kind::edit), "sora-2:task_1", upstream(), "8"),
               errc::unsupported_value, "video", {"reseller-u", "edits", "unified"});
  expect_error(uni.derive(derive_of(api::derive_request::kind::extension), "sora-2:task_1", upstream(), "8"),
               errc::unsupported_value, "video", {"reseller-u", "extensions", "unified"});
  // An upload (no source id) is refused the same way.
  expect_error(uni.derive(derive_of(api::derive_request::kind::edit), "", upstream(), "8"), errc::unsupported_value,
               "video", {"reseller-u", "edits"});
}

TEST(UnifiedCharacters, AreUnsupportedNamingTheUpstream) {
  expect_error(uni.create_character(character_of(), upstream()), errc::unsupported_value, "video",
               {"reseller-u", "characters", "unified"});
  expect_error(uni.character("char_1", upstream()), errc::unsupported_value, "character_id",
               {"reseller-u", "characters", "unified"});
}

// Every dialect but openai takes the defaults of dialect.cpp.
TEST(DialectDefaults, EveryDialectButOpenAiRefusesEditsExtensionsAndCharacters) {
  using config::dialect_kind;
  for (auto kind : {dialect_kind::unified, dialect_kind::freesora, dialect_kind::fal, dialect_kind::replicate,
                    dialect_kind::kie, dialect_kind::ark, dialect_kind::minimax, dialect_kind::dashscope,
                    dialect_kind::kling}) {
    const std::string name = config::to_string(kind);
    SCOPED_TRACE(name);
    auto d = make_dialect(kind);
    ASSERT_NE(d, nullptr);
    config::upstream_config up = upstream();
    up.name = "upstream-" + name;
    up.dialect = kind;
    const std::string dialect_words = name + " dialect";
    expect_error(d->derive(derive_of(api::derive_request::kind::edit), "task_1", up, "8"), errc::unsupported_value,
                 "video", {up.name, "edits", dialect_words});
    expect_error(d->derive(derive_of(api::derive_request::kind::extension), "task_1", up, "8"), errc::unsupported_value,
                 "video", {up.name, "extensions", dialect_words});
    expect_error(d->create_character(character_of(), up), errc::unsupported_value, "video",
                 {up.name, "characters", dialect_words});
    expect_error(d->character("char_1", up), errc::unsupported_value, "character_id",
                 {up.name, "characters", dialect_words});

    // An answer to a call never made: an error status is still classified, a 2xx is no character.
    auto ok = d->read_character(200, {}, R"({"id":"char_1","name":"Mochi"})");
    ASSERT_TRUE(ok.has_error());
    EXPECT_EQ(ok.error().code, errc::bad_upstream_response);
    auto gone = d->read_character(404, {}, R"({"error":{"message":"not found"}})");
    ASSERT_TRUE(gone.has_error());
    EXPECT_EQ(gone.error().code, errc::not_found);
    auto auth = d->read_character(401, {}, R"({"error":{"message":"bad key"}})");
    ASSERT_TRUE(auth.has_error());
    EXPECT_EQ(auth.error().code, errc::upstream_auth);
  }
}

TEST(DialectDefaults, OpenAiOffersThem) {
  auto d = make_dialect(config::dialect_kind::openai);
  ASSERT_NE(d, nullptr);
  config::upstream_config up = upstream();
  up.dialect = config::dialect_kind::openai;
  EXPECT_TRUE(d->derive(derive_of(api::derive_request::kind::edit), "video_up", up, "8").has_value());
  EXPECT_TRUE(d->derive(derive_of(api::derive_request::kind::extension), "video_up", up, "8").has_value());
  EXPECT_TRUE(d->create_character(character_of(), up).has_value());
  EXPECT_TRUE(d->character("char_1", up).has_value());
  auto r = d->read_character(200, {}, R"({"id":"char_1"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "char_1");
}

}  // namespace
}  // namespace videogate::dialects
