#include "videogate/jobs/store.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>

namespace videogate::jobs {

namespace {

/// The SQLite store's semantics without a file: for tests and `store.kind: memory`.
class memory_store final : public store {
 public:
  using store::put;
  using store::update;

  void put(const job_record& r, const std::vector<outbox_event>& events) override {
    std::lock_guard lock(mutex_);
    add_events(events);
    auto it = by_id_.find(r.id);
    if (it != by_id_.end()) {
      const std::int64_t seq = it->second.seq;
      it->second = r;
      it->second.seq = seq;
      return;
    }
    job_record copy = r;
    // max + 1, as the SQLite store does.
    copy.seq = by_seq_.empty() ? 1 : by_seq_.rbegin()->first + 1;
    by_seq_.emplace(copy.seq, copy.id);
    by_id_.emplace(copy.id, std::move(copy));
  }

  std::optional<job_record> get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    return it->second;
  }

  std::optional<job_record> find_idempotent(const std::string& client, const std::string& key,
                                            std::int64_t not_before) override {
    std::lock_guard lock(mutex_);
    for (auto it = by_seq_.rbegin(); it != by_seq_.rend(); ++it) {
      const job_record& r = by_id_.at(it->second);
      if (r.client == client && r.idempotency_key == key && r.created_at >= not_before && r.status != "deleted") return r;
    }
    return std::nullopt;
  }

  list_page list(const list_query& q) override {
    const auto limit = static_cast<std::size_t>(std::clamp(q.limit, 1, 100));
    std::lock_guard lock(mutex_);
    std::optional<std::int64_t> bound;
    if (q.after) {
      auto it = by_id_.find(*q.after);
      if (it == by_id_.end() || it->second.client != q.client) return {};
      bound = it->second.seq;
    }
    list_page page;
    const auto take = [&](const auto& entry) {
      const job_record& r = by_id_.at(entry.second);
      if (r.client != q.client || r.status == "deleted") return true;
      if (page.data.size() == limit) {
        page.has_more = true;
        return false;
      }
      page.data.push_back(r);
      return true;
    };
    if (q.descending) {
      auto it = bound ? std::make_reverse_iterator(by_seq_.lower_bound(*bound)) : by_seq_.rbegin();
      for (; it != by_seq_.rend() && take(*it); ++it) {
      }
    } else {
      auto it = bound ? by_seq_.upper_bound(*bound) : by_seq_.begin();
      for (; it != by_seq_.end() && take(*it); ++it) {
      }
    }
    return page;
  }

  bool erase(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return false;
    by_seq_.erase(it->second.seq);
    by_id_.erase(it);
    return true;
  }

  bool update(const job_record& r, const std::vector<outbox_event>& events) override {
    std::lock_guard lock(mutex_);
    auto it = by_id_.find(r.id);
    if (it == by_id_.end() || it->second.status == video_status::deleted) return false;
    const std::int64_t seq = it->second.seq;
    it->second = r;
    it->second.seq = seq;
    add_events(events);
    return true;
  }

  void put_media(const std::string& token, const std::string& mime, const std::string& bytes,
                 std::int64_t expires_ms) override {
    std::lock_guard lock(mutex_);
    auto now = expires_ms - 1;
    std::erase_if(media_, [&](auto& kv) { return kv.second.expires_ms < now - 48LL * 3'600'000; });
    media_[token] = media{mime, bytes, expires_ms};
  }

  std::optional<std::pair<std::string, std::string>> get_media(const std::string& token, std::int64_t now_ms) override {
    std::lock_guard lock(mutex_);
    auto it = media_.find(token);
    if (it == media_.end() || it->second.expires_ms <= now_ms) return std::nullopt;
    return std::make_pair(it->second.mime, it->second.bytes);
  }

