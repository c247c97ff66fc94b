// The kling dialect (Kling's official API) against bodies shaped like Kling's docs ("General
// Information": the JWT built from an access key and a secret key, the error code table;
// "Video Generation": text2video and image2video create, query and callback): the task
// family chosen by the input, `duration` as text, `aspect_ratio` for text2video only, `image`
// as a URL or raw base64, and `code` ≠ 0 classified by Kling's table over the HTTP status.
#include "videogate/dialects/kling.hpp"

#include "support.hpp"
#include "videogate/core/base64.hpp"
#include "videogate/core/clock.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <string_view>
#include <vector>

namespace videogate::dialects {
namespace {

namespace json = boost::json;
using namespace std::string_literals;
using namespace test_support;

// --- fixtures -----------------------------------------------------------------------------

constexpr std::string_view task_id = "CjMkWmgHpbUAAAAAAKmMTw";
constexpr std::string_view video_url =
    "https://cdn.klingai.com/bs2/upload-kling-api/7185937226/text2video/CjMkWmgHpbUAAAAAAKmMTw-0_raw_video_1.mp4";

// The create answer (the docs' example).
constexpr std::string_view created = R"({
  "code": 0, "message": "SUCCEED", "request_id": "CjMkWmgHpbUAAAAAAKmMTw",
  "data": {"task_id": "CjMkWmgHpbUAAAAAAKmMTw", "task_status": "submitted",
           "created_at": 1722769557708, "updated_at": 1722769557708}
})";

// The task as the query's `data` and the callback's body carry it.
json::object task_data(std::string_view status) {
  json::object d{{"task_id", task_id},
                 {"task_status", status},
                 {"task_status_msg", ""},
                 {"created_at", 1722769557708},
                 {"updated_at", 1722769557708}};
  if (status == "succeed")
    d["task_result"] = json::object{
        {"videos", json::array{json::object{
                       {"id", "9d2ff4ba-6a31-4f0d-8b5c-0e8e2f3c1a7b"}, {"url", video_url}, {"duration", "5.1"}}}}};
  if (status == "failed") d["task_status_msg"] = "Failure to pass the risk control system";
  return d;
}

std::string query(std::string_view status) {
  return json::serialize(
      json::object{{"code", 0}, {"message", "SUCCEED"}, {"request_id", "req-1"}, {"data", task_data(status)}});
}

std::string kling_error(int code, std::string_view message) {
  return json::serialize(json::object{{"code", code}, {"message", message}, {"request_id", "CjikY2gHPbcAAAAAAArz6A"}});
}

const kling_dialect kling{};
constexpr std::string_view access_key = "AkpKbFVMGgT3iRHdEbN4MhEA8BYGaCrw";
constexpr std::string_view secret_key = "SkT8AgPfDLpmhQxD3dMkf4MG9jrEE9QY";
const std::string key = std::string(access_key) + ":" + std::string(secret_key);

config::upstream_config upstream() {
  return task_upstream(config::dialect_kind::kling, "kling-main", key,
                       {{"kling", "kling-v2-1-master"}, {"kling-std", "kling-v1-6"}}, {{"kling", "kling-v2-1"}});
}

upstream_call create_call(const api::create_request& req, const std::string& seconds = "5",
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  auto c = create_ok(kling, req, up, seconds, extras);
  expect_no_key(c, secret_key);
  return c;
}

// --- the JWT ------------------------------------------------------------------------------------

/// base64url without padding (RFC 7515 §2), decoded; nullopt when it is anything else.
std::optional<std::string> unbase64url(std::string_view part) {
  if (part.find_first_of("+/=") != std::string_view::npos) return std::nullopt;
  std::string t(part);
  for (auto& c : t) c = c == '-' ? '+' : c == '_' ? '/' : c;
  return base64_decode(t);
}

struct jwt {
  std::string signing_input;  ///< header.claims as sent
  json::object header, claims;
  std::string signature;  ///< the MAC's bytes
};

