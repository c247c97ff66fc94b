#include "videogate/config/config.hpp"

#include <gtest/gtest.h>

#include <tuple>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>

namespace videogate::config {
namespace {

using namespace std::chrono_literals;

// env_lookup is a plain function pointer: the fake environment is a file-level map that each
// test resets through the fixture.
std::map<std::string, std::string>& fake_env() {
  static std::map<std::string, std::string> env;
  return env;
}

std::optional<std::string> lookup(const std::string& name) {
  auto it = fake_env().find(name);
  if (it == fake_env().end()) return std::nullopt;
  return it->second;
}

std::string dump(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

const config_error* error_at(const load_result& r, const std::string& path) {
  for (const auto& e : r.errors)
    if (e.path == path) return &e;
  return nullptr;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string repo_config_dir = std::string(VIDEOGATE_FIXTURES_DIR) + "/../../config";

// DESIGN §3 as written, plus a `vendor-b` upstream so that its route resolves.
const char* const design_example = R"(listen: "0.0.0.0:8080"           # host:port
threads: 0                       # 0 = one per core
public_base_url: ""              # how clients reach us; used in links we hand out
limits:
  max_body_bytes: 52428800       # create bodies with images
  request_timeout: 60s           # whole downstream request
  header_timeout: 10s            # whole request head; slower senders are closed (408 or close)
  max_connections: 10000         # downstream connections; beyond it accept waits, never spins
clients:                         # absent or empty: no client auth (sidecar on loopback)
  - name: web
    key: "${WEB_CLIENT_KEY}"
    models: ["*"]                # which public models this client may use
    webhook:                     # optional: signed video.completed / video.failed events (§9)
      url: "https://app.example/hooks/videos"
      secret: "${WEB_WEBHOOK_SECRET}"   # whsec_<base64>
webhooks:
  timeout: 15s                   # one delivery attempt
  retry_for: 72h                 # stop retrying an event this long after its first attempt
  schedule: [5s, 5m, 30m, 2h, 5h, 10h, 10h]  # delay before each retry (±20 % jitter); the last repeats
  allow_private: false           # true lets webhook URLs resolve to loopback/private addresses
admin:
  key: "${VIDEOGATE_ADMIN_KEY:-}"  # empty: /admin/* answers 404
log:
  level: info                    # trace | debug | info | warn | error
  format: text                   # text | json
store:
  kind: sqlite                   # sqlite (default) | memory | redis
  path: "videogate.db"           # sqlite
  url: "redis://127.0.0.1:6379/0"  # redis: redis://[:password@]host:port/db
  prefix: "videogate:"           # redis key prefix (several gateways may share one Redis)
ids:
  secret: "${VIDEOGATE_ID_SECRET:-}"   # empty: generated once and kept beside the store
upstreams:
  - name: vendor-a
    dialect: openai              # openai | unified | freesora
    base_url: "https://api.example.com"
    request_format: multipart    # openai only: multipart | json
    keys: ["${VENDOR_A_KEY_1}", "${VENDOR_A_KEY_2}"]
    key_strategy: round_robin    # round_robin | random | least_busy
    max_jobs_per_key: 0          # jobs not yet finished per key; 0 = no cap
    connect_timeout: 5s
    timeout: 60s
    poll_interval: 2s            # never ask the vendor about one job more often than this
    max_polls_per_second: 0      # status calls to this upstream, whole fleet; 0 = no cap
    job_ttl: 24h                 # unfinished longer than this: failed, code "expired"
    content_hosts: []            # if set: content URLs must be on these hosts ("*.cdn.example")
    allow_private_addresses: false  # true: content URLs may resolve to loopback/private ranges
    callbacks: true              # pass a callback URL where the vendor takes one (§2)
    models: { sora-2: sora-2, sora-2-pro: sora-2-pro }
    durations: { sora-2: [4, 8, 12] }
    defaults: { watermark: false }
    content: proxy               # proxy (stream through us) | redirect (302 to the vendor URL)
  - name: vendor-b
    dialect: unified
    base_url: "https://b.example.com/api/"
    keys: ["b-key"]
routes:                          # optional; default: each model → every upstream that maps it, file order
  - model: sora-2
    upstreams: [vendor-a, vendor-b]   # tried in order: failover
)";

// The smallest valid config, for tests that vary one thing.
const char* const minimal = R"(upstreams:
  - name: a
    dialect: openai
    base_url: http://127.0.0.1:9090
    keys: [k1]
)";

class config_test : public ::testing::Test {
 protected:
  void SetUp() override { fake_env().clear(); }
  void TearDown() override { fake_env().clear(); }

  static load_result load(const std::string& yaml) { return load_text(yaml, "test.yaml", &lookup); }

  // `minimal` with `extra` lines appended to its only upstream.
  static load_result load_upstream(const std::string& extra) { return load(std::string(minimal) + extra); }

  static config must_load(const std::string& yaml) {
    auto r = load(yaml);
    EXPECT_TRUE(r.errors.empty()) << dump(r);
    EXPECT_TRUE(r.cfg);
    return r.cfg ? *r.cfg : config{};
  }

  // Loads `yaml`, expects exactly one error and returns it.
  static config_error one_error(const std::string& yaml) {
    auto r = load(yaml);
    EXPECT_FALSE(r.cfg);
    EXPECT_EQ(r.errors.size(), 1u) << dump(r);
    return r.errors.empty() ? config_error{} : r.errors.front();
  }
};

TEST_F(config_test, design_example_accepts_every_key) {
  fake_env()["WEB_CLIENT_KEY"] = "web-secret";
  fake_env()["WEB_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  fake_env()["VENDOR_A_KEY_1"] = "sk-a1";
  fake_env()["VENDOR_A_KEY_2"] = "sk-a2";
  auto c = must_load(design_example);

  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.public_base_url, "");
  EXPECT_EQ(c.limits.max_body_bytes, 52428800u);
  EXPECT_EQ(c.limits.request_timeout, 60s);
  ASSERT_EQ(c.clients.size(), 1u);
  EXPECT_EQ(c.clients[0].name, "web");
  EXPECT_EQ(c.clients[0].key, "web-secret");
  EXPECT_EQ(c.clients[0].models, std::vector<std::string>{"*"});
  EXPECT_EQ(c.admin.key, "");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.store.kind, "sqlite");
  EXPECT_EQ(c.store.path, "videogate.db");
  EXPECT_EQ(c.ids.secret, "");
  EXPECT_EQ(c.source, "test.yaml");

