#include "videogate/routing/router.hpp"

#include <stdexcept>

namespace videogate::routing {

namespace {

std::unique_ptr<dialects::dialect> dialect_for(const config::upstream_config& cfg) {
  auto d = dialects::make_dialect(cfg.dialect);
  // Before the key pool exists: a refused config leaves nothing in the shared ledgers.
  if (!d) throw std::runtime_error("upstream '" + cfg.name + "': this build does not implement its dialect");
  return d;
}

}  // namespace

upstream::upstream(std::shared_ptr<const config::upstream_config> cfg, std::shared_ptr<key_ledger> ledger)
    : cfg_(std::move(cfg)), dialect_(dialect_for(*cfg_)), pool_(*cfg_, {}, std::move(ledger)) {}

router::router(std::shared_ptr<const config::config> cfg, const router* previous) : cfg_(std::move(cfg)) {
  for (auto& u : cfg_->upstreams) {
    std::shared_ptr<key_ledger> ledger;
    if (previous)
      if (auto* old = previous->find(u.name)) ledger = old->keys().ledger();
    // Aliasing pointer: the upstream keeps the whole config alive, however long it is retired.
    upstreams_.push_back(std::make_shared<upstream>(std::shared_ptr<const config::upstream_config>(cfg_, &u), ledger));
  }
  if (previous) {
    auto carry = [&](const std::shared_ptr<upstream>& u) {
      if (!find(u->cfg().name)) retired_.push_back(u);
    };
    for (auto& u : previous->upstreams_) carry(u);
    for (auto& u : previous->retired_) carry(u);
  }
  for (auto* list : {&upstreams_, &retired_})
    for (auto& u : *list)
      for (auto& s : u->keys().ledger()->secrets()) secrets_.push_back(s);
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

bool router::configured(const upstream* u) const noexcept {
  for (auto& c : upstreams_)
    if (c.get() == u) return true;
  return false;
}

std::vector<std::pair<std::string, std::string>> router::fresh_keys() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& u : upstreams_)
    for (auto& fp : u->keys().fresh()) out.emplace_back(u->cfg().name, fp);
  return out;
}

upstream* router::find(std::string_view name) const noexcept {
  for (auto* list : {&upstreams_, &retired_})
    for (auto& u : *list)
      if (u->cfg().name == name) return u.get();
  return nullptr;
}

}  // namespace videogate::routing