jwt decode(const std::string& authorization) {
  EXPECT_TRUE(authorization.starts_with("Bearer ")) << authorization;
  auto token = authorization.substr(authorization.find(' ') + 1);
  auto d1 = token.find('.');
  auto d2 = token.find('.', d1 + 1);
  EXPECT_NE(d2, std::string::npos) << "three parts";
  EXPECT_EQ(token.find('.', d2 + 1), std::string::npos) << "three parts";
  if (d2 == std::string::npos) return {};
  auto header = unbase64url(std::string_view(token).substr(0, d1));
  auto claims = unbase64url(std::string_view(token).substr(d1 + 1, d2 - d1 - 1));
  auto signature = unbase64url(std::string_view(token).substr(d2 + 1));
  EXPECT_TRUE(header && claims && signature) << "base64url, no padding: " << token;
  if (!header || !claims || !signature) return {};
  return jwt{token.substr(0, d2), parse(*header), parse(*claims), *signature};
}

std::string hs256(std::string_view secret, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

TEST(KlingJwt, Hs256SignedWithTheSecretKeyIssuedByTheAccessKey) {
  const kling_dialect fresh;
  auto before = clock::now_s();
  auto auth = fresh.authorization(key);
  auto after = clock::now_s();
  auto t = decode(auth);
  EXPECT_EQ(t.header, (json::object{{"alg", "HS256"}, {"typ", "JWT"}}));
  ASSERT_EQ(t.claims.size(), 3u) << json::serialize(t.claims) << ": iss, exp and nbf, nothing else";
  EXPECT_EQ(t.claims.at("iss"), json::value(access_key));
  ASSERT_TRUE(t.claims.at("exp").is_int64());
  ASSERT_TRUE(t.claims.at("nbf").is_int64());
  EXPECT_GE(t.claims.at("exp").as_int64(), before + 1800) << "valid for 30 minutes";
  EXPECT_LE(t.claims.at("exp").as_int64(), after + 1800);
  EXPECT_GE(t.claims.at("nbf").as_int64(), before - 5) << "valid from 5 seconds ago";
  EXPECT_LE(t.claims.at("nbf").as_int64(), after - 5);
  EXPECT_EQ(t.signature, hs256(secret_key, t.signing_input)) << "HMAC-SHA256 of header.claims with the secret key";
  EXPECT_NE(t.signature, hs256(access_key, t.signing_input));
  EXPECT_EQ(t.signature.size(), 32u);
}

TEST(KlingJwt, TheSecretNeverTravels) {
  const kling_dialect fresh;
  auto auth = fresh.authorization(key);
  EXPECT_FALSE(contains(auth, secret_key));
  EXPECT_FALSE(contains(auth, base64_encode(secret_key).substr(0, 20)));
  auto t = decode(auth);
  EXPECT_FALSE(contains(json::serialize(t.claims), secret_key)) << json::serialize(t.claims);
  EXPECT_FALSE(contains(json::serialize(t.header), secret_key));
  EXPECT_EQ(t.claims.at("iss"), json::value(access_key)) << "the pair is split: only the access key is a claim";
}

// A settable clock: the token cache is judged across time without sleeping.
std::int64_t fake_now = 1'764'000'000;
std::int64_t read_fake_now() { return fake_now; }

TEST(KlingJwt, CachedPerKeyUntilFiveMinutesAreLeft) {
  fake_now = 1'764'000'000;
  const kling_dialect fresh(&read_fake_now);
  auto first = fresh.authorization(key);
  auto t = decode(first);
  EXPECT_EQ(t.claims.at("exp"), fake_now + 1800);
  EXPECT_EQ(t.claims.at("nbf"), fake_now - 5);

  fake_now += 3;
  EXPECT_EQ(fresh.authorization(key), first) << "the same key seconds later: the same token, not a new one";
  const std::string other_key = "AkOtherAccessKey0000000000000000:SkOtherSecretKey0000000000000000";
  auto other = fresh.authorization(other_key);
  EXPECT_NE(other, first) << "another key, another token";
  auto o = decode(other);
  EXPECT_EQ(o.claims.at("iss"), "AkOtherAccessKey0000000000000000");
  EXPECT_EQ(o.claims.at("exp"), fake_now + 1800);
  EXPECT_EQ(o.signature, hs256("SkOtherSecretKey0000000000000000", o.signing_input));
  EXPECT_EQ(fresh.authorization(key), first) << "another key's token does not replace this one's";

  // Same access key, another secret (a rotated pair): its own token, signed with its secret.
  const std::string rotated = std::string(access_key) + ":SkRotatedSecret0000000000000000";
  auto r = decode(fresh.authorization(rotated));
  EXPECT_EQ(r.signature, hs256("SkRotatedSecret0000000000000000", r.signing_input));

  fake_now = 1'764'000'000 + 1800 - 301;  // 301 s left
  EXPECT_EQ(fresh.authorization(key), first);
  fake_now = 1'764'000'000 + 1800 - 299;  // under 5 minutes left: made again
  auto renewed = fresh.authorization(key);
  EXPECT_NE(renewed, first);
  EXPECT_EQ(decode(renewed).claims.at("exp"), fake_now + 1800);
}

// --- traits and durations ---------------------------------------------------------------------

TEST(KlingDialect, KindAndTraits) {
  expect_made_for(kling, config::dialect_kind::kling);
  EXPECT_NE(kling.authorization(key), "Bearer " + key) << "a JWT, never the key";
  EXPECT_TRUE(kling.takes_callbacks());
  EXPECT_FALSE(kling.needs_image_url()) << "Kling takes raw base64";
}

TEST(KlingDurations, FiveOrTen) {
  auto up = upstream();
  EXPECT_EQ(kling.allowed_durations(up, request("p", "kling")), (std::vector<int>{5, 10}));
  up.durations = {{"kling", {5}}};
  EXPECT_EQ(kling.allowed_durations(up, request("p", "kling")), (std::vector<int>{5}));
}

// --- create ---------------------------------------------------------------------------------

TEST(KlingCreate, Text2videoWithTheDurationAsTextAndAnAspectRatio) {
  auto req = request("A calico cat playing a piano on stage", "kling");
  req.size = "1280x720";
  auto c = create_call(req, "10");
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/v1/videos/text2video");
  EXPECT_EQ(c.tag, "text2video");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_EQ(read_json(c), (json::object{{"model_name", "kling-v2-1-master"},
                                        {"prompt", "A calico cat playing a piano on stage"},
                                        {"duration", "10"},
                                        {"aspect_ratio", "16:9"}}))
      << c.body;
  EXPECT_TRUE(contains(c.body, "\"duration\":\"10\"")) << "text, not a number: " << c.body;
  for (auto [size, ratio] :
       {std::pair{"720x1280", "9:16"}, std::pair{"1792x1024", "16:9"}, std::pair{"1080x1920", "9:16"}}) {
    SCOPED_TRACE(size);
    auto r = request("p", "kling-std");
    r.size = size;
    auto o = read_json(create_call(r));
    EXPECT_EQ(o.at("aspect_ratio"), ratio);
    EXPECT_EQ(o.at("model_name"), "kling-v1-6");
  }
}

TEST(KlingCreate, Image2videoTakesRawBase64OrAUrlAndNoAspectRatio) {
  auto req = request("The cat starts to play", "kling");
  req.size = "1280x720";
  req.input_reference = upload();
  auto c = create_call(req, "5");
  EXPECT_EQ(c.path, "/v1/videos/image2video");
  EXPECT_EQ(c.tag, "image2video");
  EXPECT_EQ(read_json(c), (json::object{{"model_name", "kling-v2-1"},
                                        {"prompt", "The cat starts to play"},
                                        {"duration", "5"},
                                        {"image", "iVBORw0KGgoAAAANSUhEUg=="}}))
      << "base64 without a data: prefix, and no aspect_ratio: " << c.body;
  EXPECT_FALSE(contains(c.body, "data:")) << c.body;

  req.input_reference = image_url(png_data_url);
  EXPECT_EQ(read_json(create_call(req)).at("image"), "iVBORw0KGgoAAAANSUhEUg==") << "a data URL loses its prefix";
  req.input_reference = image_url("https://example.com/cat.png");
  EXPECT_EQ(read_json(create_call(req)).at("image"), "https://example.com/cat.png") << "a URL passes as given";

  // One name for both families.
  auto std_req = request("p", "kling-std");
  std_req.input_reference = upload();
  EXPECT_EQ(read_json(create_call(std_req)).at("model_name"), "kling-v1-6");
  auto up = upstream();
  up.image_models["kling-std"] = "";
  expect_error(kling.create(std_req, up, "5"), errc::unsupported_value, "input_reference", {"kling-main", "kling-std"});
}

TEST(KlingCreate, DefaultsFirstVendorParamsLastAndTheFieldsTheyMayNotSet) {
  auto up = upstream();
  up.defaults = {{"mode", def_string("std")}, {"cfg_scale", def_number(0.5, "0.5")}};
  auto req = request("p", "kling");
  req.vendor_params = R"({"mode": "pro", "negative_prompt": "blurry",
                          "camera_control": {"type": "simple", "config": {"zoom": 5}}})";
  auto o = read_json(create_call(req, "5", up));
  EXPECT_EQ(o.at("mode"), "pro") << "vendor_params win over defaults";
  EXPECT_EQ(o.at("cfg_scale"), 0.5);
  EXPECT_EQ(o.at("negative_prompt"), "blurry");
  EXPECT_EQ(o.at("camera_control").at("config").at("zoom"), 5);
  for (auto field : {"model_name", "prompt", "image", "callback_url"}) {
    SCOPED_TRACE(field);
    auto bad = request("p", "kling");
    bad.vendor_params = "{\""s + field + "\": \"x\"}";
    expect_error(kling.create(bad, upstream(), "5"), errc::invalid_value, "vendor_params", {field});
  }
  auto shots = request("p", "kling");
  shots.shots = std::vector<api::shot>{{"a cat", 5}, {"a dog", 5}};
  expect_error(kling.create(shots, upstream(), "10"), errc::unsupported_value, "shots", {"kling-main"});
}