  ASSERT_EQ(c.upstreams.size(), 2u);
  const auto& a = c.upstreams[0];
  EXPECT_EQ(a.name, "vendor-a");
  EXPECT_EQ(a.dialect, dialect_kind::openai);
  EXPECT_EQ(a.base_url, "https://api.example.com");
  EXPECT_EQ(a.format, request_format::multipart);
  EXPECT_EQ(a.keys, (std::vector<std::string>{"sk-a1", "sk-a2"}));
  EXPECT_EQ(a.strategy, key_strategy::round_robin);
  EXPECT_EQ(a.max_jobs_per_key, 0u);
  EXPECT_EQ(a.connect_timeout, 5s);
  EXPECT_EQ(a.timeout, 60s);
  EXPECT_EQ(a.poll_interval, 2s);
  EXPECT_EQ(a.models, (std::map<std::string, std::string>{{"sora-2", "sora-2"}, {"sora-2-pro", "sora-2-pro"}}));
  ASSERT_EQ(a.durations.count("sora-2"), 1u);
  EXPECT_EQ(a.durations.at("sora-2"), (std::vector<int>{4, 8, 12}));
  ASSERT_EQ(a.defaults.count("watermark"), 1u);
  EXPECT_EQ(a.defaults.at("watermark").kind, default_value::type::boolean);
  EXPECT_FALSE(a.defaults.at("watermark").boolean);
  EXPECT_EQ(a.content, content_mode::proxy);
  EXPECT_EQ(a.max_polls_per_second, 0u);
  EXPECT_EQ(a.job_ttl, std::chrono::hours(24));
  EXPECT_TRUE(a.content_hosts.empty());
  EXPECT_FALSE(a.allow_private_addresses);
  EXPECT_TRUE(a.callbacks);
  EXPECT_EQ(c.limits.header_timeout, 10s);
  EXPECT_EQ(c.limits.max_connections, 10000u);
  ASSERT_TRUE(c.clients[0].webhook.has_value());
  EXPECT_EQ(c.clients[0].webhook->url, "https://app.example/hooks/videos");
  EXPECT_EQ(c.webhooks.timeout, 15s);
  EXPECT_EQ(c.webhooks.retry_for, std::chrono::hours(72));
  EXPECT_EQ(c.webhooks.schedule.size(), 7u);
  EXPECT_FALSE(c.webhooks.allow_private);
  EXPECT_EQ(c.store.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(c.store.prefix, "videogate:");

  const auto& b = c.upstreams[1];
  EXPECT_EQ(b.dialect, dialect_kind::unified);
  EXPECT_EQ(b.base_url, "https://b.example.com/api");  // trailing slash stripped

  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].model, "sora-2");
  EXPECT_EQ(c.routes[0].upstreams, (std::vector<std::string>{"vendor-a", "vendor-b"}));
  EXPECT_EQ(c.models(), std::vector<std::string>{"sora-2"});  // explicit routes only
  EXPECT_EQ(c.find_upstream("vendor-b"), &c.upstreams[1]);
  EXPECT_EQ(c.find_upstream("vendor-c"), nullptr);
  EXPECT_EQ(c.find_route("sora-2"), &c.routes[0]);
  EXPECT_EQ(c.find_route("sora-2-pro"), nullptr);
}

TEST_F(config_test, design_example_optional_vars_come_from_env) {
  fake_env()["WEB_CLIENT_KEY"] = "web-secret";
  fake_env()["WEB_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  fake_env()["VENDOR_A_KEY_1"] = "sk-a1";
  fake_env()["VENDOR_A_KEY_2"] = "sk-a2";
  fake_env()["VIDEOGATE_ADMIN_KEY"] = "adm";
  fake_env()["VIDEOGATE_ID_SECRET"] = "0123456789abcdef0123456789abcdef";
  auto c = must_load(design_example);
  EXPECT_EQ(c.admin.key, "adm");
  EXPECT_EQ(c.ids.secret, "0123456789abcdef0123456789abcdef");
}

TEST_F(config_test, design_example_without_env_lists_every_unset_variable) {
  auto r = load(design_example);
  EXPECT_FALSE(r.cfg);
  ASSERT_EQ(r.errors.size(), 4u) << dump(r);
  EXPECT_EQ(r.errors[0].path, "clients[0].key");
  EXPECT_EQ(r.errors[0].line, 11);
  EXPECT_NE(r.errors[0].message.find("'WEB_CLIENT_KEY' is not set"), std::string::npos);
  EXPECT_EQ(r.errors[1].path, "clients[0].webhook.secret");
  EXPECT_EQ(r.errors[1].line, 15);
  EXPECT_NE(r.errors[1].message.find("WEB_WEBHOOK_SECRET"), std::string::npos);
  EXPECT_EQ(r.errors[2].path, "upstreams[0].keys[0]");
  EXPECT_EQ(r.errors[2].line, 38);
  EXPECT_NE(r.errors[2].message.find("VENDOR_A_KEY_1"), std::string::npos);
  EXPECT_EQ(r.errors[3].path, "upstreams[0].keys[1]");
  EXPECT_NE(r.errors[3].message.find("VENDOR_A_KEY_2"), std::string::npos);
}

TEST_F(config_test, defaults_apply_when_keys_are_absent) {
  auto c = must_load(minimal);
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.limits.max_body_bytes, 52428800u);
  EXPECT_EQ(c.limits.request_timeout, 60s);
  EXPECT_TRUE(c.clients.empty());
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.store.kind, "sqlite");
  EXPECT_EQ(c.store.path, "videogate.db");
  const auto& u = c.upstreams.at(0);
  EXPECT_EQ(u.format, request_format::multipart);
  EXPECT_EQ(u.strategy, key_strategy::round_robin);
  EXPECT_EQ(u.connect_timeout, 5s);
  EXPECT_EQ(u.timeout, 60s);
  EXPECT_EQ(u.poll_interval, 2s);
  EXPECT_EQ(u.content, content_mode::proxy);
  EXPECT_TRUE(u.durations.empty());
  EXPECT_TRUE(u.defaults.empty());
}

TEST_F(config_test, upstream_without_models_maps_identity) {
  auto c = must_load(minimal);
  EXPECT_EQ(c.upstreams.at(0).models,
            (std::map<std::string, std::string>{{"sora-2", "sora-2"}, {"sora-2-pro", "sora-2-pro"}}));
  EXPECT_EQ(c.models(), (std::vector<std::string>{"sora-2", "sora-2-pro"}));
  ASSERT_NE(c.find_route("sora-2-pro"), nullptr);
  EXPECT_EQ(c.find_route("sora-2-pro")->upstreams, std::vector<std::string>{"a"});
}

TEST_F(config_test, every_dialect_is_accepted) {
  for (auto [name, kind] : {std::pair{"openai", dialect_kind::openai}, std::pair{"unified", dialect_kind::unified},
                            std::pair{"freesora", dialect_kind::freesora}}) {
    auto c = must_load(std::string("upstreams:\n  - name: a\n    dialect: ") + name +
                       "\n    base_url: http://h\n    keys: [k]\n");
    EXPECT_EQ(c.upstreams.at(0).dialect, kind) << name;
  }
  for (auto [name, kind, model] :
       {std::tuple{"fal", dialect_kind::fal, "fal-ai/sora-2/text-to-video"},
        std::tuple{"replicate", dialect_kind::replicate, "openai/sora-2"},
        std::tuple{"kie", dialect_kind::kie, "sora-2-text-to-video"}}) {
    auto c = must_load(std::string("upstreams:\n  - name: a\n    dialect: ") + name +
                       "\n    base_url: http://h\n    keys: [k]\n    models: { sora-2: " + model + " }\n");
    EXPECT_EQ(c.upstreams.at(0).dialect, kind) << name;
    EXPECT_EQ(c.upstreams.at(0).models.at("sora-2"), model);
  }
  auto e = one_error("upstreams:\n  - name: a\n    dialect: openia\n    base_url: http://h\n    keys: [k]\n");
  EXPECT_EQ(e.path, "upstreams[0].dialect");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "invalid value 'openia' (expected openai | unified | freesora | fal | replicate | kie | ark | minimax | dashscope | kling)");
}

