#include "videogate/jobs/webhooks.hpp"

#include "videogate/core/base64.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace videogate::jobs {

std::string sign_webhook(std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body) {
  std::string signed_text;
  auto ts = std::to_string(timestamp);
  signed_text.reserve(id.size() + ts.size() + body.size() + 2);
  signed_text.append(id).append(".").append(ts).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(signed_text.data()),
       signed_text.size(), mac, &len);
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

std::string webhook_signature(const config::webhook_target& target, std::string_view id, std::int64_t timestamp,
                              std::string_view body) {
  std::string out;
  for (auto* secret : {&target.secret, &target.previous_secret}) {
    if (secret->empty()) continue;
    auto key = config::webhook_key(*secret);
    if (!key) continue;  // the config refuses these
    if (!out.empty()) out += ' ';
    out += sign_webhook(*key, id, timestamp, body);
  }
  return out;
}

std::string event_id(std::string_view video_id, std::string_view type) {
  std::string text(type);
  text += '\n';
  text.append(video_id);
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  std::string out = "evt_";
  char hex[3];
  for (int i = 0; i < 16; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", d[i]);
    out += hex;
  }
  return out;
}

std::optional<outbox_event> event_for(const config::config& cfg, const job_record& j, bool was_terminal,
                                      std::int64_t now_ms) {
  if (was_terminal || !j.terminal() || j.status == video_status::deleted) return std::nullopt;
  auto c = std::find_if(cfg.clients.begin(), cfg.clients.end(), [&](auto& cc) { return cc.name == j.client; });
  if (c == cfg.clients.end() || !c->webhook) return std::nullopt;
  outbox_event e;
  e.type = j.status == video_status::completed ? "video.completed" : "video.failed";
  e.id = event_id(j.id, e.type);
  e.video_id = j.id;
  e.client = j.client;
  e.created_at = now_ms / 1000;
  boost::json::object o;
  o["id"] = e.id;
  o["object"] = "event";
  o["created_at"] = e.created_at;
  o["type"] = e.type;
  o["data"] = boost::json::object{{"id", j.id}};
  e.body = boost::json::serialize(o);
  e.next_attempt_ms = now_ms;
  e.updated_ms = now_ms;
  return e;
}

std::chrono::milliseconds retry_delay(const std::vector<std::chrono::milliseconds>& schedule, int n, double jitter) {
  if (schedule.empty()) return std::chrono::milliseconds(5'000);
  auto i = static_cast<std::size_t>(std::clamp(n, 1, static_cast<int>(schedule.size())) - 1);
  auto base = static_cast<double>(schedule[i].count());
  auto moved = base * (1.0 + 0.2 * std::clamp(jitter, -1.0, 1.0));
  return std::chrono::milliseconds(static_cast<long long>(std::llround(std::max(moved, 0.0))));
}

attempt_outcome outcome_of_status(int status) noexcept {
  if (status >= 200 && status < 300) return attempt_outcome::delivered;
  if (status == 410) return attempt_outcome::gone;
  return attempt_outcome::retry;
}

outbox_event after_attempt(outbox_event e, attempt_outcome o, std::string error, std::int64_t now_ms,
                           const config::webhooks_config& policy, double jitter) {
  ++e.attempts;
  if (e.first_attempt_ms == 0) e.first_attempt_ms = now_ms;
  e.updated_ms = now_ms;
  e.last_error = std::move(error);
  switch (o) {
    case attempt_outcome::delivered:
      e.status = outbox_event::state::delivered;
      e.last_error.clear();
      e.next_attempt_ms = 0;
      break;
    case attempt_outcome::gone:
      e.status = outbox_event::state::failed;
      e.next_attempt_ms = 0;
      break;
    case attempt_outcome::retry: {
      auto next = now_ms + retry_delay(policy.schedule, e.attempts, jitter).count();
      if (next - e.first_attempt_ms > policy.retry_for.count()) {
        e.status = outbox_event::state::failed;
        e.last_error += e.last_error.empty() ? "" : "; ";
        e.last_error += "gave up: no delivery within retry_for";
        e.next_attempt_ms = 0;
      } else {
        e.status = outbox_event::state::pending;
        e.next_attempt_ms = next;
      }
      break;
    }
  }
  return e;
}

outbox_event redelivered(outbox_event e, std::int64_t now_ms) {
  e.status = outbox_event::state::pending;
  e.next_attempt_ms = now_ms;
  e.first_attempt_ms = 0;  // a new retry_for window from its next attempt
  e.updated_ms = now_ms;
  return e;
}

}  // namespace videogate::jobs
