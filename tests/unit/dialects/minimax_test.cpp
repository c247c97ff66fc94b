// The minimax dialect (MiniMax Hailuo) against bodies shaped like MiniMax's docs
// (platform.minimax.io/docs/api-reference: video generation, "Query Video Generation Task",
// "Retrieve File" and the error codes): three calls (create → task_id; query → status and a
// `file_id`, a string; files/retrieve → `file.download_url`, where `file_id` is an integer),
// and errors that come as HTTP 200 with `base_resp.status_code` ≠ 0.
#include "videogate/dialects/minimax.hpp"

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

constexpr std::string_view task_id = "106916112212032";
constexpr std::string_view file_id = "176844028768320";

json::object base_resp(int code = 0, std::string_view msg = "success") {
  return json::object{{"status_code", code}, {"status_msg", msg}};
}

// The create answer (the docs' example).
const std::string created = json::serialize(json::object{{"task_id", task_id}, {"base_resp", base_resp()}});

// The query answer: `file_id` (a string) and the size only on Success.
std::string query(std::string_view status, json::object resp = base_resp()) {
  json::object o{{"task_id", task_id}, {"status", status}};
  if (status == "Success") {
    o["file_id"] = file_id;
    o["video_width"] = 1920;
    o["video_height"] = 1080;
  }
  o["base_resp"] = std::move(resp);
  return json::serialize(o);
}

constexpr std::string_view download_url =
    "https://public-cdn-video-data-algeng.oss-cn-wulanchabu.aliyuncs.com/inference_output%2Fvideo%2F2025-06-30%2F"
    "output_aigc.mp4?Expires=1751330426&OSSAccessKeyId=LTAI5tAmwsjSaaZVA6cEFAUu&Signature=7jFSRzo%2BG8Qq4W2r%3D";

// files/retrieve (the docs' example): here `file_id` is an integer.
const std::string retrieved = json::serialize(json::object{{"file", json::object{{"file_id", 176844028768320},
                                                                                 {"bytes", 5896337},
                                                                                 {"created_at", 1700469398},
                                                                                 {"filename", "output_aigc.mp4"},
                                                                                 {"purpose", "video_generation"},
                                                                                 {"download_url", download_url}}},
                                                           {"base_resp", base_resp()}});

// An error, as MiniMax sends it: HTTP 200, an empty task id, the code in base_resp.
std::string refusal(int code, std::string_view msg) {
  return json::serialize(json::object{{"task_id", ""}, {"base_resp", base_resp(code, msg)}});
}

const minimax_dialect minimax{};
constexpr std::string_view key = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.minimax-key";

config::upstream_config upstream() {
  return task_upstream(config::dialect_kind::minimax, "minimax-main", std::string(key),
                       {{"hailuo", "MiniMax-Hailuo-02"}, {"hailuo-live", "T2V-01"}}, {{"hailuo-live", "I2V-01-live"}});
}

upstream_call create_call(const api::create_request& req, const std::string& seconds = "6",
                          const config::upstream_config& up = upstream(), const create_extras& extras = {}) {
  return create_ok(minimax, req, up, seconds, extras);
}

// --- traits and durations ---------------------------------------------------------------------

TEST(MinimaxDialect, KindAuthorizationAndTraits) {
  expect_made_for(minimax, config::dialect_kind::minimax);
  EXPECT_EQ(minimax.authorization("k"), "Bearer k");
  EXPECT_FALSE(minimax.takes_callbacks()) << "MiniMax's callback wants a handshake first";
  EXPECT_FALSE(minimax.needs_image_url()) << "first_frame_image takes a data URL";
}

TEST(MinimaxDurations, HailuoByDefault) {
  auto up = upstream();
  EXPECT_EQ(minimax.allowed_durations(up, request("p", "hailuo")), (std::vector<int>{6, 10}));
  up.durations = {{"hailuo-live", {6}}};
  EXPECT_EQ(minimax.allowed_durations(up, request("p", "hailuo-live")), (std::vector<int>{6}));
}

// --- create ---------------------------------------------------------------------------------

