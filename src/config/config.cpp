#include "videogate/config/config.hpp"

#include "yaml_reader.hpp"

#include "videogate/core/base64.hpp"
#include "videogate/core/duration.hpp"

#include <boost/url/parse.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <span>
#include <utility>

namespace videogate::config {

namespace {

using namespace detail;

// An upstream without `models:` serves these under their own names.
constexpr std::array<std::string_view, 2> identity_models{"sora-2", "sora-2-pro"};

constexpr std::array<std::string_view, 12> root_keys{
    "listen", "threads", "public_base_url", "limits", "clients", "admin",
    "log",    "store",   "ids",             "upstreams", "routes", "webhooks"};
constexpr std::array<std::string_view, 4> limits_keys{"max_body_bytes", "request_timeout", "header_timeout",
                                                     "max_connections"};
constexpr std::array<std::string_view, 4> client_keys{"name", "key", "models", "webhook"};
constexpr std::array<std::string_view, 3> webhook_keys{"url", "secret", "previous_secret"};
constexpr std::array<std::string_view, 4> webhooks_keys{"timeout", "retry_for", "schedule", "allow_private"};
constexpr std::array<std::string_view, 1> admin_keys{"key"};
constexpr std::array<std::string_view, 2> log_keys{"level", "format"};
constexpr std::array<std::string_view, 6> store_keys{"kind", "path", "sync", "url", "prefix", "cache_bytes"};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> store_syncs{{{"normal", "normal"}, {"full", "full"}}};
constexpr std::array<std::string_view, 1> ids_keys{"secret"};
constexpr std::array<std::string_view, 21> upstream_keys{
    "name",    "dialect",         "base_url", "request_format", "keys",
    "key_strategy", "max_jobs_per_key", "connect_timeout", "timeout", "poll_interval",
    "models",  "durations",       "defaults", "content",  "ca_file",
    "job_ttl", "lost_after", "content_hosts", "allow_private_addresses", "max_polls_per_second",
    "callbacks"};
constexpr std::array<std::string_view, 2> route_keys{"model", "upstreams"};

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> log_levels{{
    {"trace", "trace"}, {"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> log_formats{{
    {"text", "text"}, {"json", "json"}}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> store_kinds{{
    {"sqlite", "sqlite"}, {"memory", "memory"}, {"redis", "redis"}}};
constexpr std::array<std::pair<std::string_view, dialect_kind>, 10> dialects{{
    {"openai", dialect_kind::openai},
    {"unified", dialect_kind::unified},
    {"freesora", dialect_kind::freesora},
    {"fal", dialect_kind::fal},
    {"replicate", dialect_kind::replicate},
    {"kie", dialect_kind::kie},
    {"ark", dialect_kind::ark},
    {"minimax", dialect_kind::minimax},
    {"dashscope", dialect_kind::dashscope},
    {"kling", dialect_kind::kling}}};
constexpr std::array<std::string_view, 2> model_form_keys{"text", "image"};
constexpr std::array<std::pair<std::string_view, request_format>, 2> formats{{
    {"multipart", request_format::multipart}, {"json", request_format::json}}};
constexpr std::array<std::pair<std::string_view, key_strategy>, 3> strategies{{
    {"round_robin", key_strategy::round_robin},
    {"random", key_strategy::random},
    {"least_busy", key_strategy::least_busy}}};
constexpr std::array<std::pair<std::string_view, content_mode>, 2> content_modes{{
    {"proxy", content_mode::proxy}, {"redirect", content_mode::redirect}}};

// What the upstream pass leaves for the route pass.
struct upstream_info {
  std::vector<std::string> model_order;  // as written, for default routes
  bool models_ok = true;
  int name_line = 0;
};

// The schema half of the loader: which keys exist where and what they mean.
class loader : public yaml_reader {
 public:
  loader(std::string file, env_lookup env) : yaml_reader(std::move(file), env) {}

  load_result load(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      fail(e.mark.line < 0 ? 0 : e.mark.line + 1, "", "YAML syntax error: " + e.msg);
      return finish();
    } catch (const YAML::Exception& e) {
      fail(0, "", std::string("YAML error: ") + e.what());
      return finish();
    }
    field root_field{root, "", std::max(1, line_of(root)), true};
    if (root.IsNull()) root_field.found = false;  // an empty file: every key absent
    auto top = mapping(root_field, root_keys);
    if (!top) return finish();
    parse_root(*top, root_field);
    return finish();
  }

 private:
  void parse_root(const entries& top, const field& root) {
    if (auto f = at(top, "listen", root); auto s = text(f)) {
      std::string host;
      std::uint16_t port = 0;
      if (auto why = parse_listen(*s, host, port)) {
        fail(f, "invalid listen address '" + *s + "': " + *why);
      } else {
        cfg_.listen_host = host;
        cfg_.listen_port = port;
      }
    }
    if (auto v = integer(at(top, "threads", root), 0, 1024)) cfg_.threads = static_cast<unsigned>(*v);
    if (auto f = at(top, "public_base_url", root); auto s = text(f)) {
      std::string why;
      if (s->empty()) {
        cfg_.public_base_url.clear();
      } else if (auto url = normalize_base_url(*s, why)) {
        cfg_.public_base_url = *url;
      } else {
        fail(f, url_error(*s, why));
      }
    }
    parse_limits(at(top, "limits", root));
    parse_admin(at(top, "admin", root));
    parse_log(at(top, "log", root));
    parse_store(at(top, "store", root));
    parse_ids(at(top, "ids", root));
    auto upstreams = at(top, "upstreams", root);
    if (require(upstreams)) parse_upstreams(upstreams);
    parse_routes(at(top, "routes", root));
    parse_clients(at(top, "clients", root));
    parse_webhooks(at(top, "webhooks", root));
  }

  void parse_webhooks(const field& f) {
    auto e = mapping(f, webhooks_keys);
    if (!e) return;
    auto& w = cfg_.webhooks;
    if (auto d = duration(at(*e, "timeout", f), false)) w.timeout = *d;
    if (auto d = duration(at(*e, "retry_for", f), false)) w.retry_for = *d;
    if (auto b = boolean(at(*e, "allow_private", f))) w.allow_private = *b;
    if (auto sf = at(*e, "schedule", f); sf.found) {
      auto list = sequence(sf);
      if (!list) return;
      if (list->empty()) fail(sf, "needs at least one delay (the last one repeats)");
      std::vector<milliseconds> delays;
      for (const auto& df : *list)
        if (auto d = duration(df, false)) delays.push_back(*d);
      if (!delays.empty() && delays.size() == list->size()) w.schedule = std::move(delays);
    }
  }

  // A webhook target: an absolute http(s) URL and a secret that signs (DESIGN §9). Errors
  // never quote a secret, and a URL only without its query (tokens hide there).
  void parse_webhook(const field& f, client_config& c) {
    auto e = mapping(f, webhook_keys);
    if (!e) return;
    webhook_target t;
    if (auto u = at(*e, "url", f); require(u)) {
      if (auto s = nonempty_text(u)) {
        auto parsed = boost::urls::parse_absolute_uri(*s);
        if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty())
          fail(u, url_error(*s, "an absolute http:// or https:// URL is needed"));
        else if (parsed->has_fragment())
          fail(u, url_error(*s, "a fragment is never sent"));
        else
          t.url = *s;
      }
    }
    auto secret = [&](const char* name, std::string& out, bool required) {
      auto sf = at(*e, name, f);
      if (required && !require(sf)) return;
      if (!sf.found) return;
      // An empty previous_secret is none (a rotation's `${OLD:-}` outside a rotation).
      auto s = required ? nonempty_text(sf) : text(sf);
      if (!s || s->empty()) return;
      auto key = webhook_key(*s);
      if (!key)
        fail(sf, "is not a webhook secret: the text after whsec_ must be base64");
      else if (key->size() < 16)
        fail(sf, "is too short: a webhook secret needs at least 16 bytes (whsec_ and 24+ base64 characters)");
      else
        out = *s;
    };
    secret("secret", t.secret, true);
    secret("previous_secret", t.previous_secret, false);
    c.webhook = std::move(t);
  }

  void parse_limits(const field& f) {
    auto e = mapping(f, limits_keys);
    if (!e) return;
    if (auto v = integer(at(*e, "max_body_bytes", f), 1, std::numeric_limits<std::uint64_t>::max()))
      cfg_.limits.max_body_bytes = *v;
    if (auto d = duration(at(*e, "request_timeout", f), false)) cfg_.limits.request_timeout = *d;
    if (auto d = duration(at(*e, "header_timeout", f), false)) cfg_.limits.header_timeout = *d;
    if (auto v = integer(at(*e, "max_connections", f), 1, 1'000'000))
      cfg_.limits.max_connections = static_cast<std::uint32_t>(*v);
  }

  // A content host pattern: a host name, or "*." and a domain (any host below it).
  void parse_content_hosts(const field& f, upstream_config& u) {
    auto items = sequence(f);
    if (!items) return;
    for (auto& item : *items) {
      auto s = nonempty_text(item);
      if (!s) continue;
      std::string host = *s;
      std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto name = host.starts_with("*.") ? host.substr(2) : host;
      bool ok = !name.empty() && name.find('*') == std::string::npos &&
                std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'; });
      if (!ok) {
        fail(item, "invalid host pattern '" + *s + "' (expected a host name such as cdn.example, or *.cdn.example)");
        continue;
      }
      u.content_hosts.push_back(host);
    }
  }

  void parse_admin(const field& f) {
    auto e = mapping(f, admin_keys);
    if (!e) return;
    if (auto s = text(at(*e, "key", f))) cfg_.admin.key = *s;
  }

  void parse_log(const field& f) {
    auto e = mapping(f, log_keys);
    if (!e) return;
    if (auto v = choice<std::string_view>(at(*e, "level", f), log_levels)) cfg_.log.level = *v;
    if (auto v = choice<std::string_view>(at(*e, "format", f), log_formats)) cfg_.log.format = *v;
  }

  void parse_store(const field& f) {
    auto e = mapping(f, store_keys);
    if (!e) return;
    if (auto v = choice<std::string_view>(at(*e, "kind", f), store_kinds)) cfg_.store.kind = *v;
    auto path = at(*e, "path", f);
    if (auto s = text(path)) {
      if (s->empty() && cfg_.store.kind == "sqlite") fail(path, "must not be empty for a sqlite store");
      cfg_.store.path = *s;
    }
    if (auto v = choice<std::string_view>(at(*e, "sync", f), store_syncs)) cfg_.store.sync = *v;
    if (auto v = integer(at(*e, "cache_bytes", f), 0, std::uint64_t{1} << 40)) cfg_.store.cache_bytes = *v;
    auto url = at(*e, "url", f);
    if (auto s = text(url)) {
      std::string why;
      // The URL may carry a password: the message names what is wrong, never the URL.
      if (!parse_redis_url(*s, &why))
        fail(url, "is not a Redis URL: it " + why);
      else
        cfg_.store.url = *s;
    }
    auto prefix = at(*e, "prefix", f);
    if (auto s = text(prefix)) cfg_.store.prefix = *s;
  }

  void parse_ids(const field& f) {
    auto e = mapping(f, ids_keys);
    if (!e) return;
    auto secret = at(*e, "secret", f);
    if (auto s = text(secret)) {
      // An HMAC key: shorter ones are guessable offline from one id (DESIGN §8). Never echoed.
      if (!s->empty() && s->size() < 32)
        fail(secret, "must be at least 32 bytes (it is " + std::to_string(s->size()) +
                         "); leave it empty to have one generated");
      else
        cfg_.ids.secret = *s;
    }
  }

  void parse_upstreams(const field& f) {
    auto list = sequence(f);
    if (!list) return;
    if (list->empty()) {
      fail(f, "needs at least one upstream");
      return;
    }
    std::map<std::string, std::string> seen;  // name -> path
    for (const auto& element : *list) {
      upstream_config u;
      upstream_info info;
      parse_upstream(element, u, info);
      if (!u.name.empty()) {
        if (auto [it, fresh] = seen.emplace(u.name, element.path); !fresh)
          fail(info.name_line, join(element.path, "name"),
               "duplicate upstream name '" + u.name + "' (also " + it->second + ")");
      }
      cfg_.upstreams.push_back(std::move(u));
      infos_.push_back(std::move(info));
    }
  }

  void parse_upstream(const field& f, upstream_config& u, upstream_info& info) {
    auto e = mapping(f, upstream_keys);
    if (!e) {
      info.models_ok = false;
      return;
    }
    if (!f.has_value()) {
      fail(f, "expected a mapping, got nothing");
      info.models_ok = false;
      return;
    }
    if (auto name = at(*e, "name", f); require(name)) {
      info.name_line = name.line;
      if (auto s = nonempty_text(name)) u.name = *s;
    }
    if (auto d = at(*e, "dialect", f); require(d))
      if (auto v = choice<dialect_kind>(d, dialects)) u.dialect = *v;
    if (auto b = at(*e, "base_url", f); require(b)) {
      if (auto s = nonempty_text(b)) {
        std::string why;
        if (auto url = normalize_base_url(*s, why))
          u.base_url = *url;
        else
          fail(b, url_error(*s, why));
      }
    }
    if (auto rf = at(*e, "request_format", f); rf.has_value()) {
      if (auto v = choice<request_format>(rf, formats)) {
        u.format = *v;
        if (u.dialect != dialect_kind::openai) fail(rf, "applies to the openai dialect only");
      }
    }
    if (auto k = at(*e, "keys", f); require(k)) parse_keys(k, u);
    if (auto v = choice<key_strategy>(at(*e, "key_strategy", f), strategies)) u.strategy = *v;
    if (auto v = integer(at(*e, "max_jobs_per_key", f), 0, std::numeric_limits<std::uint32_t>::max()))
      u.max_jobs_per_key = static_cast<std::uint32_t>(*v);
    if (auto d = duration(at(*e, "connect_timeout", f), false)) u.connect_timeout = *d;
    if (auto d = duration(at(*e, "timeout", f), false)) u.timeout = *d;
    if (auto d = duration(at(*e, "poll_interval", f), true)) u.poll_interval = *d;
    if (auto v = integer(at(*e, "max_polls_per_second", f), 0, 1'000'000))
      u.max_polls_per_second = static_cast<std::uint32_t>(*v);
    parse_models(at(*e, "models", f), u, info);
    parse_durations(at(*e, "durations", f), u, info);
    if (auto defaults = mapping(at(*e, "defaults", f))) {
      for (const auto& [name, value] : *defaults)
        if (auto v = typed_scalar(value)) u.defaults.emplace(name, std::move(*v));
    }
    if (auto v = choice<content_mode>(at(*e, "content", f), content_modes)) u.content = *v;
    if (auto d = duration(at(*e, "job_ttl", f), false)) u.job_ttl = *d;
    if (auto d = duration(at(*e, "lost_after", f), true)) u.lost_after = *d;
    parse_content_hosts(at(*e, "content_hosts", f), u);
    if (auto b = boolean(at(*e, "allow_private_addresses", f))) u.allow_private_addresses = *b;
    if (auto b = boolean(at(*e, "callbacks", f))) u.callbacks = *b;
    if (auto c = at(*e, "ca_file", f); c.has_value()) {
      if (auto s = nonempty_text(c)) {
        if (std::ifstream probe(*s); !probe) fail(c, "cannot read CA file '" + *s + "'");
        else u.ca_file = *s;
      }
    }
  }

  void parse_keys(const field& f, upstream_config& u) {
    auto list = sequence(f);
    if (!list) return;
    if (list->empty()) {
      fail(f, "needs at least one key");
      return;
    }
    std::map<std::string, std::string> seen;  // key -> path; the key itself never goes in a message
    for (const auto& element : *list) {
      if (!require(element)) continue;
      auto s = nonempty_text(element);
      if (!s) continue;
      if (auto [it, fresh] = seen.emplace(*s, element.path); !fresh) {
        fail(element, "duplicate key (same as " + it->second + ")");
        continue;
      }
      if (u.dialect == dialect_kind::kling) {
        // Kling signs a JWT per request with the pair (DESIGN §2); the key itself never goes in a message.
        auto colon = s->find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == s->size() || s->find(':', colon + 1) != std::string::npos) {
          fail(element, "a Kling key is ACCESS_KEY:SECRET_KEY (one colon, both parts non-empty)");
          continue;
        }
      }
      u.keys.push_back(std::move(*s));
    }
  }

