// The real videogate binary against the real simulated vendor, over loopback.
#include "support.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <sstream>
#include <thread>

using namespace vgtest;
namespace json = boost::json;

namespace {

const char* base_config = R"(
listen: "127.0.0.1:0"
log: { level: debug }
limits: { max_body_bytes: 1048576, request_timeout: 20s }
store: { kind: sqlite, path: "${DIR}/videogate.db" }
ids: { secret: "integration-secret-0123456789-abcdefgh" }
upstreams:
  - name: vendor
    dialect: openai
    base_url: "${MOCK_URL}"
    keys: ["good-key-1"]
    poll_interval: POLL_INTERVAL
    timeout: 10s
  - name: slow
    dialect: openai
    base_url: "${MOCK_URL}"
    keys: ["slow-key-1"]
    poll_interval: 0ms
    timeout: 10s
    models: { sora-2-slow: sora-2 }
)";

std::string config_with(const std::string& poll_interval) {
  std::string c = base_config;
  c.replace(c.find("POLL_INTERVAL"), 13, poll_interval);
  return c;
}

json::object create(stack& s, const std::string& model = "sora-2") {
  auto r = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                   R"({"prompt":"a calico cat playing a piano","model":")" + model + R"(","seconds":"8"})");
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body).as_object();
}

/// The vendor's id for a job: the one job the vendor made, from its request log.
std::string only_vendor_job(stack& s) {
  auto r = request("GET", s.vendor("/_mock/requests"));
  auto arr = json::parse(r.body).as_array();
  (void)arr;
  auto list = request("GET", s.vendor("/v1/videos"), {{"Authorization", "Bearer good-key-1"}});
  auto data = json::parse(list.body).at("data").as_array();
  EXPECT_EQ(data.size(), 1u);
  return std::string(data.at(0).at("id").as_string());
}

}  // namespace

TEST(gateway, poll_interval_means_one_vendor_call_per_interval) {
  stack s;
  s.start_mock({"--complete-after-polls", "100"});
  s.start_gateway(config_with("1h"));
  auto v = create(s);
  std::string id(v.at("id").as_string());
  for (int i = 0; i < 5; ++i) {
    auto r = request("GET", s.gw("/v1/videos/" + id));
    ASSERT_EQ(r.status, 200);
    EXPECT_FALSE(r.header("openai-poll-after-ms").empty());
  }
  // The create told us the state a moment ago: within the hour, no status call at all.
  EXPECT_EQ(s.vendor_count("GET", "/v1/videos/"), 0);
}

TEST(gateway, concurrent_polls_of_one_job_share_one_vendor_call) {
  stack s;
  s.start_mock({"--slow-ms", "1500"});
  s.start_gateway(config_with("0ms"));
  auto v = create(s, "sora-2-slow");
  std::string id(v.at("id").as_string());
  std::atomic<int> ok{0};
  std::vector<std::thread> pollers;
  for (int i = 0; i < 8; ++i)
    pollers.emplace_back([&] {
      if (request("GET", s.gw("/v1/videos/" + id)).status == 200) ++ok;
    });
  for (auto& t : pollers) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(s.vendor_count("GET", "/v1/videos/"), 1);
}

TEST(gateway, terminal_state_is_never_asked_about_again) {
  stack s;
  s.start_mock({"--complete-after-polls", "100"});
  s.start_gateway(config_with("0ms"));
  auto v = create(s);
  std::string id(v.at("id").as_string());
  auto uid = only_vendor_job(s);
  ASSERT_EQ(request("POST", s.vendor("/_mock/jobs/" + uid + "/complete")).status, 200);
  auto r = request("GET", s.gw("/v1/videos/" + id));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("status").as_string(), "completed");
  EXPECT_TRUE(r.header("openai-poll-after-ms").empty());
  int calls = s.vendor_count("GET", "/v1/videos/");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(request("GET", s.gw("/v1/videos/" + id)).status, 200);
  EXPECT_EQ(s.vendor_count("GET", "/v1/videos/"), calls);
}