TEST(MinimaxCreate, TheVideoGenerationBodyWithAnIntegerDuration) {
  auto req = request("A calico cat playing a piano on stage", "hailuo");
  req.size = "1280x720";
  gateway_extras gw;
  auto c = create_call(req, "10", upstream(), gw.make());
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.path, "/v1/video_generation");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_EQ(read_json(c), (json::object{{"model", "MiniMax-Hailuo-02"},
                                        {"prompt", "A calico cat playing a piano on stage"},
                                        {"duration", 10},
                                        {"resolution", "768P"}}))
      << c.body;
  EXPECT_TRUE(contains(c.body, "\"duration\":10")) << "an integer: " << c.body;
  EXPECT_TRUE(gw.tags->empty()) << "no callback URL is asked for, and none is sent";
}

TEST(MinimaxCreate, TenEightyOnlyAtSixSeconds) {
  for (auto size : {"1920x1080", "1080x1920", "1792x1024", "1024x1792"}) {
    SCOPED_TRACE(size);
    auto req = request("p", "hailuo");
    req.size = size;
    auto o = read_json(create_call(req, "6"));
    EXPECT_EQ(o.at("resolution"), "1080P");
    EXPECT_EQ(o.at("duration"), 6);
    expect_error(minimax.create(req, upstream(), "10"), errc::unsupported_value, "size",
                 {"minimax-main", "1080P", "6"});
  }
  for (auto size : {"1280x720", "720x1280"}) {
    SCOPED_TRACE(size);
    auto req = request("p", "hailuo");
    req.size = size;
    EXPECT_EQ(read_json(create_call(req, "6")).at("resolution"), "768P");
    EXPECT_EQ(read_json(create_call(req, "10")).at("resolution"), "768P");
  }
}

TEST(MinimaxCreate, AnImageIsTheFirstFrameOnTheImageModel) {
  auto req = request("The cat starts to play", "hailuo-live");
  req.input_reference = upload();
  auto o = read_json(create_call(req));
  EXPECT_EQ(o.at("model"), "I2V-01-live");
  EXPECT_EQ(o.at("first_frame_image"), json::value(png_data_url)) << "a data URL";
  req.input_reference = image_url("https://example.com/cat.png");
  EXPECT_EQ(read_json(create_call(req)).at("first_frame_image"), "https://example.com/cat.png");

  EXPECT_EQ(read_json(create_call(request("p", "hailuo-live"))).at("model"), "T2V-01");
  EXPECT_FALSE(read_json(create_call(request("p", "hailuo"))).contains("first_frame_image"));
  // One name for both: Hailuo 02 takes a first frame too.
  auto both = request("p", "hailuo");
  both.input_reference = upload();
  EXPECT_EQ(read_json(create_call(both)).at("model"), "MiniMax-Hailuo-02");

  auto up = upstream();
  up.image_models["hailuo"] = "";
  expect_error(minimax.create(both, up, "6"), errc::unsupported_value, "input_reference", {"minimax-main", "hailuo"});
}

TEST(MinimaxCreate, DefaultsFirstVendorParamsLastAndTheFieldsTheyMayNotSet) {
  auto up = upstream();
  up.defaults = {{"prompt_optimizer", def_bool(true)}, {"aigc_watermark", def_bool(false)}};
  auto req = request("p", "hailuo");
  req.vendor_params = R"({"prompt_optimizer": false, "fast_pretreatment": true})";
  auto o = read_json(create_call(req, "6", up));
  EXPECT_EQ(o.at("prompt_optimizer"), false) << "vendor_params win over defaults";
  EXPECT_EQ(o.at("fast_pretreatment"), true);
  EXPECT_EQ(o.at("aigc_watermark"), false);
  for (auto field : {"model", "prompt", "first_frame_image", "callback_url"}) {
    SCOPED_TRACE(field);
    auto bad = request("p", "hailuo");
    bad.vendor_params = "{\""s + field + "\": \"x\"}";
    expect_error(minimax.create(bad, upstream(), "6"), errc::invalid_value, "vendor_params", {field});
  }
  auto shots = request("p", "hailuo");
  shots.shots = std::vector<api::shot>{{"a cat", 6}, {"a dog", 4}};
  expect_error(minimax.create(shots, upstream(), "10"), errc::unsupported_value, "shots", {"minimax-main"});
}

// --- read_created and base_resp ----------------------------------------------------------------

