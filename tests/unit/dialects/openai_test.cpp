#include "videogate/dialects/openai.hpp"

#include "videogate/http/multipart.hpp"

#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace videogate::dialects {
namespace {

namespace json = boost::json;
using namespace std::string_literals;
using namespace test_support;

// --- fixtures -----------------------------------------------------------------------------

// Seed 001 (new.22codex.xyz, multipart), the 200 example, written as the JSON it documents.
constexpr std::string_view seed001_response = R"({
  "id": "video_5c6a605a-30c0-4a6a-9dbd-d1d6cfdd9980",
  "object": "video",
  "model": "sora-2",
  "status": "queued",
  "progress": 0,
  "created_at": 1761622232,
  "seconds": "10",
  "size": "1280x720"
})";

// Seed 002 (api.gpt.ge, JSON), the 200 example verbatim.
constexpr std::string_view seed002_response = R"({
  "id": "video_68f082321ed08193a4eaf01376fa10bc0284bd663de64dc5",
  "object": "video",
  "created_at": 1760592434,
  "status": "queued",
  "completed_at": null,
  "error": null,
  "expires_at": null,
  "model": "sora-2",
  "progress": 0,
  "remixed_from_video_id": null,
  "seconds": "8",
  "size": "1280x720"
})";

api::create_request request_for(const std::string& model) {
  api::create_request r;
  r.prompt = "p";
  r.model = model;
  return r;
}

config::upstream_config upstream(config::request_format f = config::request_format::multipart) {
  config::upstream_config up;
  up.name = "vendor-a";
  up.dialect = config::dialect_kind::openai;
  up.base_url = "https://api.example.com";
  up.format = f;
  up.keys = {"sk-test-key-1"};
  return up;
}

/// The parts of a produced multipart body, by name (every name must be unique).
struct parsed_form {
  std::shared_ptr<const std::string> body;  // owns what the parts point into, wherever the form moves
  std::vector<http::form_part> parts;

  const http::form_part* find(std::string_view name) const {
    for (auto& p : parts)
      if (p.name == name) return &p;
    return nullptr;
  }
  std::string text(std::string_view name) const {
    auto p = find(name);
    return p ? std::string(p->data) : "<absent>";
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (auto& p : parts) n.push_back(p.name);
    return n;
  }
};

/// Parses what create() produced with the gateway's own strict multipart parser.
parsed_form read_form(const upstream_call& call) {
  parsed_form f;
  auto ct = http::find_header(call.headers, "content-type");
  EXPECT_TRUE(ct.starts_with("multipart/form-data")) << ct;
  auto boundary = http::multipart_boundary(ct);
  EXPECT_TRUE(boundary.has_value()) << ct;
  if (!boundary) return f;
  f.body = std::make_shared<const std::string>(call.body);
  auto parts = http::parse_multipart(*f.body, *boundary);
  EXPECT_TRUE(parts.has_value()) << (parts ? "" : parts.error().message);
  if (parts) f.parts = std::move(*parts);
  std::map<std::string, int> seen;
  for (auto& p : f.parts) EXPECT_EQ(++seen[p.name], 1) << "field '" << p.name << "' sent twice";
  return f;
}

const openai_dialect oai{};

result<job_state> status_of(std::string_view body, int http_status = 200, const http::header_list& h = {}) {
  return oai.read_status(http_status, h, body);
}

std::string video_with(std::string_view extra) {
  return R"({"id":"video_1","object":"video")" + std::string(extra.empty() ? "" : ",") + std::string(extra) + "}";
}

// --- make_dialect -------------------------------------------------------------------------

TEST(MakeDialect, OpenAi) {
  auto d = make_dialect(config::dialect_kind::openai);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind(), config::dialect_kind::openai);
  EXPECT_NE(dynamic_cast<openai_dialect*>(d.get()), nullptr);
}

// --- allowed_durations / pick_duration -------------------------------------------------

TEST(OpenAiDurations, DefaultsAreOpenAisValues) {
  auto up = upstream();
  EXPECT_EQ(oai.allowed_durations(up, request_for("sora-2")), (std::vector<int>{4, 8, 12, 16, 20}));
  EXPECT_EQ(oai.allowed_durations(up, request_for("sora-2-pro")), (std::vector<int>{4, 8, 12, 16, 20}));
}

TEST(OpenAiDurations, PerModelOverride) {
  auto up = upstream();
  up.durations["sora-2"] = {4, 8, 12};
  EXPECT_EQ(oai.allowed_durations(up, request_for("sora-2")), (std::vector<int>{4, 8, 12}));
  EXPECT_EQ(oai.allowed_durations(up, request_for("sora-2-pro")), (std::vector<int>{4, 8, 12, 16, 20}));
}

TEST(PickDuration, DefaultIsTheSmallest) {
  auto r = pick_duration(std::nullopt, {4, 8, 12, 16, 20}, "vendor-a", "sora-2");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 4);
  auto unsorted = pick_duration(std::nullopt, {15, 10, 25}, "vendor-b", "sora-2-pro");
  ASSERT_TRUE(unsorted.has_value());
  EXPECT_EQ(*unsorted, 10);
}

TEST(PickDuration, ExactValuesAreKept) {
  for (int s : {4, 8, 12, 16, 20}) {
    auto r = pick_duration(std::to_string(s), {4, 8, 12, 16, 20}, "vendor-a", "sora-2");
    ASSERT_TRUE(r.has_value()) << s;
    EXPECT_EQ(*r, s);
  }
}

TEST(PickDuration, RoundsUpToTheNearestAllowed) {
  const std::vector<int> openai = {4, 8, 12, 16, 20};
  EXPECT_EQ(pick_duration("1", openai, "a", "sora-2").value(), 4);
  EXPECT_EQ(pick_duration("5", openai, "a", "sora-2").value(), 8);
  EXPECT_EQ(pick_duration("9", openai, "a", "sora-2").value(), 12);
  EXPECT_EQ(pick_duration("10", openai, "a", "sora-2").value(), 12);
  EXPECT_EQ(pick_duration("17", openai, "a", "sora-2").value(), 20);
  // A vendor that only makes 10 s and 15 s: a 4 s request becomes 10 s (DESIGN §1 seconds).
  EXPECT_EQ(pick_duration("4", {10, 15}, "b", "sora-2").value(), 10);
  EXPECT_EQ(pick_duration("11", {15, 10}, "b", "sora-2").value(), 15);
  EXPECT_EQ(pick_duration("16", {10, 15, 25}, "b", "sora-2-pro").value(), 25);
}

TEST(PickDuration, AboveTheMaximumListsTheAllowed) {
  auto r = pick_duration("30", {15, 10, 25}, "vendor-b", "sora-2-pro");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_EQ(r.error().param, "seconds");
  const auto& m = r.error().message;
  EXPECT_NE(m.find("10, 15, 25"), std::string::npos) << m;
  EXPECT_NE(m.find("30"), std::string::npos) << m;
  EXPECT_NE(m.find("vendor-b"), std::string::npos) << m;

  auto o = pick_duration("21", {4, 8, 12, 16, 20}, "vendor-a", "sora-2");
  ASSERT_TRUE(o.has_error());
  EXPECT_EQ(o.error().code, errc::unsupported_value);
  EXPECT_NE(o.error().message.find("4, 8, 12, 16, 20"), std::string::npos) << o.error().message;
}