// DESIGN §2: a task-API model is a string or {text, image}, in the form its dialect needs.
TEST_F(config_test, task_api_models_take_their_dialects_form) {
  auto up = [](const std::string& dialect, const std::string& models) {
    return "upstreams:\n  - name: a\n    dialect: " + dialect + "\n    base_url: http://h\n    keys: [k]\n    models:\n" +
           models;
  };
  auto c = must_load(up("fal", "      sora-2: { text: fal-ai/sora-2/text-to-video, image: fal-ai/sora-2/image-to-video }\n"));
  EXPECT_EQ(c.upstreams[0].models.at("sora-2"), "fal-ai/sora-2/text-to-video");
  EXPECT_EQ(c.upstreams[0].image_models.at("sora-2"), "fal-ai/sora-2/image-to-video");
  c = must_load(up("kie", "      veo: { image: veo3_fast }\n"));
  EXPECT_EQ(c.upstreams[0].models.at("veo"), "") << "image-to-video only";
  EXPECT_EQ(c.upstreams[0].image_models.at("veo"), "veo3_fast");
  c = must_load(up("fal", "      veo: { text: fal-ai/veo3 }\n      sora-2: fal-ai/sora-2/text-to-video\n"));
  EXPECT_EQ(c.upstreams[0].models.at("veo"), "fal-ai/veo3");
  EXPECT_EQ(c.upstreams[0].image_models.at("veo"), "") << "text-to-video only: an image is refused";
  EXPECT_FALSE(c.upstreams[0].image_models.contains("sora-2")) << "a single name serves both";
  // kie's market names carry a family prefix (docs.kie.ai: "kling-2.6/text-to-video").
  c = must_load(up("kie", "      kling: { text: kling-2.6/text-to-video, image: kling-2.6/image-to-video }\n"));
  EXPECT_EQ(c.upstreams[0].models.at("kling"), "kling-2.6/text-to-video");
  EXPECT_EQ(one_error(up("fal", "      sora-2: sora-2\n")).path, "upstreams[0].models.sora-2");
  EXPECT_EQ(one_error(up("replicate", "      sora-2: openai/sora-2/extra\n")).path, "upstreams[0].models.sora-2");
  EXPECT_EQ(one_error(up("kie", "      sora-2: /sora-2\n")).path, "upstreams[0].models.sora-2");
  EXPECT_EQ(one_error(up("kie", "      kling: kling-2.6//text-to-video\n")).path, "upstreams[0].models.kling");
  EXPECT_EQ(one_error(up("fal", "      sora-2: { txt: fal-ai/x }\n")).path, "upstreams[0].models.sora-2.txt");
  EXPECT_EQ(one_error(up("openai", "      sora-2: { text: a, image: b }\n")).path, "upstreams[0].models.sora-2");
  auto missing = one_error("upstreams:\n  - name: a\n    dialect: fal\n    base_url: http://h\n    keys: [k]\n");
  EXPECT_EQ(missing.path, "upstreams[0].models");
  EXPECT_NE(missing.message.find("fal-ai/sora-2/text-to-video"), std::string::npos) << missing.message;
}

TEST_F(config_test, every_request_format_is_accepted) {
  EXPECT_EQ(must_load(std::string(minimal) + "    request_format: multipart\n").upstreams.at(0).format,
            request_format::multipart);
  EXPECT_EQ(must_load(std::string(minimal) + "    request_format: json\n").upstreams.at(0).format,
            request_format::json);
  auto e = one_error(std::string(minimal) + "    request_format: xml\n");
  EXPECT_EQ(e.path, "upstreams[0].request_format");
}

TEST_F(config_test, request_format_is_for_openai_only) {
  auto e = one_error("upstreams:\n  - name: a\n    dialect: unified\n    base_url: http://h\n    keys: [k]\n"
                     "    request_format: json\n");
  EXPECT_EQ(e.path, "upstreams[0].request_format");
  EXPECT_EQ(e.line, 6);
}

TEST_F(config_test, every_key_strategy_is_accepted) {
  for (auto [name, s] : {std::pair{"round_robin", key_strategy::round_robin}, std::pair{"random", key_strategy::random},
                         std::pair{"least_busy", key_strategy::least_busy}}) {
    EXPECT_EQ(must_load(std::string(minimal) + "    key_strategy: " + name + "\n").upstreams.at(0).strategy, s);
  }
  EXPECT_EQ(one_error(std::string(minimal) + "    key_strategy: roundrobin\n").path, "upstreams[0].key_strategy");
}

TEST_F(config_test, every_content_mode_is_accepted) {
  EXPECT_EQ(must_load(std::string(minimal) + "    content: proxy\n").upstreams.at(0).content, content_mode::proxy);
  EXPECT_EQ(must_load(std::string(minimal) + "    content: redirect\n").upstreams.at(0).content,
            content_mode::redirect);
  EXPECT_EQ(one_error(std::string(minimal) + "    content: stream\n").path, "upstreams[0].content");
}

TEST_F(config_test, every_log_level_and_format_is_accepted) {
  for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
    EXPECT_EQ(must_load(std::string("log:\n  level: ") + level + "\n" + minimal).log.level, level);
  }
  for (const char* format : {"text", "json"}) {
    EXPECT_EQ(must_load(std::string("log:\n  format: ") + format + "\n" + minimal).log.format, format);
  }
  auto e = one_error(std::string("log:\n  level: verbose\n") + minimal);
  EXPECT_EQ(e.path, "log.level");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(one_error(std::string("log:\n  format: xml\n") + minimal).path, "log.format");
}

TEST_F(config_test, every_store_kind_is_accepted) {
  auto c = must_load(std::string("store:\n  kind: memory\n  path: \"\"\n") + minimal);
  EXPECT_EQ(c.store.kind, "memory");
  c = must_load(std::string("store:\n  kind: sqlite\n  path: /tmp/x.db\n") + minimal);
  EXPECT_EQ(c.store.kind, "sqlite");
  EXPECT_EQ(c.store.path, "/tmp/x.db");
  EXPECT_EQ(one_error(std::string("store:\n  kind: postgres\n") + minimal).path, "store.kind");
  EXPECT_EQ(one_error(std::string("store:\n  kind: sqlite\n  path: \"\"\n") + minimal).path, "store.path");
}

