#include "fleet.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/jobs/ids.hpp"

#include <algorithm>
#include <chrono>

namespace asio = boost::asio;

namespace videogate::api {

std::int64_t key_stamps::get(const std::string& upstream, const std::string& fp) const {
  std::lock_guard lk(mu_);
  auto it = at_.find(upstream + '|' + fp);
  return it == at_.end() ? 0 : it->second;
}

void key_stamps::set(const std::string& upstream, const std::string& fp, std::int64_t ms) {
  std::lock_guard lk(mu_);
  at_[upstream + '|' + fp] = ms;
}

bool key_stamps::advance(const std::string& upstream, const std::string& fp, std::int64_t ms) {
  std::lock_guard lk(mu_);
  auto& at = at_[upstream + '|' + fp];
  if (ms <= at) return false;
  at = ms;
  return true;
}

namespace {

// Key deadlines live on the steady clock; the store keeps wall-clock time, which means the
// same after a restart and on another machine.
std::int64_t to_wall_ms(routing::key_clock::time_point t) {
  if (t == routing::key_clock::time_point{}) return 0;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - routing::key_clock::now());
  return clock::now_ms() + left.count();
}
routing::key_clock::time_point from_wall_ms(std::int64_t ms) {
  if (ms == 0) return {};
  return routing::key_clock::now() + std::chrono::milliseconds(ms - clock::now_ms());
}

/// How long a claim may outlive a create attempt that never comes back (a replica killed
/// mid-call): the attempt's own deadlines, and a margin.
std::int64_t claim_ttl_ms(const config::upstream_config& c) {
  return (c.connect_timeout + c.timeout).count() + 5'000;
}

}  // namespace

jobs::key_state_record record_of(const std::string& upstream, const std::string& fp, const routing::key_state& s,
                                 std::int64_t updated_ms) {
  jobs::key_state_record r;
  r.upstream = upstream;
  r.key_fp = fp;
  r.health = static_cast<int>(s.health);
  r.until_ms = to_wall_ms(s.until);
  r.since_ms = to_wall_ms(s.since);
  r.reason = s.reason;
  r.step_s = s.step.count();
  r.rate_limit_streak = s.rate_limit_streak;
  r.transient_streak = s.transient_streak;
  r.updated_ms = updated_ms;
  return r;
}

routing::key_state state_of(const jobs::key_state_record& r) {
  routing::key_state s;
  s.health = static_cast<routing::key_health>(std::clamp(r.health, 0, 2));
  s.until = from_wall_ms(r.until_ms);
  s.since = from_wall_ms(r.since_ms);
  s.reason = r.reason;
  s.step = std::chrono::seconds(std::clamp<std::int64_t>(r.step_s, 0, 86'400));
  s.rate_limit_streak = r.rate_limit_streak;
  s.transient_streak = r.transient_streak;
  return s;
}

asio::awaitable<void> pull_key_states(gateway& g, routing::upstream& up) {
  if (!g.store().shared()) co_return;
  auto name = up.cfg().name;
  auto shared = co_await g.store().key_states_of(name);
  for (auto& r : shared) {
    if (r.health < 0 || r.health > 2) continue;
    if (g.stamps->advance(name, r.key_fp, r.updated_ms)) up.keys().restore(r.key_fp, state_of(r));
  }
}

asio::awaitable<void> push_key_state(gateway& g, routing::upstream& up, const routing::key_ref& key) {
  if (!g.store().shared()) co_return;
  auto name = up.cfg().name;
  auto at = g.stamps->get(name, key.fp);
  auto s = up.keys().state(key.fp);
  if (at == 0 || !s) co_return;  // never changed here: nothing of ours to share
  co_await g.store().save_key_state(record_of(name, key.fp, *s, at));
}

asio::awaitable<bool> claim_for_attempt(gateway& g, routing::upstream& up, const routing::key_pool::pick& pick,
                                        fleet_claim& claim) {
  claim = {};
  if (!g.store().shared()) co_return true;
  auto& c = up.cfg();
  claim.upstream = c.name;
  claim.fp = pick.key->fp;
  claim.token = jobs::random_secret().substr(0, 22);
  auto ttl = claim_ttl_ms(c);
  if (pick.probe) {
    if (!co_await g.store().take_lease("probe:" + c.name + "|" + pick.key->fp, ttl)) co_return false;
    claim.probe = true;
  }
  if (c.max_jobs_per_key != 0) {
    if (!co_await g.store().claim_slot(c.name, pick.key->fp, static_cast<int>(c.max_jobs_per_key), claim.token, ttl)) {
      if (claim.probe) co_await g.store().drop_lease("probe:" + c.name + "|" + pick.key->fp);
      claim.probe = false;
      co_return false;
    }
    claim.slot = true;
  }
  co_return true;
}

asio::awaitable<void> release_claim(gateway& g, const fleet_claim& claim, bool keep_slot) {
  if (claim.slot && !keep_slot) co_await g.store().release_slot(claim.upstream, claim.fp, claim.token);
  if (claim.probe) co_await g.store().drop_lease("probe:" + claim.upstream + "|" + claim.fp);
}

}  // namespace videogate::api