TEST(PickDuration, WithTheDurationsOverride) {
  auto up = upstream();
  up.durations["sora-2"] = {4, 8, 12};
  auto allowed = oai.allowed_durations(up, request_for("sora-2"));
  EXPECT_EQ(pick_duration("10", allowed, up.name, "sora-2").value(), 12);
  auto r = pick_duration("16", allowed, up.name, "sora-2");
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().code, errc::unsupported_value);
  EXPECT_NE(r.error().message.find("4, 8, 12"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("16, 20"), std::string::npos) << "lists the override, not the defaults";
}

TEST(PickDuration, NoDurationsIsAnInternalError) {
  auto r = pick_duration("8", {}, "a", "sora-2");
  ASSERT_TRUE(r.has_error());
  EXPECT_NE(r.error().code, errc::ok);
}

// --- check_size_for_model ---------------------------------------------------------------

TEST(CheckSizeForModel, HighResolutionNeedsAProModel) {
  for (auto size : {"1792x1024", "1024x1792", "1920x1080", "1080x1920"}) {
    SCOPED_TRACE(size);
    auto r = check_size_for_model(size, "sora-2");
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::unsupported_value);
    EXPECT_EQ(r.error().param, "size");
    EXPECT_NE(r.error().message.find(size), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("pro"), std::string::npos) << r.error().message;
  }
}

TEST(CheckSizeForModel, ProModelMakesHighResolution) {
  for (auto size : {"1792x1024", "1024x1792", "1920x1080", "1080x1920", "720x1280", "1280x720"}) {
    SCOPED_TRACE(size);
    EXPECT_TRUE(check_size_for_model(size, "sora-2-pro").has_value());
  }
}

TEST(CheckSizeForModel, StandardResolutionForAnyModel) {
  EXPECT_TRUE(check_size_for_model("720x1280", "sora-2").has_value());
  EXPECT_TRUE(check_size_for_model("1280x720", "sora-2").has_value());
}

// --- normalize_status -------------------------------------------------------------------

TEST(NormalizeStatus, EveryWordOfTheDesign) {
  const std::map<std::string, std::vector<std::string>> table = {
      {"queued", {"queued", "pending", "submitted", "not_start", "waiting", "queuing", "created"}},
      {"in_progress", {"in_progress", "processing", "running", "generating"}},
      {"completed", {"completed", "succeeded", "success", "finished"}},
      {"failed", {"failed", "failure", "fail", "error", "cancelled", "canceled"}},
  };
  for (auto& [ours, words] : table) {
    for (auto& w : words) {
      EXPECT_EQ(normalize_status(w), ours) << w;
      std::string upper;
      for (char c : w) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_EQ(normalize_status(upper), ours) << upper;
      std::string mixed = w;
      mixed[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[0])));
      EXPECT_EQ(normalize_status(mixed), ours) << mixed;
    }
  }
}

TEST(NormalizeStatus, UnknownWords) {
  for (auto w : {"", "video_upsampling", "image_downloading", "queued ", " queued", "complete", "done", "in progress"})
    EXPECT_EQ(normalize_status(w), std::nullopt) << "'" << w << "'";
}

// --- read_create / read_status: seeds ---------------------------------------------------

TEST(OpenAiReadCreate, Seed001Example) {
  auto r = oai.read_create(200, {}, seed001_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "video_5c6a605a-30c0-4a6a-9dbd-d1d6cfdd9980");
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->progress, 0);
  EXPECT_EQ(r->seconds, "10");
  EXPECT_EQ(r->created_at, 1761622232);
  EXPECT_EQ(r->completed_at, std::nullopt);
  EXPECT_EQ(r->expires_at, std::nullopt);
  EXPECT_EQ(r->error_code, std::nullopt);
  EXPECT_EQ(r->error_message, std::nullopt);
  EXPECT_EQ(r->raw_status, std::nullopt);
  EXPECT_EQ(r->content_url, std::nullopt);
}

TEST(OpenAiReadCreate, Seed002Example) {
  auto r = oai.read_create(200, {}, seed002_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "video_68f082321ed08193a4eaf01376fa10bc0284bd663de64dc5");
  EXPECT_EQ(r->status, "queued");
  EXPECT_EQ(r->progress, 0);
  EXPECT_EQ(r->seconds, "8");
  EXPECT_EQ(r->created_at, 1760592434);
  EXPECT_EQ(r->completed_at, std::nullopt);
  EXPECT_EQ(r->expires_at, std::nullopt);
  EXPECT_EQ(r->error_code, std::nullopt);
  EXPECT_EQ(r->error_message, std::nullopt);
  EXPECT_EQ(r->raw_status, std::nullopt);
}

TEST(OpenAiReadStatus, Seed002Example) {
  auto r = status_of(seed002_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "video_68f082321ed08193a4eaf01376fa10bc0284bd663de64dc5");
  EXPECT_EQ(r->status, "queued");
}

TEST(OpenAiReadCreate, AnyTwoHundredIsSuccess) {
  auto r = oai.read_create(201, {}, seed002_response);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "queued");
}

TEST(OpenAiReadStatus, CompletedJob) {
  auto r = status_of(video_with(
      R"("status":"completed","progress":100,"created_at":1760592434,"completed_at":1760592500,"expires_at":1760678900,"seconds":"8","error":null)"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "video_1");
  EXPECT_EQ(r->status, "completed");
  EXPECT_EQ(r->progress, 100);
  EXPECT_EQ(r->completed_at, 1760592500);
  EXPECT_EQ(r->expires_at, 1760678900);
  EXPECT_EQ(r->error_message, std::nullopt);
}

TEST(OpenAiReadStatus, CompletedMeansOneHundredPercent) {
  auto r = status_of(video_with(R"("status":"completed","progress":0)"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->progress, 100);
  auto s = status_of(video_with(R"("status":"succeeded")"));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->status, "completed");
  EXPECT_EQ(s->progress, 100);
}

TEST(OpenAiReadStatus, EveryVendorWordIsMapped) {
  const std::map<std::string, std::string> words = {
      {"queued", "queued"},          {"PENDING", "queued"},          {"submitted", "queued"},
      {"not_start", "queued"},       {"Waiting", "queued"},          {"queuing", "queued"},
      {"created", "queued"},         {"in_progress", "in_progress"}, {"Processing", "in_progress"},
      {"RUNNING", "in_progress"},    {"generating", "in_progress"},  {"completed", "completed"},
      {"SUCCEEDED", "completed"},    {"success", "completed"},       {"finished", "completed"},
      {"failed", "failed"},          {"Failure", "failed"},          {"fail", "failed"},
      {"error", "failed"},           {"cancelled", "failed"},        {"CANCELED", "failed"},
  };
  for (auto& [word, ours] : words) {
    auto r = status_of(video_with(R"("status":")" + word + "\""));
    ASSERT_TRUE(r.has_value()) << word << ": " << r.error().message;
    EXPECT_EQ(r->status, ours) << word;
    EXPECT_EQ(r->raw_status, std::nullopt) << word;
  }
}

