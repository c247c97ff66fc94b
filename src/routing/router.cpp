#include "videogate/routing/router.hpp"

#include "videogate/jobs/ids.hpp"

#include <random>
#include <stdexcept>

namespace videogate::routing {

upstream::upstream(const config::upstream_config& cfg) : cfg_(&cfg), dialect_(dialects::make_dialect(cfg.dialect)) {
  if (!dialect_) throw std::runtime_error("upstream '" + cfg.name + "': this build does not implement its dialect yet");
  for (auto& k : cfg.keys) keys_.push_back({k, jobs::key_fingerprint(k)});
}

std::vector<const key_ref*> upstream::candidates() {
  std::vector<const key_ref*> out;
  auto n = keys_.size();
  if (n == 0) return out;
  std::size_t start = 0;
  switch (cfg_->strategy) {
    case config::key_strategy::random: {
      static thread_local std::mt19937 rng{std::random_device{}()};
      start = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
      break;
    }
    // least_busy needs the per-key job counts of issue 5; until then it rotates like round_robin.
    case config::key_strategy::least_busy:
    case config::key_strategy::round_robin: start = next_.fetch_add(1, std::memory_order_relaxed) % n; break;
  }
  for (std::size_t i = 0; i < n; ++i) out.push_back(&keys_[(start + i) % n]);
  return out;
}

const key_ref* upstream::by_fingerprint(std::string_view fp) const noexcept {
  for (auto& k : keys_)
    if (k.fp == fp) return &k;
  return nullptr;
}

router::router(std::shared_ptr<const config::config> cfg) : cfg_(std::move(cfg)) {
  for (auto& u : cfg_->upstreams) {
    upstreams_.push_back(std::make_unique<upstream>(u));
    for (auto& k : u.keys) secrets_.push_back(k);
  }
}

result<std::vector<upstream*>> router::route(const std::string& model) {
  auto r = cfg_->find_route(model);
  if (!r) {
    std::string names;
    for (auto& m : cfg_->models()) names += (names.empty() ? "" : ", ") + m;
    return fail(errc::model_not_found,
                "The model '" + model + "' does not exist on this gateway. Available models: " + names + ".", "model");
  }
  std::vector<upstream*> out;
  for (auto& name : r->upstreams)
    if (auto u = find(name)) out.push_back(u);
  return out;
}

upstream* router::find(std::string_view name) noexcept {
  for (auto& u : upstreams_)
    if (u->cfg().name == name) return u.get();
  return nullptr;
}

}  // namespace videogate::routing