TEST(MinimaxReadCreated, TheTaskId) {
  auto r = minimax.read_created(upstream_call{}, 200, {}, created);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, task_id);
  EXPECT_EQ(r->status, "queued");
  auto numeric =
      minimax.read_created(upstream_call{}, 200, {}, R"({"task_id":106916112212032,"base_resp":{"status_code":0}})");
  ASSERT_TRUE(numeric.has_value());
  EXPECT_EQ(numeric->upstream_id, task_id) << "a number read as its digits";
  for (auto body : {R"({"task_id":"","base_resp":{"status_code":0,"status_msg":"success"}})", "{}", "<html>"}) {
    SCOPED_TRACE(body);
    expect_error(minimax.read_created(upstream_call{}, 200, {}, body), errc::bad_upstream_response, "");
  }
}

// base_resp is read on every answer, all in HTTP 200.
TEST(MinimaxErrors, BaseRespCodesInHttp200) {
  auto cases = {
      error_case{200, refusal(1002, "rate limit exceeded(RPM)"), errc::upstream_rate_limited},
      error_case{200, refusal(1004, "login fail: Please carry the API secret key in the 'Authorization' field"),
                 errc::upstream_auth},
      error_case{200, refusal(2049, "invalid api key"), errc::upstream_auth},
      error_case{200, refusal(1008, "insufficient balance"), errc::upstream_out_of_credit},
      error_case{200, refusal(1026, "input new_sensitive"), errc::upstream_rejected},
      error_case{200, refusal(2013, "invalid params, duration must be 6 or 10"), errc::upstream_rejected},
      error_case{200, refusal(1000, "unknown error"), errc::upstream_unavailable}};
  using hl = const http::header_list&;
  expect_answers_classified(minimax, cases);
  expect_classified(
      [](int s, hl h, std::string_view b) { return minimax.read_follow_up(s, h, b, std::string(task_id)); }, cases);

  auto msg = minimax.read_created(upstream_call{}, 200, {}, refusal(2013, "invalid params, duration must be 6 or 10"));
  ASSERT_TRUE(msg.has_error());
  EXPECT_TRUE(contains(msg.error().message, "duration must be 6 or 10")) << msg.error().message;
  EXPECT_FALSE(msg.error().after_send) << "MiniMax's own answer: no task was made";

  // The code decides, not words: a prompt about balance does not make 1008 a refusal.
  auto dry = minimax.read_created(upstream_call{}, 200, {}, refusal(1008, "insufficient balance"));
  ASSERT_TRUE(dry.has_error());
  EXPECT_EQ(without_echo(dry.error(), "A gymnast keeps her balance on the beam").code, errc::upstream_out_of_credit);
  auto text_code =
      minimax.read_created(upstream_call{}, 200, {}, R"({"base_resp":{"status_code":"1008","status_msg":"x"}})");
  ASSERT_TRUE(text_code.has_error());
  EXPECT_EQ(text_code.error().code, errc::upstream_out_of_credit) << "a code sent as a string";

  // Real HTTP errors too.
  auto down = minimax.read_created(upstream_call{}, 502, {}, "<html>bad gateway</html>");
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);
  auto looks_ok = minimax.read_created(upstream_call{}, 500, {}, created);
  ASSERT_TRUE(looks_ok.has_error()) << "an HTTP error is never a task";
  expect_error(minimax.read_status(200, {}, "not json"), errc::bad_upstream_response, "");
}

// --- status, then the third call ----------------------------------------------------------------

TEST(MinimaxStatus, QueryByTaskId) {
  auto c = minimax.status(std::string(task_id));
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/v1/query/video_generation?task_id=106916112212032");
  EXPECT_TRUE(c.absolute_url.empty()) << "with the job's key";
  EXPECT_EQ(minimax.status("a&b=c").path, "/v1/query/video_generation?task_id=a%26b%3Dc");
  EXPECT_EQ(minimax.remove(std::string(task_id)), std::nullopt) << "MiniMax has no delete: the gateway just forgets";
}

TEST(MinimaxStatus, EveryDocumentedWord) {
  expect_status_words(
      [](std::string_view w) { return minimax.read_status(200, {}, query(w)); },
      {{"Preparing", "queued"}, {"Queueing", "queued"}, {"Processing", "in_progress"}, {"Fail", "failed"}});
  auto odd = minimax.read_status(200, {}, query("Uploading"));
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->status, "in_progress");
  EXPECT_EQ(odd->raw_status, "Uploading");
}