TEST(OpenAiReadStatus, UnknownStatusIsInProgressWithTheRawWord) {
  auto r = status_of(video_with(R"("status":"video_upsampling","progress":40)"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "in_progress");
  EXPECT_EQ(r->raw_status, "video_upsampling");
  EXPECT_EQ(r->progress, 40);

  auto c = status_of(video_with(R"("status":"Image_Downloading")"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, "in_progress");
  EXPECT_EQ(c->raw_status, "Image_Downloading");
}

TEST(OpenAiReadStatus, ProgressAsAnInteger) {
  auto r = status_of(video_with(R"("status":"in_progress","progress":35)"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->progress, 35);
}

TEST(OpenAiReadStatus, ProgressAsAFractionOfOne) {
  auto half = status_of(video_with(R"("status":"in_progress","progress":0.5)"));
  ASSERT_TRUE(half.has_value());
  EXPECT_EQ(half->progress, 50);
  auto p35 = status_of(video_with(R"("status":"in_progress","progress":0.35)"));
  ASSERT_TRUE(p35.has_value());
  EXPECT_EQ(p35->progress, 35);
}

// 0.29 * 100 is 28.999999999999996 in binary floating point: a fraction must be rounded,
// not truncated, or a vendor saying 29 % shows 28 %.
TEST(OpenAiReadStatus, ProgressFractionIsRoundedNotTruncated) {
  auto p29 = status_of(video_with(R"("status":"in_progress","progress":0.29)"));
  ASSERT_TRUE(p29.has_value());
  EXPECT_EQ(p29->progress, 29);
  auto p57 = status_of(video_with(R"("status":"in_progress","progress":0.57)"));
  ASSERT_TRUE(p57.has_value());
  EXPECT_EQ(p57->progress, 57);
}

TEST(OpenAiReadStatus, ProgressAsAString) {
  auto plain = status_of(video_with(R"("status":"in_progress","progress":"35")"));
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->progress, 35);
  auto percent = status_of(video_with(R"("status":"in_progress","progress":"35%")"));
  ASSERT_TRUE(percent.has_value());
  EXPECT_EQ(percent->progress, 35);
  auto junk = status_of(video_with(R"("status":"in_progress","progress":"soon")"));
  ASSERT_TRUE(junk.has_value()) << "an unreadable progress is not a broken answer";
  EXPECT_EQ(junk->progress, 0);
}

TEST(OpenAiReadStatus, ProgressIsClampedAndOptional) {
  auto over = status_of(video_with(R"("status":"in_progress","progress":150)"));
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->progress, 100);
  auto under = status_of(video_with(R"("status":"in_progress","progress":-5)"));
  ASSERT_TRUE(under.has_value());
  EXPECT_EQ(under->progress, 0);
  auto none = status_of(video_with(R"("status":"in_progress")"));
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->progress, 0);
  auto null = status_of(video_with(R"("status":"in_progress","progress":null)"));
  ASSERT_TRUE(null.has_value());
  EXPECT_EQ(null->progress, 0);
  auto big = status_of(video_with(R"("status":"in_progress","progress":"250%")"));
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->progress, 100);
}

