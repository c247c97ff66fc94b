// The Redis store (DESIGN §10): what several gateways share. hiredis (Debian 12: 0.14) does
// the protocol: its command formatter and reply reader over its own blocking sockets. The store
// interface is blocking by design (async_store runs it off the I/O threads), so each store
// thread takes a connection of its own from a small pool; a broken connection is dropped and
// the next call dials again, so the store recovers when Redis comes back without a restart.
//
// Keys (all under the configured prefix P):
//   P job:<id>               hash: rec (the record as JSON), seq, client, del, lk, kk
//   P seq                    counter: the next seq
//   P list:<client>          zset seq -> id, the client's jobs that are not tombstones
//   P unfinished             zset seq -> id, jobs not yet terminal (the job watcher's work)
//   P keyjobs:<up>|<fp>      set of unfinished job ids of one key (max_jobs_per_key)
//   P keyres:<up>|<fp>       zset token -> expiry ms: creates under way on that key
//   P idem:<client>|<key>    an Idempotency-Key record (JSON), expiring after its window
//   P idemjob:<client>|<key> the newest job made with that key
//   P keys:<up>              hash fp -> key state (JSON), the newest by updated_ms
//   P upstreams              set of upstream names with key states
//   P lease:<name>           a lease (poll, probe): the holder's token, with a TTL
//   P polls:<up>:<second>    status calls to an upstream in one second (max_polls_per_second)
//   P ids_secret             the id secret the fleet shares
//   P media:<token>          an image served to a URL-only vendor: "mime\nbytes", with its TTL
//   P evt:<id>               a webhook event (JSON)
//   P outbox:pending         zset id -> next attempt ms: what the senders deliver
//   P outbox:delivered|failed zset id -> last change ms
//   P outbox:changes         zset id -> last change ms, every event (the admin list)
// A decision that must be atomic (a job and its indexes, a capped slot, a claim) is one Lua
// script (redis_scripts); the records are kept as JSON (redis_records). Scripts name every key
// they touch except the job hashes a page reads (one Redis, not a cluster).

#include "redis_records.hpp"
#include "redis_scripts.hpp"

#include "videogate/core/clock.hpp"
#include "videogate/core/error.hpp"
#include "videogate/jobs/ids.hpp"
#include "videogate/jobs/store.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <type_traits>