  void parse_models(const field& f, upstream_config& u, upstream_info& info) {
    if (!f.found && task_api(u.dialect)) {
      // A task API names its models its own way (a fal app path, a Replicate owner/name…).
      fail(f.line, f.path, std::string("is needed for the ") + to_string(u.dialect) +
                               " dialect: map each public model to the vendor's model, e.g. sora-2: " +
                               (u.dialect == dialect_kind::fal         ? "fal-ai/sora-2/text-to-video"
                                : u.dialect == dialect_kind::replicate ? "openai/sora-2"
                                : u.dialect == dialect_kind::kie       ? "sora-2-text-to-video"
                                : u.dialect == dialect_kind::ark       ? "seedance-1-0-pro-250528"
                                : u.dialect == dialect_kind::minimax   ? "MiniMax-Hailuo-02"
                                : u.dialect == dialect_kind::dashscope ? "{text: wan2.5-t2v-preview, image: wan2.5-i2v-preview}"
                                                                       : "kling-v2-1"));
      info.models_ok = false;
      return;
    }
    if (!f.found) {
      for (auto m : identity_models) {
        u.models.emplace(std::string(m), std::string(m));
        info.model_order.emplace_back(m);
      }
      return;
    }
    auto e = mapping(f);
    if (!e) {
      info.models_ok = false;
      return;
    }
    if (e->empty()) {
      fail(f, "must map at least one model (leave `models:` out for sora-2 and sora-2-pro)");
      info.models_ok = false;
      return;
    }
    for (const auto& [name, value] : *e) {
      if (!require(value)) {
        info.models_ok = false;
        continue;
      }
      if (value.node.IsMap()) {
        // {text: …, image: …}: the vendor models for text-to-video and image-to-video.
        if (!task_api(u.dialect)) {
          fail(value, std::string("a {text, image} pair needs a task-API dialect; the ") + to_string(u.dialect) +
                          " dialect takes one model name");
          info.models_ok = false;
          continue;
        }
        auto pair = mapping(value, model_form_keys);
        if (!pair) {
          info.models_ok = false;
          continue;
        }
        auto text_f = at(*pair, "text", value);
        auto image_f = at(*pair, "image", value);
        if (!text_f.found && !image_f.found) {
          if (value.node.size() == 0) fail(value, "needs `text`, `image` or both");  // else: the unknown key said it
          info.models_ok = false;
          continue;
        }
        if (text_f.found)
          if (auto t = nonempty_text(text_f); t && vendor_model_ok(text_f, u.dialect, *t)) u.models.emplace(name, *t);
        if (image_f.found)
          if (auto i = nonempty_text(image_f); i && vendor_model_ok(image_f, u.dialect, *i)) u.image_models.emplace(name, *i);
        if (!text_f.found) u.models.emplace(name, "");        // served for image-to-video only
        if (!image_f.found) u.image_models.emplace(name, "");  // served for text-to-video only
        info.model_order.push_back(name);
        continue;
      }
      auto s = nonempty_text(value);
      if (!s) {
        info.models_ok = false;
        continue;
      }
      if (!vendor_model_ok(value, u.dialect, *s)) {
        info.models_ok = false;
        continue;
      }
      u.models.emplace(name, *s);
      info.model_order.push_back(name);
    }
  }