TEST(OpenAiReadStatus, SecondsAsAnInteger) {
  auto r = status_of(video_with(R"("status":"queued","seconds":12)"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->seconds, "12");
}

TEST(OpenAiReadStatus, SizeIsReadFromTheVideo) {
  auto r = status_of(video_with(R"("status":"queued","size":"1792x1024")"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->size, "1792x1024");
  auto created = oai.read_create(200, {}, seed001_response);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(created->size, "1280x720");
  for (auto extra : {R"("status":"queued")", R"("status":"queued","size":null)", R"("status":"queued","size":1280)"}) {
    SCOPED_TRACE(extra);
    auto n = status_of(video_with(extra));
    ASSERT_TRUE(n.has_value()) << n.error().message;
    EXPECT_EQ(n->size, std::nullopt);
  }
}

TEST(OpenAiReadStatus, FailedJobCarriesCodeAndMessage) {
  auto r = status_of(video_with(
      R"("status":"failed","progress":0,"error":{"code":"moderation_blocked","message":"Your request was blocked by our moderation system."})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "failed");
  EXPECT_EQ(r->error_code, "moderation_blocked");
  EXPECT_EQ(r->error_message, "Your request was blocked by our moderation system.");
}

TEST(OpenAiReadStatus, FailedJobWithAStringError) {
  auto r = status_of(video_with(R"("status":"failed","error":"upstream generation failed")"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, "failed");
  EXPECT_EQ(r->error_message, "upstream generation failed");
}

// DESIGN §2: the vendor's reason may sit in fail_reason / failure_reason / error_message.
TEST(OpenAiReadStatus, FailedJobReasonFromOtherFields) {
  for (auto key : {"fail_reason", "failure_reason", "error_message"}) {
    SCOPED_TRACE(key);
    auto r = status_of(video_with(R"("status":"failed","error":null,")" + std::string(key) + R"(":"no GPU available")"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, "failed");
    EXPECT_EQ(r->error_message, "no GPU available");
  }
}

TEST(OpenAiReadStatus, MissingIdIsABadUpstreamResponse) {
  for (auto body : {R"({"status":"queued"})", R"({"id":"","status":"queued"})", R"({"id":42,"status":"queued"})",
                    R"({"id":null})"}) {
    SCOPED_TRACE(body);
    auto r = status_of(body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
    auto c = oai.read_create(200, {}, body);
    ASSERT_TRUE(c.has_error());
    EXPECT_EQ(c.error().code, errc::bad_upstream_response);
  }
}

TEST(OpenAiReadStatus, NonJsonIsABadUpstreamResponse) {
  for (auto body : {"<html><body>502 Bad Gateway</body></html>", "", "{\"id\":\"video_1\"", "[]", "\"video_1\"", "null"}) {
    SCOPED_TRACE(body);
    auto r = status_of(body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response);
  }
}

TEST(OpenAiReadStatus, HttpErrorsAreClassified) {
  auto limited = status_of(R"({"error":{"message":"Rate limit reached"}})", 429, {{"Retry-After", "7"}});
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(limited.error().retry_after_s, 7);
  EXPECT_EQ(limited.error().upstream_status, 429);

  auto auth = status_of(R"({"error":{"message":"Incorrect API key provided"}})", 401);
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);

  auto gone = status_of(R"({"error":{"message":"Video not found"}})", 404);
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);

  auto down = status_of("<html>oops</html>", 500);
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);

  auto create = oai.read_create(402, {}, R"({"error":{"message":"Insufficient balance"}})");
  ASSERT_TRUE(create.has_error());
  EXPECT_EQ(create.error().code, errc::upstream_out_of_credit);

  // A body that looks like a video never turns an HTTP error into a success.
  auto looks_ok = oai.read_create(503, {}, seed002_response);
  ASSERT_TRUE(looks_ok.has_error());
  EXPECT_EQ(looks_ok.error().code, errc::upstream_unavailable);
}

// --- create: multipart (seed 001) -------------------------------------------------------

TEST(OpenAiCreateMultipart, MethodPathAndEveryField) {
  auto up = upstream();
  auto req = request();
  req.model = "sora-2";
  req.seconds = "5";  // as asked; the call sends the picked duration
  req.size = "1280x720";
  req.input_reference = upload();
  req.watermark = false;
  req.is_private = true;
  req.style = "anime";
  auto call = oai.create(req, up, "8");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->path, "/v1/videos");
  EXPECT_TRUE(call->absolute_url.empty());

  auto f = read_form(*call);
  EXPECT_EQ(f.text("model"), "sora-2");
  EXPECT_EQ(f.text("prompt"), "A calico cat playing a piano on stage");
  EXPECT_EQ(f.text("seconds"), "8");
  EXPECT_EQ(f.text("size"), "1280x720");
  EXPECT_EQ(f.text("watermark"), "false");
  EXPECT_EQ(f.text("private"), "true");
  EXPECT_EQ(f.text("style"), "anime");
  auto file = f.find("input_reference");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->filename.has_value());
  EXPECT_EQ(*file->filename, "reference.png");
  EXPECT_EQ(file->content_type, "image/png");
  EXPECT_EQ(std::string(file->data), png_bytes);
  EXPECT_EQ(f.find("input_reference[image_url]"), nullptr);
  EXPECT_EQ(f.parts.size(), 8u);
  // Text fields are plain fields, not files.
  EXPECT_FALSE(f.find("prompt")->filename.has_value());
}

TEST(OpenAiCreateMultipart, ModelIsMappedThroughModels) {
  auto up = upstream();
  up.models = {{"sora-2", "sora-2-vendor"}, {"sora-2-pro", "sora-pro-x"}};
  auto req = request();
  auto call = oai.create(req, up, "4");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(read_form(*call).text("model"), "sora-2-vendor");

  req.model = "sora-2-pro";
  auto pro = oai.create(req, up, "4");
  ASSERT_TRUE(pro.has_value());
  EXPECT_EQ(read_form(*pro).text("model"), "sora-pro-x");

  req.model = "sora-2-unmapped";
  auto identity = oai.create(req, up, "4");
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(read_form(*identity).text("model"), "sora-2-unmapped");
}

TEST(OpenAiCreateMultipart, MinimalRequestSendsNoExtras) {
  auto call = oai.create(request("p"), upstream(), "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"model", "prompt", "seconds", "size"}));
  EXPECT_EQ(f.text("size"), "720x1280");
  EXPECT_EQ(f.text("model"), "sora-2");
}

TEST(OpenAiCreateMultipart, BooleansTrueAndFalse) {
  auto req = request();
  req.watermark = true;
  req.is_private = false;
  auto call = oai.create(req, upstream(), "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);
  EXPECT_EQ(f.text("watermark"), "true");
  EXPECT_EQ(f.text("private"), "false");
  EXPECT_EQ(f.find("style"), nullptr);
}

TEST(OpenAiCreateMultipart, ImageUrlAndFileId) {
  auto req = request();
  req.input_reference = api::image_input{};
  req.input_reference->url = "https://example.com/cat.png";
  auto call = oai.create(req, upstream(), "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);
  EXPECT_EQ(f.text("input_reference[image_url]"), "https://example.com/cat.png");
  EXPECT_FALSE(f.find("input_reference[image_url]")->filename.has_value());
  EXPECT_EQ(f.find("input_reference"), nullptr);

  req.input_reference = api::image_input{};
  req.input_reference->file_id = "file_abc";
  auto byid = oai.create(req, upstream(), "4");
  ASSERT_TRUE(byid.has_value());
  auto g = read_form(*byid);
  EXPECT_EQ(g.text("input_reference[file_id]"), "file_abc");
  EXPECT_EQ(g.find("input_reference"), nullptr);
}

TEST(OpenAiCreateMultipart, FilePartKeepsBinaryBytesAndSanitisesTheFilename) {
  auto req = request();
  req.input_reference = upload();
  for (int i = 0; i < 256; ++i) req.input_reference->bytes += static_cast<char>(i);
  req.input_reference->bytes += "\r\n--\r\n\r\n";
  req.input_reference->filename = "evil\"\r\nX-Injected: 1.png";
  auto call = oai.create(req, upstream(), "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);
  auto file = f.find("input_reference");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(std::string(file->data), req.input_reference->bytes);
  ASSERT_TRUE(file->filename.has_value());
  EXPECT_EQ(file->filename->find('"'), std::string::npos);
  EXPECT_EQ(file->filename->find('\r'), std::string::npos);
  EXPECT_EQ(file->filename->find('\n'), std::string::npos);
}

TEST(OpenAiCreateMultipart, UploadWithoutAFilenameStillHasOne) {
  auto req = request();
  req.input_reference = upload();
  req.input_reference->filename.clear();
  auto call = oai.create(req, upstream(), "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);
  auto file = f.find("input_reference");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->filename.has_value());
  EXPECT_FALSE(file->filename->empty());
  EXPECT_EQ(std::string(file->data), png_bytes);
}

TEST(OpenAiCreateMultipart, DefaultsApplyOnlyWhenNotSet) {
  auto up = upstream();
  up.defaults = {{"watermark", def_bool(false)}, {"private", def_bool(true)}, {"style", def_string("comic")}};
  auto unset = oai.create(request(), up, "4");
  ASSERT_TRUE(unset.has_value());
  auto f = read_form(*unset);
  EXPECT_EQ(f.text("watermark"), "false");
  EXPECT_EQ(f.text("private"), "true");
  EXPECT_EQ(f.text("style"), "comic");

  auto req = request();
  req.watermark = true;
  req.is_private = false;
  req.style = "news";
  auto set = oai.create(req, up, "4");
  ASSERT_TRUE(set.has_value());
  auto g = read_form(*set);  // also checks that no field is sent twice
  EXPECT_EQ(g.text("watermark"), "true");
  EXPECT_EQ(g.text("private"), "false");
  EXPECT_EQ(g.text("style"), "news");
}

TEST(OpenAiCreateMultipart, VendorDefaultsAreSentAsText) {
  auto up = upstream();
  up.defaults = {{"resolution", def_string("hd")}, {"fps", def_int(24)}, {"cfg", def_number(7.5, "7.5")}};
  auto call = oai.create(request(), up, "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);
  EXPECT_EQ(f.text("resolution"), "hd");
  EXPECT_EQ(f.text("fps"), "24");
  EXPECT_EQ(f.text("cfg"), "7.5");
}

TEST(OpenAiCreateMultipart, DefaultsNeverOverrideCoreFields) {
  auto up = upstream();
  up.defaults = {{"model", def_string("other")}, {"seconds", def_string("20")}, {"size", def_string("1792x1024")},
                 {"prompt", def_string("x")}};
  auto call = oai.create(request("p"), up, "4");
  ASSERT_TRUE(call.has_value());
  auto f = read_form(*call);  // no duplicates
  EXPECT_EQ(f.text("model"), "sora-2");
  EXPECT_EQ(f.text("seconds"), "4");
  EXPECT_EQ(f.text("size"), "720x1280");
  EXPECT_EQ(f.text("prompt"), "p");
}

TEST(OpenAiCreateMultipart, UnicodePromptIsKeptByteForByte) {
  auto req = request("一只凶猛的老虎破门闯入农家小院,土狗吓得跑开,猫咪跳出来击败吓跑老虎。\r\nline two");
  auto call = oai.create(req, upstream(), "8");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(read_form(*call).text("prompt"), req.prompt);
}

TEST(OpenAiCreateMultipart, BoundaryDiffersBetweenCalls) {
  auto a = oai.create(request(), upstream(), "4");
  auto b = oai.create(request(), upstream(), "4");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(http::find_header(a->headers, "content-type"), http::find_header(b->headers, "content-type"));
}

TEST(OpenAiCreate, StoryboardsAreUnsupported) {
  auto req = request();
  req.shots = std::vector<api::shot>{{"a cat", 5}};
  for (auto fmt : {config::request_format::multipart, config::request_format::json}) {
    auto r = oai.create(req, upstream(fmt), "4");
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::unsupported_value);
    EXPECT_EQ(r.error().param, "shots");
  }
}

// --- create: JSON (seed 002) ------------------------------------------------------------

TEST(OpenAiCreateJson, Seed002Request) {
  auto up = upstream(config::request_format::json);
  auto req = request("一只凶猛的老虎破门闯入农家小院,土狗吓得跑开,猫咪跳出来击败吓跑老虎。");
  req.model = "sora-2";
  req.seconds = "8";
  req.size = "1280x720";
  auto call = oai.create(req, up, "8");
  ASSERT_TRUE(call.has_value()) << call.error().message;
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->path, "/v1/videos");
  auto o = read_json(*call);
  EXPECT_EQ(o.size(), 4u) << call->body;
  EXPECT_EQ(o.at("prompt"), req.prompt.c_str());
  EXPECT_EQ(o.at("model"), "sora-2");
  ASSERT_TRUE(o.at("seconds").is_string()) << "seed 002: seconds is a string";
  EXPECT_EQ(o.at("seconds"), "8");
  EXPECT_EQ(o.at("size"), "1280x720");
}

TEST(OpenAiCreateJson, ModelIsMapped) {
  auto up = upstream(config::request_format::json);
  up.models = {{"sora-2", "sora-2-vendor"}};
  auto call = oai.create(request(), up, "4");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(read_json(*call).at("model"), "sora-2-vendor");
}

TEST(OpenAiCreateJson, UploadBecomesADataUrl) {
  auto req = request();
  req.input_reference = upload();
  auto call = oai.create(req, upstream(config::request_format::json), "4");
  ASSERT_TRUE(call.has_value());
  auto o = read_json(*call);
  ASSERT_TRUE(o.at("input_reference").is_object());
  auto& ir = o.at("input_reference").as_object();
  EXPECT_EQ(ir.size(), 1u);
  EXPECT_EQ(ir.at("image_url"), "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==");
}

TEST(OpenAiCreateJson, DataUrlOfEveryByteValue) {
  auto req = request();
  req.input_reference = api::image_input{};
  for (int i = 0; i < 256; ++i) req.input_reference->bytes += static_cast<char>(i);
  req.input_reference->mime = "image/jpeg";
  auto call = oai.create(req, upstream(config::request_format::json), "4");
  ASSERT_TRUE(call.has_value());
  auto o = read_json(*call);
  EXPECT_EQ(o.at("input_reference").as_object().at("image_url"),
            "data:image/jpeg;base64,"
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==");
}

TEST(OpenAiCreateJson, ImageUrlAndFileIdPassThrough) {
  auto req = request();
  req.input_reference = api::image_input{};
  req.input_reference->url = "https://example.com/cat.webp";
  auto call = oai.create(req, upstream(config::request_format::json), "4");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(read_json(*call).at("input_reference").as_object().at("image_url"), "https://example.com/cat.webp");

  req.input_reference = api::image_input{};
  req.input_reference->file_id = "file_abc";
  auto byid = oai.create(req, upstream(config::request_format::json), "4");
  ASSERT_TRUE(byid.has_value());
  auto ir = read_json(*byid).at("input_reference").as_object();
  EXPECT_EQ(ir.at("file_id"), "file_abc");
  EXPECT_FALSE(ir.contains("image_url"));
}

TEST(OpenAiCreateJson, ExtrasAreTyped) {
  auto req = request();
  req.watermark = false;
  req.is_private = true;
  req.style = "selfie";
  auto call = oai.create(req, upstream(config::request_format::json), "12");
  ASSERT_TRUE(call.has_value());
  auto o = read_json(*call);
  ASSERT_TRUE(o.at("watermark").is_bool());
  EXPECT_FALSE(o.at("watermark").as_bool());
  ASSERT_TRUE(o.at("private").is_bool());
  EXPECT_TRUE(o.at("private").as_bool());
  EXPECT_EQ(o.at("style"), "selfie");
  EXPECT_EQ(o.at("seconds"), "12");
}

TEST(OpenAiCreateJson, MinimalRequestSendsNoExtras) {
  auto call = oai.create(request(), upstream(config::request_format::json), "4");
  ASSERT_TRUE(call.has_value());
  auto o = read_json(*call);
  EXPECT_FALSE(o.contains("watermark"));
  EXPECT_FALSE(o.contains("private"));
  EXPECT_FALSE(o.contains("style"));
  EXPECT_FALSE(o.contains("input_reference"));
  EXPECT_FALSE(o.contains("shots"));
}

TEST(OpenAiCreateJson, DefaultsAreTypedAndApplyOnlyWhenNotSet) {
  auto up = upstream(config::request_format::json);
  up.defaults = {{"watermark", def_bool(false)}, {"private", def_bool(true)},  {"style", def_string("comic")},
                 {"fps", def_int(24)},          {"cfg", def_number(7.5, "7.5")}, {"model", def_string("other")}};
  auto unset = oai.create(request(), up, "4");
  ASSERT_TRUE(unset.has_value());
  auto o = read_json(*unset);
  ASSERT_TRUE(o.at("watermark").is_bool());
  EXPECT_FALSE(o.at("watermark").as_bool());
  ASSERT_TRUE(o.at("private").is_bool());
  EXPECT_TRUE(o.at("private").as_bool());
  EXPECT_EQ(o.at("style"), "comic");
  ASSERT_TRUE(o.at("fps").is_int64());
  EXPECT_EQ(o.at("fps").as_int64(), 24);
  ASSERT_TRUE(o.at("cfg").is_double());
  EXPECT_DOUBLE_EQ(o.at("cfg").as_double(), 7.5);
  EXPECT_EQ(o.at("model"), "sora-2") << "a default never overrides the model";

  auto req = request();
  req.watermark = true;
  req.is_private = false;
  req.style = "news";
  auto set = oai.create(req, up, "4");
  ASSERT_TRUE(set.has_value());
  auto s = read_json(*set);
  EXPECT_TRUE(s.at("watermark").as_bool());
  EXPECT_FALSE(s.at("private").as_bool());
  EXPECT_EQ(s.at("style"), "news");
}

// --- status / content / remix / delete calls --------------------------------------------

TEST(OpenAiCalls, Status) {
  auto c = oai.status("video_68f082321ed08193a4eaf01376fa10bc0284bd663de64dc5");
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.path, "/v1/videos/video_68f082321ed08193a4eaf01376fa10bc0284bd663de64dc5");
  EXPECT_TRUE(c.absolute_url.empty());
  EXPECT_TRUE(c.body.empty());
}

TEST(OpenAiCalls, IdsArePercentEncodedAsOnePathSegment) {
  EXPECT_EQ(oai.status("a/b").path, "/v1/videos/a%2Fb");
  EXPECT_EQ(oai.status("../admin").path, "/v1/videos/..%2Fadmin");
  EXPECT_EQ(oai.status("a b?c#d%e").path, "/v1/videos/a%20b%3Fc%23d%25e");
  EXPECT_EQ(oai.status("sora-2:task_01k8").path, "/v1/videos/sora-2%3Atask_01k8");
  EXPECT_EQ(oai.status("猫").path, "/v1/videos/%E7%8C%AB");
  EXPECT_EQ(oai.status("video_5c6a605a-30c0-4a6a.9dbd~x").path, "/v1/videos/video_5c6a605a-30c0-4a6a.9dbd~x");
}

TEST(OpenAiCalls, ContentForEveryVariant) {
  const std::pair<content_variant, const char*> cases[] = {{content_variant::video, "video"},
                                                           {content_variant::thumbnail, "thumbnail"},
                                                           {content_variant::spritesheet, "spritesheet"}};
  for (auto& [v, name] : cases) {
    auto c = oai.content("video_1", v, std::nullopt, upstream());
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->method, "GET");
    EXPECT_EQ(c->path, "/v1/videos/video_1/content?variant=" + std::string(name));
    EXPECT_TRUE(c->absolute_url.empty()) << "openai content is fetched with the job's key";
  }
  auto enc = oai.content("a/b", content_variant::video, std::nullopt, upstream());
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->path, "/v1/videos/a%2Fb/content?variant=video");
}

TEST(OpenAiCalls, Remix) {
  auto c = oai.remix("video_1", "Make it \"night\" time 猫", upstream());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->path, "/v1/videos/video_1/remix");
  auto o = read_json(*c);
  EXPECT_EQ(o.size(), 1u);
  EXPECT_EQ(o.at("prompt"), "Make it \"night\" time 猫");
  auto enc = oai.remix("a/b", "p", upstream());
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->path, "/v1/videos/a%2Fb/remix");
}

TEST(OpenAiCalls, RemixAnswerIsAVideo) {
  auto r = oai.read_create(200, {}, video_with(R"("status":"queued","remixed_from_video_id":"video_0")"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->upstream_id, "video_1");
}

TEST(OpenAiCalls, Delete) {
  auto c = oai.remove("video_1");
  ASSERT_TRUE(c.has_value()) << "the openai dialect has a delete call";
  EXPECT_EQ(c->method, "DELETE");
  EXPECT_EQ(c->path, "/v1/videos/video_1");
  EXPECT_EQ(oai.remove("a/b")->path, "/v1/videos/a%2Fb");
}

// --- edits, extensions and characters ---------------------------------------------------

const std::string mov_bytes = "\0\0\0\x14" "ftypqt  \0\0\0\0qt  "s;

api::derive_request derive_of(api::derive_request::kind k, std::string prompt = "Make it snow 猫") {
  api::derive_request r;
  r.what = k;
  r.prompt = std::move(prompt);
  if (k == api::derive_request::kind::extension) r.seconds = "10";  // as asked; the call sends the picked length
  return r;
}

/// `r` with an uploaded QuickTime video carrying every byte value.
api::derive_request with_upload(api::derive_request r, std::string filename = "clip.mov") {
  r.video.bytes = mov_bytes;
  for (int i = 0; i < 256; ++i) r.video.bytes += static_cast<char>(i);
  r.video.mime = "video/quicktime";
  r.video.filename = std::move(filename);
  return r;
}

constexpr auto edit_kind = api::derive_request::kind::edit;
constexpr auto extension_kind = api::derive_request::kind::extension;

TEST(OpenAiDerive, EditOfAVideoIdAsJson) {
  auto req = derive_of(edit_kind);
  req.video.id = "video_gateway_id";  // the gateway's id never goes upstream: source_id does
  auto c = oai.derive(req, "video_68f0823", upstream(config::request_format::json), "8");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->path, "/v1/videos/edits");
  EXPECT_TRUE(c->absolute_url.empty());
  expect_no_key(*c, "sk-test-key-1");
  auto o = read_json(*c);
  EXPECT_EQ(o, (json::object{{"prompt", "Make it snow 猫"}, {"video", json::object{{"id", "video_68f0823"}}}}));
}

TEST(OpenAiDerive, ExtensionOfAVideoIdAsJson) {
  auto c = oai.derive(derive_of(extension_kind), "video_68f0823", upstream(config::request_format::json), "12");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->path, "/v1/videos/extensions");
  auto o = read_json(*c);
  EXPECT_EQ(o, (json::object{
                   {"prompt", "Make it snow 猫"}, {"seconds", "12"}, {"video", json::object{{"id", "video_68f0823"}}}}));
}

