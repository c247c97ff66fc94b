// Edits, extensions and characters (DESIGN §1) over loopback: a job made from one of ours goes
// to the source job's upstream and key with the vendor's id substituted; uploads are sniffed
// and routed by model; character ids are signed and self-routing; other dialects refuse
// without sending anything.
#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

using namespace vgtest;
namespace json = boost::json;

namespace {

const std::string boundary = "----derivedtestboundary7MA4YWxkTrZu0gW";

/// One multipart part: a text field, or a file when `filename` is set.
struct part {
  std::string name, value, filename, type;
};

std::string form(const std::vector<part>& parts) {
  std::string b;
  for (auto& p : parts) {
    b += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) b += "; filename=\"" + p.filename + "\"\r\nContent-Type: " + p.type;
    b += "\r\n\r\n" + p.value + "\r\n";
  }
  return b + "--" + boundary + "--\r\n";
}

videogate::http::client_response post_form(stack& s, const std::string& path, const std::vector<part>& parts,
                                           videogate::http::header_list headers = {}) {
  headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
  return request("POST", s.gw(path), headers, form(parts));
}

std::string mp4() { return read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/sample.mp4"); }

/// Creates a job and finishes it at the vendor; returns our id.
std::string completed_video(stack& s, const std::string& body = R"({"prompt":"a lighthouse","size":"1280x720","seconds":"8"})",
                            videogate::http::header_list headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  auto r = request("POST", s.gw("/v1/videos"), headers, body);
  EXPECT_EQ(r.status, 200) << r.body;
  auto id = id_of(r);
  EXPECT_EQ(request("POST", s.vendor("/_mock/jobs/" + upstream_id_of(id) + "/complete")).status, 200);
  return id;
}

json::array vendor_requests(const stack& s) { return json::parse(request("GET", s.vendor("/_mock/requests")).body).as_array(); }

/// The vendor's log entry of the last request whose target is `target`.
json::object last_to(const stack& s, const std::string& method, const std::string& target) {
  auto all = vendor_requests(s);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    auto& o = it->as_object();
    if (o.at("method").as_string() == method && o.at("target").as_string() == target) return o;
  }
  ADD_FAILURE() << "the vendor got no " << method << " " << target;
  return {};
}

/// The key the vendor saw on the create of the job `id` (ours).
std::string creating_key(const stack& s, const std::string& id) {
  auto vid = upstream_id_of(id);
  for (auto& v : vendor_requests(s)) {
    auto& o = v.as_object();
    auto resp = o.if_contains("response");
    if (o.at("method").as_string() != "POST" || o.at("target").as_string() != "/v1/videos" || !resp) continue;
    auto body = resp->as_object().if_contains("json");
    if (body && body->is_object() && body->as_object().contains("id") && body->as_object().at("id").as_string() == vid)
      return std::string(o.at("key").as_string());
  }
  ADD_FAILURE() << "no create of " << vid << " in the vendor's log";
  return {};
}

}  // namespace

TEST(derived, edit_of_our_video_goes_to_its_upstream_and_key_with_the_vendor_id) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1", "good-key-2", "good-key-3"])"));
  // Three jobs over three keys: each edit must follow its own source's key, not the rotation.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(completed_video(s));
  for (auto& id : ids) {
    auto r = request("POST", s.gw("/v1/videos/edits"), {{"Content-Type", "application/json"}},
                     R"({"prompt":"make it snow","video":{"id":")" + id + R"("}})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = json::parse(r.body).as_object();
    auto edit_id = std::string(v.at("id").as_string());
    EXPECT_NE(edit_id, id);
    EXPECT_EQ(edit_id.rfind("video_", 0), 0u);
    EXPECT_EQ(v.at("status").as_string(), "queued");
    EXPECT_EQ(v.at("size").as_string(), "1280x720") << "the source's";
    EXPECT_EQ(v.at("prompt").as_string(), "make it snow");
    EXPECT_TRUE(v.at("remixed_from_video_id").is_null());
    auto sent = last_to(s, "POST", "/v1/videos/edits");
    EXPECT_EQ(sent.at("key").as_string(), creating_key(s, id)) << "the edit went with another key than its source";
    EXPECT_EQ(sent.at("json").at("video").at("id").as_string(), upstream_id_of(id)) << "the vendor's own id, not ours";
    EXPECT_EQ(upstream_id_of(edit_id, integration_ids_secret), std::string(sent.at("response").at("json").at("id").as_string()));
    // The edit is a job like any other: it finishes, and its content streams.
    ASSERT_EQ(request("POST", s.vendor("/_mock/jobs/" + upstream_id_of(edit_id) + "/complete")).status, 200);
    auto done = request("GET", s.gw("/v1/videos/" + edit_id));
    EXPECT_EQ(field(done.body, "status"), "completed") << done.body;
    EXPECT_EQ(request("GET", s.gw("/v1/videos/" + edit_id + "/content")).body, mp4());
  }
  std::set<std::string> keys;
  for (auto& id : ids) keys.insert(creating_key(s, id));
  EXPECT_GT(keys.size(), 1u) << "the sources were all made with one key: the test proves nothing";
}