  /// The form a vendor model takes in each task-API dialect (DESIGN §2): a fal app path
  /// (`owner/app[/path]`), a Replicate `owner/name`, a kie model name (`sora-2-text-to-video`,
  /// `veo3_fast`, or a market name with a family prefix such as `kling-2.6/text-to-video`).
  bool vendor_model_ok(const field& f, dialect_kind d, const std::string& m) {
    auto slashes = std::count(m.begin(), m.end(), '/');
    bool blank_segment = m.front() == '/' || m.back() == '/' || m.find("//") != std::string::npos;
    switch (d) {
      case dialect_kind::fal:
        if (slashes >= 1 && !blank_segment) return true;
        fail(f, "'" + m + "' is not a fal app path (owner/app[/path], e.g. fal-ai/sora-2/text-to-video)");
        return false;
      case dialect_kind::replicate:
        if (slashes == 1 && !blank_segment) return true;
        fail(f, "'" + m + "' is not a Replicate model (owner/name, e.g. openai/sora-2)");
        return false;
      case dialect_kind::kie:
        if (!blank_segment) return true;
        fail(f, "'" + m + "' is not a kie model name (e.g. sora-2-text-to-video, veo3_fast, kling-2.6/text-to-video)");
        return false;
      default: return true;
    }
  }

