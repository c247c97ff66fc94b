#pragma once
/// @file The Redis store's Lua scripts (DESIGN §10): each decision that must be atomic (a job
/// and its indexes, a capped slot, a claim, a lease, the poll budget) is one script, sent by
/// its SHA-1 (EVALSHA) and by text when Redis does not know it yet. What each takes (KEYS,
/// ARGV) and returns is written beside its text in redis_scripts.cpp. Private to jobs/.

#include <string>

namespace videogate::jobs::redis {

/// A script's text and its SHA-1 (hex), computed once when the program starts.
struct script {
  const char* text;
  std::string sha;  // EVALSHA first, EVAL when Redis does not know it yet
  explicit script(const char* t);
};

extern const script put_job;
extern const script save_event;
extern const script page_events;
extern const script erase_job;
extern const script page_jobs;
extern const script claim_idem;
extern const script save_key;
extern const script claim_slot_script;
extern const script drop_lease_script;
extern const script poll_budget;

}  // namespace videogate::jobs::redis