TEST(derived, multipart_upstreams_get_video_id_as_a_bracket_field) {
  stack s;
  s.start_mock();
  auto cfg = openai_config(R"(["good-key-1"])");
  replace_once(cfg, "request_format: json", "request_format: multipart");
  s.start_gateway(cfg);
  auto id = completed_video(s);
  // The SDK's own encoding: multipart with video[id].
  auto r = post_form(s, "/v1/videos/extensions", {{"prompt", "and then", "", ""}, {"seconds", "8", "", ""}, {"video[id]", id, "", ""}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(r.body, "seconds"), "8");
  auto sent = last_to(s, "POST", "/v1/videos/extensions");
  EXPECT_EQ(sent.at("form").at("video[id]").as_string(), upstream_id_of(id));
  EXPECT_EQ(sent.at("form").at("seconds").as_string(), "8");
  EXPECT_EQ(sent.at("form").at("prompt").as_string(), "and then");
}

TEST(derived, extension_seconds_follow_the_duration_rules) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  auto id = completed_video(s);
  // 5 s is not offered: the next length up, as for a create.
  auto r = request("POST", s.gw("/v1/videos/extensions"), {{"Content-Type", "application/json"}},
                   R"({"prompt":"go on","seconds":"5","video":{"id":")" + id + R"("}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(r.body, "seconds"), "8");
  EXPECT_EQ(last_to(s, "POST", "/v1/videos/extensions").at("json").at("seconds").as_string(), "8");
  // Longer than the upstream makes: refused, naming what it can, and nothing sent.
  auto before = vendor_requests(s).size();
  auto too_long = request("POST", s.gw("/v1/videos/extensions"), {{"Content-Type", "application/json"}},
                          R"({"prompt":"go on","seconds":"45","video":{"id":")" + id + R"("}})");
  EXPECT_EQ(too_long.status, 400) << too_long.body;
  EXPECT_EQ(error_code(too_long.body), "unsupported_value");
  EXPECT_NE(too_long.body.find("vendor"), std::string::npos) << too_long.body;
  auto missing = request("POST", s.gw("/v1/videos/extensions"), {{"Content-Type", "application/json"}},
                         R"({"prompt":"go on","video":{"id":")" + id + R"("}})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(error_code(missing.body), "missing_required_parameter");
  EXPECT_EQ(vendor_requests(s).size(), before);
}

TEST(derived, uploads_are_sniffed_limited_and_routed_by_model) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  auto r = post_form(s, "/v1/videos/edits", {{"prompt", "sepia", "", ""}, {"video", mp4(), "clip.mp4", "application/octet-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(field(r.body, "model"), "sora-2");
  auto sent = last_to(s, "POST", "/v1/videos/edits");
  auto& file = sent.at("files").as_array().at(0).as_object();
  EXPECT_EQ(file.at("name").as_string(), "video");
  EXPECT_EQ(file.at("content_type").as_string(), "video/mp4") << "the sniffed type, not the client's";
  EXPECT_EQ(file.at("size").as_int64(), static_cast<std::int64_t>(mp4().size()));

  auto before = vendor_requests(s).size();
  auto png = read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/thumbnail.webp");
  auto not_video = post_form(s, "/v1/videos/edits", {{"prompt", "sepia", "", ""}, {"video", png, "clip.mp4", "video/mp4"}});
  EXPECT_EQ(not_video.status, 400) << not_video.body;
  EXPECT_EQ(error_code(not_video.body), "invalid_value");
  EXPECT_EQ(field(json::serialize(json::parse(not_video.body).at("error")), "param"), "video");
  auto unknown_model = post_form(s, "/v1/videos/extensions", {{"prompt", "x", "", ""}, {"seconds", "4", "", ""}, {"model", "veo-9", "", ""},
                                                              {"video", mp4(), "clip.mp4", "video/mp4"}});
  EXPECT_EQ(unknown_model.status, 400);
  EXPECT_EQ(error_code(unknown_model.body), "model_not_found");
  EXPECT_EQ(vendor_requests(s).size(), before) << "a refused upload reached the vendor";
}

TEST(derived, video_uploads_are_bounded_by_max_body_bytes) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])", "limits: { max_body_bytes: 4096 }\n"));
  auto r = post_form(s, "/v1/videos/edits", {{"prompt", "sepia", "", ""}, {"video", mp4(), "clip.mp4", "video/mp4"}});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(s.vendor_count("POST", "/v1/videos/edits"), 0);
}

TEST(derived, forged_and_other_clients_sources_are_404_and_nothing_is_sent) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])", R"(clients: [{name: a, key: "client-a"}, {name: b, key: "client-b"}])" "\n"));
  auto id = completed_video(s, R"({"prompt":"a lighthouse"})", {{"Authorization", "Bearer client-a"}});
  auto tampered = id;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  for (auto& [who, source] : std::vector<std::pair<std::string, std::string>>{{"client-b", id}, {"client-a", tampered}}) {
    auto r = request("POST", s.gw("/v1/videos/edits"), {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + who}},
                     R"({"prompt":"x","video":{"id":")" + source + R"("}})");
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(error_code(r.body), "not_found");
  }
  EXPECT_EQ(s.vendor_count("POST", "/v1/videos/edits"), 0);
}

