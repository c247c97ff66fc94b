#include "videogate/jobs/refresher.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/jobs/webhooks.hpp"
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

bool refresher::expire_if_due(const routing::router& rt, job_record& j, std::int64_t now_ms) {
  if (j.terminal()) return false;
  auto up = rt.find(j.upstream);
  auto ttl = up ? up->cfg().job_ttl : config::upstream_config{}.job_ttl;
  if (now_ms - j.created_at * 1000 <= ttl.count()) return false;
  // A job whose upstream left the config could not be asked: it is lost rather than slow.
  if (up)
    end_failed(rt, j, "expired",
               "The job did not finish within the upstream's job_ttl (" + std::to_string(ttl.count() / 1000) +
                   " s); videogate stopped waiting for it.");
  else
    end_failed(rt, j, "vendor_lost",
               "The upstream that made this job is no longer configured; the job was given up at its TTL.");
  j.updated_at_ms = now_ms;
  return true;
}

void refresher::end_failed(const routing::router& rt, job_record& j, std::string code, std::string message) {
  dialects::job_state s;
  s.upstream_id = j.upstream_id;
  s.status = std::string(video_status::failed);
  s.progress = j.progress;
  s.error_code = std::move(code);
  s.error_message = std::move(message);
  apply(rt, j, s);
}

bool refresher::note_not_found(const routing::router& rt, job_record& j, std::int64_t now_ms) {
  if (j.lost_polls == 0) j.lost_since_ms = now_ms;
  ++j.lost_polls;
  j.updated_at_ms = now_ms;
  auto up = rt.find(j.upstream);
  auto lost_after = up ? up->cfg().lost_after : config::upstream_config{}.lost_after;
  if (j.lost_polls < 3 || now_ms - j.lost_since_ms < lost_after.count()) return false;
  end_failed(rt, j, "vendor_lost",
             "The vendor no longer knows this job (" + std::to_string(j.lost_polls) +
                 " status calls in a row answered not found).");
  return true;
}

asio::awaitable<bool> refresher::save(const routing::router& rt, job_record j, bool was_terminal, bool insert) {
  std::vector<outbox_event> events;
  if (auto e = event_for(rt.cfg(), j, was_terminal, clock::now_ms())) events.push_back(std::move(*e));
  if (events.empty()) {
    if (!insert) co_return co_await store_->update(std::move(j));
    co_await store_->put(std::move(j));  // grouped with other puts
    co_return true;
  }
  bool written = true;
  if (insert)
    co_await store_->put(std::move(j), std::move(events));
  else
    written = co_await store_->update(std::move(j), std::move(events));
  if (written && events_written_) events_written_();
  co_return written;
}

