#include "jobs.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace videogate::mock_vendor {
namespace {

/// Completed videos stay downloadable this long (the value only feeds `expires_at`).
constexpr std::int64_t retention_seconds = 24 * 3600;

std::vector<const job*> sorted(std::vector<const job*> v)
{
  std::sort(v.begin(), v.end(), [](const job* a, const job* b) { return a->seq < b->seq; });
  return v;
}

boost::json::value opt(const std::optional<std::int64_t>& v)
{
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

}  // namespace

std::string_view to_string(job_status s) noexcept
{
  switch (s) {
  case job_status::queued: return "queued";
  case job_status::in_progress: return "in_progress";
  case job_status::completed: return "completed";
  case job_status::failed: return "failed";
  }
  return "queued";
}

boost::json::object to_json(const job& j)
{
  boost::json::object o;
  o["id"] = j.id;
  o["key"] = j.key;
  o["dialect"] = j.dialect;
  o["model"] = j.model;
  o["prompt"] = j.prompt;
  o["size"] = j.size;
  o["seconds"] = j.seconds;
  o["remixed_from"] = j.remixed_from ? boost::json::value(*j.remixed_from) : boost::json::value(nullptr);
  o["request"] = j.request;
  o["status"] = to_string(j.status);
  o["progress"] = j.progress;
  o["polls"] = j.polls;
  o["created_at"] = j.created_at;
  o["status_changed_ms"] = j.status_changed_ms;
  o["seen_finished_ms"] = j.seen_finished_ms ? boost::json::value(j.seen_finished_ms) : boost::json::value(nullptr);
  o["media_name"] = j.media_name.empty() ? boost::json::value(nullptr) : boost::json::value(j.media_name);
  o["completed_at"] = opt(j.completed_at);
  o["expires_at"] = opt(j.expires_at);
  o["fail_at_end"] = j.fail_at_end;
  o["request_seq"] = j.request_seq;
  o["idempotency_key"] = j.idempotency_key ? boost::json::value(*j.idempotency_key) : boost::json::value(nullptr);
  o["callback_url"] = j.callback_url.empty() ? boost::json::value(nullptr) : boost::json::value(j.callback_url);
  if (j.status == job_status::failed)
    o["error"] = {{"code", j.error_code}, {"message", j.error_message}};
  else
    o["error"] = nullptr;
  return o;
}

boost::json::object to_json(const character& c)
{
  boost::json::object o;
  o["id"] = c.id;
  o["name"] = c.name;
  o["key"] = c.key;
  o["created_at"] = c.created_at;
  o["video_size"] = c.video_size;
  o["request_seq"] = c.request_seq;
  return o;
}

std::int64_t unix_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::int64_t unix_now_ms()
{
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string job_store::new_id(std::string_view prefix)
{
  const std::uint64_t a = rng_();
  const std::uint64_t b = rng_();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(0x4000 | (a & 0x0fff)),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return std::string(prefix) + buf;
}

job& job_store::create(job j)
{
  j.seq = next_seq_++;
  j.created_at = unix_now();
  j.status_changed_ms = unix_now_ms();
  j.status = job_status::queued;
  j.progress = 0;
  j.polls = 0;
  auto id = j.id;
  newest_id_ = id;
  if (!j.media_name.empty())
    media_index_.insert_or_assign(j.media_name, id);
  return jobs_.insert_or_assign(std::move(id), std::move(j)).first->second;
}

job* job_store::find(std::string_view id, std::string_view key, std::string_view dialect)
{
  auto* j = find_any(id);
  if (j == nullptr || j->key != key || j->dialect != dialect)
    return nullptr;
  return j;
}

job* job_store::find_any(std::string_view id)
{
  auto it = jobs_.find(std::string(id));
  return it == jobs_.end() ? nullptr : &it->second;
}

void job_store::poll(job& j)
{
  ++j.polls;  // every read, also after the end: tests see a job that is still being read
  if (j.status == job_status::completed || j.status == job_status::failed) {
    if (j.seen_finished_ms == 0)
      j.seen_finished_ms = unix_now_ms();
    return;
  }
  if (j.polls >= complete_after_polls_) {
    if (j.fail_at_end)
      fail(j, j.fail_code.empty() ? "generation_failed" : j.fail_code,
           j.fail_message.empty() ? "The video could not be generated" : j.fail_message);
    else
      complete(j);
    j.seen_finished_ms = j.status_changed_ms;
    j.finished_by_poll = true;  // the reader learnt of the end as it happened: no lag to count
    return;
  }
  if (j.status != job_status::in_progress)
    j.status_changed_ms = unix_now_ms();
  j.status = job_status::in_progress;
  j.progress = std::clamp(j.polls * 100 / std::max(complete_after_polls_, 1), 1, 99);
}

void job_store::complete(job& j)
{
  const bool changed = j.status != job_status::completed;
  j.status = job_status::completed;
  j.status_changed_ms = unix_now_ms();
  j.progress = 100;
  j.completed_at = unix_now();
  j.expires_at = *j.completed_at + retention_seconds;
  j.error_code.clear();
  j.error_message.clear();
  if (changed && on_finish)
    on_finish(j);
}

void job_store::fail(job& j, std::string code, std::string message)
{
  const bool changed = j.status != job_status::failed;
  j.status = job_status::failed;
  j.status_changed_ms = unix_now_ms();
  j.error_code = std::move(code);
  j.error_message = std::move(message);
  j.completed_at.reset();
  j.expires_at.reset();
  if (changed && on_finish)
    on_finish(j);
}

bool job_store::erase(std::string_view id)
{
  auto it = jobs_.find(std::string(id));
  if (it == jobs_.end())
    return false;
  if (!it->second.media_name.empty())
    media_index_.erase(it->second.media_name);
  jobs_.erase(it);
  return true;
}

const job* job_store::find_media(std::string_view name) const
{
  auto it = media_index_.find(std::string(name));
  if (it == media_index_.end())
    return nullptr;
  auto j = jobs_.find(it->second);
  return j == jobs_.end() ? nullptr : &j->second;
}

std::vector<const job*> job_store::list(std::string_view key, std::string_view dialect) const
{
  std::vector<const job*> out;
  for (auto& [id, j] : jobs_)
    if (j.key == key && j.dialect == dialect)
      out.push_back(&j);
  return sorted(std::move(out));
}

boost::json::array job_store::to_json() const
{
  std::vector<const job*> all;
  for (auto& [id, j] : jobs_)
    all.push_back(&j);
  boost::json::array out;
  for (const job* j : sorted(std::move(all)))
    out.push_back(mock_vendor::to_json(*j));
  return out;
}

boost::json::object job_store::stats() const
{
  std::vector<std::int64_t> lags;
  std::size_t unfinished = 0;
  for (auto& [id, j] : jobs_) {
    if (j.status != job_status::completed && j.status != job_status::failed)
      ++unfinished;
    else if (j.seen_finished_ms != 0 && !j.finished_by_poll)
      lags.push_back(j.seen_finished_ms - j.status_changed_ms);
  }
  std::sort(lags.begin(), lags.end());
  auto at = [&](double q) -> boost::json::value {
    if (lags.empty())
      return nullptr;
    return lags[std::min(lags.size() - 1, static_cast<std::size_t>(q * static_cast<double>(lags.size())))];
  };
  boost::json::object lag{{"n", lags.size()}, {"p50", at(0.50)}, {"p99", at(0.99)}, {"max", at(1.0)}};
  return {{"jobs", jobs_.size()}, {"unfinished", unfinished}, {"lag_ms", std::move(lag)}};
}

void job_store::clear()
{
  jobs_.clear();
  media_index_.clear();
}

}  // namespace videogate::mock_vendor