TEST(KlingCreate, CallbackUrlIsABodyFieldBoundToTheFamily) {
  gateway_extras gw;
  auto text = read_json(create_call(request("p", "kling"), "5", upstream(), gw.make()));
  EXPECT_EQ(text.at("callback_url"), json::value(gateway_extras::callback));
  auto img = request("p", "kling");
  img.input_reference = image_url("https://example.com/cat.png");
  EXPECT_EQ(read_json(create_call(img, "5", upstream(), gw.make())).at("callback_url"),
            json::value(gateway_extras::callback));
  EXPECT_EQ(*gw.tags, (std::vector<std::string>{"text2video", "image2video"})) << "the token says which family to poll";
  EXPECT_FALSE(read_json(create_call(request("p", "kling"))).contains("callback_url")) << "no callback: no field";
}

// --- read_created and errors ----------------------------------------------------------------------

TEST(KlingReadCreated, TheIdNamesTheFamily) {
  upstream_call text;
  text.tag = "text2video";
  auto t = kling.read_created(text, 200, {}, created);
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_EQ(t->upstream_id, "text2video:CjMkWmgHpbUAAAAAAKmMTw");
  EXPECT_EQ(t->status, "queued");
  upstream_call image;
  image.tag = "image2video";
  auto i = kling.read_created(image, 200, {}, created);
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(i->upstream_id, "image2video:CjMkWmgHpbUAAAAAAKmMTw");
  for (auto body : {R"({"code":0,"message":"SUCCEED","data":{}})", R"({"code":0})", "<html>"}) {
    SCOPED_TRACE(body);
    expect_error(kling.read_created(text, 200, {}, body), errc::bad_upstream_response, "");
  }
}

