#pragma once
/// @file What a gateway shares with the others of its fleet through a shared store
/// (DESIGN §10): key states (a 429 seen by one replica cools the key for all), capped slots
/// (max_jobs_per_key across the fleet) and the one half-open probe per key. With a store of
/// one process these calls cost nothing: the store takes every slot and lease itself.

#include "context.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace videogate::api {

/// When each key's state last changed as far as this process knows (unix ms): a shared state
/// is taken only when newer.
class key_stamps {
 public:
  std::int64_t get(const std::string& upstream, const std::string& fp) const;
  void set(const std::string& upstream, const std::string& fp, std::int64_t ms);
  /// Sets `ms` if it is newer than the stamp kept; returns whether it did.
  bool advance(const std::string& upstream, const std::string& fp, std::int64_t ms);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::int64_t> at_;
};

/// A key state as the store keeps it (wall-clock times), and back.
jobs::key_state_record record_of(const std::string& upstream, const std::string& fp, const routing::key_state& s,
                                 std::int64_t updated_ms);
routing::key_state state_of(const jobs::key_state_record& r);

/// Takes the key states other gateways saved for `up` that are newer than ours.
boost::asio::awaitable<void> pull_key_states(gateway& g, routing::upstream& up);
/// Saves `key`'s state now and waits for it (after a create attempt changed it): the next
/// request on any replica sees it.
boost::asio::awaitable<void> push_key_state(gateway& g, routing::upstream& up, const routing::key_ref& key);

/// A capped slot (or a probe lease) held for one create attempt; given back when the attempt
/// made nothing. A slot of an attempt whose outcome is unknown is kept until it expires.
struct fleet_claim {
  std::string upstream, fp, token;
  bool slot = false;   ///< a max_jobs_per_key reservation is held
  bool probe = false;  ///< the fleet's probe lease of the key is held
};

/// Claims what an attempt with `pick` needs fleet-wide: a slot under the upstream's
/// max_jobs_per_key, and the probe lease when it is a half-open probe. False: another replica
/// holds it (the key is at its cap, or another probe is out); nothing is held then.
boost::asio::awaitable<bool> claim_for_attempt(gateway& g, routing::upstream& up, const routing::key_pool::pick& pick,
                                               fleet_claim& claim);
/// Gives back what `claim` holds (`keep_slot`: the vendor may have made a job; the
/// reservation then counts until it expires).
boost::asio::awaitable<void> release_claim(gateway& g, const fleet_claim& claim, bool keep_slot);

}  // namespace videogate::api