TEST(OpenAiDerive, EditOfAVideoIdAsMultipart) {
  auto c = oai.derive(derive_of(edit_kind), "video_68f0823", upstream(), "8");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->method, "POST");
  EXPECT_EQ(c->path, "/v1/videos/edits");
  expect_no_key(*c, "sk-test-key-1");
  auto f = read_form(*c);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"prompt", "video[id]"}));
  EXPECT_EQ(f.text("prompt"), "Make it snow 猫");
  EXPECT_EQ(f.text("video[id]"), "video_68f0823");
  EXPECT_FALSE(f.find("video[id]")->filename.has_value());
}

TEST(OpenAiDerive, ExtensionOfAVideoIdAsMultipart) {
  auto c = oai.derive(derive_of(extension_kind), "video_68f0823", upstream(), "12");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->path, "/v1/videos/extensions");
  auto f = read_form(*c);
  EXPECT_EQ(f.names(), (std::vector<std::string>{"prompt", "seconds", "video[id]"}));
  EXPECT_EQ(f.text("seconds"), "12");
  EXPECT_EQ(f.text("video[id]"), "video_68f0823");
}

TEST(OpenAiDerive, AnUploadIsAlwaysMultipart) {
  for (auto fmt : {config::request_format::multipart, config::request_format::json}) {
    SCOPED_TRACE(fmt == config::request_format::json ? "json upstream" : "multipart upstream");
    auto req = with_upload(derive_of(edit_kind));
    auto c = oai.derive(req, "", upstream(fmt), "8");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->method, "POST");
    EXPECT_EQ(c->path, "/v1/videos/edits");
    expect_no_key(*c, "sk-test-key-1");
    auto f = read_form(*c);
    EXPECT_EQ(f.names(), (std::vector<std::string>{"prompt", "video"}));
    EXPECT_EQ(f.text("prompt"), "Make it snow 猫");
    auto file = f.find("video");
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->filename.has_value());
    EXPECT_EQ(*file->filename, "clip.mov");
    EXPECT_EQ(file->content_type, "video/quicktime");
    EXPECT_EQ(std::string(file->data), req.video.bytes);

    auto ext = oai.derive(with_upload(derive_of(extension_kind)), "", upstream(fmt), "16");
    ASSERT_TRUE(ext.has_value()) << ext.error().message;
    EXPECT_EQ(ext->path, "/v1/videos/extensions");
    auto g = read_form(*ext);
    EXPECT_EQ(g.names(), (std::vector<std::string>{"prompt", "seconds", "video"}));
    EXPECT_EQ(g.text("seconds"), "16");
    EXPECT_EQ(std::string(g.find("video")->data), req.video.bytes);
  }
}