namespace videogate::jobs {

namespace {

using namespace redis;  // the records as JSON (redis_records), the Lua scripts (redis_scripts)

// ---- connections --------------------------------------------------------------------------

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

struct context_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

timeval to_timeval(std::chrono::milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(d.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((d.count() % 1000) * 1000);
  return tv;
}

/// Redis errors that mean "not now" rather than "wrong": the store is unavailable.
bool transient_redis_error(std::string_view e) {
  for (auto w : {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOAUTH", "WRONGPASS"})
    if (e.starts_with(w)) return true;
  return false;
}

class redis_store final : public store {
 public:
  explicit redis_store(redis_options o) : o_(std::move(o)), token_(random_secret().substr(0, 24)) {}

  // ---- jobs ----

  using store::put;
  using store::update;

  void put(const job_record& r, const std::vector<outbox_event>& events) override { write_job(r, false, events); }

  void put_many(const std::vector<job_record>& rs) override {
    // Pipelined: every script call goes out before the first reply is read.
    if (rs.empty()) return;
    with_connection([&](redisContext* c) {
      std::vector<std::vector<std::string>> cmds;
      for (auto& r : rs) cmds.push_back(put_args(r, false, true, {}));
      for (auto& cmd : cmds) append(c, cmd);
      std::vector<reply_ptr> replies;
      bool noscript = false;
      for (std::size_t i = 0; i < cmds.size(); ++i) {
        auto rep = read(c);
        if (rep->type == REDIS_REPLY_ERROR && std::string_view(rep->str, rep->len).starts_with("NOSCRIPT")) noscript = true;
        else check(rep.get());
        replies.push_back(std::move(rep));
      }
      if (noscript)  // Redis restarted and forgot its scripts: once more with the text
        for (auto& r : rs) check(exec(c, put_args(r, false, false, {})).get());
      return 0;
    });
  }

  std::optional<job_record> get(const std::string& id) override {
    auto rep = command({"HMGET", job_key(id), "rec", "seq"});
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING)
      return std::nullopt;
    return job_from(text(rep->element[0]), to_int(rep->element[1]));
  }

  std::optional<job_record> find_idempotent(const std::string& client, const std::string& key,
                                            std::int64_t not_before) override {
    auto id = command({"GET", o_.prefix + "idemjob:" + client + "|" + key});
    if (id->type != REDIS_REPLY_STRING) return std::nullopt;
    auto j = get(text(id.get()));
    if (!j || j->client != client || j->status == "deleted" || j->created_at < not_before) return std::nullopt;
    return j;
  }

  list_page list(const list_query& q) override {
    const int limit = std::clamp(q.limit, 1, 100);
    std::string bound;
    if (q.after) {
      auto rep = command({"HMGET", job_key(*q.after), "seq", "client"});
      if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
          rep->element[1]->type != REDIS_REPLY_STRING || text(rep->element[1]) != q.client)
        return {};
      bound = text(rep->element[0]);
    }
    auto jobs = page(o_.prefix + "list:" + q.client, bound, limit + 1, q.descending);
    list_page out;
    out.has_more = jobs.size() > static_cast<std::size_t>(limit);
    if (out.has_more) jobs.resize(static_cast<std::size_t>(limit));
    out.data = std::move(jobs);
    return out;
  }

  bool update(const job_record& r, const std::vector<outbox_event>& events) override { return write_job(r, true, events); }

  // ---- images served to vendors ----

  void put_media(const std::string& token, const std::string& mime, const std::string& bytes,
                 std::int64_t expires_ms) override {
    auto ttl = std::max<std::int64_t>(expires_ms - clock::now_ms(), 1);
    check(command({"SET", o_.prefix + "media:" + token, mime + '\n' + bytes, "PX", std::to_string(ttl)}).get());
  }

  std::optional<std::pair<std::string, std::string>> get_media(const std::string& token, std::int64_t) override {
    auto rep = command({"GET", o_.prefix + "media:" + token});
    if (rep->type != REDIS_REPLY_STRING) return std::nullopt;
    auto v = text(rep.get());
    auto nl = v.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    return std::make_pair(v.substr(0, nl), v.substr(nl + 1));
  }

  // ---- the webhook outbox ----

  std::vector<outbox_event> outbox_due(std::int64_t now_ms, int limit) override {
    return events_of(eval(page_events, {o_.prefix + "outbox:pending"},
                          {o_.prefix + "evt:", "due", std::to_string(std::max(limit, 0)), std::to_string(now_ms)}));
  }

  std::optional<std::int64_t> outbox_next_due() override {
    auto rep = command({"ZRANGE", o_.prefix + "outbox:pending", "0", "0", "WITHSCORES"});
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2) return std::nullopt;
    return to_int(rep->element[1]);
  }

  bool outbox_save(const outbox_event& e) override {
    auto rep = eval(save_event,
                    {o_.prefix + "evt:" + e.id, o_.prefix + "outbox:pending", o_.prefix + "outbox:delivered",
                     o_.prefix + "outbox:failed", o_.prefix + "outbox:changes"},
                    {e.id, event_json(e), to_string(e.status), std::to_string(e.next_attempt_ms), std::to_string(e.updated_ms)});
    return to_int(rep.get()) == 1;
  }

  std::optional<outbox_event> outbox_get(const std::string& id) override {
    auto rep = command({"GET", o_.prefix + "evt:" + id});
    if (rep->type != REDIS_REPLY_STRING) return std::nullopt;
    return event_from(text(rep.get()));
  }

  std::vector<outbox_event> outbox_list(std::optional<outbox_event::state> status, int limit) override {
    auto set = o_.prefix + "outbox:" + (status ? to_string(*status) : "changes");
    if (limit <= 0) return {};
    auto events = events_of(eval(page_events, {set}, {o_.prefix + "evt:", "newest", std::to_string(limit), "0"}));
    // The pending set is ordered by due time: the list is by last change, newest first.
    std::stable_sort(events.begin(), events.end(), [](auto& a, auto& b) { return a.updated_ms > b.updated_ms; });
    return events;
  }

  std::int64_t outbox_count(outbox_event::state status) override {
    return to_int(command({"ZCARD", o_.prefix + "outbox:" + to_string(status)}).get());
  }

  bool erase(const std::string& id) override {
    auto rep = eval(erase_job, {job_key(id), o_.prefix + "unfinished"}, {id});
    return to_int(rep.get()) == 1;
  }

  std::vector<job_record> unfinished(int limit, std::int64_t after_seq) override {
    return page(o_.prefix + "unfinished", after_seq > 0 ? std::to_string(after_seq) : std::string(), limit, false);
  }

  // ---- idempotency ----

  std::optional<idempotency_record> claim_idempotency(const idempotency_record& r, std::int64_t not_before) override {
    auto rep = eval(claim_idem, {idem_key(r.client, r.key)}, {idem_json(r), std::to_string(not_before), idem_ttl(r)});
    if (rep->type != REDIS_REPLY_STRING) return std::nullopt;
    return idem_from(text(rep.get()));
  }

  void settle_idempotency(const idempotency_record& r) override {
    check(command({"SET", idem_key(r.client, r.key), idem_json(r), "EX", idem_ttl(r)}).get());
  }

  void release_idempotency(const std::string& client, const std::string& key) override {
    check(command({"DEL", idem_key(client, key)}).get());
  }

  // ---- key states ----

  void save_key_state(const key_state_record& k) override {
    auto rec = k;
    if (rec.updated_ms == 0) rec.updated_ms = clock::now_ms();
    eval(save_key, {o_.prefix + "keys:" + k.upstream, o_.prefix + "upstreams"},
         {k.key_fp, key_state_json(rec), std::to_string(rec.updated_ms), k.upstream});
  }

  std::vector<key_state_record> key_states() override {
    std::vector<key_state_record> out;
    auto ups = command({"SMEMBERS", o_.prefix + "upstreams"});
    if (ups->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i < ups->elements; ++i)
      for (auto& k : key_states_of(text(ups->element[i]))) out.push_back(std::move(k));
    return out;
  }

  std::vector<key_state_record> key_states_of(const std::string& upstream) override {
    std::vector<key_state_record> out;
    auto rep = command({"HVALS", o_.prefix + "keys:" + upstream});
    if (rep->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i < rep->elements; ++i) out.push_back(key_state_from(text(rep->element[i])));
    return out;
  }

  // ---- fleet decisions ----

  bool shared() const noexcept override { return true; }

  bool take_lease(const std::string& name, std::int64_t ttl_ms) override {
    auto rep = command({"SET", o_.prefix + "lease:" + name, token_, "NX", "PX", std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
    return rep->type == REDIS_REPLY_STATUS;
  }

  void drop_lease(const std::string& name) override { eval(drop_lease_script, {o_.prefix + "lease:" + name}, {token_}); }

  bool claim_slot(const std::string& upstream, const std::string& key_fp, int cap, const std::string& token,
                  std::int64_t ttl_ms) override {
    if (cap <= 0) return true;
    auto rep = eval(claim_slot_script, {keyjobs_key(upstream, key_fp), keyres_key(upstream, key_fp)},
                    {std::to_string(cap), token, std::to_string(clock::now_ms()), std::to_string(std::max<std::int64_t>(ttl_ms, 1))});
    return to_int(rep.get()) == 1;
  }

  void release_slot(const std::string& upstream, const std::string& key_fp, const std::string& token) override {
    check(command({"ZREM", keyres_key(upstream, key_fp), token}).get());
  }

  bool take_poll_budget(const std::string& upstream, int per_second) override {
    if (per_second <= 0) return true;
    auto key = o_.prefix + "polls:" + upstream + ":" + std::to_string(clock::now_ms() / 1000);
    return to_int(eval(poll_budget, {key}, {std::to_string(per_second)}).get()) == 1;
  }

  void ping() override { check(command({"PING"}).get()); }

  std::string shared_secret(const std::string& candidate) override {
    auto key = o_.prefix + "ids_secret";
    check(command({"SET", key, candidate, "NX"}).get());
    auto rep = command({"GET", key});
    if (rep->type != REDIS_REPLY_STRING) throw std::runtime_error("the Redis store lost the shared id secret");
    return text(rep.get());
  }

 private:
  std::string job_key(const std::string& id) const { return o_.prefix + "job:" + id; }
  std::string idem_key(const std::string& client, const std::string& key) const {
    return o_.prefix + "idem:" + client + "|" + key;
  }
  std::string keyjobs_key(const std::string& up, const std::string& fp) const { return o_.prefix + "keyjobs:" + up + "|" + fp; }
  std::string keyres_key(const std::string& up, const std::string& fp) const { return o_.prefix + "keyres:" + up + "|" + fp; }

  /// A record lives a day past its 24 h window, then Redis forgets it by itself.
  static std::string idem_ttl(const idempotency_record& r) {
    auto left = r.created_at + 25 * 3600 - clock::now_s();
    return std::to_string(std::clamp<std::int64_t>(left, 60, 25 * 3600));
  }

  std::vector<std::string> put_args(const job_record& r, bool update, bool by_sha,
                                    const std::vector<outbox_event>& events) const {
    const char* cls = r.status == "deleted" ? "deleted" : r.terminal() ? "terminal" : "open";
    bool idem = r.idempotency_key && !r.idempotency_key->empty();
    std::vector<std::string> args{by_sha ? "EVALSHA" : "EVAL",
                                  by_sha ? put_job.sha : std::string(put_job.text),
                                  std::to_string(8 + events.size()),
                                  job_key(r.id),
                                  o_.prefix + "seq",
                                  o_.prefix + "list:" + r.client,
                                  o_.prefix + "unfinished",
                                  keyjobs_key(r.upstream, r.key_fp),
                                  o_.prefix + "idemjob:" + r.client + "|" + (idem ? *r.idempotency_key : std::string()),
                                  o_.prefix + "outbox:pending",
                                  o_.prefix + "outbox:changes"};
    for (auto& e : events) args.push_back(o_.prefix + "evt:" + e.id);
    for (auto a : {r.id, job_json(r), std::string(update ? "update" : "put"), std::string(cls), r.client,
                   std::string(idem ? "1" : "0")})
      args.push_back(std::move(a));
    for (auto& e : events) {
      args.push_back(e.id);
      args.push_back(event_json(e));
      args.push_back(std::to_string(e.next_attempt_ms));
      args.push_back(std::to_string(e.updated_ms));
    }
    return args;
  }

  std::vector<outbox_event> events_of(const reply_ptr& rep) {
    std::vector<outbox_event> out;
    if (rep->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i < rep->elements; ++i) out.push_back(event_from(text(rep->element[i])));
    return out;
  }

  bool write_job(const job_record& r, bool update, const std::vector<outbox_event>& events) {
    auto args = put_args(r, update, true, events);
    auto rep = with_connection([&](redisContext* c) { return exec_script(c, args, put_job); });
    return to_int(rep.get()) != 0;
  }

  std::vector<job_record> page(const std::string& zset, const std::string& bound, int limit, bool desc) {
    auto rep = eval(page_jobs, {zset}, {o_.prefix + "job:", bound, std::to_string(limit), desc ? "desc" : "asc"});
    std::vector<job_record> out;
    if (rep->type != REDIS_REPLY_ARRAY) return out;
    for (std::size_t i = 0; i + 1 < rep->elements; i += 2)
      out.push_back(job_from(text(rep->element[i]), to_int(rep->element[i + 1])));
    return out;
  }

  // ---- plumbing ----

  static std::string text(const redisReply* r) { return std::string(r->str, r->len); }

  static std::int64_t to_int(const redisReply* r) {
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) {
      try {
        return std::stoll(std::string(r->str, r->len));
      } catch (...) {
        return 0;
      }
    }
    return 0;
  }

  [[noreturn]] void unavailable(const std::string& why) const {
    // The detail (address, the OS's reason) is for the operator's log, at most once a second;
    // the client hears only that the store is down.
    auto now = clock::now_ms();
    auto last = last_warn_ms_.load();
    if (now - last >= 1000 && last_warn_ms_.compare_exchange_strong(last, now))
      spdlog::warn("the Redis store at {}:{} is unavailable: {}", o_.host, o_.port, why);
    throw error_exception(fail(errc::store_unavailable,
                               "The gateway's job store is unavailable; retry later."));
  }

  /// Redis's own error answer: a bug of ours or a store in a state we cannot use.
  void check(const redisReply* r) const {
    if (r->type != REDIS_REPLY_ERROR) return;
    std::string e(r->str, r->len);
    if (transient_redis_error(e)) unavailable(e);
    throw std::runtime_error("the Redis store refused a command: " + e.substr(0, 200));
  }

  context_ptr dial() const {
    auto tv = to_timeval(o_.connect_timeout);
    context_ptr c(redisConnectWithTimeout(o_.host.c_str(), o_.port, tv));
    if (!c) unavailable("cannot allocate a connection");
    if (c->err) unavailable(c->errstr);
    auto ctv = to_timeval(o_.command_timeout);
    redisSetTimeout(c.get(), ctv);
    redisEnableKeepAlive(c.get());
    if (!o_.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!o_.username.empty()) auth.push_back(o_.username);
      auth.push_back(o_.password);
      auto rep = exec(c.get(), auth);
      if (rep->type == REDIS_REPLY_ERROR) unavailable("AUTH was refused (check the password in store.url)");
    }
    if (o_.db != 0) check(exec(c.get(), {"SELECT", std::to_string(o_.db)}).get());
    return c;
  }

  /// Runs `f(connection)` on a pooled connection; a connection that failed is dropped.
  template <class F>
  std::invoke_result_t<F&, redisContext*> with_connection(F&& f) {
    context_ptr c;
    {
      std::lock_guard lk(mu_);
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!c) c = dial();
    try {
      auto r = f(c.get());
      std::lock_guard lk(mu_);
      if (c->err == 0 && idle_.size() < static_cast<std::size_t>(std::max(o_.connections, 1))) idle_.push_back(std::move(c));
      return r;
    } catch (const broken&) {
      // Dropped, and every idle one with it: they lead to the same server that just failed us.
      {
        std::lock_guard lk(mu_);
        idle_.clear();
      }
      unavailable(c->errstr[0] ? c->errstr : "the connection broke");
    }
  }

  struct broken {};

  static void append(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK) throw broken{};
  }