// DESIGN §3's store block for a fleet (§10), as written there.
TEST_F(config_test, redis_store_keys_as_design_writes_them) {
  auto c = must_load(std::string("store:\n  kind: redis\n  url: \"redis://127.0.0.1:6379/0\"\n  prefix: \"videogate:\"\n") +
                     minimal);
  EXPECT_EQ(c.store.kind, "redis");
  EXPECT_EQ(c.store.url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(c.store.prefix, "videogate:");
  c = must_load(std::string("store:\n  kind: redis\n") + minimal);
  EXPECT_EQ(c.store.url, "redis://127.0.0.1:6379/0") << "the default URL";
  EXPECT_EQ(c.store.prefix, "videogate:") << "the default prefix";
}

TEST_F(config_test, a_bad_redis_url_names_the_line_and_never_the_password) {
  auto e = one_error(std::string("store:\n  kind: redis\n  url: \"http://:hunter2secret@h:6379/0\"\n") + minimal);
  EXPECT_EQ(e.path, "store.url");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message.find("hunter2secret"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("redis://"), std::string::npos) << e.message;
  e = one_error(std::string("store:\n  kind: redis\n  url: \"redis://:hunter2secret@h:99999/0\"\n") + minimal);
  EXPECT_EQ(e.path, "store.url");
  EXPECT_EQ(e.message.find("hunter2secret"), std::string::npos) << e.message;
}

// DESIGN §3's webhook keys, as written there (clients[].webhook, webhooks).
TEST_F(config_test, webhook_keys_as_design_writes_them) {
  auto c = must_load(std::string(minimal) +
                     "clients:\n"
                     "  - name: web\n"
                     "    key: \"k1\"\n"
                     "    models: [\"*\"]\n"
                     "    webhook:\n"
                     "      url: \"https://app.example/hooks/videos\"\n"
                     "      secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
                     "webhooks:\n"
                     "  timeout: 15s\n"
                     "  retry_for: 72h\n"
                     "  schedule: [5s, 5m, 30m, 2h, 5h, 10h, 10h]\n"
                     "  allow_private: false\n");
  ASSERT_EQ(c.clients.size(), 1u);
  ASSERT_TRUE(c.clients[0].webhook.has_value());
  EXPECT_EQ(c.clients[0].webhook->url, "https://app.example/hooks/videos");
  EXPECT_EQ(c.clients[0].webhook->secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(c.webhooks.timeout, std::chrono::seconds(15));
  EXPECT_EQ(c.webhooks.retry_for, std::chrono::hours(72));
  ASSERT_EQ(c.webhooks.schedule.size(), 7u);
  EXPECT_EQ(c.webhooks.schedule[1], std::chrono::minutes(5));
  EXPECT_FALSE(c.webhooks.allow_private);
  auto short_schedule = must_load(std::string(minimal) + "webhooks:\n  schedule: [100ms]\n  allow_private: true\n");
  ASSERT_EQ(short_schedule.webhooks.schedule.size(), 1u);
  EXPECT_EQ(short_schedule.webhooks.schedule[0], std::chrono::milliseconds(100));
  EXPECT_TRUE(short_schedule.webhooks.allow_private);
  EXPECT_FALSE(must_load(minimal).clients.size() && must_load(minimal).clients[0].webhook.has_value());
}

TEST_F(config_test, a_bad_webhook_is_a_precise_error_that_never_quotes_the_secret) {
  auto client = [](const std::string& webhook) {
    return std::string(minimal) + "clients:\n  - name: web\n    key: \"k1\"\n    webhook:\n" + webhook;
  };
  auto e = one_error(client("      url: \"ftp://app.example/h\"\n      secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"));
  EXPECT_EQ(e.path, "clients[0].webhook.url");
  e = one_error(client("      url: \"https://app.example/h\"\n      secret: \"whsec_not*base64*hunter2\"\n"));
  EXPECT_EQ(e.path, "clients[0].webhook.secret");
  EXPECT_EQ(e.message.find("hunter2"), std::string::npos) << e.message;
  e = one_error(client("      url: \"https://app.example/h\"\n      secret: \"whsec_c2hvcnQ=\"\n"));
  EXPECT_EQ(e.path, "clients[0].webhook.secret");
  EXPECT_NE(e.message.find("16 bytes"), std::string::npos) << e.message;
  e = one_error(client("      url: \"https://app.example/h\"\n"));
  EXPECT_EQ(e.path, "clients[0].webhook.secret");
  e = one_error(client("      url: \"https://app.example/h\"\n      secret: \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n"
                       "      secrte: x\n"));
  EXPECT_EQ(e.path, "clients[0].webhook.secrte");
  EXPECT_EQ(one_error(std::string(minimal) + "webhooks:\n  schedule: []\n").path, "webhooks.schedule");
  EXPECT_EQ(one_error(std::string(minimal) + "webhooks:\n  schedule: [5s, soon]\n").path, "webhooks.schedule[1]");
  EXPECT_EQ(one_error(std::string(minimal) + "webhooks:\n  timeout: 0s\n").path, "webhooks.timeout");
}

TEST_F(config_test, max_polls_per_second) {
  EXPECT_EQ(must_load(minimal).upstreams[0].max_polls_per_second, 0u) << "no cap by default";
  EXPECT_EQ(must_load(std::string(minimal) + "    max_polls_per_second: 5\n").upstreams[0].max_polls_per_second, 5u);
  EXPECT_EQ(one_error(std::string(minimal) + "    max_polls_per_second: -1\n").path, "upstreams[0].max_polls_per_second");
  EXPECT_EQ(one_error(std::string(minimal) + "    max_polls_per_second: fast\n").path, "upstreams[0].max_polls_per_second");
}

TEST_F(config_test, unknown_key_names_path_line_and_nearest_key) {
  auto e = one_error("upstreams:\n  - name: a\n    dialekt: openai\n    dialect: openai\n"
                     "    base_url: http://h\n    keys: [k]\n");
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_EQ(e.path, "upstreams[0].dialekt");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "unknown key 'dialekt' (did you mean 'dialect'?)");
  EXPECT_EQ(e.to_string(), "test.yaml:3: upstreams[0].dialekt: unknown key 'dialekt' (did you mean 'dialect'?)");
}

TEST_F(config_test, unknown_keys_at_every_level) {
  auto r = load(std::string("listn: \"127.0.0.1:1\"\nlimits:\n  max_body: 5\n") + minimal +
                "    pol_interval: 1s\nroutes:\n  - model: sora-2\n    upstream: [a]\n"
                "clients:\n  - name: c\n    key: k\n    model: [\"*\"]\n");
  EXPECT_FALSE(r.cfg);
  auto check = [&](const std::string& path, int line, const std::string& suggestion) {
    auto e = error_at(r, path);
    ASSERT_NE(e, nullptr) << path << "\n" << dump(r);
    EXPECT_EQ(e->line, line) << path;
    EXPECT_NE(e->message.find("did you mean '" + suggestion + "'"), std::string::npos) << e->message;
  };
  check("listn", 1, "listen");
  check("limits.max_body", 3, "max_body_bytes");
  check("upstreams[0].pol_interval", 9, "poll_interval");
  check("routes[0].upstream", 12, "upstreams");
  check("clients[0].model", 16, "models");
}

TEST_F(config_test, collects_every_error_in_line_order) {
  auto r = load(R"(listen: "nowhere"
threads: 2000
log:
  level: loud
upstreams:
  - name: a
    dialect: openai
    base_url: ftp://h
    keys: []
    timeout: 10
  - name: a
    dialect: freesora
    base_url: http://h
    keys: [k]
    colour: blue
)");
  EXPECT_FALSE(r.cfg);
  ASSERT_EQ(r.errors.size(), 8u) << dump(r);
  std::vector<std::string> paths;
  std::vector<int> lines;
  for (const auto& e : r.errors) {
    paths.push_back(e.path);
    lines.push_back(e.line);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"listen", "threads", "log.level", "upstreams[0].base_url",
                                             "upstreams[0].keys", "upstreams[0].timeout", "upstreams[1].name",
                                             "upstreams[1].colour"}));
  EXPECT_EQ(lines, (std::vector<int>{1, 2, 4, 8, 9, 10, 11, 15}));
}

TEST_F(config_test, unset_variable_is_an_error_at_its_scalar) {
  auto e = one_error(std::string("admin:\n  key: \"pre-${NOPE}-post\"\n") + minimal);
  EXPECT_EQ(e.path, "admin.key");
  EXPECT_EQ(e.line, 2);
  EXPECT_NE(e.message.find("'NOPE' is not set"), std::string::npos) << e.message;
}

// DESIGN §8: an ids.secret shorter than 32 bytes is refused (empty: one is generated).
TEST_F(config_test, short_ids_secret_is_refused) {
  auto r = load(std::string("ids:\n  secret: \"only-thirty-one-bytes-long-abcd\"\n") + minimal);
  ASSERT_FALSE(r.cfg);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "ids.secret");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("at least 32 bytes"), std::string::npos) << r.errors[0].message;
  EXPECT_EQ(r.errors[0].message.find("only-thirty"), std::string::npos) << "a secret is never echoed";
  EXPECT_TRUE(load(std::string("ids:\n  secret: \"exactly-thirty-two-bytes-long-ab\"\n") + minimal).cfg);
}

TEST_F(config_test, variable_defaults_and_values) {
  const std::string yaml = std::string("admin:\n  key: \"${ADMIN:-fallback}\"\n") +
                           "ids:\n  secret: \"0123456789abcdef0123456789abcdef-x${A}y${B:-b}z\"\n" + minimal;
  fake_env()["A"] = "1";
  auto c = must_load(yaml);
  EXPECT_EQ(c.admin.key, "fallback");
  EXPECT_EQ(c.ids.secret, "0123456789abcdef0123456789abcdef-x1ybz");

  fake_env()["ADMIN"] = "from-env";
  fake_env()["B"] = "2";
  c = must_load(yaml);
  EXPECT_EQ(c.admin.key, "from-env");
  EXPECT_EQ(c.ids.secret, "0123456789abcdef0123456789abcdef-x1y2z");

  // As in a shell, `:-` also replaces an empty value; a plain ${A} keeps it empty.
  fake_env()["ADMIN"] = "";
  fake_env()["A"] = "";
  c = must_load(yaml);
  EXPECT_EQ(c.admin.key, "fallback");
  EXPECT_EQ(c.ids.secret, "0123456789abcdef0123456789abcdef-xy2z");
}