TEST(OpenAiDerive, UploadFilenameIsSanitisedOrDefaulted) {
  auto none = oai.derive(with_upload(derive_of(edit_kind), ""), "", upstream(), "8");
  ASSERT_TRUE(none.has_value());
  auto f = read_form(*none);
  ASSERT_NE(f.find("video"), nullptr);
  EXPECT_EQ(f.find("video")->filename, "video");
  auto quoted = oai.derive(with_upload(derive_of(edit_kind), "a\"b\r\n.mov"), "", upstream(), "8");
  ASSERT_TRUE(quoted.has_value());
  auto g = read_form(*quoted);
  ASSERT_NE(g.find("video"), nullptr);
  EXPECT_EQ(g.find("video")->filename, "a_b__.mov");
}

TEST(OpenAiCharacters, CreateIsAMultipartUpload) {
  api::character_request req;
  req.name = "Mochi \"the\" cat 猫";
  req.model = "sora-2-pro";
  req.video = with_upload(derive_of(edit_kind), "mochi.mov").video;
  for (auto fmt : {config::request_format::multipart, config::request_format::json}) {
    auto c = oai.create_character(req, upstream(fmt));
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->method, "POST");
    EXPECT_EQ(c->path, "/v1/videos/characters");
    EXPECT_TRUE(c->absolute_url.empty());
    expect_no_key(*c, "sk-test-key-1");
    auto f = read_form(*c);
    EXPECT_EQ(f.names(), (std::vector<std::string>{"name", "video"}));
    EXPECT_EQ(f.text("name"), "Mochi \"the\" cat 猫");
    auto file = f.find("video");
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(file->filename, "mochi.mov");
    EXPECT_EQ(file->content_type, "video/quicktime");
    EXPECT_EQ(std::string(file->data), req.video.bytes);
  }
}

