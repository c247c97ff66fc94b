#include "videogate/routing/live.hpp"

#include <spdlog/spdlog.h>

namespace videogate::routing {

void apply_unfinished(router& rt, const unfinished_counts& counts) {
  for (auto& [k, n] : counts)
    if (auto up = rt.find(k.first)) up->keys().set_unfinished(k.second, n);
}

live::live(std::shared_ptr<const config::config> started)
    : started_(started), current_(std::make_shared<router>(std::move(started))) {}

config::reload_report live::reload(const reload_source& src) {
  std::lock_guard lk(reload_mu_);
  config::reload_report rep;
  config::load_result loaded;
  if (!src.load) {
    rep.errors.push_back("this gateway was started without a config source to reload");
  } else {
    try {
      loaded = src.load();
    } catch (const std::exception& e) {
      rep.errors.push_back(std::string("cannot read the config: ") + e.what());
    }
    for (auto& e : loaded.errors) rep.errors.push_back(e.to_string());
  }
  std::shared_ptr<router> next;
  if (loaded.cfg) {
    rep.source = loaded.cfg->source;
    try {
      next = std::make_shared<router>(loaded.cfg, snapshot().get());
    } catch (const std::exception& e) {
      rep.errors.push_back(e.what());
    }
  }
  if (!next) {
    if (rep.errors.empty()) rep.errors.push_back("the config could not be loaded");
    for (auto& e : rep.errors) spdlog::error("reload refused: {}", e);
    spdlog::error("reload refused with {} error(s); the running config stays", rep.errors.size());
    return rep;
  }
  rep.needs_restart = config::restart_only_changes(*started_, next->cfg());
  // Keys new to the process (added back after a restart without them, or a new upstream)
  // may have unfinished jobs in the store: count them as start-up does, so their caps hold.
  if (auto fresh = next->fresh_keys(); !fresh.empty() && src.count_unfinished) {
    try {
      auto counts = src.count_unfinished();
      unfinished_counts only_fresh;
      for (auto& k : fresh)
        if (auto it = counts.find(k); it != counts.end()) only_fresh.insert(*it);
      apply_unfinished(*next, only_fresh);
    } catch (const std::exception& e) {
      spdlog::warn("reload: cannot count the unfinished jobs of new keys: {}", e.what());
    }
  }
  current_.store(next);
  rep.applied = true;
  if (src.on_swap) src.on_swap(next->cfg());
  spdlog::info("reloaded config from {}: {} upstream(s), {} model(s), {} client(s)", rep.source,
               next->upstreams().size(), next->cfg().models().size(), next->cfg().clients.size());
  for (auto& k : rep.needs_restart)
    spdlog::warn("reload: '{}' changed; it keeps its running value until videogate restarts", k);
  return rep;
}

}  // namespace videogate::routing