TEST_F(config_test, variables_expand_before_values_are_interpreted) {
  fake_env()["PORT"] = "9000";
  fake_env()["THREADS"] = "4";
  fake_env()["DIALECT"] = "freesora";
  auto c = must_load("listen: \"127.0.0.1:${PORT}\"\nthreads: ${THREADS}\nupstreams:\n  - name: a\n"
                     "    dialect: ${DIALECT}\n    base_url: \"${URL:-https://h/}\"\n    keys: [k]\n"
                     "    poll_interval: \"${POLL:-250ms}\"\n");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.upstreams.at(0).dialect, dialect_kind::freesora);
  EXPECT_EQ(c.upstreams.at(0).base_url, "https://h");
  EXPECT_EQ(c.upstreams.at(0).poll_interval, 250ms);
}

TEST_F(config_test, malformed_variable_references) {
  EXPECT_NE(one_error(std::string("admin:\n  key: \"${OPEN\"\n") + minimal).message.find("unterminated"),
            std::string::npos);
  EXPECT_NE(one_error(std::string("admin:\n  key: \"${1X}\"\n") + minimal).message.find("invalid environment"),
            std::string::npos);
  // A lone `$` is just a character.
  EXPECT_EQ(must_load(std::string("admin:\n  key: \"pa$$word$\"\n") + minimal).admin.key, "pa$$word$");
}

TEST_F(config_test, durations_parse_and_bad_ones_are_errors) {
  auto c = must_load(std::string("limits:\n  request_timeout: 5m\n") + minimal +
                     "    connect_timeout: 250ms\n    timeout: 1h\n    poll_interval: 0ms\n");
  EXPECT_EQ(c.limits.request_timeout, 5min);
  EXPECT_EQ(c.upstreams.at(0).connect_timeout, 250ms);
  EXPECT_EQ(c.upstreams.at(0).timeout, 1h);
  EXPECT_EQ(c.upstreams.at(0).poll_interval, 0ms);

  for (const char* bad : {"60", "5 s", "-1s", "1d", "s", "1.5s", "\"\""}) {
    auto e = one_error(std::string(minimal) + "    timeout: " + bad + "\n");
    EXPECT_EQ(e.path, "upstreams[0].timeout") << bad;
    EXPECT_EQ(e.line, 6) << bad;
    EXPECT_NE(e.message.find("invalid duration"), std::string::npos) << e.message;
  }
  EXPECT_EQ(one_error(std::string(minimal) + "    connect_timeout: 0s\n").message, "must be longer than 0");
  EXPECT_EQ(one_error(std::string("limits:\n  request_timeout: [1s]\n") + minimal).message,
            "expected a scalar, got a sequence");
}

