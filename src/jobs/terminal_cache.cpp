#include "videogate/jobs/terminal_cache.hpp"

#include <mutex>
#include <unordered_map>

namespace videogate::jobs {

namespace {

class memory_terminal_cache final : public terminal_cache {
 public:
  explicit memory_terminal_cache(std::size_t max_jobs) : max_(max_jobs) {}

  std::optional<job_record> get(const std::string& id) override {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    return it->second;
  }
  void put(const job_record& j) override {
    std::lock_guard lk(mu_);
    if (jobs_.size() >= max_ && !jobs_.contains(j.id)) jobs_.erase(jobs_.begin());
    jobs_.insert_or_assign(j.id, j);
  }
  void forget(const std::string& id) override {
    std::lock_guard lk(mu_);
    jobs_.erase(id);
  }

 private:
  std::size_t max_;
  std::mutex mu_;
  std::unordered_map<std::string, job_record> jobs_;
};

}  // namespace

std::unique_ptr<terminal_cache> make_memory_terminal_cache(std::size_t max_jobs) {
  return std::make_unique<memory_terminal_cache>(max_jobs);
}

}  // namespace videogate::jobs