TEST(OpenAiCharacters, GetByTheVendorsIdPercentEncoded) {
  auto c = oai.character("char_68f0823", upstream());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->method, "GET");
  EXPECT_EQ(c->path, "/v1/videos/characters/char_68f0823");
  EXPECT_TRUE(c->body.empty());
  EXPECT_TRUE(c->absolute_url.empty());
  EXPECT_EQ(oai.character("a/b", upstream())->path, "/v1/videos/characters/a%2Fb");
  EXPECT_EQ(oai.character("../x?y#z", upstream())->path, "/v1/videos/characters/..%2Fx%3Fy%23z");
}

TEST(OpenAiCharacters, ReadTheAnswer) {
  auto r = oai.read_character(200, {}, R"({"id":"char_abc","object":"character","created_at":1760592434,"name":"Mochi"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->upstream_id, "char_abc");
  EXPECT_EQ(r->created_at, 1760592434);
  EXPECT_EQ(r->name, "Mochi");

  auto bare = oai.read_character(201, {}, R"({"id":"char_abc"})");
  ASSERT_TRUE(bare.has_value()) << bare.error().message;
  EXPECT_EQ(bare->upstream_id, "char_abc");
  EXPECT_EQ(bare->created_at, 0);
  EXPECT_EQ(bare->name, std::nullopt);

  auto ms = oai.read_character(200, {}, R"({"id":"char_abc","created_at":1760592434000,"name":7})");
  ASSERT_TRUE(ms.has_value()) << ms.error().message;
  EXPECT_EQ(ms->created_at, 1760592434);
  EXPECT_EQ(ms->name, std::nullopt) << "a name that is not a string is dropped";
}

TEST(OpenAiCharacters, AnswerWithoutAnIdIsABadUpstreamResponse) {
  for (auto body : {R"({"name":"Mochi"})", R"({"id":""})", R"({"id":42})", R"({"id":null})", "[]", "", "<html>ok</html>",
                    R"("char_abc")", "{\"id\":\"char_abc\""}) {
    SCOPED_TRACE(body);
    auto r = oai.read_character(200, {}, body);
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().code, errc::bad_upstream_response) << r.error().message;
  }
}

TEST(OpenAiCharacters, HttpErrorsAreClassified) {
  auto gone = oai.read_character(404, {}, R"({"error":{"message":"Character not found"}})");
  ASSERT_TRUE(gone.has_error());
  EXPECT_EQ(gone.error().code, errc::not_found);
  auto auth = oai.read_character(401, {}, R"({"error":{"message":"Incorrect API key provided"}})");
  ASSERT_TRUE(auth.has_error());
  EXPECT_EQ(auth.error().code, errc::upstream_auth);
  auto limited = oai.read_character(429, {{"Retry-After", "7"}}, R"({"error":{"message":"Rate limit reached"}})");
  ASSERT_TRUE(limited.has_error());
  EXPECT_EQ(limited.error().code, errc::upstream_rate_limited);
  EXPECT_EQ(limited.error().retry_after_s, 7);
  EXPECT_EQ(limited.error().upstream_status, 429);
  // A body that looks like a character never turns an HTTP error into a success.
  auto down = oai.read_character(503, {}, R"({"id":"char_abc","name":"Mochi"})");
  ASSERT_TRUE(down.has_error());
  EXPECT_EQ(down.error().code, errc::upstream_unavailable);
}

// --- classify_http_error ----------------------------------------------------------------

const auto fixed_now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT

error classify(int status, std::string_view body, const http::header_list& h = {}) {
  return classify_http_error(status, h, body, fixed_now);
}

TEST(ClassifyHttpError, AuthFailures) {
  for (int s : {401, 403}) {
    auto e = classify(s, R"({"error":{"message":"Incorrect API key provided: sk-abc***xyz.","type":"invalid_request_error","code":"invalid_api_key"}})");
    EXPECT_EQ(e.code, errc::upstream_auth) << s;
    EXPECT_EQ(e.upstream_status, s);
  }
  EXPECT_EQ(classify(401, "").code, errc::upstream_auth);
  EXPECT_EQ(classify(403, "<html>Forbidden</html>").code, errc::upstream_auth);
}

// OpenAI's own 403 for a restricted key says "insufficient permissions": that is a refused
// key, not a key out of credit.
TEST(ClassifyHttpError, InsufficientPermissionsIsAuthNotCredit) {
  auto e = classify(403, R"({"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.videos.write.","type":"invalid_request_error","code":null}})");
  EXPECT_EQ(e.code, errc::upstream_auth) << e.message;
}

TEST(ClassifyHttpError, OutOfCredit) {
  EXPECT_EQ(classify(402, "").code, errc::upstream_out_of_credit);
  EXPECT_EQ(classify(402, R"({"error":{"message":"Payment required"}})").code, errc::upstream_out_of_credit);
  // OpenAI's insufficient_quota comes as a 429.
  auto q = classify(429, R"({"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}})",
                    {{"Retry-After", "20"}});
  EXPECT_EQ(q.code, errc::upstream_out_of_credit) << q.message;
  EXPECT_EQ(classify(429, R"({"error":{"message":"x","code":"insufficient_quota"}})").code, errc::upstream_out_of_credit);
  EXPECT_EQ(classify(403, R"({"error":{"message":"Insufficient credits to create this video"}})").code,
            errc::upstream_out_of_credit);
  EXPECT_EQ(classify(403, R"({"message":"用户余额不足"})").code, errc::upstream_out_of_credit);
  EXPECT_EQ(classify(429, R"({"error":"Your balance is too low"})").code, errc::upstream_out_of_credit);
  EXPECT_EQ(classify(403, R"({"error":{"message":"该令牌额度已用尽"}})").code, errc::upstream_out_of_credit);
}

TEST(ClassifyHttpError, RateLimitedWithRetryAfterSeconds) {
  auto e = classify(429, R"({"error":{"message":"Rate limit reached for requests"}})", {{"Retry-After", "120"}});
  EXPECT_EQ(e.code, errc::upstream_rate_limited);
  EXPECT_EQ(e.retry_after_s, 120);
  EXPECT_EQ(e.upstream_status, 429);
  auto lower = classify(429, "", {{"retry-after", "3"}});
  EXPECT_EQ(lower.code, errc::upstream_rate_limited);
  EXPECT_EQ(lower.retry_after_s, 3);
  auto zero = classify(429, "", {{"Retry-After", "0"}});
  EXPECT_EQ(zero.retry_after_s, 0);
}