TEST_F(config_test, listen_addresses) {
  struct ok_case {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  for (auto [text, host, port] : {ok_case{"127.0.0.1:8080", "127.0.0.1", 8080}, ok_case{"[::1]:8080", "::1", 8080},
                                  ok_case{"0.0.0.0:0", "0.0.0.0", 0}, ok_case{"localhost:65535", "localhost", 65535},
                                  ok_case{"[::]:443", "::", 443}}) {
    auto c = must_load(std::string("listen: \"") + text + "\"\n" + minimal);
    EXPECT_EQ(c.listen_host, host) << text;
    EXPECT_EQ(c.listen_port, port) << text;
  }
  for (const char* bad : {"8080", "localhost", ":8080", "::1:8080", "[::1]", "[::1]8080", "[]:80", "h:65536",
                          "h:abc", "h:", "h:-1", "bad host:80", "[zz]:80"}) {
    auto e = one_error(std::string("listen: \"") + bad + "\"\n" + minimal);
    EXPECT_EQ(e.path, "listen") << bad;
    EXPECT_EQ(e.line, 1) << bad;
    EXPECT_NE(e.message.find("invalid listen address"), std::string::npos) << e.message;
  }
}

TEST_F(config_test, threads_range) {
  EXPECT_EQ(must_load(std::string("threads: 1024\n") + minimal).threads, 1024u);
  for (const char* bad : {"1025", "-1", "two", "1.5"}) {
    EXPECT_EQ(one_error(std::string("threads: ") + bad + "\n" + minimal).path, "threads") << bad;
  }
}

TEST_F(config_test, limits_values) {
  EXPECT_EQ(must_load(std::string("limits:\n  max_body_bytes: 1024\n") + minimal).limits.max_body_bytes, 1024u);
  EXPECT_EQ(one_error(std::string("limits:\n  max_body_bytes: 0\n") + minimal).path, "limits.max_body_bytes");
  EXPECT_EQ(one_error(std::string("limits: 5\n") + minimal).message, "expected a mapping, got a scalar");
}

TEST_F(config_test, base_urls) {
  struct url_case {
    const char* text;
    const char* normalized;
  };
  for (auto [text, normalized] :
       {url_case{"http://127.0.0.1:9090", "http://127.0.0.1:9090"}, url_case{"https://api.example.com/", "https://api.example.com"},
        url_case{"https://h.example/v2//", "https://h.example/v2"}, url_case{"http://[::1]:9090/p/", "http://[::1]:9090/p"}}) {
    auto c = must_load(std::string("upstreams:\n  - name: a\n    dialect: openai\n    base_url: \"") + text +
                       "\"\n    keys: [k]\n");
    EXPECT_EQ(c.upstreams.at(0).base_url, normalized) << text;
  }
  for (const char* bad : {"ftp://h", "api.example.com", "https://", "http:///path", "https://user:pw@h",
                          "https://h/?x=1", "https://h/#frag", "http://h:99999", "\"\""}) {
    auto e = one_error(std::string("upstreams:\n  - name: a\n    dialect: openai\n    base_url: ") + bad +
                       "\n    keys: [k]\n");
    EXPECT_EQ(e.path, "upstreams[0].base_url") << bad;
    EXPECT_EQ(e.line, 4) << bad;
    EXPECT_EQ(e.message.find("pw@"), std::string::npos) << "credentials must not be repeated";
  }
}

TEST_F(config_test, public_base_url) {
  EXPECT_EQ(must_load(std::string("public_base_url: \"https://gw.example.com/\"\n") + minimal).public_base_url,
            "https://gw.example.com");
  EXPECT_EQ(one_error(std::string("public_base_url: \"gw.example.com\"\n") + minimal).path, "public_base_url");
}

TEST_F(config_test, upstream_required_keys) {
  auto r = load("upstreams:\n  - name: a\n    models: { sora-2: x }\n");
  EXPECT_FALSE(r.cfg);
  ASSERT_EQ(r.errors.size(), 3u) << dump(r);
  for (const char* path : {"upstreams[0].dialect", "upstreams[0].base_url", "upstreams[0].keys"}) {
    auto e = error_at(r, path);
    ASSERT_NE(e, nullptr) << path;
    EXPECT_EQ(e->line, 2);
    EXPECT_NE(e->message.find("missing required key"), std::string::npos);
  }
  EXPECT_NE(error_at(load("listen: \"h:1\"\n"), "upstreams"), nullptr);
  EXPECT_EQ(one_error("").path, "upstreams");
  EXPECT_EQ(one_error("upstreams: []\n").message, "needs at least one upstream");
  EXPECT_EQ(one_error("upstreams: { a: 1 }\n").message, "expected a sequence, got a mapping");
  EXPECT_EQ(one_error("- a\n- b\n").message, "expected a mapping, got a sequence");
}

TEST_F(config_test, upstream_names_and_keys) {
  auto e = one_error(std::string(minimal) + "  - name: a\n    dialect: unified\n    base_url: http://h\n    keys: [k]\n");
  EXPECT_EQ(e.path, "upstreams[1].name");
  EXPECT_EQ(e.line, 6);
  EXPECT_EQ(e.message, "duplicate upstream name 'a' (also upstreams[0])");

  EXPECT_EQ(one_error("upstreams:\n  - name: \"\"\n    dialect: openai\n    base_url: http://h\n    keys: [k]\n").message,
            "must not be empty");
  EXPECT_EQ(one_error("upstreams:\n  - name: a\n    dialect: openai\n    base_url: http://h\n    keys: []\n").message,
            "needs at least one key");
  auto empty_key = one_error("upstreams:\n  - name: a\n    dialect: openai\n    base_url: http://h\n    keys: [k, \"\"]\n");
  EXPECT_EQ(empty_key.path, "upstreams[0].keys[1]");
  EXPECT_EQ(empty_key.message, "must not be empty");
  EXPECT_EQ(one_error("upstreams:\n  - name: a\n    dialect: openai\n    base_url: http://h\n    keys: k\n").message,
            "expected a sequence, got a scalar");
  auto dup = one_error("upstreams:\n  - name: a\n    dialect: openai\n    base_url: http://h\n    keys: [secret1, secret1]\n");
  EXPECT_EQ(dup.path, "upstreams[0].keys[1]");
  EXPECT_EQ(dup.message.find("secret1"), std::string::npos) << "a key must never appear in a message";
}

TEST_F(config_test, max_jobs_per_key) {
  EXPECT_EQ(must_load(std::string(minimal) + "    max_jobs_per_key: 4\n").upstreams.at(0).max_jobs_per_key, 4u);
  EXPECT_EQ(one_error(std::string(minimal) + "    max_jobs_per_key: -4\n").path, "upstreams[0].max_jobs_per_key");
}

TEST_F(config_test, models_map) {
  auto c = must_load(std::string(minimal) + "    models:\n      sora-2: vendor-s2\n      sora-2-stable: stable\n");
  EXPECT_EQ(c.upstreams.at(0).models,
            (std::map<std::string, std::string>{{"sora-2", "vendor-s2"}, {"sora-2-stable", "stable"}}));
  EXPECT_EQ(one_error(std::string(minimal) + "    models: {}\n").path, "upstreams[0].models");
  EXPECT_EQ(one_error(std::string(minimal) + "    models: [sora-2]\n").message, "expected a mapping, got a sequence");
  auto e = one_error(std::string(minimal) + "    models:\n      sora-2: { a: b }\n");
  EXPECT_EQ(e.path, "upstreams[0].models.sora-2");
  EXPECT_EQ(e.line, 7);
  EXPECT_EQ(one_error(std::string(minimal) + "    models:\n      sora-2:\n").message, "needs a value");
}

TEST_F(config_test, durations_map) {
  auto c = must_load(std::string(minimal) + "    durations: { sora-2: [15, 10, 15], sora-2-pro: [25] }\n");
  EXPECT_EQ(c.upstreams.at(0).durations.at("sora-2"), (std::vector<int>{10, 15}));
  EXPECT_EQ(c.upstreams.at(0).durations.at("sora-2-pro"), (std::vector<int>{25}));

  auto zero = one_error(std::string(minimal) + "    durations:\n      sora-2: [4, 0]\n");
  EXPECT_EQ(zero.path, "upstreams[0].durations.sora-2[1]");
  EXPECT_EQ(zero.line, 7);
  EXPECT_EQ(one_error(std::string(minimal) + "    durations: { sora-2: [-4] }\n").path,
            "upstreams[0].durations.sora-2[0]");
  EXPECT_EQ(one_error(std::string(minimal) + "    durations: { sora-2: [] }\n").path, "upstreams[0].durations.sora-2");
  EXPECT_EQ(one_error(std::string(minimal) + "    durations: { sora-2: 4 }\n").message,
            "expected a sequence, got a scalar");
  auto unmapped = one_error(std::string(minimal) + "    durations: { sora-3: [4] }\n");
  EXPECT_EQ(unmapped.path, "upstreams[0].durations.sora-3");
  EXPECT_NE(unmapped.message.find("not in this upstream's models"), std::string::npos);
}

TEST_F(config_test, defaults_keep_their_yaml_type) {
  auto c = must_load(std::string(minimal) +
                     "    defaults:\n      watermark: true\n      private: False\n      count: -3\n"
                     "      ratio: 0.5\n      style: anime\n      quoted: \"42\"\n      big: 1e3\n");
  const auto& d = c.upstreams.at(0).defaults;
  EXPECT_EQ(d.at("watermark").kind, default_value::type::boolean);
  EXPECT_TRUE(d.at("watermark").boolean);
  EXPECT_EQ(d.at("private").kind, default_value::type::boolean);
  EXPECT_FALSE(d.at("private").boolean);
  EXPECT_EQ(d.at("count").kind, default_value::type::integer);
  EXPECT_EQ(d.at("count").integer, -3);
  EXPECT_EQ(d.at("ratio").kind, default_value::type::number);
  EXPECT_DOUBLE_EQ(d.at("ratio").number, 0.5);
  EXPECT_EQ(d.at("style").kind, default_value::type::string);
  EXPECT_EQ(d.at("style").text, "anime");
  EXPECT_EQ(d.at("quoted").kind, default_value::type::string);
  EXPECT_EQ(d.at("quoted").text, "42");
  EXPECT_EQ(d.at("big").kind, default_value::type::number);
  EXPECT_DOUBLE_EQ(d.at("big").number, 1000.0);

  fake_env()["WM"] = "false";
  auto from_env = must_load(std::string(minimal) + "    defaults:\n      watermark: ${WM}\n");
  EXPECT_EQ(from_env.upstreams.at(0).defaults.at("watermark").kind, default_value::type::boolean);

  auto e = one_error(std::string(minimal) + "    defaults:\n      shots: [1, 2]\n");
  EXPECT_EQ(e.path, "upstreams[0].defaults.shots");
  EXPECT_EQ(e.message, "expected a scalar, got a sequence");
}

TEST_F(config_test, route_naming_unknown_upstream) {
  auto e = one_error(std::string(minimal) + "routes:\n  - model: sora-2\n    upstreams: [a, b]\n");
  EXPECT_EQ(e.path, "routes[0].upstreams[1]");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.message, "unknown upstream 'b' (did you mean 'a'?)");
}

TEST_F(config_test, route_model_must_be_mapped_by_each_upstream) {
  auto yaml = std::string(minimal) + "    models: { sora-2: sora-2 }\n" +
              "  - name: b\n    dialect: unified\n    base_url: http://h\n    keys: [k]\n"
              "routes:\n  - model: sora-2-pro\n    upstreams: [b, a]\n";
  auto e = one_error(yaml);
  EXPECT_EQ(e.path, "routes[0].upstreams[1]");
  EXPECT_EQ(e.line, 13);
  EXPECT_EQ(e.message, "upstream 'a' does not map model 'sora-2-pro' (add it to its models)");
}

TEST_F(config_test, route_shape_errors) {
  EXPECT_EQ(one_error(std::string(minimal) + "routes:\n  - model: sora-2\n    upstreams: []\n").message,
            "needs at least one upstream");
  EXPECT_EQ(one_error(std::string(minimal) + "routes:\n  - model: \"\"\n    upstreams: [a]\n").message,
            "must not be empty");
  EXPECT_EQ(one_error(std::string(minimal) + "routes:\n  - upstreams: [a]\n").path, "routes[0].model");
  EXPECT_EQ(one_error(std::string(minimal) + "routes:\n  - model: sora-2\n").path, "routes[0].upstreams");
  EXPECT_EQ(one_error(std::string(minimal) + "routes:\n  - model: sora-2\n    upstreams: [a, a]\n").path,
            "routes[0].upstreams[1]");
  auto dup = one_error(std::string(minimal) +
                       "routes:\n  - model: sora-2\n    upstreams: [a]\n  - model: sora-2\n    upstreams: [a]\n");
  EXPECT_EQ(dup.path, "routes[1].model");
  EXPECT_EQ(dup.line, 9);
}

