// The task-API dialects (fal, replicate, kie) end to end over loopback with what only a public
// gateway has: vendor callbacks (POST /callbacks/{token}) and images served to URL-only vendors
// (GET /media/{token}). The gateway listens on a port chosen before it starts, so that its
// public_base_url is its own URL and the simulated vendor calls it back.
//
// Nothing here sleeps a fixed time: waits poll the vendor's logs (/_mock/requests with each
// request's time, /_mock/callbacks) under deadlines. What each test proves is read from those
// logs: which calls the gateway made, in which order, and what the vendor answered.
#include "support.hpp"

#include "videogate/core/base64.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

using namespace vgtest;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

/// One task-API upstream of the config below, and what identifies its calls at the vendor.
struct task_case {
  const char* dialect;
  const char* model;    ///< the public model routed to it
  const char* seconds;  ///< one the upstream makes
  const char* key;
};

const task_case fal_case{"fal", "sora-2-fal", "4", "good-fal-1"};
const task_case replicate_case{"replicate", "sora-2-replicate", "4", "good-replicate-1"};
const task_case kie_case{"kie", "sora-2-kie", "10", "good-kie-1"};

void PrintTo(const task_case& c, std::ostream* os) { *os << c.dialect; }

/// A gateway on 127.0.0.1:`port` whose public_base_url is that address, with one upstream of
/// each task-API dialect on the simulated vendor (callbacks on, the default).
std::string public_config(int port, const std::string& poll_interval) {
  auto self = "127.0.0.1:" + std::to_string(port);
  auto upstream = [&](const std::string& dialect, const std::string& key, const std::string& models) {
    return "  - name: vendor-" + dialect + "\n    dialect: " + dialect + "\n    base_url: \"${MOCK_URL}\"\n    keys: [\"" +
           key + "\"]\n    poll_interval: " + poll_interval + "\n    timeout: 10s\n    models: " + models + "\n";
  };
  return "listen: \"" + self + "\"\npublic_base_url: \"http://" + self +
         "\"\nlog: { level: info }\nstore: { kind: sqlite, path: \"${DIR}/videogate.db\" }\nids: { secret: \"" +
         integration_ids_secret + "\" }\nupstreams:\n" +
         upstream("fal", fal_case.key,
                  "{ sora-2-fal: { text: fal-ai/sora-2/text-to-video, image: fal-ai/sora-2/image-to-video } }") +
         upstream("replicate", replicate_case.key, "{ sora-2-replicate: openai/sora-2 }") +
         upstream("kie", kie_case.key, "{ sora-2-kie: { text: sora-2-text-to-video, image: sora-2-image-to-video } }");
}

/// The mock (jobs finish only when told: 1000 polls) and the public gateway. The port is one
/// the kernel had free; when another process takes it first, the gateway cannot bind and the
/// next free port is tried.
void start_public_stack(stack& s, const std::string& poll_interval) {
  s.start_mock({"--complete-after-polls", "1000"});
  for (int attempt = 1;; ++attempt) {
    int port = free_port();
    try {
      s.start_gateway(public_config(port, poll_interval));
      ASSERT_EQ(s.gateway_port, port);
      return;
    } catch (const std::exception&) {
      s.gateway.reset();
      if (attempt == 3) throw;
    }
  }
}

json::array mock_log(const stack& s, const std::string& what) {
  return json::parse(request("GET", s.vendor("/_mock/" + what), {}, {}, 5s).body).as_array();
}

std::string str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : json::serialize(v); }
std::int64_t ms(const json::value& v) { return v.to_number<std::int64_t>(); }

/// Creates a job through the gateway (JSON); returns its id.
std::string create_video(stack& s, const task_case& c) {
  json::object body{{"prompt", "A lighthouse at dusk, waves below"}, {"model", c.model}, {"seconds", c.seconds},
                    {"size", "1280x720"}};
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, json::serialize(body));
  EXPECT_EQ(r.status, 200) << r.body;
  return id_of(r);
}

/// The vendor's own id of a job (fal: after the app; kie Veo: after "veo:").
std::string vendor_id(const std::string& video_id) {
  auto uid = upstream_id_of(video_id);
  auto cut = uid.find_first_of("|:");
  return cut == std::string::npos ? uid : uid.substr(cut + 1);
}

