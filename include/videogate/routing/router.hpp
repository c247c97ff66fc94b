#pragma once
/// @file Which upstreams serve a model (routes, failover order) and which keys each may use.
/// Built once per config snapshot; thread-safe (key rotation uses atomics).

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/routing/key_pool.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace videogate::routing {

/// Everything about one upstream in one place: its config, its dialect and its keys.
class upstream {
 public:
  explicit upstream(const config::upstream_config& cfg);
  const config::upstream_config& cfg() const noexcept { return *cfg_; }
  const dialects::dialect& dialect() const noexcept { return *dialect_; }
  key_pool& keys() noexcept { return pool_; }
  const key_pool& keys() const noexcept { return pool_; }
  /// The key a job was created with, from the fingerprint its id carries.
  const key_ref* by_fingerprint(std::string_view fp) const noexcept { return pool_.by_fingerprint(fp); }

 private:
  const config::upstream_config* cfg_;
  std::unique_ptr<dialects::dialect> dialect_;
  key_pool pool_;
};

class router {
 public:
  explicit router(std::shared_ptr<const config::config> cfg);
  /// The upstreams of the model's route, in failover order; model_not_found listing the
  /// models that exist when no route serves it.
  result<std::vector<upstream*>> route(const std::string& model);
  upstream* find(std::string_view name) noexcept;
  const std::vector<std::unique_ptr<upstream>>& upstreams() const noexcept { return upstreams_; }
  /// Every upstream key (for scrubbing vendor messages before they leave).
  const std::vector<std::string>& secrets() const noexcept { return secrets_; }
  const config::config& cfg() const noexcept { return *cfg_; }

 private:
  std::shared_ptr<const config::config> cfg_;
  std::vector<std::unique_ptr<upstream>> upstreams_;
  std::vector<std::string> secrets_;
};

}  // namespace videogate::routing
