// The unified and freesora dialects end to end over loopback: every answer variant of the
// unified family, content streamed from the vendor URL without the key, and redirect mode.
#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace vgtest;
namespace json = boost::json;

namespace {

std::string config(const std::string& dialect, const std::string& key, const std::string& extra = "") {
  return R"(
listen: "127.0.0.1:0"
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-abcdefgh" }
upstreams:
  - name: vendor
    dialect: )" + dialect + R"(
    base_url: "${MOCK_URL}"
    keys: [")" + key + R"("]
    poll_interval: 0ms
)" + extra;
}

std::string create(stack& s, const std::string& body = R"({"prompt":"a lighthouse at dusk","seconds":"4","size":"1280x720"})") {
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, body);
  EXPECT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("seconds").as_string(), "10") << "4 s asked of a [10, 15] vendor is reported as what it makes";
  return std::string(v.at("id").as_string());
}

json::object poll_until_done(stack& s, const std::string& id) {
  for (int i = 0; i < 20; ++i) {
    auto v = json::parse(request("GET", s.gw("/v1/videos/" + id)).body).as_object();
    if (v.at("status").as_string() == "completed" || v.at("status").as_string() == "failed") return v;
  }
  ADD_FAILURE() << "job did not finish";
  return {};
}

/// The vendor's log entries for its /files/ route, with the key they carried.
std::vector<std::string> file_keys(stack& s) {
  auto doc = json::parse(request("GET", s.vendor("/_mock/requests")).body);
  std::vector<std::string> keys;
  for (auto& e : doc.as_array()) {
    auto& o = e.as_object();
    if (std::string(o.at("target").as_string()).starts_with("/files/"))
      keys.push_back(o.at("key").is_string() ? std::string(o.at("key").as_string()) : "<none>");
  }
  return keys;
}

}  // namespace

class unified_variants : public ::testing::TestWithParam<const char*> {};

TEST_P(unified_variants, create_poll_download) {
  stack s;
  s.start_mock({"--complete-after-polls", "2", "--unified-variant", GetParam()});
  s.start_gateway(config("unified", "good-unified"));
  auto id = create(s);
  auto done = poll_until_done(s, id);
  EXPECT_EQ(done.at("status").as_string(), "completed");
  EXPECT_EQ(done.at("progress").as_int64(), 100);
  EXPECT_FALSE(done.at("completed_at").is_null());
  auto bytes = request("GET", s.gw("/v1/videos/" + id + "/content"));
  ASSERT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.body, read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/sample.mp4"));
  auto part = request("GET", s.gw("/v1/videos/" + id + "/content"), {{"Range", "bytes=10-19"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.body.substr(10, 10));
  EXPECT_EQ(file_keys(s), (std::vector<std::string>{"<none>", "<none>"})) << "the key never goes to the content host";
  auto thumb = request("GET", s.gw("/v1/videos/" + id + "/content?variant=thumbnail"));
  EXPECT_EQ(thumb.status, 404);
  EXPECT_NE(thumb.body.find("vendor"), std::string::npos) << thumb.body;  // names the upstream
}

INSTANTIATE_TEST_SUITE_P(every_answer_shape, unified_variants, ::testing::Values("minimal", "rich", "detail"));

TEST(dialects, unified_progress_and_failure_reason_come_through) {
  stack s;
  s.start_mock({"--complete-after-polls", "3", "--unified-variant", "detail"});
  s.start_gateway(config("unified", "fail-unified"));
  auto id = create(s);
  auto first = json::parse(request("GET", s.gw("/v1/videos/" + id)).body);
  EXPECT_EQ(first.at("status").as_string(), "in_progress");
  EXPECT_GT(first.at("progress").as_int64(), 0);
  auto done = poll_until_done(s, id);
  EXPECT_EQ(done.at("status").as_string(), "failed");
  ASSERT_TRUE(done.at("error").is_object());
  EXPECT_FALSE(done.at("error").at("message").as_string().empty());
}

TEST(dialects, unified_completed_without_url_is_502_on_content) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(config("unified", "nourl-unified"));
  auto id = create(s);
  EXPECT_EQ(poll_until_done(s, id).at("status").as_string(), "completed");
  auto r = request("GET", s.gw("/v1/videos/" + id + "/content"));
  EXPECT_EQ(r.status, 502);
  EXPECT_NE(r.body.find("bad_upstream_response"), std::string::npos);
}

TEST(dialects, redirect_mode_answers_302_to_the_vendor_url) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(config("freesora", "good-freesora", "    content: redirect\n"));
  auto id = create(s);
  EXPECT_EQ(poll_until_done(s, id).at("status").as_string(), "completed");
  auto r = request("GET", s.gw("/v1/videos/" + id + "/content"));
  EXPECT_EQ(r.status, 302);
  auto location = std::string(r.header("location"));
  EXPECT_NE(location.find("/files/"), std::string::npos) << location;
  EXPECT_EQ(request("GET", location).body, read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/sample.mp4"));
}

TEST(dialects, freesora_http_200_errors_steer_the_key_pool) {
  stack s;
  s.start_mock();
  s.start_gateway(config("freesora", "bad-freesora"));
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, R"({"prompt":"x"})");
  EXPECT_EQ(r.status, 503) << r.body;  // the only key is refused -> disabled -> none usable
  auto again = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, R"({"prompt":"x"})");
  EXPECT_EQ(again.status, 503);
  auto doc = json::parse(request("GET", s.vendor("/_mock/requests")).body);
  EXPECT_EQ(doc.as_array().size(), 1u) << "a disabled key is not asked again";
}

TEST(dialects, remix_is_refused_and_delete_forgets_without_a_vendor_call) {
  stack s;
  s.start_mock();
  s.start_gateway(config("unified", "good-unified"));
  auto id = create(s);
  auto remix = request("POST", s.gw("/v1/videos/" + id + "/remix"), {{"Content-Type", "application/json"}}, R"({"prompt":"again"})");
  EXPECT_EQ(remix.status, 400);
  EXPECT_NE(remix.body.find("unsupported_value"), std::string::npos);
  EXPECT_NE(remix.body.find("vendor"), std::string::npos);
  auto before = json::parse(request("GET", s.vendor("/_mock/requests")).body).as_array().size();
  EXPECT_EQ(request("DELETE", s.gw("/v1/videos/" + id)).status, 200);
  EXPECT_EQ(request("GET", s.gw("/v1/videos/" + id)).status, 404) << "deleted means gone, though the vendor still has it";
  EXPECT_EQ(request("GET", s.gw("/v1/videos/" + id + "/content")).status, 404);
  EXPECT_EQ(request("DELETE", s.gw("/v1/videos/" + id)).status, 404);
  EXPECT_EQ(json::parse(request("GET", s.gw("/v1/videos")).body).at("data").as_array().size(), 0u);
  auto after = json::parse(request("GET", s.vendor("/_mock/requests")).body).as_array();
  for (auto i = before; i < after.size(); ++i) EXPECT_NE(after[i].at("method").as_string(), "DELETE");
}
