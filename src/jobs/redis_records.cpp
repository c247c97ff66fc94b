#include "redis_records.hpp"

#include <boost/json.hpp>

#include <stdexcept>

namespace json = boost::json;

namespace videogate::jobs::redis {

namespace {

template <class T>
void put_opt(json::object& o, const char* k, const std::optional<T>& v) {
  if (v) o[k] = *v;
}

}  // namespace

std::string job_json(const job_record& r) {
  json::object o;
  o["id"] = r.id;
  o["client"] = r.client;
  o["upstream"] = r.upstream;
  o["key_fp"] = r.key_fp;
  o["upstream_id"] = r.upstream_id;
  o["model"] = r.model;
  o["prompt"] = r.prompt;
  o["size"] = r.size;
  o["seconds"] = r.seconds;
  o["status"] = r.status;
  o["progress"] = r.progress;
  o["created_at"] = r.created_at;
  put_opt(o, "completed_at", r.completed_at);
  put_opt(o, "expires_at", r.expires_at);
  put_opt(o, "remixed_from_video_id", r.remixed_from_video_id);
  put_opt(o, "error_code", r.error_code);
  put_opt(o, "error_message", r.error_message);
  put_opt(o, "content_url", r.content_url);
  put_opt(o, "idempotency_key", r.idempotency_key);
  o["updated_at_ms"] = r.updated_at_ms;
  o["lost_polls"] = r.lost_polls;
  o["lost_since_ms"] = r.lost_since_ms;
  return json::serialize(o);
}

namespace {

std::string str(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::string> opt_str(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::int64_t num(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return 0;
}

std::optional<std::int64_t> opt_num(const json::object& o, const char* k) {
  if (!o.if_contains(k)) return std::nullopt;
  return num(o, k);
}

json::object parse_object(std::string_view text, const char* what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) throw std::runtime_error(std::string("the Redis store holds a damaged ") + what);
  return std::move(v.get_object());
}

}  // namespace

job_record job_from(std::string_view text, std::int64_t seq) {
  auto o = parse_object(text, "job record");
  job_record r;
  r.id = str(o, "id");
  r.client = str(o, "client");
  r.upstream = str(o, "upstream");
  r.key_fp = str(o, "key_fp");
  r.upstream_id = str(o, "upstream_id");
  r.model = str(o, "model");
  r.prompt = str(o, "prompt");
  r.size = str(o, "size");
  r.seconds = str(o, "seconds");
  r.status = str(o, "status");
  r.progress = static_cast<int>(num(o, "progress"));
  r.created_at = num(o, "created_at");
  r.completed_at = opt_num(o, "completed_at");
  r.expires_at = opt_num(o, "expires_at");
  r.remixed_from_video_id = opt_str(o, "remixed_from_video_id");
  r.error_code = opt_str(o, "error_code");
  r.error_message = opt_str(o, "error_message");
  r.content_url = opt_str(o, "content_url");
  r.idempotency_key = opt_str(o, "idempotency_key");
  r.updated_at_ms = num(o, "updated_at_ms");
  r.lost_polls = static_cast<int>(num(o, "lost_polls"));
  r.lost_since_ms = num(o, "lost_since_ms");
  r.seq = seq;
  return r;
}

namespace {

const char* idem_state(idempotency_record::state s) {
  switch (s) {
    case idempotency_record::state::pending: return "pending";
    case idempotency_record::state::unknown: return "unknown";
    case idempotency_record::state::done: return "done";
  }
  return "pending";
}

}  // namespace

std::string idem_json(const idempotency_record& r) {
  json::object o;
  o["client"] = r.client;
  o["key"] = r.key;
  o["fingerprint"] = r.fingerprint;
  o["status"] = idem_state(r.status);
  o["video_id"] = r.video_id;
  o["message"] = r.message;
  o["created_at"] = r.created_at;
  return json::serialize(o);
}

idempotency_record idem_from(std::string_view text) {
  auto o = parse_object(text, "idempotency record");
  idempotency_record r;
  r.client = str(o, "client");
  r.key = str(o, "key");
  r.fingerprint = str(o, "fingerprint");
  auto s = str(o, "status");
  r.status = s == "done" ? idempotency_record::state::done
             : s == "unknown" ? idempotency_record::state::unknown
                              : idempotency_record::state::pending;
  r.video_id = str(o, "video_id");
  r.message = str(o, "message");
  r.created_at = num(o, "created_at");
  return r;
}

std::string event_json(const outbox_event& e) {
  json::object o;
  o["id"] = e.id;
  o["type"] = e.type;
  o["video_id"] = e.video_id;
  o["client"] = e.client;
  o["body"] = e.body;
  o["created_at"] = e.created_at;
  o["status"] = to_string(e.status);
  o["attempts"] = e.attempts;
  o["last_error"] = e.last_error;
  o["next_attempt_ms"] = e.next_attempt_ms;
  o["first_attempt_ms"] = e.first_attempt_ms;
  o["updated_ms"] = e.updated_ms;
  return json::serialize(o);
}

outbox_event event_from(std::string_view text) {
  auto o = parse_object(text, "webhook event");
  outbox_event e;
  e.id = str(o, "id");
  e.type = str(o, "type");
  e.video_id = str(o, "video_id");
  e.client = str(o, "client");
  e.body = str(o, "body");
  e.created_at = num(o, "created_at");
  e.status = outbox_state_from(str(o, "status")).value_or(outbox_event::state::pending);
  e.attempts = static_cast<int>(num(o, "attempts"));
  e.last_error = str(o, "last_error");
  e.next_attempt_ms = num(o, "next_attempt_ms");
  e.first_attempt_ms = num(o, "first_attempt_ms");
  e.updated_ms = num(o, "updated_ms");
  return e;
}

std::string key_state_json(const key_state_record& k) {
  json::object o;
  o["upstream"] = k.upstream;
  o["key_fp"] = k.key_fp;
  o["health"] = k.health;
  o["until_ms"] = k.until_ms;
  o["since_ms"] = k.since_ms;
  o["reason"] = k.reason;
  o["step_s"] = k.step_s;
  o["rate_limit_streak"] = k.rate_limit_streak;
  o["transient_streak"] = k.transient_streak;
  o["updated_ms"] = k.updated_ms;
  return json::serialize(o);
}

key_state_record key_state_from(std::string_view text) {
  auto o = parse_object(text, "key state");
  key_state_record k;
  k.upstream = str(o, "upstream");
  k.key_fp = str(o, "key_fp");
  k.health = static_cast<int>(num(o, "health"));
  k.until_ms = num(o, "until_ms");
  k.since_ms = num(o, "since_ms");
  k.reason = str(o, "reason");
  k.step_s = num(o, "step_s");
  k.rate_limit_streak = static_cast<int>(num(o, "rate_limit_streak"));
  k.transient_streak = static_cast<int>(num(o, "transient_streak"));
  k.updated_ms = num(o, "updated_ms");
  return k;
}

}  // namespace videogate::jobs::redis