TEST(gateway, content_passes_range_through) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(config_with("0ms"));
  auto v = create(s);
  std::string id(v.at("id").as_string());
  ASSERT_EQ(json::parse(request("GET", s.gw("/v1/videos/" + id)).body).at("status").as_string(), "completed");
  auto whole = request("GET", s.gw("/v1/videos/" + id + "/content"));
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.header("content-type"), "video/mp4");
  EXPECT_EQ(whole.body, read_file(std::string(VIDEOGATE_FIXTURES_DIR) + "/sample.mp4"));
  auto part = request("GET", s.gw("/v1/videos/" + id + "/content?variant=video"), {{"Range", "bytes=0-99"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, whole.body.substr(0, 100));
  EXPECT_EQ(part.header("content-range"), "bytes 0-99/" + std::to_string(whole.body.size()));
  auto bad = request("GET", s.gw("/v1/videos/" + id + "/content?variant=poster"));
  EXPECT_EQ(bad.status, 400);
}

TEST(gateway, acknowledged_jobs_survive_kill_9) {
  stack s;
  s.start_mock({"--complete-after-polls", "100"});
  auto cfg = config_with("1h");
  s.start_gateway(cfg);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.emplace_back(create(s).at("id").as_string());
  s.gateway->signal(SIGKILL);
  EXPECT_EQ(s.gateway->wait(), 128 + SIGKILL);
  s.start_gateway(cfg);
  for (auto& id : ids) EXPECT_EQ(request("GET", s.gw("/v1/videos/" + id)).status, 200) << id;
  auto list = json::parse(request("GET", s.gw("/v1/videos?limit=10")).body);
  EXPECT_EQ(list.at("data").as_array().size(), 3u);
}

TEST(gateway, sigterm_lets_the_request_in_flight_finish) {
  stack s;
  s.start_mock({"--slow-ms", "1500"});
  s.start_gateway(config_with("0ms"));
  std::atomic<int> status{0};
  std::thread t([&] {
    status = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                     R"({"prompt":"slow one","model":"sora-2-slow"})").status;
  });
  // Signal once the vendor has the create in hand, so the request is truly in flight.
  for (int i = 0; i < 500 && s.vendor_count("POST", "/v1/videos") == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.gateway->signal(SIGTERM);
  t.join();
  EXPECT_EQ(status.load(), 200);
  EXPECT_EQ(s.gateway->wait(), 0);
}

TEST(gateway, http_framing_errors_get_clear_answers) {
  stack s;
  s.start_mock();
  s.start_gateway(config_with("0ms"));
  auto garbage = raw_exchange(s.gateway_port, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  auto huge = raw_exchange(s.gateway_port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_NE(huge.find("431"), std::string::npos) << huge;
  auto big_body = raw_exchange(s.gateway_port, "POST /v1/videos HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                               "Content-Length: 2000000\r\n\r\n" + std::string(2000000, 'x'));
  EXPECT_NE(big_body.find("413"), std::string::npos);
  EXPECT_NE(big_body.find("payload_too_large"), std::string::npos);
  auto unknown = request("GET", s.gw("/v2/nothing"));
  EXPECT_EQ(unknown.status, 404);
  auto wrong_method = request("PUT", s.gw("/v1/videos"));
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET, POST");
  // Keep-alive: two requests on one connection both answered.
  auto two = raw_exchange(s.gateway_port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(std::count(two.begin(), two.end(), '{'), 2) << two;
}

TEST(gateway, keys_never_reach_logs_or_answers) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(config_with("0ms"));
  auto v = create(s);
  std::string id(v.at("id").as_string());
  request("GET", s.gw("/v1/videos/" + id));
  request("GET", s.gw("/v1/videos/" + id + "/content"));
  EXPECT_EQ(v.at("id").as_string().find("good-key"), std::string::npos);
  s.gateway->signal(SIGTERM);
  s.gateway->wait();
  auto log = s.gateway->stderr_text();
  EXPECT_NE(log.find("access"), std::string::npos);
  EXPECT_EQ(log.find("good-key-1"), std::string::npos);
  EXPECT_EQ(log.find("a calico cat"), std::string::npos);  // no prompt at info level
}

TEST(gateway, tls_upstream_is_verified) {
  stack s;
  auto cert = s.dir.path / "cert.pem";
  auto key = s.dir.path / "key.pem";
  auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
             "subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + key.string() + " -out " + cert.string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  s.start_mock({"--tls-cert", cert.string(), "--tls-key", key.string()});
  auto yaml = std::string(R"(
listen: "127.0.0.1:0"
store: { kind: memory }
ids: { secret: "integration-secret-0123456789-abcdefgh" }
upstreams:
  - name: trusted
    dialect: openai
    base_url: "https://127.0.0.1:)") + std::to_string(s.mock_port) + R"("
    keys: ["good-key-1"]
    ca_file: ")" + cert.string() + R"("
  - name: untrusted
    dialect: openai
    base_url: "https://127.0.0.1:)" + std::to_string(s.mock_port) + R"("
    keys: ["good-key-2"]
    models: { sora-2-untrusted: sora-2 }
)";
  // `untrusted` shares the process-wide trust store, so give it a host name the cert lacks.
  auto pos = yaml.rfind("https://127.0.0.1:");
  yaml.replace(pos, 18, "https://localhost.localdomain:");
  s.start_gateway(yaml);
  auto ok = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}}, R"({"prompt":"over tls"})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto refused = request("POST", s.gw("/v1/videos"), {{"Content-Type", "application/json"}},
                         R"({"prompt":"over tls","model":"sora-2-untrusted"})");
  EXPECT_EQ(refused.status, 503) << refused.body;
}

