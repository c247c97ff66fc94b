#pragma once
/// @file Signed completion webhooks (DESIGN §9), the pure half: the event a finished job
/// makes, its Standard Webhooks signature, the retry schedule and the outbox state machine.
/// No sockets and no clock of their own: unit-tested with plain values. The sender
/// (webhook_sender.hpp) drives them.

#include "videogate/config/config.hpp"
#include "videogate/jobs/store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace videogate::jobs {

/// `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>` (Standard Webhooks).
std::string sign_webhook(std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body);

/// The `webhook-signature` header for `target`: the current secret's signature, then the
/// previous secret's during a rotation (space-separated, as the spec allows).
std::string webhook_signature(const config::webhook_target& target, std::string_view id, std::int64_t timestamp,
                              std::string_view body);

/// The id of the event of `type` for `video_id`: the same every time (one event per video and
/// type, ever), and no secret in it.
std::string event_id(std::string_view video_id, std::string_view type);

/// The event a job makes when it reaches a terminal state (`was_terminal` false, `j` terminal
/// now) and its client has a webhook in `cfg`; nothing otherwise. Due at `now_ms`.
std::optional<outbox_event> event_for(const config::config& cfg, const job_record& j, bool was_terminal,
                                      std::int64_t now_ms);

/// The delay before retry `n` (1 = the first retry): `schedule[n-1]` (the last entry repeats),
/// moved by `jitter` × 20 % (`jitter` in [-1, 1]).
std::chrono::milliseconds retry_delay(const std::vector<std::chrono::milliseconds>& schedule, int n, double jitter);

/// How one delivery attempt ended.
enum class attempt_outcome {
  delivered,  ///< 2xx
  gone,       ///< 410: the receiver asks us to stop
  retry,      ///< anything else: another status (3xx included: redirects are not followed), a timeout, a refused address
};

/// The outcome of an HTTP status.
attempt_outcome outcome_of_status(int status) noexcept;

/// The event after one attempt that ended with `o` at `now_ms` (`error`: what went wrong, for
/// the admin list). A retry past `retry_for` from the first attempt fails the event.
outbox_event after_attempt(outbox_event e, attempt_outcome o, std::string error, std::int64_t now_ms,
                           const config::webhooks_config& policy, double jitter);

/// The event queued again by an operator: pending, due now, with a fresh retry_for window.
outbox_event redelivered(outbox_event e, std::int64_t now_ms);

}  // namespace videogate::jobs
