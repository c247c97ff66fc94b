#include "videogate/routing/router.hpp"

#include <stdexcept>

namespace videogate::routing {

upstream::upstream(const config::upstream_config& cfg)
    : cfg_(&cfg), dialect_(dialects::make_dialect(cfg.dialect)), pool_(cfg) {
  if (!dialect_) throw std::runtime_error("upstream '" + cfg.name + "': this build does not implement its dialect");
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