TEST(derived, characters_have_signed_self_routing_ids) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1", "good-key-2"])", R"(clients: [{name: a, key: "client-a"}, {name: b, key: "client-b"}])" "\n"));
  auto made = post_form(s, "/v1/videos/characters", {{"name", "Captain Nemo", "", ""}, {"video", mp4(), "nemo.mp4", "video/mp4"}},
                        {{"Authorization", "Bearer client-a"}});
  ASSERT_EQ(made.status, 200) << made.body;
  auto c = json::parse(made.body).as_object();
  auto id = std::string(c.at("id").as_string());
  EXPECT_EQ(id.rfind("char_", 0), 0u) << id;
  EXPECT_EQ(c.at("name").as_string(), "Captain Nemo");
  EXPECT_GT(c.at("created_at").as_int64(), 0);
  auto sent = last_to(s, "POST", "/v1/videos/characters");
  auto vendor_id = std::string(sent.at("response").at("json").at("id").as_string());
  EXPECT_NE(id, vendor_id) << "the vendor's id went out unsigned";

  auto got = request("GET", s.gw("/v1/videos/characters/" + id), {{"Authorization", "Bearer client-a"}});
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body), json::parse(made.body));
  auto fetch = last_to(s, "GET", "/v1/videos/characters/" + vendor_id);
  EXPECT_EQ(fetch.at("key").as_string(), sent.at("key").as_string()) << "fetched with another key than made it";

  auto before = vendor_requests(s).size();
  auto tampered = id;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  auto video_kind = "video_" + id.substr(5);  // the same token relabelled as a video id
  for (auto& [who, path] : std::vector<std::pair<std::string, std::string>>{
           {"client-b", "/v1/videos/characters/" + id},
           {"client-a", "/v1/videos/characters/" + tampered},
           {"client-a", "/v1/videos/characters/" + vendor_id},
           {"client-a", "/v1/videos/" + video_kind},
           {"client-a", "/v1/videos/" + id}}) {
    auto r = request("GET", s.gw(path), {{"Authorization", "Bearer " + who}});
    EXPECT_EQ(r.status, 404) << path << " " << r.body;
  }
  EXPECT_EQ(vendor_requests(s).size(), before) << "a refused character id reached the vendor";

  auto as_json = request("POST", s.gw("/v1/videos/characters"), {{"Content-Type", "application/json"}, {"Authorization", "Bearer client-a"}},
                         R"({"name":"x","video":{"id":"video_abc"}})");
  EXPECT_EQ(as_json.status, 400);
  EXPECT_EQ(error_code(as_json.body), "invalid_value");
}

TEST(derived, other_dialects_refuse_naming_upstream_and_call_without_sending) {
  stack s;
  s.start_mock();
  s.start_gateway(R"(
listen: "127.0.0.1:0"
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: ")" + integration_ids_secret + R"(" }
upstreams:
  - name: resale-unified
    dialect: unified
    base_url: "${MOCK_URL}"
    keys: ["good-unified"]
    poll_interval: 0ms
)");
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, R"({"prompt":"x"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto id = id_of(r);
  auto before = vendor_requests(s).size();
  struct call {
    std::string path, what;
    std::vector<part> parts;
  };
  std::vector<call> calls{
      {"/v1/videos/edits", "edits", {{"prompt", "x", "", ""}, {"video[id]", id, "", ""}}},
      {"/v1/videos/extensions", "extensions", {{"prompt", "x", "", ""}, {"seconds", "4", "", ""}, {"video[id]", id, "", ""}}},
      {"/v1/videos/edits", "edits", {{"prompt", "x", "", ""}, {"video", mp4(), "a.mp4", "video/mp4"}}},
      {"/v1/videos/characters", "characters", {{"name", "x", "", ""}, {"video", mp4(), "a.mp4", "video/mp4"}}}};
  for (auto& c : calls) {
    auto a = post_form(s, c.path, c.parts);
    EXPECT_EQ(a.status, 400) << c.path << " " << a.body;
    EXPECT_EQ(error_code(a.body), "unsupported_value") << a.body;
    EXPECT_NE(a.body.find("'resale-unified'"), std::string::npos) << a.body;
    EXPECT_NE(a.body.find(c.what), std::string::npos) << a.body;
  }
  EXPECT_EQ(vendor_requests(s).size(), before) << "a refused call reached the vendor";
}

TEST(derived, routes_answer_their_methods) {
  stack s;
  s.start_mock();
  s.start_gateway(openai_config(R"(["good-key-1"])"));
  for (auto path : {"/v1/videos/edits", "/v1/videos/extensions", "/v1/videos/characters"}) {
    auto r = request("GET", s.gw(path));
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(r.header("allow"), "POST") << path;
  }
  auto r = request("DELETE", s.gw("/v1/videos/characters/char_x"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET");
  EXPECT_EQ(request("GET", s.gw("/v1/videos/characters/char_x")).status, 404);
}
