#include "videogate/routing/key_pool.hpp"

#include "videogate/core/error.hpp"
#include "videogate/jobs/ids.hpp"

#include <algorithm>

namespace videogate::routing {

key_pool::key_pool(const config::upstream_config& cfg, key_policy policy) : cfg_(&cfg), policy_(policy) {
  for (auto& k : cfg.keys) keys_.push_back({k, jobs::key_fingerprint(k)});
  slots_.resize(keys_.size());
}

std::size_t key_pool::index_of(std::string_view fp) const noexcept {
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i].fp == fp) return i;
  return keys_.size();
}

key_pool::choice key_pool::candidates(key_clock::time_point now) {
  std::lock_guard lk(mu_);
  choice out;
  auto n = keys_.size();
  if (n == 0) return out;
  auto cap = cfg_->max_jobs_per_key;
  std::vector<std::size_t> usable;
  std::optional<std::size_t> probe;
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = slots_[i];
    auto a = admit(s.state, now);
    if (a == admission::cooling) {
      if (!out.soonest || s.state.until < *out.soonest) out.soonest = s.state.until;
      continue;
    }
    if (a == admission::disabled) continue;
    if (cap != 0 && s.unfinished >= static_cast<int>(cap)) {
      out.capped = true;
      continue;
    }
    if (a == admission::probe) {
      if (!probe) probe = i;  // one probe per request, and only one in flight per key
      continue;
    }
    usable.push_back(i);
  }
  switch (cfg_->strategy) {
    case config::key_strategy::round_robin: {
      auto start = next_++;
      std::rotate(usable.begin(), usable.begin() + static_cast<std::ptrdiff_t>(usable.empty() ? 0 : start % usable.size()),
                  usable.end());
      break;
    }
    case config::key_strategy::random: std::shuffle(usable.begin(), usable.end(), rng_); break;
    case config::key_strategy::least_busy: {
      // Fewest requests in flight plus unfinished jobs; ties rotate so load still spreads.
      auto start = next_++;
      if (!usable.empty())
        std::rotate(usable.begin(), usable.begin() + static_cast<std::ptrdiff_t>(start % usable.size()), usable.end());
      std::stable_sort(usable.begin(), usable.end(), [&](std::size_t a, std::size_t b) {
        return slots_[a].in_flight + slots_[a].unfinished < slots_[b].in_flight + slots_[b].unfinished;
      });
      break;
    }
  }
  if (probe) {
    slots_[*probe].state.probing = true;
    out.keys.push_back({&keys_[*probe], true});
  }
  for (auto i : usable) out.keys.push_back({&keys_[i], false});
  return out;
}

void key_pool::report(const key_ref& key, key_event e, key_clock::time_point now, std::optional<std::chrono::seconds> retry_after,
                      bool probe) {
  std::lock_guard lk(mu_);
  auto i = index_of(key.fp);
  if (i == keys_.size()) return;
  slots_[i].state = on_event(slots_[i].state, e, now, policy_, retry_after, probe);
}

void key_pool::release_probe(const key_ref& key) {
  std::lock_guard lk(mu_);
  if (auto i = index_of(key.fp); i != keys_.size()) slots_[i].state.probing = false;
}

void key_pool::request_started(const key_ref& key) {
  std::lock_guard lk(mu_);
  if (auto i = index_of(key.fp); i != keys_.size()) ++slots_[i].in_flight;
}

void key_pool::request_finished(const key_ref& key) {
  std::lock_guard lk(mu_);
  if (auto i = index_of(key.fp); i != keys_.size() && slots_[i].in_flight > 0) --slots_[i].in_flight;
}

void key_pool::job_started(std::string_view fp) {
  std::lock_guard lk(mu_);
  if (auto i = index_of(fp); i != keys_.size()) ++slots_[i].unfinished;
}

void key_pool::job_finished(std::string_view fp) {
  std::lock_guard lk(mu_);
  if (auto i = index_of(fp); i != keys_.size() && slots_[i].unfinished > 0) --slots_[i].unfinished;
}

void key_pool::set_unfinished(std::string_view fp, int n) {
  std::lock_guard lk(mu_);
  if (auto i = index_of(fp); i != keys_.size()) slots_[i].unfinished = n;
}

const key_ref* key_pool::by_fingerprint(std::string_view fp) const noexcept {
  auto i = index_of(fp);
  return i == keys_.size() ? nullptr : &keys_[i];
}

std::vector<key_view> key_pool::view() const {
  std::lock_guard lk(mu_);
  std::vector<key_view> out;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    auto& k = keys_[i].secret;
    out.push_back({keys_[i].fp, k.size() >= 8 ? k.substr(k.size() - 4) : std::string("****"), slots_[i].state,
                   slots_[i].in_flight, slots_[i].unfinished});
  }
  return out;
}

key_event event_for(errc e) {
  switch (e) {
    case errc::upstream_rate_limited: return key_event::rate_limited;
    case errc::upstream_auth: return key_event::invalid_key;
    case errc::upstream_out_of_credit: return key_event::out_of_credit;
    case errc::upstream_unavailable:
    case errc::upstream_timeout:
    case errc::bad_upstream_response: return key_event::transient;
    default: return key_event::success;
  }
}

}  // namespace videogate::routing