TEST_F(config_test, explicit_routes_decide_the_models) {
  auto c = must_load(std::string(minimal) +
                     "routes:\n  - model: sora-2-pro\n    upstreams: [a]\n  - model: sora-2\n    upstreams: [a]\n");
  EXPECT_EQ(c.models(), (std::vector<std::string>{"sora-2-pro", "sora-2"}));
}

TEST_F(config_test, default_routes_follow_file_order) {
  auto c = must_load(R"(upstreams:
  - name: first
    dialect: freesora
    base_url: http://f
    keys: [k]
    models: { sora-2-pro: sora-2-pro, sora-2-stable: sora-2-text-to-video-stable }
  - name: second
    dialect: unified
    base_url: http://s
    keys: [k]
  - name: third
    dialect: openai
    base_url: http://t
    keys: [k]
    models: { sora-2: sora-2, zeta: z }
routes: []
)");
  ASSERT_EQ(c.routes.size(), 4u);
  EXPECT_EQ(c.models(), (std::vector<std::string>{"sora-2-pro", "sora-2-stable", "sora-2", "zeta"}));
  EXPECT_EQ(c.find_route("sora-2-pro")->upstreams, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(c.find_route("sora-2-stable")->upstreams, std::vector<std::string>{"first"});
  EXPECT_EQ(c.find_route("sora-2")->upstreams, (std::vector<std::string>{"second", "third"}));
  EXPECT_EQ(c.find_route("zeta")->upstreams, std::vector<std::string>{"third"});
  EXPECT_EQ(c.find_route("sora-3"), nullptr);
}

TEST_F(config_test, clients) {
  auto c = must_load(std::string(minimal) +
                     "clients:\n  - name: web\n    key: k1\n  - name: batch\n    key: k2\n    models: [sora-2]\n");
  ASSERT_EQ(c.clients.size(), 2u);
  EXPECT_EQ(c.clients[0].models, std::vector<std::string>{"*"});
  EXPECT_EQ(c.clients[1].models, std::vector<std::string>{"sora-2"});
  EXPECT_TRUE(must_load(std::string(minimal) + "clients: []\n").clients.empty());
  EXPECT_TRUE(must_load(std::string(minimal) + "clients:\n").clients.empty());

  auto r = load(std::string(minimal) +
                "clients:\n  - name: web\n    key: same-secret\n  - name: web\n    key: same-secret\n"
                "  - name: x\n    key: \"\"\n  - key: y\n  - name: z\n    key: z\n    models: [sora-3]\n");
  EXPECT_FALSE(r.cfg);
  ASSERT_EQ(r.errors.size(), 5u) << dump(r);
  EXPECT_EQ(r.errors[0].path, "clients[1].name");
  EXPECT_EQ(r.errors[0].line, 9);
  EXPECT_EQ(r.errors[0].message, "duplicate client name 'web' (also clients[0])");
  EXPECT_EQ(r.errors[1].path, "clients[1].key");
  EXPECT_EQ(r.errors[1].message.find("same-secret"), std::string::npos) << "a key must never appear in a message";
  EXPECT_EQ(r.errors[2].path, "clients[2].key");
  EXPECT_EQ(r.errors[3].path, "clients[3].name");
  EXPECT_EQ(r.errors[4].path, "clients[4].models[0]");
  EXPECT_EQ(r.errors[4].message, "model 'sora-3' is not served by any route");
}

TEST_F(config_test, duplicate_yaml_keys_are_errors) {
  auto e = one_error(std::string("threads: 1\nthreads: 2\n") + minimal);
  EXPECT_EQ(e.path, "threads");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.message, "duplicate key 'threads' (first at line 1)");
}

TEST_F(config_test, yaml_syntax_error_has_its_line) {
  auto e = one_error("listen: \"127.0.0.1:1\"\nupstreams:\n  - name: [a\n    dialect: openai\n");
  EXPECT_GT(e.line, 2);
  EXPECT_NE(e.message.find("YAML syntax error"), std::string::npos);
  auto indent = one_error("threads: 1\n  listen: x\n");
  EXPECT_EQ(indent.line, 2);
  EXPECT_EQ(indent.to_string().rfind("test.yaml:2: ", 0), 0u) << indent.to_string();
}

TEST_F(config_test, error_to_string) {
  EXPECT_EQ((config_error{"f.yaml", 3, "a.b", "bad"}.to_string()), "f.yaml:3: a.b: bad");
  EXPECT_EQ((config_error{"f.yaml", 0, "a.b", "bad"}.to_string()), "f.yaml: a.b: bad");
  EXPECT_EQ((config_error{"f.yaml", 0, "", "cannot open"}.to_string()), "f.yaml: cannot open");
}

TEST_F(config_test, load_file_reads_and_names_the_file) {
  auto missing = load_file("/nonexistent/videogate-test.yaml", &lookup);
  EXPECT_FALSE(missing.cfg);
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].file, "/nonexistent/videogate-test.yaml");
  EXPECT_NE(missing.errors[0].to_string().find("/nonexistent/videogate-test.yaml"), std::string::npos);

  auto dir = load_file(std::filesystem::temp_directory_path().string(), &lookup);
  EXPECT_EQ(dir.errors.size(), 1u);

  auto path = std::filesystem::temp_directory_path() /
              ("videogate-config-test-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "threads: 3\n" << minimal << "    dialekt: x\n";
  }
  auto bad = load_file(path.string(), &lookup);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_EQ(bad.errors[0].file, path.string());
  EXPECT_EQ(bad.errors[0].line, 7);
  {
    std::ofstream out(path, std::ios::trunc);
    out << "threads: 3\n" << minimal;
  }
  auto good = load_file(path.string(), &lookup);
  std::filesystem::remove(path);
  ASSERT_TRUE(good.cfg) << dump(good);
  EXPECT_EQ(good.cfg->threads, 3u);
  EXPECT_EQ(good.cfg->source, path.string());
}

TEST_F(config_test, demo_yaml_matches_the_file_and_validates) {
  EXPECT_EQ(demo_yaml(), read_file(repo_config_dir + "/demo.yaml"));

  auto r = load_text(demo_yaml(), "<embedded demo>", &lookup);
  ASSERT_TRUE(r.cfg) << dump(r);
  const auto& c = *r.cfg;
  EXPECT_EQ(c.source, "<embedded demo>");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_TRUE(c.clients.empty());
  EXPECT_EQ(c.store.kind, "sqlite");
  EXPECT_EQ(c.store.path, "videogate-demo.db");
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_EQ(c.upstreams[0].name, "mock-openai");
  EXPECT_EQ(c.upstreams[0].dialect, dialect_kind::openai);
  EXPECT_EQ(c.upstreams[0].base_url, "http://127.0.0.1:9090");
  EXPECT_EQ(c.upstreams[0].keys, (std::vector<std::string>{"demo-key-1", "demo-key-2"}));
  EXPECT_EQ(c.upstreams[0].poll_interval, 250ms);
  EXPECT_EQ(c.models(), (std::vector<std::string>{"sora-2", "sora-2-pro"}));

  fake_env()["VIDEOGATE_LISTEN"] = "127.0.0.1:0";
  fake_env()["VIDEOGATE_DB"] = "/tmp/other.db";
  fake_env()["VIDEOGATE_MOCK_URL"] = "http://127.0.0.1:41234/";
  auto overridden = load_text(demo_yaml(), "<embedded demo>", &lookup);
  ASSERT_TRUE(overridden.cfg) << dump(overridden);
  EXPECT_EQ(overridden.cfg->listen_port, 0);
  EXPECT_EQ(overridden.cfg->store.path, "/tmp/other.db");
  EXPECT_EQ(overridden.cfg->upstreams[0].base_url, "http://127.0.0.1:41234");
}