TEST(ClassifyHttpError, RateLimitedWithRetryAfterHttpDate) {
  auto e = classify(429, "", {{"Retry-After", "Sun, 06 Nov 1994 08:51:07 GMT"}});
  EXPECT_EQ(e.code, errc::upstream_rate_limited);
  EXPECT_EQ(e.retry_after_s, 90);
  auto hour = classify(429, "", {{"Retry-After", "Sun, 06 Nov 1994 09:49:37 GMT"}});
  EXPECT_EQ(hour.retry_after_s, 3600);
  auto next_day = classify(429, "", {{"Retry-After", "Mon, 07 Nov 1994 08:49:37 GMT"}});
  EXPECT_EQ(next_day.retry_after_s, 86400);
  auto past = classify(429, "", {{"Retry-After", "Sun, 06 Nov 1994 08:00:00 GMT"}});
  ASSERT_TRUE(past.retry_after_s.has_value());
  EXPECT_EQ(*past.retry_after_s, 0) << "a date in the past means retry now, never a negative wait";
}

TEST(ClassifyHttpError, RateLimitedWithoutAUsableRetryAfter) {
  EXPECT_EQ(classify(429, "").retry_after_s, std::nullopt);
  auto junk = classify(429, "", {{"Retry-After", "soon"}});
  EXPECT_EQ(junk.code, errc::upstream_rate_limited);
  EXPECT_EQ(junk.retry_after_s, std::nullopt);
  auto bad_month = classify(429, "", {{"Retry-After", "Sun, 06 Foo 1994 08:51:07 GMT"}});
  EXPECT_EQ(bad_month.retry_after_s, std::nullopt);
  auto negative = classify(429, "", {{"Retry-After", "-5"}});
  EXPECT_TRUE(!negative.retry_after_s || *negative.retry_after_s == 0);
}

TEST(ClassifyHttpError, ModerationRefusalPassesTheVendorMessage) {
  const std::string msg = "Your request was rejected as a result of our safety system.";
  auto e = classify(400, R"({"error":{"message":")" + msg + R"(","type":"invalid_request_error","code":"moderation_blocked"}})");
  EXPECT_EQ(e.code, errc::upstream_rejected);
  EXPECT_EQ(e.message, msg);
  EXPECT_EQ(e.upstream_status, 400);

  auto unprocessable = classify(422, R"({"message":"Prompt violates our content policy"})");
  EXPECT_EQ(unprocessable.code, errc::upstream_rejected);
  EXPECT_EQ(unprocessable.message, "Prompt violates our content policy");
}

TEST(ClassifyHttpError, OtherBadRequestsKeepTheVendorMessage) {
  auto e = classify(400, R"({"error":{"message":"Invalid size: 1792x1024 requires sora-2-pro"}})");
  EXPECT_EQ(e.code, errc::upstream_rejected);
  EXPECT_NE(e.message.find("Invalid size: 1792x1024 requires sora-2-pro"), std::string::npos) << e.message;
  auto empty = classify(400, "");
  EXPECT_EQ(empty.code, errc::upstream_rejected);
  EXPECT_FALSE(empty.message.empty());
}

TEST(ClassifyHttpError, NotFound) {
  auto e = classify(404, R"({"error":{"message":"Video not found"}})");
  EXPECT_EQ(e.code, errc::not_found);
  EXPECT_EQ(e.upstream_status, 404);
}

TEST(ClassifyHttpError, ServerErrors) {
  for (int s : {500, 502, 503}) {
    auto e = classify(s, "<html>Service Unavailable</html>");
    EXPECT_EQ(e.code, errc::upstream_unavailable) << s;
    EXPECT_EQ(e.upstream_status, s);
  }
  EXPECT_EQ(classify(504, "").code, errc::upstream_timeout);
  EXPECT_EQ(classify(504, "").upstream_status, 504);
}

TEST(ClassifyHttpError, VendorMessageShapes) {
  EXPECT_NE(classify(500, R"({"error":"engine exploded"})").message.find("engine exploded"), std::string::npos);
  EXPECT_NE(classify(500, R"({"message":"engine exploded"})").message.find("engine exploded"), std::string::npos);
  EXPECT_NE(classify(500, R"({"error":{"message":"engine exploded"}})").message.find("engine exploded"), std::string::npos);
  EXPECT_FALSE(classify(500, "not json").message.empty());
}

// --- scrub ------------------------------------------------------------------------------

TEST(Scrub, RemovesEveryOccurrenceOfEachSecret) {
  auto out = scrub("key K3y-Secret-123 rejected; K3y-Secret-123 again; other-secret-xyz too",
                   {"K3y-Secret-123", "other-secret-xyz"});
  EXPECT_EQ(out.find("K3y-Secret-123"), std::string::npos) << out;
  EXPECT_EQ(out.find("other-secret-xyz"), std::string::npos) << out;
  EXPECT_NE(out.find("rejected"), std::string::npos) << out;
  EXPECT_NE(out.find("again"), std::string::npos) << out;
}

TEST(Scrub, RemovesBearerTokens) {
  auto out = scrub("Authorization: Bearer xyz123abc was refused", {});
  EXPECT_EQ(out.find("xyz123abc"), std::string::npos) << out;
  EXPECT_NE(out.find("was refused"), std::string::npos) << out;
  auto lower = scrub("header \"bearer tok.en_1\" invalid", {});
  EXPECT_EQ(lower.find("tok.en_1"), std::string::npos) << lower;
  auto twice = scrub("Bearer aaa1 then Bearer bbb2", {});
  EXPECT_EQ(twice.find("aaa1"), std::string::npos) << twice;
  EXPECT_EQ(twice.find("bbb2"), std::string::npos) << twice;
}

TEST(Scrub, RemovesSkStyleKeys) {
  auto out = scrub("Incorrect API key provided: sk-proj-AbC123dEf456. You can find your key", {});
  EXPECT_EQ(out.find("AbC123dEf456"), std::string::npos) << out;
  EXPECT_EQ(out.find("sk-proj-AbC123dEf456"), std::string::npos) << out;
  EXPECT_NE(out.find("You can find your key"), std::string::npos) << out;
  auto quoted = scrub(R"({"key":"sk-abcdef"})", {});
  EXPECT_EQ(quoted.find("abcdef"), std::string::npos) << quoted;
  EXPECT_EQ(quoted.back(), '}') << quoted;
  auto at_end = scrub("key sk-zzz999", {});
  EXPECT_EQ(at_end.find("zzz999"), std::string::npos) << at_end;
}

TEST(Scrub, LeavesCleanTextAlone) {
  const std::string clean = "Your request was rejected as a result of our safety system.";
  EXPECT_EQ(scrub(clean, {"sk-live-secret"}), clean);
  EXPECT_EQ(scrub("", {"secret-key"}), "");
}

// "sk-" inside a word ("task-", "disk-") is not a key: vendor messages with job ids must
// reach the client intact.
TEST(Scrub, SkMarkerOnlyAtTheStartOfAWord) {
  const std::string msg = "Job task-42 failed: disk-full on node risk-7";
  EXPECT_EQ(scrub(msg, {}), msg);
}

TEST(Scrub, SecretsThatAreTooShortToMatterAreIgnoredWithoutHanging) {
  // An empty secret must not loop forever or wipe the text.
  EXPECT_EQ(scrub("hello world", {""}), "hello world");
}

// --- base64_encode ----------------------------------------------------------------------

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, HighBytesUseTheStandardAlphabet) {
  EXPECT_EQ(base64_encode("\xFF\xFF\xFF"), "////");
  EXPECT_EQ(base64_encode("\xFB\xEF\xBE"), "++++");
  EXPECT_EQ(base64_encode("\0\0\0"s), "AAAA");
  EXPECT_EQ(base64_encode(png_bytes), "iVBORw0KGgoAAAANSUhEUg==");
}

}  // namespace
}  // namespace videogate::dialects