  std::vector<outbox_event> outbox_due(std::int64_t now_ms, int limit) override {
    std::lock_guard lock(mutex_);
    std::vector<outbox_event> out;
    for (auto& [id, e] : events_)
      if (e.status == outbox_event::state::pending && e.next_attempt_ms <= now_ms) out.push_back(e);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.next_attempt_ms < b.next_attempt_ms; });
    if (out.size() > static_cast<std::size_t>(std::max(limit, 0))) out.resize(static_cast<std::size_t>(std::max(limit, 0)));
    return out;
  }

  std::optional<std::int64_t> outbox_next_due() override {
    std::lock_guard lock(mutex_);
    std::optional<std::int64_t> soonest;
    for (auto& [id, e] : events_)
      if (e.status == outbox_event::state::pending && (!soonest || e.next_attempt_ms < *soonest)) soonest = e.next_attempt_ms;
    return soonest;
  }

  bool outbox_save(const outbox_event& e) override {
    std::lock_guard lock(mutex_);
    auto it = events_.find(e.id);
    if (it == events_.end()) return false;
    it->second = e;
    return true;
  }

  std::optional<outbox_event> outbox_get(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = events_.find(id);
    if (it == events_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<outbox_event> outbox_list(std::optional<outbox_event::state> status, int limit) override {
    std::lock_guard lock(mutex_);
    std::vector<outbox_event> out;
    for (auto& [id, e] : events_)
      if (!status || e.status == *status) out.push_back(e);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.updated_ms > b.updated_ms; });
    if (out.size() > static_cast<std::size_t>(std::max(limit, 0))) out.resize(static_cast<std::size_t>(std::max(limit, 0)));
    return out;
  }

  std::int64_t outbox_count(outbox_event::state status) override {
    std::lock_guard lock(mutex_);
    return std::count_if(events_.begin(), events_.end(), [&](auto& kv) { return kv.second.status == status; });
  }

  std::optional<idempotency_record> claim_idempotency(const idempotency_record& r, std::int64_t not_before) override {
    std::lock_guard lock(mutex_);
    auto k = std::make_pair(r.client, r.key);
    if (auto it = idem_.find(k); it != idem_.end() && it->second.created_at >= not_before) return it->second;
    if (idem_.size() >= 10'000) std::erase_if(idem_, [&](auto& e) { return e.second.created_at < not_before; });
    idem_.insert_or_assign(k, r);
    return std::nullopt;
  }

  void settle_idempotency(const idempotency_record& r) override {
    std::lock_guard lock(mutex_);
    if (auto it = idem_.find({r.client, r.key}); it != idem_.end()) {
      it->second.status = r.status;
      it->second.video_id = r.video_id;
      it->second.message = r.message;
    }
  }

  void release_idempotency(const std::string& client, const std::string& key) override {
    std::lock_guard lock(mutex_);
    idem_.erase({client, key});
  }

  void save_key_state(const key_state_record& k) override {
    std::lock_guard lock(mutex_);
    keys_.insert_or_assign({k.upstream, k.key_fp}, k);
  }

  std::vector<key_state_record> key_states() override {
    std::lock_guard lock(mutex_);
    std::vector<key_state_record> out;
    for (auto& [k, v] : keys_) out.push_back(v);
    return out;
  }

  std::vector<job_record> unfinished(int limit, std::int64_t after_seq) override {
    std::vector<job_record> out;
    if (limit <= 0) return out;
    std::lock_guard lock(mutex_);
    for (auto it = by_seq_.upper_bound(after_seq); it != by_seq_.end(); ++it) {
      const auto& id = it->second;
      const job_record& r = by_id_.at(id);
      if (r.terminal()) continue;
      out.push_back(r);
      if (out.size() == static_cast<std::size_t>(limit)) break;
    }
    return out;
  }

 private:
  void add_events(const std::vector<outbox_event>& events) {  // caller holds mutex_
    for (auto& e : events) events_.emplace(e.id, e);
  }

  struct media {
    std::string mime, bytes;
    std::int64_t expires_ms = 0;
  };
  std::mutex mutex_;
  std::map<std::string, outbox_event> events_;
  std::map<std::string, media> media_;
  std::unordered_map<std::string, job_record> by_id_;
  std::map<std::int64_t, std::string> by_seq_;  // insertion order
  std::map<std::pair<std::string, std::string>, idempotency_record> idem_;
  std::map<std::pair<std::string, std::string>, key_state_record> keys_;
};

}  // namespace

std::unique_ptr<store> make_memory_store() { return std::make_unique<memory_store>(); }

}  // namespace videogate::jobs
