#pragma once
/// @file The Redis store's records (DESIGN §10): a job, an Idempotency-Key record, a webhook
/// event and a key state as the JSON each is kept as in Redis, and back. Private to jobs/; the
/// store itself is redis_store.cpp, its Lua scripts redis_scripts.

#include "videogate/jobs/store.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace videogate::jobs::redis {

/// The record as JSON (the job hash's `rec`); the seq lives beside it in the hash.
std::string job_json(const job_record& r);
/// A job from its `rec` JSON and its seq. Throws std::runtime_error on damaged JSON.
job_record job_from(std::string_view text, std::int64_t seq);

std::string idem_json(const idempotency_record& r);
idempotency_record idem_from(std::string_view text);

std::string event_json(const outbox_event& e);
outbox_event event_from(std::string_view text);

std::string key_state_json(const key_state_record& k);
key_state_record key_state_from(std::string_view text);

}  // namespace videogate::jobs::redis