TEST_F(config_test, shipped_example_yaml_validates_with_its_env) {
  const std::string path = repo_config_dir + "/example.yaml";
  auto without = load_file(path, &lookup);
  EXPECT_FALSE(without.cfg);
  EXPECT_EQ(without.errors.size(), 5u) << dump(without);

  fake_env()["WEB_CLIENT_KEY"] = "web";
  fake_env()["WEB_WEBHOOK_SECRET"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  fake_env()["VENDOR_A_KEY_1"] = "a1";
  fake_env()["VENDOR_A_KEY_2"] = "a2";
  fake_env()["VENDOR_B_KEY"] = "b1";
  auto r = load_file(path, &lookup);
  ASSERT_TRUE(r.cfg) << dump(r);
  EXPECT_EQ(r.cfg->upstreams.size(), 2u);
  EXPECT_EQ(r.cfg->models(), (std::vector<std::string>{"sora-2", "sora-2-pro"}));
  EXPECT_EQ(r.cfg->clients.at(0).key, "web");
  ASSERT_TRUE(r.cfg->clients.at(0).webhook.has_value());
  EXPECT_TRUE(r.cfg->clients.at(0).webhook->previous_secret.empty());
}

TEST_F(config_test, container_configs_validate_with_their_env) {
  const std::string docker_dir = repo_config_dir + "/../docker";
  // The image's default config: keys from the environment, nothing else required.
  auto without = load_file(docker_dir + "/config/videogate.yaml", &lookup);
  EXPECT_FALSE(without.cfg);
  EXPECT_EQ(without.errors.size(), 2u) << dump(without);
  fake_env()["VENDOR_KEY_1"] = "k1";
  fake_env()["VENDOR_KEY_2"] = "k2";
  auto image = load_file(docker_dir + "/config/videogate.yaml", &lookup);
  ASSERT_TRUE(image.cfg) << dump(image);
  EXPECT_EQ(image.cfg->listen_host, "0.0.0.0");
  EXPECT_EQ(image.cfg->listen_port, 8080) << "the port the Dockerfile's EXPOSE and HEALTHCHECK use";
  EXPECT_EQ(image.cfg->store.path, "/var/lib/videogate/videogate.db") << "the image's volume";
  EXPECT_EQ(image.cfg->log.format, "json");
  EXPECT_TRUE(image.cfg->admin.key.empty());
  EXPECT_EQ(image.cfg->upstreams.at(0).keys, (std::vector<std::string>{"k1", "k2"}));

  // The Kubernetes manifest's ConfigMap.
  std::string embedded;
  for (auto& doc : YAML::LoadAllFromFile(docker_dir + "/k8s/videogate-sidecar.yaml"))
    if (doc["kind"].as<std::string>() == "ConfigMap") embedded = doc["data"]["videogate.yaml"].as<std::string>();
  ASSERT_FALSE(embedded.empty());
  fake_env()["VIDEOGATE_IDS_SECRET"] = std::string(40, 's');  // DESIGN §8: at least 32 bytes
  auto k8s = load_text(embedded, "videogate-sidecar.yaml", &lookup);
  ASSERT_TRUE(k8s.cfg) << dump(k8s);
  EXPECT_EQ(k8s.cfg->listen_host, "127.0.0.1") << "a sidecar listens on the pod's localhost";
  EXPECT_EQ(k8s.cfg->store.path.rfind("/var/lib/videogate/", 0), 0u);
}

TEST_F(config_test, process_env_reads_the_environment) {
  ::setenv("VIDEOGATE_CONFIG_TEST_VAR", "yes", 1);
  EXPECT_EQ(process_env("VIDEOGATE_CONFIG_TEST_VAR"), std::optional<std::string>("yes"));
  ::unsetenv("VIDEOGATE_CONFIG_TEST_VAR");
  EXPECT_EQ(process_env("VIDEOGATE_CONFIG_TEST_VAR"), std::nullopt);
}

// The model makers' own task APIs (issue 16): each loads with its models given, in either
// form, and names an example of its own when they are missing.
TEST_F(config_test, the_model_makers_dialects_load_with_models_given) {
  for (auto [name, kind, text, image, key] :
       {std::tuple{"ark", dialect_kind::ark, "doubao-seedance-1-0-pro-250528", "doubao-seedance-1-0-lite-i2v-250428", "k"},
        std::tuple{"minimax", dialect_kind::minimax, "MiniMax-Hailuo-02", "I2V-01-live", "k"},
        std::tuple{"dashscope", dialect_kind::dashscope, "wan2.5-t2v-preview", "wan2.5-i2v-preview", "k"},
        std::tuple{"kling", dialect_kind::kling, "kling-v2-1-master", "kling-v2-1", "AK:SK"}}) {
    SCOPED_TRACE(name);
    auto head = std::string("upstreams:\n  - name: a\n    dialect: ") + name + "\n    base_url: https://h\n    keys: [\"" + key +
                "\"]\n";
    auto c = must_load(head + "    models:\n      video: " + text + "\n      video-i2v: { text: " + text + ", image: " + image +
                       " }\n");
    ASSERT_EQ(c.upstreams.size(), 1u);
    EXPECT_EQ(c.upstreams[0].dialect, kind);
    EXPECT_EQ(c.upstreams[0].models.at("video"), text);
    EXPECT_EQ(c.upstreams[0].models.at("video-i2v"), text);
    EXPECT_EQ(c.upstreams[0].image_models.at("video-i2v"), image);
    EXPECT_EQ(c.upstreams[0].keys, std::vector<std::string>{key});
    EXPECT_EQ(std::string(to_string(kind)), name);
    auto missing = one_error(head);
    EXPECT_EQ(missing.path, "upstreams[0].models");
    EXPECT_NE(missing.message.find(name), std::string::npos) << missing.message;
  }
}

// A Kling key is ACCESS_KEY:SECRET_KEY (the JWT needs both); anything else is refused at the
// key's own path, without the key in the message.
TEST_F(config_test, a_kling_key_is_an_access_and_secret_pair) {
  auto kling = [](const std::string& keys) {
    return "upstreams:\n  - name: k\n    dialect: kling\n    base_url: https://api-singapore.klingai.com\n    keys: " + keys +
           "\n    models: { kling: kling-v2-1 }\n";
  };
  auto c = must_load(kling("[\"AkGood0001:SkGood0001\", \"AkGood0002:SkGood0002\"]"));
  EXPECT_EQ(c.upstreams.at(0).keys, (std::vector<std::string>{"AkGood0001:SkGood0001", "AkGood0002:SkGood0002"}));
  for (std::string bad : {"AkNoSecretAtAll123", "AkPart:SkPart:Extra9", ":SkWithoutAccess12", "AkWithoutSecret12:"}) {
    SCOPED_TRACE(bad);
    auto e = one_error(kling("[\"AkGood0001:SkGood0001\", \"" + bad + "\"]"));
    EXPECT_EQ(e.path, "upstreams[0].keys[1]");
    EXPECT_NE(e.message.find("ACCESS_KEY:SECRET_KEY"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find(bad), std::string::npos) << "a key must never appear in a message: " << e.message;
    for (auto part : {"AkNoSecret", "SkPart", "Extra9", "SkWithout", "AkWithout"})
      EXPECT_EQ(e.message.find(part), std::string::npos) << "nor a part of it: " << e.message;
  }
  // Other dialects' keys may hold any number of colons.
  EXPECT_EQ(must_load("upstreams:\n  - name: f\n    dialect: fal\n    base_url: https://h\n    keys: [\"id:secret:x\", plain]\n"
                      "    models: { sora-2: fal-ai/sora-2/text-to-video }\n")
                .upstreams.at(0)
                .keys.size(),
            2u);
}

}  // namespace
}  // namespace videogate::config