TEST(KlingErrors, KlingsCodeTableDecides) {
  auto cases = {
      error_case{401, kling_error(1000, "Authentication failed"), errc::upstream_auth},
      error_case{401, kling_error(1001, "Authorization is empty"), errc::upstream_auth},
      error_case{401, kling_error(1002, "Authorization is invalid"), errc::upstream_auth},
      error_case{401, kling_error(1003, "Authorization is not yet valid"), errc::upstream_auth},
      error_case{401, kling_error(1004, "Authorization has expired"), errc::upstream_auth},
      // An empty account is HTTP 429 too: out of credit (disable the key), not a rate limit.
      error_case{429, kling_error(1101, "Account in arrears (postpaid scenario)"), errc::upstream_out_of_credit},
      error_case{429, kling_error(1102, "Resource pack depleted or expired (prepaid scenario)"),
                 errc::upstream_out_of_credit},
      error_case{429, kling_error(1302, "API request too fast, exceeding the platform's rate limit"),
                 errc::upstream_rate_limited},
      error_case{429, kling_error(1303, "Concurrency or QPS exceeds the prepaid resource package limit"),
                 errc::upstream_rate_limited},
      error_case{400, kling_error(1301, "Trigger the content security policy of the platform"),
                 errc::upstream_rejected},
      error_case{400, kling_error(1201, "Invalid parameters: duration must be 5 or 10"), errc::upstream_rejected},
      error_case{500, kling_error(5000, "Server internal error"), errc::upstream_unavailable},
      error_case{503, kling_error(5001, "Server temporarily unavailable, usually due to maintenance"),
                 errc::upstream_unavailable},
      // A code in an HTTP 200 answer is an error all the same.
      error_case{200, kling_error(1102, "Resource pack depleted"), errc::upstream_out_of_credit},
      error_case{200, kling_error(1302, "API request too fast"), errc::upstream_rate_limited},
  };
  upstream_call sent;
  sent.tag = "text2video";
  expect_answers_classified(kling, cases);

  // An empty balance with a Retry-After is still an empty balance.
  auto dry = kling.read_created(sent, 429, {{"Retry-After", "30"}}, kling_error(1102, "Resource pack depleted"));
  ASSERT_TRUE(dry.has_error());
  EXPECT_EQ(dry.error().code, errc::upstream_out_of_credit);
  EXPECT_EQ(without_echo(dry.error(), "A gymnast keeps her balance on the beam").code, errc::upstream_out_of_credit);
  auto limited = kling.read_created(sent, 429, {{"Retry-After", "30"}}, kling_error(1302, "API request too fast"));
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().retry_after_s, 30);

  auto msg = kling.read_created(sent, 400, {}, kling_error(1201, "Invalid parameters: duration must be 5 or 10"));
  ASSERT_TRUE(msg.has_error());
  EXPECT_TRUE(contains(msg.error().message, "duration must be 5 or 10")) << msg.error().message;
  auto html = kling.read_status(502, {}, "<html>bad gateway</html>");
  ASSERT_TRUE(html.has_error());
  EXPECT_EQ(html.error().code, errc::upstream_unavailable);
  auto as_text = kling.read_created(sent, 429, {}, R"({"code":"1101","message":"Account in arrears"})");
  ASSERT_TRUE(as_text.has_error());
  EXPECT_EQ(as_text.error().code, errc::upstream_out_of_credit) << "a code sent as a string";
}

