#include "videogate/jobs/terminal_cache.hpp"

#include <deque>
#include <mutex>
#include <unordered_map>

namespace videogate::jobs {

namespace {

/// About what a record costs in memory: its strings plus the map's and the record's overhead.
std::size_t footprint(const job_record& j) {
  std::size_t n = 256 + 2 * j.id.size();  // the key is the id again
  for (auto* s : {&j.client, &j.upstream, &j.key_fp, &j.upstream_id, &j.model, &j.prompt, &j.size, &j.seconds, &j.status})
    n += s->capacity();
  for (auto* o : {&j.remixed_from_video_id, &j.error_code, &j.error_message, &j.content_url, &j.idempotency_key})
    if (*o) n += (*o)->capacity();
  return n;
}

/// Oldest first out: a bounded number of records and of bytes (prompts run to 32k characters,
/// so a count alone does not bound memory).
class memory_terminal_cache final : public terminal_cache {
 public:
  memory_terminal_cache(std::size_t max_jobs, std::size_t max_bytes) : max_jobs_(max_jobs), max_bytes_(max_bytes) {}

  std::optional<job_record> get(const std::string& id) override {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    return it->second.job;
  }

  void put(const job_record& j) override {
    std::lock_guard lk(mu_);
    auto size = footprint(j);
    if (size > max_bytes_) return;
    auto it = jobs_.find(j.id);
    if (it != jobs_.end()) {
      bytes_ -= it->second.bytes;
      it->second = {j, size};
    } else {
      jobs_.emplace(j.id, entry{j, size});
      order_.push_back(j.id);
    }
    bytes_ += size;
    while ((jobs_.size() > max_jobs_ || bytes_ > max_bytes_) && !order_.empty()) {
      auto old = jobs_.find(order_.front());
      order_.pop_front();
      if (old == jobs_.end()) continue;  // forgotten already
      bytes_ -= old->second.bytes;
      jobs_.erase(old);
    }
  }

  void forget(const std::string& id) override {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    bytes_ -= it->second.bytes;
    jobs_.erase(it);
    // Its id stays in `order_` until it comes up, then is skipped; compact when it piles up.
    if (order_.size() > 2 * jobs_.size() + 1024) {
      std::deque<std::string> kept;
      for (auto& k : order_)
        if (jobs_.contains(k)) kept.push_back(k);
      order_.swap(kept);
    }
  }

  std::size_t bytes() const {
    std::lock_guard lk(mu_);
    return bytes_;
  }

 private:
  struct entry {
    job_record job;
    std::size_t bytes = 0;
  };
  std::size_t max_jobs_;
  std::size_t max_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, entry> jobs_;
  std::deque<std::string> order_;  ///< insertion order (a re-put keeps its place)
  std::size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<terminal_cache> make_memory_terminal_cache(std::size_t max_jobs, std::size_t max_bytes) {
  return std::make_unique<memory_terminal_cache>(max_jobs, max_bytes);
}

}  // namespace videogate::jobs