  void parse_durations(const field& f, upstream_config& u, const upstream_info& info) {
    auto e = mapping(f);
    if (!e) return;
    for (const auto& [model, value] : *e) {
      if (info.models_ok && !u.models.contains(model)) {
        fail(value.line, value.path, "model '" + model + "' is not in this upstream's models");
        continue;
      }
      if (!require(value)) continue;
      auto list = sequence(value);
      if (!list) continue;
      if (list->empty()) {
        fail(value, "needs at least one duration in seconds");
        continue;
      }
      std::vector<int> seconds;
      bool ok = true;
      for (const auto& element : *list) {
        if (!require(element)) {
          ok = false;
          continue;
        }
        if (auto v = integer(element, 1, std::numeric_limits<int>::max()))
          seconds.push_back(static_cast<int>(*v));
        else
          ok = false;
      }
      if (!ok) continue;
      // Dialects round a request up to the next allowed value: keep them ascending.
      std::sort(seconds.begin(), seconds.end());
      seconds.erase(std::unique(seconds.begin(), seconds.end()), seconds.end());
      u.durations.emplace(model, std::move(seconds));
    }
  }

  void parse_routes(const field& f) {
    auto list = sequence(f);
    if (!list) return;
    if (list->empty()) {
      build_default_routes();
      return;
    }
    std::map<std::string, std::string> seen;  // model -> path
    for (const auto& element : *list) {
      auto e = mapping(element, route_keys);
      if (!e) continue;
      if (!element.has_value()) {
        fail(element, "expected a mapping, got nothing");
        continue;
      }
      route_config r;
      bool ok = true;
      if (auto m = at(*e, "model", element); require(m)) {
        if (auto s = nonempty_text(m)) {
          r.model = *s;
          if (auto [it, fresh] = seen.emplace(r.model, element.path); !fresh) {
            fail(m, "duplicate route for model '" + r.model + "' (also " + it->second + ")");
            ok = false;
          }
        } else {
          ok = false;
        }
      } else {
        ok = false;
      }
      auto ups = at(*e, "upstreams", element);
      if (!require(ups)) continue;
      auto names = sequence(ups);
      if (!names) continue;
      if (names->empty()) {
        fail(ups, "needs at least one upstream");
        continue;
      }
      for (const auto& n : *names) {
        if (!require(n)) continue;
        auto name = nonempty_text(n);
        if (!name) continue;
        if (std::find(r.upstreams.begin(), r.upstreams.end(), *name) != r.upstreams.end()) {
          fail(n, "upstream '" + *name + "' is listed twice");
          continue;
        }
        r.upstreams.push_back(*name);
        auto it = std::find_if(cfg_.upstreams.begin(), cfg_.upstreams.end(),
                               [&](const upstream_config& u) { return u.name == *name; });
        if (it == cfg_.upstreams.end()) {
          std::vector<std::string_view> known;
          for (const auto& u : cfg_.upstreams)
            if (!u.name.empty()) known.push_back(u.name);
          std::string hint = known.empty() ? "" : " (did you mean '" + std::string(nearest(*name, known)) + "'?)";
          fail(n, "unknown upstream '" + *name + "'" + hint);
        } else if (ok && infos_[static_cast<std::size_t>(it - cfg_.upstreams.begin())].models_ok &&
                   !it->models.contains(r.model)) {
          fail(n, "upstream '" + *name + "' does not map model '" + r.model + "' (add it to its models)");
        }
      }
      if (ok) cfg_.routes.push_back(std::move(r));
    }
  }

