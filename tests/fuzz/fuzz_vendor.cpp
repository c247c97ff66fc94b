// Vendor answers through each dialect's readers (dialects/*, all ten): any status and body must become
// a job state or a precise error, never a crash. First byte: dialect and operation; second:
// the HTTP status (from a list of the ones vendors send); the rest: the body.
#include "videogate/dialects/dialect.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using videogate::config::dialect_kind;
  if (size < 2) return 0;
  static const std::unique_ptr<videogate::dialects::dialect> dialects[] = {
      videogate::dialects::make_dialect(dialect_kind::openai),
      videogate::dialects::make_dialect(dialect_kind::unified),
      videogate::dialects::make_dialect(dialect_kind::freesora),
      videogate::dialects::make_dialect(dialect_kind::fal),
      videogate::dialects::make_dialect(dialect_kind::replicate),
      videogate::dialects::make_dialect(dialect_kind::kie),
      videogate::dialects::make_dialect(dialect_kind::ark),
      videogate::dialects::make_dialect(dialect_kind::minimax),
      videogate::dialects::make_dialect(dialect_kind::dashscope),
      videogate::dialects::make_dialect(dialect_kind::kling),
  };
  static constexpr int statuses[] = {200, 201, 202, 204, 400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503, 504};
  auto& d = *dialects[(data[0] & 0x3f) % 10];
  int status = statuses[data[1] % 16];
  videogate::http::header_list headers{{"Content-Type", "application/json"}};
  if (data[1] & 0x10) headers.emplace_back("Retry-After", "7");
  std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  // 0x40: the task APIs' second readers (fal's result fetch, every dialect's callback body).
  if (data[0] & 0x40) {
    if (auto id = d.callback_job_id(body, "fal-ai/sora-2"); id && id->empty()) __builtin_trap();
    videogate::dialects::job_state done;
    done.result_ref = std::string(body.substr(0, 64));
    if (d.result_call("fal-ai/sora-2|req", done).path.empty() && d.result_call("x", done).absolute_url.empty()) __builtin_trap();
    auto f = d.read_follow_up(status, headers, body, "fal-ai/sora-2|req");
    if (f && f->status != "queued" && f->status != "in_progress" && f->status != "completed" && f->status != "failed")
      __builtin_trap();
    if (!f && f.error().message.empty()) __builtin_trap();
  }
  auto r = (data[0] & 0x80) ? d.read_status(status, headers, body) : d.read_create(status, headers, body);
  if (r) {
    auto& st = r->status;
    if (st != "queued" && st != "in_progress" && st != "completed" && st != "failed") __builtin_trap();
    if (r->progress < 0 || r->progress > 100) __builtin_trap();
    if (!(data[0] & 0x80) && r->upstream_id.empty()) __builtin_trap();  // a job we could never poll
  }
  if (!r && r.error().message.empty()) __builtin_trap();
  // A character answer (only the openai dialect has them): an id, or an error that says why.
  auto c = d.read_character(status, headers, body);
  if (c && c->upstream_id.empty()) __builtin_trap();
  if (!c && c.error().message.empty()) __builtin_trap();
  return 0;
}