// --- status -----------------------------------------------------------------------------------

TEST(KlingStatus, AtTheFamilysPath) {
  auto t = kling.status("text2video:CjMkWmgHpbUAAAAAAKmMTw");
  EXPECT_EQ(t.method, "GET");
  EXPECT_EQ(t.path, "/v1/videos/text2video/CjMkWmgHpbUAAAAAAKmMTw");
  EXPECT_TRUE(t.absolute_url.empty());
  EXPECT_EQ(kling.status("image2video:CjMkWmgHpbUAAAAAAKmMTw").path, "/v1/videos/image2video/CjMkWmgHpbUAAAAAAKmMTw");
  EXPECT_EQ(kling.status("CjMkWmgHpbUAAAAAAKmMTw").path, "/v1/videos/text2video/CjMkWmgHpbUAAAAAAKmMTw")
      << "an id without a family is text2video's";
  EXPECT_EQ(kling.status("image2video:a/b?c").path, "/v1/videos/image2video/a%2Fb%3Fc");
  EXPECT_EQ(kling.remove("text2video:CjMkWmgHpbUAAAAAAKmMTw"), std::nullopt) << "no delete call";
}

TEST(KlingStatus, EveryDocumentedWord) {
  expect_status_words(
      [](std::string_view w) { return kling.read_status(200, {}, query(w)); },
      {{"submitted", "queued"}, {"processing", "in_progress"}, {"succeed", "completed"}, {"failed", "failed"}});
  auto odd = kling.read_status(200, {}, query("rendering"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "rendering");
}

TEST(KlingStatus, SucceedCarriesTheFirstVideosUrl) {
  auto r = kling.read_status(200, {}, query("succeed"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, video_url);
  EXPECT_FALSE(r->fetch_result);
  for (auto result : {json::value(json::object{{"videos", json::array{}}}), json::value(json::object{}),
                      json::value(json::object{{"videos", json::array{json::object{{"id", "x"}}}}})}) {
    SCOPED_TRACE(json::serialize(result));
    auto bad = parse(query("succeed"));
    bad["data"].as_object()["task_result"] = result;
    expect_error(kling.read_status(200, {}, json::serialize(bad)), errc::bad_upstream_response, "", {"videos[0].url"});
  }
  expect_error(kling.read_status(200, {}, R"({"code":0,"message":"SUCCEED"})"), errc::bad_upstream_response, "",
               {"data"});
}

TEST(KlingStatus, FailedCarriesTheStatusMessage) {
  auto f = kling.read_status(200, {}, query("failed"));
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->status, "failed");
  EXPECT_EQ(f->error_code, "video_generation_failed");
  EXPECT_EQ(f->error_message, "Failure to pass the risk control system");
  auto silent = parse(query("failed"));
  silent["data"].as_object()["task_status_msg"] = "";
  auto s = kling.read_status(200, {}, json::serialize(silent));
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->error_message.value_or("").empty()) << "a reason even when Kling gives none";
}

