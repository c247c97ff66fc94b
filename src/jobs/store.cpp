#include "videogate/jobs/store.hpp"

#include "videogate/core/clock.hpp"


namespace videogate::jobs {

const char* to_string(outbox_event::state s) noexcept {
  switch (s) {
    case outbox_event::state::pending: return "pending";
    case outbox_event::state::delivered: return "delivered";
    case outbox_event::state::failed: return "failed";
  }
  return "pending";
}

std::optional<outbox_event::state> outbox_state_from(std::string_view s) noexcept {
  if (s == "pending") return outbox_event::state::pending;
  if (s == "delivered") return outbox_event::state::delivered;
  if (s == "failed") return outbox_event::state::failed;
  return std::nullopt;
}

// A store of one process: the process decides alone (its own locks, its own counts).

std::vector<key_state_record> store::key_states_of(const std::string& upstream) {
  std::vector<key_state_record> out;
  for (auto& k : key_states())
    if (k.upstream == upstream) out.push_back(std::move(k));
  return out;
}

bool store::take_lease(const std::string&, std::int64_t) { return true; }
void store::drop_lease(const std::string&) {}
bool store::claim_slot(const std::string&, const std::string&, int, const std::string&, std::int64_t) { return true; }
void store::release_slot(const std::string&, const std::string&, const std::string&) {}

bool store::take_poll_budget(const std::string& upstream, int per_second) {
  if (per_second <= 0) return true;
  auto second = clock::now_ms() / 1000;
  std::lock_guard lk(budget_mu_);
  auto& [at, calls] = budget_[upstream];
  if (at != second) {
    at = second;
    calls = 0;
  }
  if (calls >= per_second) return false;
  ++calls;
  return true;
}

}  // namespace videogate::jobs
