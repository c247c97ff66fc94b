#pragma once
/// @file Which upstreams serve a model (routes, failover order) and which keys each may use.
/// Built once per config snapshot (start-up and every reload); thread-safe. A router built with
/// the previous snapshot's router shares its key ledgers (key states carry over) and keeps the
/// upstreams the new config dropped as retired: never routed to, still found by name for the
/// jobs they made.

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/routing/key_pool.hpp"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace videogate::routing {

/// Everything about one upstream in one place: its config, its dialect and its keys.
class upstream {
 public:
  /// `cfg` stays alive as long as the upstream; `ledger`: the same upstream's in an older snapshot.
  upstream(std::shared_ptr<const config::upstream_config> cfg, std::shared_ptr<key_ledger> ledger = nullptr);
  const config::upstream_config& cfg() const noexcept { return *cfg_; }
  const dialects::dialect& dialect() const noexcept { return *dialect_; }
  key_pool& keys() noexcept { return pool_; }
  const key_pool& keys() const noexcept { return pool_; }
  /// The key a job was created with, from the fingerprint its id carries.
  const key_ref* by_fingerprint(std::string_view fp) const noexcept { return pool_.by_fingerprint(fp); }

 private:
  std::shared_ptr<const config::upstream_config> cfg_;
  std::unique_ptr<dialects::dialect> dialect_;
  key_pool pool_;
};

class router {
 public:
  explicit router(std::shared_ptr<const config::config> cfg, const router* previous = nullptr);
  /// The upstreams of the model's route, in failover order; model_not_found listing the
  /// models that exist when no route serves it.
  result<std::vector<upstream*>> route(const std::string& model);
  /// An upstream of this config, else a retired one.
  upstream* find(std::string_view name) const noexcept;
  /// Whether `u` belongs to this config (not a retired upstream).
  bool configured(const upstream* u) const noexcept;
  /// (upstream, fingerprint) of the keys this router brought into the process (a reload that
  /// adds a key or an upstream): their unfinished jobs, if the store has any, are not counted yet.
  std::vector<std::pair<std::string, std::string>> fresh_keys() const;
  /// The upstreams of this config, in config order.
  const std::vector<std::shared_ptr<upstream>>& upstreams() const noexcept { return upstreams_; }
  /// Every upstream key, retired ones too (for scrubbing vendor messages before they leave).
  const std::vector<std::string>& secrets() const noexcept { return secrets_; }
  const config::config& cfg() const noexcept { return *cfg_; }
  const std::shared_ptr<const config::config>& cfg_ptr() const noexcept { return cfg_; }

 private:
  std::shared_ptr<const config::config> cfg_;
  std::vector<std::shared_ptr<upstream>> upstreams_;
  std::vector<std::shared_ptr<upstream>> retired_;
  std::vector<std::string> secrets_;
};

}  // namespace videogate::routing