/// The log entries of the vendor's status reads of job `vid` (fal: the queue's status calls).
bool is_status_read(const task_case& c, const json::object& e, const std::string& vid) {
  auto target = str(e.at("target"));
  if (e.at("method").as_string() != "GET") return false;
  if (c.dialect == std::string("fal")) return target == "/fal-ai/sora-2/requests/" + vid + "/status";
  if (c.dialect == std::string("replicate")) return target == "/v1/predictions/" + vid;
  return target == "/api/v1/jobs/recordInfo?taskId=" + vid;
}

std::vector<json::object> status_reads(const stack& s, const task_case& c, const std::string& vid) {
  std::vector<json::object> out;
  for (auto& e : mock_log(s, "requests"))
    if (is_status_read(c, e.as_object(), vid)) out.push_back(e.as_object());
  return out;
}

/// The first create the vendor logged (each test has a fresh vendor).
json::object create_entry(const stack& s) {
  for (auto& e : mock_log(s, "requests"))
    if (e.at("method").as_string() == "POST") return e.as_object();
  ADD_FAILURE() << "no create in the vendor's log";
  return {};
}

/// The callback URL the gateway gave the vendor in a create (fal: the fal_webhook parameter).
std::string callback_url_in(const task_case& c, const json::object& create) {
  if (c.dialect == std::string("fal")) {
    auto target = boost::urls::parse_origin_form(str(create.at("target")));
    if (!target) return "";
    auto p = target->params().find("fal_webhook");
    return p == target->params().end() ? "" : (*p).value;
  }
  auto& body = create.at("json").as_object();
  auto* url = body.if_contains(c.dialect == std::string("replicate") ? "webhook" : "callBackUrl");
  return url ? str(*url) : "";
}

