#pragma once
/// @file Finished jobs kept close: completed and failed jobs never change again, so their polls
/// are answered without the hop to the store (the store stays the source of truth). An
/// interface, so a fleet's shared backend can stand behind it; thread-safe.

#include "videogate/jobs/store.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace videogate::jobs {

class terminal_cache {
 public:
  virtual ~terminal_cache() = default;
  virtual std::optional<job_record> get(const std::string& id) = 0;
  /// Remembers a terminal job (callers pass only terminal, non-deleted jobs).
  virtual void put(const job_record& j) = 0;
  virtual void forget(const std::string& id) = 0;
};

/// In this process's memory: at most `max_jobs` records and about `max_bytes` of them (the
/// oldest go first; a record larger than the budget is not kept).
std::unique_ptr<terminal_cache> make_memory_terminal_cache(std::size_t max_jobs = 50'000,
                                                           std::size_t max_bytes = 16 * 1024 * 1024);

}  // namespace videogate::jobs
