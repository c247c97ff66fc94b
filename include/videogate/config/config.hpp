#pragma once
/// @file The YAML config of DESIGN §3, parsed once into plain immutable structs.
/// Thread-safe to read from any thread once built; shared as std::shared_ptr<const config>.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace videogate::config {

using std::chrono::milliseconds;

struct limits_config {
  std::uint64_t max_body_bytes = 52428800;
  milliseconds request_timeout{60'000};
  milliseconds header_timeout{10'000};  ///< the whole request head; slower senders are closed
  std::uint32_t max_connections = 10'000;  ///< downstream connections; beyond it accept waits
};

/// Where a client's signed video.completed / video.failed events go (DESIGN §9).
struct webhook_target {
  std::string url;                  ///< http(s), absolute
  std::string secret;               ///< whsec_<base64> (or raw text): signs every event
  std::string previous_secret;      ///< added key: during a rotation both sign (two signatures)
};

struct client_config {
  std::string name;
  std::string key;
  std::vector<std::string> models{"*"};  ///< public model names, "*" = all
  std::optional<webhook_target> webhook;
};

struct webhooks_config {
  milliseconds timeout{15'000};                 ///< one delivery attempt
  milliseconds retry_for{72LL * 3'600'000};     ///< stop retrying this long after the first attempt
  /// Delay before each retry (±20 % jitter); the last repeats.
  std::vector<milliseconds> schedule{milliseconds(5'000),      milliseconds(300'000),    milliseconds(1'800'000),
                                     milliseconds(7'200'000),  milliseconds(18'000'000), milliseconds(36'000'000),
                                     milliseconds(36'000'000)};
  bool allow_private = false;  ///< webhook URLs may resolve to loopback/private addresses
};

/// The key bytes of a webhook secret: base64 after `whsec_`, else the text itself (as the
/// official SDKs read it); nullopt when the base64 is broken.
std::optional<std::string> webhook_key(const std::string& secret);

struct admin_config {
  std::string key;  ///< empty: /admin/* answers 404
};

struct log_config {
  std::string level = "info";   ///< trace | debug | info | warn | error
  std::string format = "text";  ///< text | json
};

struct store_config {
  std::string kind = "sqlite";  ///< sqlite | memory | redis
  std::string path = "videogate.db";
  std::string url = "redis://127.0.0.1:6379/0";  ///< redis: redis://[[user]:password@]host:port/db
  std::string prefix = "videogate:";             ///< redis: key prefix (gateways may share a Redis)
  /// Added key. normal: an acknowledged job survives a crash or kill -9 of videogate (WAL,
  /// synchronous=NORMAL); full: it also survives power loss, at one fsync per write.
  std::string sync = "normal";
  /// Added key: memory for finished jobs kept close (their polls skip the store), in bytes;
  /// 0 keeps none. Restart-only.
  std::uint64_t cache_bytes = 8 * 1024 * 1024;
};

/// Where a Redis store is (store.url, store.prefix).
struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string username;  ///< ACL user, empty for the default user
  std::string password;  ///< empty: no AUTH
  std::string prefix = "videogate:";
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
  int connections = 4;   ///< one per store thread
};

/// Parses `redis://[[user]:password@]host[:port][/db]`; an error message (never the password) on failure.
std::optional<redis_options> parse_redis_url(const std::string& url, std::string* error = nullptr);

struct ids_config {
  std::string secret;  ///< empty: generated once and kept beside the store
};

enum class dialect_kind { openai, unified, freesora, fal, replicate, kie, ark, minimax, dashscope, kling };

/// The dialect's name as the config writes it.
const char* to_string(dialect_kind k) noexcept;
/// A task-API dialect (DESIGN §2: `models:` may name a text and an image model).
bool task_api(dialect_kind k) noexcept;
enum class request_format { multipart, json };
enum class key_strategy { round_robin, random, least_busy };
enum class content_mode { proxy, redirect };

/// A scalar from `defaults:` kept with its YAML type.
struct default_value {
  enum class type { string, boolean, integer, number } kind = type::string;
  std::string text;  ///< the scalar as written
  bool boolean = false;
  long long integer = 0;
  double number = 0;
};

struct upstream_config {
  std::string name;
  dialect_kind dialect = dialect_kind::openai;
  std::string base_url;  ///< scheme://host[:port][/prefix], no trailing slash
  request_format format = request_format::multipart;
  std::vector<std::string> keys;
  key_strategy strategy = key_strategy::round_robin;
  std::uint32_t max_jobs_per_key = 0;
  milliseconds connect_timeout{5'000};
  milliseconds timeout{60'000};
  milliseconds poll_interval{2'000};
  std::uint32_t max_polls_per_second = 0;  ///< status calls to this upstream, whole fleet; 0 = no cap
  std::map<std::string, std::string> models;                ///< public -> upstream name (text-to-video)
  /// Task-API dialects: public -> the vendor model for image-to-video (`models: {m: {text, image}}`;
  /// "" when the pair names no `image`: the model is not served for image-to-video);
  /// a public model without one refuses images.
  std::map<std::string, std::string> image_models;
  std::map<std::string, std::vector<int>> durations;        ///< public model -> seconds
  std::map<std::string, default_value> defaults;            ///< vendor params
  content_mode content = content_mode::proxy;
  std::string ca_file;  ///< added key: extra trusted CA (PEM) for this upstream's TLS
  milliseconds job_ttl{24LL * 3'600'000};  ///< unfinished longer than this: failed "expired"
  /// Added key: 3 consecutive "not found" polls spanning at least this long: failed "vendor_lost".
  milliseconds lost_after{60'000};
  /// Content URLs from vendor answers must be on these hosts ("cdn.example", "*.cdn.example");
  /// empty: any public host. The base_url's host is always allowed.
  std::vector<std::string> content_hosts;
  bool allow_private_addresses = false;  ///< content URLs may resolve to loopback/private ranges
  /// Pass a callback URL where the vendor takes one (DESIGN §2); none of the openai, unified
  /// and freesora APIs does, so it matters from the task-API dialects on.
  bool callbacks = true;
};

struct route_config {
  std::string model;
  std::vector<std::string> upstreams;  ///< names, tried in order
};

struct config {
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  unsigned threads = 0;  ///< 0 = one per core
  std::string public_base_url;
  limits_config limits;
  std::vector<client_config> clients;
  webhooks_config webhooks;
  admin_config admin;
  log_config log;
  store_config store;
  ids_config ids;
  std::vector<upstream_config> upstreams;
  std::vector<route_config> routes;  ///< after loading: explicit routes, else the default ones

  std::string source;  ///< the file it came from (or "<embedded demo>")

  const upstream_config* find_upstream(std::string_view name) const;
  /// Public model names that some route serves, in route order.
  std::vector<std::string> models() const;
  const route_config* find_route(std::string_view model) const;
};

/// One problem found while loading, with where it is.
struct config_error {
  std::string file;
  int line = 0;        ///< 1-based; 0 when unknown
  std::string path;    ///< e.g. "upstreams[0].dialect"
  std::string message; ///< e.g. "unknown key 'dialekt' (did you mean 'dialect'?)"
  std::string to_string() const;  ///< "file:line: path: message"
};

struct load_result {
  std::shared_ptr<const config> cfg;  ///< null when errors is not empty
  std::vector<config_error> errors;   ///< every problem, not just the first
};

/// Expands `${VAR}` / `${VAR:-default}` through `getenv` (injectable for tests).
using env_lookup = std::optional<std::string> (*)(const std::string& name);
std::optional<std::string> process_env(const std::string& name);

/// Parses YAML text. `file` is only used in error messages.
load_result load_text(const std::string& text, const std::string& file, env_lookup env = &process_env);
/// Reads and parses a file; a missing file is one error.
load_result load_file(const std::string& path, env_lookup env = &process_env);

/// The demo config (simulated vendors on 127.0.0.1:9090), embedded in the binary.
const std::string& demo_yaml();

}  // namespace videogate::config