/// A callback body naming vendor job `vid` in the dialect's shape (untrusted by the gateway).
std::string callback_body(const task_case& c, const std::string& vid) {
  if (c.dialect == std::string("fal"))
    return json::serialize(json::object{{"request_id", vid}, {"gateway_request_id", vid}, {"status", "OK"},
                                        {"payload", {{"video", {{"url", "https://evil.example/x.mp4"}}}}},
                                        {"error", nullptr}});
  if (c.dialect == std::string("replicate"))
    return json::serialize(json::object{{"id", vid}, {"status", "succeeded"}, {"output", "https://evil.example/x.mp4"}});
  return json::serialize(json::object{
      {"code", 200},
      {"msg", "Playground task completed successfully."},
      {"data", {{"taskId", vid}, {"state", "success"}, {"resultJson", R"({"resultUrls":["https://evil.example/x.mp4"]})"}}}});
}

/// POSTs a callback to the gateway, as the vendor would.
videogate::http::client_response post_callback(const std::string& url, const std::string& body) {
  return request("POST", url, {{"Content-Type", "application/json"}}, body, 10s);
}

std::string video_status(stack& s, const std::string& id) {
  return field(request("GET", s.gw("/v1/videos/" + id)).body, "status");
}

std::string compact(const json::value& v, std::size_t max = 2000) {
  auto t = json::serialize(v);
  return t.size() > max ? t.substr(0, max) + "…" : t;
}

class task_callbacks : public ::testing::TestWithParam<task_case> {};

// The vendor finishes the job and calls back; the callback makes the gateway poll with the
// job's key, and the job is completed in the store. poll_interval 0 lets a callback poll at
// once; the gateway's watcher waits at least 1 s after the create before its own first poll,
// and the job is finished at the vendor within that second, so the one status read that sees
// it finished is the callback's (its time lies inside the callback's exchange).
TEST_P(task_callbacks, callback_triggers_the_poll_that_completes_the_job) {
  auto c = GetParam();
  stack s;
  start_public_stack(s, "0ms");
  auto id = create_video(s, c);
  ASSERT_FALSE(id.empty());
  auto vid = vendor_id(id);
  auto create = create_entry(s);
  auto hook = callback_url_in(c, create);
  EXPECT_TRUE(hook.starts_with(s.gw("/callbacks/"))) << "the callback URL is the gateway's public one: " << hook;

  auto complete_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  ASSERT_EQ(request("POST", s.vendor("/_mock/jobs/" + vid + "/complete")).status, 200);
  ASSERT_LT(complete_at - ms(create.at("at_ms")), 1000) << "finished before the watcher may poll";

  json::object cb;
  ASSERT_TRUE(eventually(
      [&] {
        for (auto& e : mock_log(s, "callbacks"))
          if (str(e.at("job_id")) == vid && e.at("state").as_string() != "pending") {
            cb = e.as_object();
            return true;
          }
        return false;
      },
      10s))
      << "the vendor never called back";
  EXPECT_EQ(cb.at("state"), "delivered") << compact(cb);
  EXPECT_EQ(cb.at("status"), 200) << compact(cb);
  EXPECT_EQ(json::parse(str(cb.at("response"))), (json::object{{"received", true}}));
  EXPECT_EQ(str(cb.at("url")), hook);

  auto reads = status_reads(s, c, vid);
  ASSERT_EQ(reads.size(), 1u) << "one status read, the callback's";
  auto& read = reads.front();
  EXPECT_GE(ms(read.at("at_ms")), ms(cb.at("sent_at_ms")));
  EXPECT_LE(ms(read.at("at_ms")), ms(cb.at("done_at_ms"))) << "made while the callback waited for its answer";
  EXPECT_EQ(str(read.at("key")), c.key) << "with the job's own key";
  auto& answer = read.at("response").at("json");
  std::optional<json::object> result;  // fal: the result fetch after COMPLETED
  if (c.dialect == std::string("fal")) {
    EXPECT_EQ(answer.at("status"), "COMPLETED");
    for (auto& e : mock_log(s, "requests"))
      if (str(e.at("target")) == "/fal-ai/sora-2/requests/" + vid) result = e.as_object();
    ASSERT_TRUE(result.has_value()) << "COMPLETED is followed by the result call";
    EXPECT_GE(ms(result->at("at_ms")), ms(read.at("at_ms")));
    EXPECT_LE(ms(result->at("at_ms")), ms(cb.at("done_at_ms")));
  } else if (c.dialect == std::string("replicate")) {
    EXPECT_EQ(answer.at("status"), "succeeded");
  } else {
    EXPECT_EQ(answer.at("data").at("state"), "success");
  }

  auto v = json::parse(request("GET", s.gw("/v1/videos/" + id)).body).as_object();
  EXPECT_EQ(v.at("status"), "completed") << compact(v);
  EXPECT_EQ(v.at("progress"), 100);
  EXPECT_EQ(status_reads(s, c, vid).size(), 1u) << "a completed job is answered from the store";

  auto t0 = ms(create.at("at_ms"));
  std::printf("[%s] callback -> poll -> completed: create at +0 ms; /_mock/jobs/%s/complete at +%lld ms; callback "
              "sent at +%lld ms; status read at +%lld ms (answered %s)%s; callback answered %lld %s at +%lld ms; "
              "retrieve: %s\n",
              c.dialect, vid.c_str(), static_cast<long long>(complete_at - t0),
              static_cast<long long>(ms(cb.at("sent_at_ms")) - t0), static_cast<long long>(ms(read.at("at_ms")) - t0),
              compact(c.dialect == std::string("kie") ? answer.at("data").at("state")
                                                      : answer.at("status"))
                  .c_str(),
              result ? (", result fetch at +" + std::to_string(ms(result->at("at_ms")) - t0) + " ms").c_str() : "",
              static_cast<long long>(ms(cb.at("status"))), str(cb.at("response")).c_str(),
              static_cast<long long>(ms(cb.at("done_at_ms")) - t0), str(v.at("status")).c_str());
  std::printf("[%s] translated create as the vendor logged it: %s %s\n      body: %s\n      answer: %s\n", c.dialect,
              str(create.at("method")).c_str(), str(create.at("target")).c_str(), compact(create.at("json")).c_str(),
              compact(create.at("response").at("json")).c_str());
  std::printf("[%s] status answer as the vendor logged it: %s %s -> %s %s\n", c.dialect, str(read.at("method")).c_str(),
              str(read.at("target")).c_str(), compact(read.at("response").at("status")).c_str(),
              compact(answer).c_str());
  if (result)
    std::printf("[%s] result answer: GET %s -> %s %s\n", c.dialect, str(result->at("target")).c_str(),
                compact(result->at("response").at("status")).c_str(), compact(result->at("response").at("json")).c_str());
}

// A token the gateway did not make, a video id's token, or a real token naming a job the
// gateway never made: 404, and the vendor hears nothing. (poll_interval 1 h: the watcher stays
// away from the vendor, so every request the vendor logs would be one a callback caused.)
TEST_P(task_callbacks, bad_tokens_and_unknown_jobs_are_404_without_a_vendor_call) {
  auto c = GetParam();
  stack s;
  start_public_stack(s, "1h");
  auto id = create_video(s, c);
  ASSERT_FALSE(id.empty());
  auto vid = vendor_id(id);
  auto hook = callback_url_in(c, create_entry(s));
  ASSERT_TRUE(hook.starts_with(s.gw("/callbacks/"))) << hook;
  auto token = hook.substr(s.gw("/callbacks/").size());
  auto before = mock_log(s, "requests").size();

  auto tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (auto& bad : {std::string(43, 'A'), tampered, id.substr(id.find('_') + 1), std::string("x")}) {
    SCOPED_TRACE(bad);
    auto r = post_callback(s.gw("/callbacks/" + bad), callback_body(c, vid));
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(error_code(r.body), "not_found");
  }
  for (auto& stranger : {std::string("00000000-0000-4000-8000-000000000000"), std::string("task_never_made"), vid + "x"}) {
    SCOPED_TRACE(stranger);
    auto r = post_callback(hook, callback_body(c, stranger));
    EXPECT_EQ(r.status, 404) << "a valid token, but not a job of ours: " << r.body;
  }
  auto garbage = post_callback(hook, "not json at all");
  EXPECT_EQ(garbage.status, 404) << garbage.body;
  EXPECT_EQ(request("GET", s.gw("/callbacks/" + token)).status, 405) << "POST only";
  EXPECT_EQ(mock_log(s, "requests").size(), before) << "no vendor call for any of them";

  // The real token and the real job: accepted, but the job was asked about (created) less
  // than poll_interval ago, so it is answered from the store; the body's "success" is not
  // believed either. (The first test shows such a callback polling once it may.)
  auto ok = post_callback(hook, callback_body(c, vid));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(json::parse(ok.body), (json::object{{"received", true}}));
  EXPECT_EQ(mock_log(s, "requests").size(), before) << "no poll sooner than poll_interval";
  EXPECT_EQ(video_status(s, id), "queued") << "the body said success; nothing the vendor said";
}

INSTANTIATE_TEST_SUITE_P(every_task_dialect, task_callbacks, ::testing::Values(fal_case, replicate_case, kie_case),
                         [](const auto& info) { return std::string(info.param.dialect); });

// A vendor calling back twice at once, again and again: never more than one status read per
// poll_interval (1.5 s), however many callbacks come; each is still answered 200.
TEST(task_dialects, callbacks_never_poll_more_often_than_poll_interval) {
  const auto& c = replicate_case;
  constexpr long long poll_interval_ms = 1500;
  stack s;
  start_public_stack(s, std::to_string(poll_interval_ms) + "ms");
  auto id = create_video(s, c);
  ASSERT_FALSE(id.empty());
  auto vid = vendor_id(id);
  auto hook = callback_url_in(c, create_entry(s));
  auto body = callback_body(c, vid);
  int sent = 0, answered_200 = 0;
  auto start = std::chrono::steady_clock::now();
  // Pairs of concurrent callbacks every ~100 ms for 4.5 s (eventually() paces the pairs).
  eventually(
      [&] {
        auto a = std::async(std::launch::async, [&] { return post_callback(hook, body).status; });
        auto b = std::async(std::launch::async, [&] { return post_callback(hook, body).status; });
        answered_200 += (a.get() == 200) + (b.get() == 200);
        sent += 2;
        return std::chrono::steady_clock::now() - start > 4500ms;
      },
      10s);
  EXPECT_EQ(answered_200, sent);
  auto reads = status_reads(s, c, vid);
  ASSERT_GE(reads.size(), 2u) << "callbacks after each interval do poll";
  std::string times;
  auto t0 = ms(create_entry(s).at("at_ms"));
  for (std::size_t i = 0; i < reads.size(); ++i) {
    times += (i ? ", +" : "+") + std::to_string(ms(reads[i].at("at_ms")) - t0) + " ms";
    if (i > 0) {
      EXPECT_GE(ms(reads[i].at("at_ms")) - ms(reads[i - 1].at("at_ms")), poll_interval_ms)
          << "two status reads closer than poll_interval";
    }
  }
  EXPECT_EQ(video_status(s, id), "in_progress");
  std::printf("[replicate] %d callbacks (concurrent pairs over 4.5 s from the create, poll_interval 1.5 s) -> %zu "
              "status reads, at %s after the create\n",
              sent, reads.size(), times.c_str());
}

/// A multipart/form-data body with text `fields` and one file part.
std::string multipart_body(const std::string& boundary, const std::vector<std::pair<std::string, std::string>>& fields,
                           const std::string& file_field, const std::string& filename, const std::string& mime,
                           const std::string& bytes) {
  std::string out;
  for (auto& [name, value] : fields)
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + file_field + "\"; filename=\"" + filename +
         "\"\r\nContent-Type: " + mime + "\r\n\r\n" + bytes + "\r\n--" + boundary + "--\r\n";
  return out;
}

// kie takes images by URL only: an uploaded file is served by the gateway at
// {public_base_url}/media/{token}, and that URL (the one kie received) answers the same bytes.
TEST(task_dialects, kie_upload_is_served_at_media_token) {
  stack s;
  start_public_stack(s, "0ms");
  auto png = read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/reference.png");
  ASSERT_GT(png.size(), 100u);
  const std::string boundary = "----videogate-task-dialects-7d1f";
  auto body = multipart_body(boundary,
                             {{"prompt", "Animate this lighthouse"}, {"model", kie_case.model},
                              {"seconds", kie_case.seconds}, {"size", "720x1280"}},
                             "input_reference", "reference.png", "image/png", png);
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "multipart/form-data; boundary=" + boundary}}, body);
  ASSERT_EQ(r.status, 200) << r.body;

  auto create = create_entry(s);
  EXPECT_EQ(str(create.at("target")), "/api/v1/jobs/createTask");
  EXPECT_EQ(create.at("json").at("model"), "sora-2-image-to-video") << "an image picks the image model";
  EXPECT_EQ(create.at("response").at("json").at("code"), 200) << compact(create.at("response"));
  auto& urls = create.at("json").at("input").at("image_urls").as_array();
  ASSERT_EQ(urls.size(), 1u);
  auto url = str(urls[0]);
  EXPECT_TRUE(url.starts_with(s.gw("/media/"))) << url;
  EXPECT_EQ(json::serialize(create.at("json")).find("data:"), std::string::npos) << "the bytes never go to kie";

  auto media = request("GET", url);
  EXPECT_EQ(media.status, 200);
  EXPECT_EQ(media.body, png) << "the URL kie got answers the uploaded bytes";
  EXPECT_EQ(media.header("content-type"), "image/png");
  auto token = url.substr(s.gw("/media/").size());
  auto other = token;
  other[0] = other[0] == 'A' ? 'B' : 'A';
  for (auto& bad : {other, std::string(43, 'Q'), std::string("short")}) {
    SCOPED_TRACE(bad);
    auto miss = request("GET", s.gw("/media/" + bad));
    EXPECT_EQ(miss.status, 404) << miss.body;
    EXPECT_EQ(error_code(miss.body), "not_found");
  }
  EXPECT_EQ(media.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(media.header("content-security-policy"), "default-src 'none'");
  std::printf("[kie] upload of %zu bytes -> image_urls [%s] -> GET answers %d, %zu identical bytes, %s\n", png.size(),
              url.c_str(), media.status, media.body.size(), std::string(media.header("content-type")).c_str());
}

// The gateway serves only what the bytes show to be a JPEG, PNG or WebP: a data: URL that says
// image/svg+xml (or carries an HTML page) is not served from the gateway's origin, where its
// scripts would run; kie, which takes URLs only, then refuses the request with nothing sent.
TEST(task_dialects, a_data_url_that_is_not_a_raster_image_is_never_served) {
  stack s;
  start_public_stack(s, "0ms");
  auto before = vendor_log(s).size();
  const std::string svg = "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
  json::object body{{"prompt", "Animate this"}, {"model", kie_case.model}, {"seconds", kie_case.seconds},
                    {"input_reference", json::object{{"image_url", "data:image/svg+xml;base64," + videogate::base64_encode(svg)}}}};
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, json::serialize(body));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(error_code(r.body), "unsupported_value") << r.body;
  EXPECT_EQ(vendor_log(s).size(), before) << "nothing went to the vendor";
}

}  // namespace