  // Each public model, in order of first appearance, served by every upstream that maps it.
  void build_default_routes() {
    cfg_.routes.clear();
    for (std::size_t i = 0; i < cfg_.upstreams.size(); ++i) {
      const auto& u = cfg_.upstreams[i];
      if (u.name.empty()) continue;
      for (const auto& model : infos_[i].model_order) {
        auto r = std::find_if(cfg_.routes.begin(), cfg_.routes.end(),
                              [&](const route_config& x) { return x.model == model; });
        if (r == cfg_.routes.end()) r = cfg_.routes.insert(cfg_.routes.end(), route_config{model, {}});
        r->upstreams.push_back(u.name);
      }
    }
  }

  void parse_clients(const field& f) {
    auto list = sequence(f);
    if (!list) return;
    auto served = cfg_.models();
    std::map<std::string, std::string> names, keys;  // value -> path
    for (const auto& element : *list) {
      auto e = mapping(element, client_keys);
      if (!e) continue;
      if (!element.has_value()) {
        fail(element, "expected a mapping, got nothing");
        continue;
      }
      client_config c;
      if (auto n = at(*e, "name", element); require(n)) {
        if (auto s = nonempty_text(n)) {
          c.name = *s;
          if (auto [it, fresh] = names.emplace(c.name, element.path); !fresh)
            fail(n, "duplicate client name '" + c.name + "' (also " + it->second + ")");
        }
      }
      if (auto k = at(*e, "key", element); require(k)) {
        if (auto s = nonempty_text(k)) {
          c.key = *s;
          if (auto [it, fresh] = keys.emplace(c.key, element.path); !fresh)
            fail(k, "duplicate client key (same as " + it->second + ".key)");
        }
      }
      if (auto w = at(*e, "webhook", element); w.found) parse_webhook(w, c);
      if (auto m = at(*e, "models", element); m.found) {
        c.models.clear();
        if (!require(m)) continue;
        auto models = sequence(m);
        if (!models) continue;
        if (models->empty()) fail(m, "needs at least one model (\"*\" allows all)");
        for (const auto& mf : *models) {
          if (!require(mf)) continue;
          auto s = nonempty_text(mf);
          if (!s) continue;
          if (*s != "*" && std::find(served.begin(), served.end(), *s) == served.end())
            fail(mf, "model '" + *s + "' is not served by any route");
          c.models.push_back(*s);
        }
      }
      cfg_.clients.push_back(std::move(c));
    }
  }

  load_result finish() {
    load_result r;
    if (errors_.empty()) {
      cfg_.source = file_;
      r.cfg = std::make_shared<const config>(std::move(cfg_));
    } else {
      std::stable_sort(errors_.begin(), errors_.end(),
                       [](const config_error& a, const config_error& b) { return a.line < b.line; });
      r.errors = std::move(errors_);
    }
    return r;
  }

  config cfg_;
  std::vector<upstream_info> infos_;  // parallel to cfg_.upstreams
};

}  // namespace

load_result load_text(const std::string& text, const std::string& file, env_lookup env) {
  return loader(file, env ? env : &process_env).load(text);
}

std::optional<std::string> webhook_key(const std::string& secret) {
  if (secret.rfind("whsec_", 0) == 0) return base64_decode(std::string_view(secret).substr(6));
  return secret;
}

const char* to_string(dialect_kind k) noexcept {
  for (auto& [name, kind] : dialects)
    if (kind == k) return name.data();
  return "openai";
}

bool task_api(dialect_kind k) noexcept {
  return k != dialect_kind::openai && k != dialect_kind::unified && k != dialect_kind::freesora;
}

}  // namespace videogate::config