  static reply_ptr read(redisContext* c) {
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK || !r) throw broken{};
    return reply_ptr(static_cast<redisReply*>(r));
  }

  static reply_ptr exec(redisContext* c, const std::vector<std::string>& args) {
    append(c, args);
    return read(c);
  }

  /// EVALSHA, or EVAL when Redis answers NOSCRIPT (a fresh or restarted server).
  reply_ptr exec_script(redisContext* c, std::vector<std::string> args, const script& s) const {
    auto rep = exec(c, args);
    if (rep->type == REDIS_REPLY_ERROR && std::string_view(rep->str, rep->len).starts_with("NOSCRIPT")) {
      args[0] = "EVAL";
      args[1] = s.text;
      rep = exec(c, args);
    }
    check(rep.get());
    return rep;
  }

  reply_ptr eval(const script& s, const std::vector<std::string>& keys, const std::vector<std::string>& argv) {
    std::vector<std::string> args{"EVALSHA", s.sha, std::to_string(keys.size())};
    args.insert(args.end(), keys.begin(), keys.end());
    args.insert(args.end(), argv.begin(), argv.end());
    return with_connection([&](redisContext* c) { return exec_script(c, args, s); });
  }

  reply_ptr command(const std::vector<std::string>& args) {
    return with_connection([&](redisContext* c) {
      auto rep = exec(c, args);
      check(rep.get());
      return rep;
    });
  }

  redis_options o_;
  std::string token_;  ///< this process's name on the leases it holds
  std::mutex mu_;
  std::vector<context_ptr> idle_;
  mutable std::atomic<std::int64_t> last_warn_ms_{0};
};

}  // namespace

std::unique_ptr<store> open_redis_store(const redis_options& opts) { return std::make_unique<redis_store>(opts); }

}  // namespace videogate::jobs
