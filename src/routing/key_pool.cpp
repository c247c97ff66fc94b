#include "videogate/routing/key_pool.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/core/error.hpp"
#include "videogate/dialects/dialect.hpp"
#include "videogate/jobs/ids.hpp"

#include <algorithm>

namespace videogate::routing {

key_ledger::entry& key_ledger::enter(const std::string& secret, const std::string& fp, bool* made) {
  auto it = by_fp_.find(fp);
  if (made) *made = it == by_fp_.end();
  if (it == by_fp_.end()) it = by_fp_.emplace(fp, std::make_unique<entry>(entry{{secret, fp}, {}, 0, 0})).first;
  return *it->second;
}

key_ledger::entry* key_ledger::find(std::string_view fp) noexcept {
  auto it = by_fp_.find(fp);
  return it == by_fp_.end() ? nullptr : it->second.get();
}

std::vector<std::string> key_ledger::secrets() const {
  std::lock_guard lk(mu);
  std::vector<std::string> out;
  for (auto& [fp, e] : by_fp_) out.push_back(e->key.secret);
  return out;
}

void key_ledger::note_error(const key_ref& key, const error& e) {
  vendor_error v;
  v.at_ms = clock::now_ms();
  v.key_fp = key.fp;
  v.code = to_string(e.code);
  v.message = dialects::scrub(e.message, secrets());
  if (v.message.size() > 300) {
    std::size_t cut = 300;
    while (cut > 0 && (static_cast<unsigned char>(v.message[cut]) & 0xC0) == 0x80) --cut;  // a whole UTF-8 character
    v.message.resize(cut);
    v.message += "\u2026";
  }
  std::lock_guard lk(mu);
  last_error_ = std::move(v);
}

std::optional<key_ledger::vendor_error> key_ledger::last_error() const {
  std::lock_guard lk(mu);
  return last_error_;
}

key_pool::key_pool(const config::upstream_config& cfg, key_policy policy, std::shared_ptr<key_ledger> ledger)
    : cfg_(&cfg), policy_(policy), ledger_(ledger ? std::move(ledger) : std::make_shared<key_ledger>()) {
  std::lock_guard lk(ledger_->mu);
  for (auto& k : cfg.keys) {
    bool made = false;
    auto& e = ledger_->enter(k, jobs::key_fingerprint(k), &made);  // the config refuses duplicates
    slots_.push_back(&e);
    keys_.push_back(&e.key);
    if (made) fresh_.push_back(e.key.fp);
  }
}

bool key_pool::configured(std::string_view fp) const noexcept {
  for (auto* k : keys_)
    if (k->fp == fp) return true;
  return false;
}

key_pool::choice key_pool::candidates(key_clock::time_point now, bool local_caps) {
  std::lock_guard lk(ledger_->mu);
  choice out;
  auto n = keys_.size();
  if (n == 0) return out;
  auto cap = local_caps ? cfg_->max_jobs_per_key : 0;
  std::vector<std::size_t> usable;
  std::optional<std::size_t> probe;
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = *slots_[i];
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
        return slots_[a]->in_flight + slots_[a]->unfinished < slots_[b]->in_flight + slots_[b]->unfinished;
      });
      break;
    }
  }
  if (probe) {
    slots_[*probe]->state.probing = true;
    out.keys.push_back({keys_[*probe], true});
  }
  for (auto i : usable) out.keys.push_back({keys_[i], false});
  return out;
}

// A key's entry is found through the ledger, so a request that began on an older snapshot (or
// uses a retired key) updates the same numbers the current pool reads.

void key_pool::report(const key_ref& key, key_event e, key_clock::time_point now, std::optional<std::chrono::seconds> retry_after,
                      bool probe) {
  std::function<void(const key_ref&, const key_state&)> observer;
  key_state after;
  {
    std::lock_guard lk(ledger_->mu);
    auto s = ledger_->find(key.fp);
    if (!s) return;
    auto before = s->state;
    s->state = on_event(s->state, e, now, policy_, retry_after, probe);
    after = s->state;
    if (before.health != after.health || before.until != after.until || before.reason != after.reason)
      observer = ledger_->observer;
  }
  if (observer) observer(key, after);
}

void key_pool::restore(std::string_view fp, const key_state& st) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(fp)) {
    bool probing = s->state.probing;
    s->state = st;
    s->state.probing = probing;
  }
}

std::optional<key_state> key_pool::state(std::string_view fp) const {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(fp)) return s->state;
  return std::nullopt;
}

void key_pool::release_probe(const key_ref& key) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(key.fp)) s->state.probing = false;
}

void key_pool::request_started(const key_ref& key) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(key.fp)) ++s->in_flight;
}

void key_pool::request_finished(const key_ref& key) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(key.fp); s && s->in_flight > 0) --s->in_flight;
}

void key_pool::job_started(std::string_view fp) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(fp)) ++s->unfinished;
}

void key_pool::job_finished(std::string_view fp) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(fp); s && s->unfinished > 0) --s->unfinished;
}

void key_pool::set_unfinished(std::string_view fp, int n) {
  std::lock_guard lk(ledger_->mu);
  if (auto s = ledger_->find(fp)) s->unfinished = n;
}

const key_ref* key_pool::by_fingerprint(std::string_view fp) const noexcept {
  std::lock_guard lk(ledger_->mu);
  auto s = ledger_->find(fp);
  return s ? &s->key : nullptr;
}

std::vector<key_view> key_pool::view() const {
  std::lock_guard lk(ledger_->mu);
  std::vector<key_view> out;
  for (auto* s : slots_) {
    auto& k = s->key.secret;
    out.push_back({s->key.fp, k.size() >= 8 ? k.substr(k.size() - 4) : std::string("****"), s->state, s->in_flight,
                   s->unfinished});
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
