#pragma once
/// @file Which upstreams serve a model (routes, failover order) and which keys each may use.
/// Built once per config snapshot; thread-safe (key rotation uses atomics).

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/dialects/dialect.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace videogate::routing {

/// One key of an upstream: the secret (never logged) and its fingerprint (safe anywhere).
struct key_ref {
  std::string secret;
  std::string fp;
};

/// Everything about one upstream in one place: its config, its dialect and its keys.
class upstream {
 public:
  explicit upstream(const config::upstream_config& cfg);
  const config::upstream_config& cfg() const noexcept { return *cfg_; }
  const dialects::dialect& dialect() const noexcept { return *dialect_; }
  /// The keys in the order a new job should try them (the upstream's key_strategy).
  /// Issue 5 adds key states (cooling, disabled) and per-key job caps here.
  std::vector<const key_ref*> candidates();
  /// The key a job was created with, from the fingerprint its id carries.
  const key_ref* by_fingerprint(std::string_view fp) const noexcept;
  const std::vector<key_ref>& keys() const noexcept { return keys_; }

 private:
  const config::upstream_config* cfg_;
  std::unique_ptr<dialects::dialect> dialect_;
  std::vector<key_ref> keys_;
  std::atomic<std::size_t> next_{0};
};

class router {
 public:
  explicit router(std::shared_ptr<const config::config> cfg);
  /// The upstreams of the model's route, in failover order; model_not_found listing the
  /// models that exist when no route serves it.
  result<std::vector<upstream*>> route(const std::string& model);
  upstream* find(std::string_view name) noexcept;
  /// Every upstream key (for scrubbing vendor messages before they leave).
  const std::vector<std::string>& secrets() const noexcept { return secrets_; }
  const config::config& cfg() const noexcept { return *cfg_; }

 private:
  std::shared_ptr<const config::config> cfg_;
  std::vector<std::unique_ptr<upstream>> upstreams_;
  std::vector<std::string> secrets_;
};

}  // namespace videogate::routing