TEST(MinimaxStatus, SuccessMeansFetchTheFileWithItsId) {
  auto r = minimax.read_status(200, {}, query("Success"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->raw_status, std::nullopt);
  EXPECT_TRUE(r->fetch_result) << "the URL is a third call away";
  EXPECT_EQ(r->status, "in_progress") << "not completed before the URL is known";
  EXPECT_EQ(r->result_ref, file_id);
  EXPECT_EQ(r->content_url, std::nullopt);

  auto c = minimax.result_call(std::string(task_id), *r);
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/v1/files/retrieve?file_id=176844028768320");
  EXPECT_TRUE(c.absolute_url.empty()) << "with the job's key: files belong to the account that made them";

  auto numeric = parse(query("Success"));
  numeric["file_id"] = 176844028768320;
  auto n = minimax.read_status(200, {}, json::serialize(numeric));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->result_ref, file_id) << "a number read as its digits";

  auto no_file = parse(query("Success"));
  no_file.erase("file_id");
  expect_error(minimax.read_status(200, {}, json::serialize(no_file)), errc::bad_upstream_response, "", {"file_id"});
}

TEST(MinimaxResult, TheDownloadUrl) {
  auto r = minimax.read_follow_up(200, {}, retrieved, std::string(task_id));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, task_id);
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->content_url, download_url);
  EXPECT_FALSE(r->fetch_result);

  expect_error(
      minimax.read_follow_up(200, {}, R"({"file":{"file_id":1},"base_resp":{"status_code":0}})", std::string(task_id)),
      errc::bad_upstream_response, "", {"download_url"});
  expect_error(minimax.read_follow_up(200, {}, R"({"file":null,"base_resp":{"status_code":0}})", std::string(task_id)),
               errc::bad_upstream_response, "");
}

TEST(MinimaxStatus, FailSaysWhyFromBaseResp) {
  // No failure-reason field is documented: the reason rides in base_resp.
  auto plain = minimax.read_status(200, {}, query("Fail", base_resp(0, "video generation failed")));
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_EQ(plain->status, "failed");
  EXPECT_EQ(plain->error_code, "video_generation_failed");
  EXPECT_EQ(plain->error_message, "video generation failed");

  auto silent = minimax.read_status(200, {}, query("Fail"));
  ASSERT_TRUE(silent.has_value());
  EXPECT_EQ(silent->status, "failed");
  EXPECT_NE(silent->error_message, "success") << "'success' is no reason";
  EXPECT_FALSE(silent->error_message.value_or("").empty());

  // A failed task's query answer carries its reason's code (1027: the output was judged
  // sensitive; 1026: the input): the task ended, the call did not fail.
  for (auto [code, msg] : {std::pair{1027, "output new_sensitive"}, std::pair{1026, "input new_sensitive"}}) {
    SCOPED_TRACE(code);
    auto f = minimax.read_status(200, {}, query("Fail", base_resp(code, msg)));
    ASSERT_TRUE(f.has_value()) << "a failed job, not an error to retry: " << f.error().message;
    EXPECT_EQ(f->status, "failed");
    EXPECT_TRUE(contains(f->error_message.value_or(""), msg)) << f->error_message.value_or("");
  }
}

TEST(MinimaxContent, TheDownloadUrlWithoutTheKey) {
  auto up = upstream();
  auto c = minimax.content(std::string(task_id), content_variant::video, std::string(download_url), up);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->absolute_url, download_url);
  expect_error(minimax.content(std::string(task_id), content_variant::spritesheet, std::string(download_url), up),
               errc::not_found, "variant", {"minimax-main"});
  expect_error(minimax.remix(std::string(task_id), "again", up), errc::unsupported_value, "video_id", {"minimax-main"});
  EXPECT_EQ(minimax.callback_job_id(query("Success"), ""), std::nullopt) << "no callbacks";
}

TEST(MinimaxIds, ThreeCallsFromCreateToTheUrl) {
  auto sent = create_call(request("p", "hailuo"));
  auto made = minimax.read_created(sent, 200, {}, created);
  ASSERT_TRUE(made.has_value());
  EXPECT_TRUE(minimax.status(made->upstream_id).path.ends_with("?task_id=" + std::string(task_id)));
  auto st = minimax.read_status(200, {}, query("Success"));
  ASSERT_TRUE(st.has_value());
  auto fetch = minimax.result_call(made->upstream_id, *st);
  EXPECT_TRUE(fetch.path.ends_with("?file_id=" + std::string(file_id)));
  auto done = minimax.read_follow_up(200, {}, retrieved, made->upstream_id);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->upstream_id, made->upstream_id);
  EXPECT_EQ(done->content_url, download_url);
}

}  // namespace
}  // namespace videogate::dialects