// --- content, remix, callbacks, ids ---------------------------------------------------------------

TEST(KlingContent, TheVideoUrlWithoutTheKey) {
  auto up = upstream();
  auto c = kling.content("text2video:x", content_variant::video, std::string(video_url), up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, video_url);
  expect_error(kling.content("text2video:x", content_variant::thumbnail, std::string(video_url), up), errc::not_found,
               "variant", {"kling-main"});
  expect_error(kling.remix("text2video:x", "again", up), errc::unsupported_value, "video_id", {"kling-main"});
}

TEST(KlingCallback, TheTaskNamesTheJobTheTokenNamesTheFamily) {
  auto body = json::serialize(task_data("succeed"));  // the callback posts the task itself
  EXPECT_EQ(kling.callback_job_id(body, "image2video"), "image2video:CjMkWmgHpbUAAAAAAKmMTw");
  EXPECT_EQ(kling.callback_job_id(body, "text2video"), "text2video:CjMkWmgHpbUAAAAAAKmMTw")
      << "the family comes from the token, never from the body";
  EXPECT_EQ(kling.callback_job_id(json::serialize(task_data("failed")), "text2video"),
            "text2video:CjMkWmgHpbUAAAAAAKmMTw")
      << "a failure is polled too";
  EXPECT_EQ(kling.callback_job_id(query("succeed"), "text2video"), "text2video:CjMkWmgHpbUAAAAAAKmMTw")
      << "the query's envelope form too";
  EXPECT_EQ(kling.callback_job_id(R"({"task_status":"succeed"})", "text2video"), std::nullopt);
  EXPECT_EQ(kling.callback_job_id("garbage", "text2video"), std::nullopt);
}

TEST(KlingIds, RoundTripForBothFamilies) {
  for (bool with_image : {false, true}) {
    SCOPED_TRACE(with_image);
    auto req = request("p", "kling");
    if (with_image) req.input_reference = upload();
    gateway_extras gw;
    auto sent = create_call(req, "5", upstream(), gw.make());
    auto made = kling.read_created(sent, 200, {}, created);
    ASSERT_TRUE(made.has_value());
    ASSERT_EQ(gw.tags->size(), 1u);
    EXPECT_EQ(made->upstream_id, std::string(with_image ? "image2video:" : "text2video:") + std::string(task_id));
    EXPECT_EQ(kling.callback_job_id(json::serialize(task_data("succeed")), gw.tags->front()), made->upstream_id);
    EXPECT_EQ(kling.status(made->upstream_id).path, sent.path + "/" + std::string(task_id))
        << "the status is at the create's path";
  }
}

}  // namespace
}  // namespace videogate::dialects