asio::awaitable<result<job_record>> refresher::refresh(std::shared_ptr<routing::router> snap, const std::string& id,
                                                       const id_fields& f) {
  // No store hop for finished jobs, unless the store is shared: another replica may delete
  // the job, and only the store knows.
  if (!store_->shared())
    if (auto hot = terminal_->get(id)) {
      metrics_->job_read_from(observe::job_read::terminal_cache);
      co_return *hot;
    }
  auto cached = co_await store_->get(id);
  if (cached && cached->terminal() && cached->status != video_status::deleted) terminal_->put(*cached);
  if (cached && cached->status == video_status::deleted)
    co_return fail(errc::not_found, "No video found with id '" + id + "': it was deleted.", "video_id");
  auto up = snap->find(f.upstream);
  if (cached &&
      (cached->terminal() || !up || clock::now_ms() - cached->updated_at_ms < up->cfg().poll_interval.count())) {
    metrics_->job_read_from(observe::job_read::store);
    co_return *cached;
  }
  if (!up) co_return fail(errc::no_upstream_available, "The upstream that made this video is no longer configured.");
  metrics_->job_read_from(observe::job_read::poll);
  auto self = shared_from_this();
  // Named, not written inside the co_await expression: GCC 12 double-destroys capturing
  // lambdas that are temporaries of a co_await expression.
  coalescer<result<job_record>>::work work = [self, snap, id, f, up]() -> asio::awaitable<result<job_record>> {
    // Read again inside the coalesced call: a copy read before it may be stale (another call
    // may have finished the job meanwhile), and a finished job must be counted once.
    auto known = co_await self->store_->get(id);
    if (known && known->status == video_status::deleted)
      co_return fail(errc::not_found, "No video found with id '" + id + "': it was deleted.", "video_id");
    if (known && known->terminal()) co_return *known;
    if (known && self->expire_if_due(*snap, *known, clock::now_ms())) {
      co_await self->save(*snap, *known, false, false);
      self->terminal_->put(*known);
      co_return *known;
    }
    auto key = up->by_fingerprint(f.key_fp);
    if (!key)
      co_return fail(errc::no_upstream_available, "The upstream key that made this video is no longer configured.");
    if (known) {
      // One status call per job per poll_interval across a fleet (the lease), and at most
      // max_polls_per_second to the upstream; a poll that may not ask answers what we know.
      if (known->updated_at_ms > 0 && clock::now_ms() - known->updated_at_ms < up->cfg().poll_interval.count())
        co_return *known;  // another replica asked while we waited for the store
      if (self->store_->shared() &&
          !co_await self->store_->take_lease("poll:" + id, std::max<std::int64_t>(up->cfg().poll_interval.count(), 1)))
        co_return *known;
      if (auto cap = static_cast<int>(up->cfg().max_polls_per_second);
          cap > 0 && !co_await self->store_->take_poll_budget(up->cfg().name, cap))
        co_return *known;
    }
    auto r = co_await self->caller_->send(*up, "status", up->dialect().status(f.upstream_id), key);
    result<dialects::job_state> st =
        r ? up->dialect().read_status(r->status, r->headers, r->body) : result<dialects::job_state>(r.error());
    if (st && st->fetch_result) {
      // The run is over; the result call tells how (fal: the video, or the run's failure).
      auto fetch = up->dialect().result_call(f.upstream_id, *st);
      auto rr = co_await self->caller_->send(*up, "result", fetch, key);
      st = rr ? up->dialect().read_follow_up(rr->status, rr->headers, rr->body, f.upstream_id)
              : result<dialects::job_state>(rr.error());
    }
    if (!st && known) st = dialects::without_echo(st.error(), known->prompt);
    routing::report_result(*up, key, st);
    if (!st && st.error().code == errc::not_found && known) {
      // The vendor may have lost the job, or may just lag: answer the last known state until
      // 3 such answers over lost_after say it is gone (DESIGN §4).
      auto j = *known;
      self->note_not_found(*snap, j, clock::now_ms());
      if (!co_await self->save(*snap, j, false, false))
        co_return fail(errc::not_found, "No video found with id '" + id + "': it was deleted.", "video_id");
      if (j.terminal()) self->terminal_->put(j);
      co_return j;
    }
    if (!st) {
      // A vendor hiccup while we know the job: answer with what we know rather than fail
      // every poller; a vendor that does not know a job we never stored is a 404.
      if (known) co_return *known;
      co_return st.error();
    }
    job_record j;
    if (known) {
      j = *known;
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
    j.lost_polls = 0;
    j.lost_since_ms = 0;
    self->apply(*snap, j, *st, known.has_value());
    j.updated_at_ms = clock::now_ms();
    bool was_terminal = known && known->terminal();  // never, here: finished jobs returned above
    if (known) {
      // Only over a record that still exists: a delete that ran meanwhile stays a delete.
      if (!co_await self->save(*snap, j, was_terminal, false))
        co_return fail(errc::not_found, "No video found with id '" + id + "': it was deleted.", "video_id");
    } else {
      co_await self->save(*snap, j, false, true);
    }
    if (j.terminal()) self->terminal_->put(j);
    co_return j;
  };
  co_return co_await polls_->run(id, work);
}

}  // namespace videogate::jobs