TEST(gateway, check_config_lists_every_error) {
  temp_dir d;
  auto bad = d.path / "bad.yaml";
  write_file(bad, "listen: \"nowhere\"\nthreds: 2\nupstreams:\n  - name: a\n    dialect: klingon\n    base_url: \"ftp://x\"\n    keys: []\n");
  process p({VIDEOGATE_BIN, "--check-config", bad.string()});
  EXPECT_EQ(p.wait(), 2);
  auto err = p.stderr_text();
  EXPECT_NE(err.find("threds"), std::string::npos) << err;
  EXPECT_NE(err.find("threads"), std::string::npos) << err;  // the suggestion
  EXPECT_NE(err.find(":5:"), std::string::npos) << err;      // the dialect's line
  EXPECT_NE(err.find("listen"), std::string::npos) << err;
  EXPECT_NE(err.find("base_url"), std::string::npos) << err;
  process v({VIDEOGATE_BIN, "--version"});
  EXPECT_NE(v.wait_for_line("videogate").find("videogate "), std::string::npos);
  EXPECT_EQ(v.wait(), 0);
}

TEST(gateway, json_logs_are_one_json_object_per_line) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  auto cfg = config_with("0ms");
  cfg.replace(cfg.find("log: { level: debug }"), 21, "log: { level: info, format: json }");
  s.start_gateway(cfg);
  create(s);
  request("GET", s.gw("/v1/videos/video_%22quoted%22%5Cx"));  // a path with quotes and a backslash
  s.gateway->signal(SIGTERM);
  ASSERT_EQ(s.gateway->wait(), 0);
  std::istringstream lines(s.gateway->stderr_text());
  int n = 0, access = 0;
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "not JSON: " << line;
    ASSERT_TRUE(v.at("msg").is_string());
    EXPECT_TRUE(v.as_object().contains("ts"));
    EXPECT_TRUE(v.as_object().contains("level"));
    if (std::string(v.at("msg").as_string()).starts_with("access ")) ++access;
    ++n;
  }
  EXPECT_GE(n, 3);
  EXPECT_EQ(access, 2);
}

TEST(gateway, metrics_parse_and_move) {
  stack s;
  s.start_mock({"--complete-after-polls", "1"});
  s.start_gateway(config_with("0ms"));
  // metric_value also checks that every sample line parses.
  auto count = [&](const std::string& series) { return metric_value(s, series); };
  auto before = count("videogate_http_requests_total{route=\"/v1/videos\",status=\"200\"}");
  std::string id(create(s).at("id").as_string());
  request("GET", s.gw("/v1/videos/" + id));
  auto bytes = request("GET", s.gw("/v1/videos/" + id + "/content")).body.size();
  EXPECT_EQ(count("videogate_http_requests_total{route=\"/v1/videos\",status=\"200\"}"), std::max(before, 0.0) + 1);
  EXPECT_GE(count("videogate_upstream_requests_total{upstream=\"vendor\",operation=\"create\",outcome=\"ok\"}"), 1);
  EXPECT_EQ(count("videogate_jobs_created_total{upstream=\"vendor\"}"), 1);
  EXPECT_EQ(count("videogate_jobs_completed_total{upstream=\"vendor\"}"), 1);
  EXPECT_EQ(count("videogate_content_bytes_total"), static_cast<double>(bytes));
  EXPECT_GE(count("videogate_http_request_duration_seconds_count{route=\"/v1/videos\"}"), 1);
  EXPECT_EQ(count("videogate_upstream_keys{upstream=\"vendor\",state=\"healthy\"}"), 1);
}
