#include "videogate/jobs/refresher.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/observe/metrics.hpp"

#include <spdlog/spdlog.h>

namespace asio = boost::asio;

namespace videogate::jobs {

refresher::refresher(std::shared_ptr<async_store> store, std::shared_ptr<routing::upstream_caller> caller,
                     std::shared_ptr<observe::metrics> metrics, std::unique_ptr<terminal_cache> terminal,
                     std::unique_ptr<coalescer<result<job_record>>> polls)
    : store_(std::move(store)),
      caller_(std::move(caller)),
      metrics_(std::move(metrics)),
      terminal_(std::move(terminal)),
      polls_(std::move(polls)) {}

void refresher::note_unknown_status(const std::string& upstream, const std::string& word) {
  std::lock_guard lk(unknown_mu_);
  if (unknown_words_.size() < 1000 && unknown_words_.insert(upstream + '\n' + word).second)
    spdlog::warn("upstream {} reported the unknown status '{}'; counting it as in_progress", upstream, word.substr(0, 64));
}

void refresher::apply(const routing::router& rt, job_record& j, const dialects::job_state& s, bool counted) {
  bool was_terminal = j.terminal();
  if (s.raw_status) note_unknown_status(j.upstream, *s.raw_status);
  j.status = s.status;
  j.progress = s.progress;
  if (s.seconds && !s.seconds->empty()) j.seconds = *s.seconds;
  if (s.completed_at) j.completed_at = s.completed_at;
  if (s.expires_at) j.expires_at = s.expires_at;
  if (s.content_url) j.content_url = s.content_url;
  if (j.status == video_status::completed) {
    j.progress = 100;
    if (!j.completed_at) j.completed_at = clock::now_s();
  }
  if (j.status == video_status::failed) {
    j.error_code = s.error_code.value_or("video_generation_failed");
    j.error_message =
        dialects::scrub(s.error_message.value_or("The upstream vendor reported the job as failed."), rt.secrets());
  }
  if (!was_terminal && j.terminal()) {
    metrics_->job_finished(j.upstream, j.status == video_status::completed);
    if (counted)
      if (auto up = rt.find(j.upstream)) up->keys().job_finished(j.key_fp);  // the ledger every snapshot shares
  }
}

asio::awaitable<result<job_record>> refresher::refresh(std::shared_ptr<routing::router> snap, const std::string& id,
                                                       const id_fields& f) {
  if (auto hot = terminal_->get(id)) co_return *hot;  // no store hop for finished jobs
  auto cached = co_await store_->get(id);
  if (cached && cached->terminal() && cached->status != video_status::deleted) terminal_->put(*cached);
  if (cached && cached->status == video_status::deleted)
    co_return fail(errc::not_found, "No video found with id '" + id + "': it was deleted.", "video_id");
  auto up = snap->find(f.upstream);
  if (cached &&
      (cached->terminal() || !up || clock::now_ms() - cached->updated_at_ms < up->cfg().poll_interval.count()))
    co_return *cached;
  if (!up) co_return fail(errc::no_upstream_available, "The upstream that made this video is no longer configured.");
  auto self = shared_from_this();
  // Named, not written inside the co_await expression: GCC 12 double-destroys capturing
  // lambdas that are temporaries of a co_await expression.
  coalescer<result<job_record>>::work work = [self, snap, id, f, up, cached]() -> asio::awaitable<result<job_record>> {
    auto key = up->by_fingerprint(f.key_fp);
    if (!key)
      co_return fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured.");
    auto r = co_await self->caller_->send(*up, "status", up->dialect().status(f.upstream_id), key);
    result<dialects::job_state> st =
        r ? up->dialect().read_status(r->status, r->headers, r->body) : result<dialects::job_state>(r.error());
    routing::report_result(*up, key, st);
    if (!st) {
      // A vendor hiccup while we know the job: answer with what we know rather than fail
      // every poller; a vendor that no longer knows the job is a 404.
      if (cached && st.error().code != errc::not_found) co_return *cached;
      co_return st.error();
    }
    job_record j;
    if (cached) {
      j = *cached;
    } else {
      // Made through another replica sharing our config: rebuild what the id tells.
      j.id = id;
      j.client = f.client;
      j.upstream = f.upstream;
      j.key_fp = f.key_fp;
      j.upstream_id = f.upstream_id;
      j.created_at = st->created_at.value_or(clock::now_s());
      j.seconds = st->seconds.value_or("");
    }
    self->apply(*snap, j, *st, cached.has_value());
    j.updated_at_ms = clock::now_ms();
    co_await self->store_->put(j);
    if (j.terminal()) self->terminal_->put(j);
    co_return j;
  };
  co_return co_await polls_->run(id, work);
}

}  // namespace videogate::jobs
