#pragma once
/// @file The keys of one upstream: their states (key_state.hpp), the strategy that orders them
/// for a new job, requests in flight (least_busy) and unfinished jobs (max_jobs_per_key).
/// Thread-safe; every call takes `now` so tests drive time by hand.
///
/// A key's state and counts live in the upstream's key_ledger, which outlives a config
/// snapshot: after a reload the new pool shares the old pool's ledger, so a key that stays keeps
/// its state, and requests still running on the old snapshot count against the same numbers.
/// A key that leaves the config stays in the ledger (retired): never picked for a new job, but
/// its unfinished jobs are still polled and downloaded with it.

#include "videogate/config/config.hpp"
#include "videogate/core/error.hpp"
#include "videogate/routing/key_state.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace videogate::routing {

/// One key of an upstream: the secret (never logged) and its fingerprint (safe anywhere).
struct key_ref {
  std::string secret;
  std::string fp;
};

/// A key's state for /admin/keys and metrics: never the secret.
struct key_view {
  std::string fp;
  std::string last4;
  key_state state;
  int in_flight = 0;
  int unfinished = 0;
};

/// Every key an upstream has had since start-up, with its state: shared by the key pools of
/// successive config snapshots. Entries are never removed, so pointers to them stay valid.
class key_ledger {
 public:
  struct entry {
    key_ref key;
    key_state state;
    int in_flight = 0;
    int unfinished = 0;
  };
  /// The entry for `secret`, made on first sight (`*made` tells). Caller holds `mu`.
  entry& enter(const std::string& secret, const std::string& fp, bool* made = nullptr);
  /// Caller holds `mu`.
  entry* find(std::string_view fp) noexcept;
  /// Every secret ever entered (to scrub vendor messages). Takes `mu`.
  std::vector<std::string> secrets() const;

  /// Told (outside `mu`, on the reporting thread) when a key's health, deadline or reason
  /// changes, so the state can be kept in the store (DESIGN §4). Set once; under `mu`.
  std::function<void(const key_ref&, const key_state&)> observer;

  /// The last failure a vendor call of this upstream ended in (for the status page).
  struct vendor_error {
    std::int64_t at_ms = 0;  ///< wall clock
    std::string key_fp;
    std::string code;        ///< the gateway's error code (errc name)
    std::string message;     ///< scrubbed of every key the ledger knows, at most 300 bytes
  };
  /// Records `e` as the last vendor error (scrubs and shortens it). Takes `mu`.
  void note_error(const key_ref& key, const error& e);
  /// Takes `mu`.
  std::optional<vendor_error> last_error() const;

  mutable std::mutex mu;

 private:
  std::map<std::string, std::unique_ptr<entry>, std::less<>> by_fp_;
  std::optional<vendor_error> last_error_;
};

class key_pool {
 public:
  /// `ledger`: the previous snapshot's ledger for this upstream, to carry key states over.
  key_pool(const config::upstream_config& cfg, key_policy policy = {}, std::shared_ptr<key_ledger> ledger = nullptr);

  /// Whether `fp` is a key of this pool's config (not a retired one).
  bool configured(std::string_view fp) const noexcept;
  /// Fingerprints of the keys this pool entered into its ledger first (new to the process).
  const std::vector<std::string>& fresh() const noexcept { return fresh_; }

  struct pick {
    const key_ref* key = nullptr;
    bool probe = false;  ///< the half-open request of a disabled key
  };
  /// Keys a new job may use now, in the order to try them: a due half-open probe first, then
  /// the usable keys by strategy, skipping keys at max_jobs_per_key.
  struct choice {
    std::vector<pick> keys;
    std::optional<key_clock::time_point> soonest;  ///< when a cooling key is usable again
    bool capped = false;                           ///< some usable key was skipped for its cap
  };
  /// `local_caps` false: max_jobs_per_key is not judged from this process's counts (a fleet
  /// claims capped slots in its shared store instead).
  choice candidates(key_clock::time_point now, bool local_caps = true);

  /// What a request with `key` taught us (any operation, including polls).
  /// `probe`: the answer is to the half-open request this pool handed out (pick::probe).
  void report(const key_ref& key, key_event e, key_clock::time_point now,
              std::optional<std::chrono::seconds> retry_after = std::nullopt, bool probe = false);
  /// A probe that was picked but not sent (the request ended before): let another probe go.
  void release_probe(const key_ref& key);
  /// Puts back a state kept from before a restart (DESIGN §4), or one another gateway of a
  /// fleet learnt (DESIGN §10). A probe this process has in flight stays marked.
  void restore(std::string_view fp, const key_state& s);
  /// The state of a key of the ledger, if it has one.
  std::optional<key_state> state(std::string_view fp) const;

  void request_started(const key_ref& key);
  void request_finished(const key_ref& key);
  void job_started(std::string_view fp);
  void job_finished(std::string_view fp);
  void set_unfinished(std::string_view fp, int n);

  /// A key of this pool, or a retired one of its ledger (for the jobs it made).
  const key_ref* by_fingerprint(std::string_view fp) const noexcept;
  /// The keys of this snapshot's config, in config order.
  const std::vector<const key_ref*>& keys() const noexcept { return keys_; }
  std::vector<key_view> view() const;
  const std::shared_ptr<key_ledger>& ledger() const noexcept { return ledger_; }

 private:
  const config::upstream_config* cfg_;
  key_policy policy_;
  std::shared_ptr<key_ledger> ledger_;
  std::vector<key_ledger::entry*> slots_;  ///< this config's keys, in order, inside the ledger
  std::vector<const key_ref*> keys_;
  std::vector<std::string> fresh_;
  std::size_t next_ = 0;
  std::mt19937 rng_{std::random_device{}()};
};

/// The key event an upstream failure stands for (a failure that is not about the key, such as
/// a content refusal, says the key works: success).
key_event event_for(errc e);

}  // namespace videogate::routing
