#include "videogate/jobs/store.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace videogate::jobs {
namespace {

namespace fs = std::filesystem;

/// A unique database path under the temp dir; removes the file and its WAL companions.
class temp_db {
 public:
  temp_db() {
    static std::atomic<int> counter{0};
    path_ = (fs::temp_directory_path() /
             ("videogate_store_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".db"))
                .string();
    remove();
  }
  ~temp_db() { remove(); }
  temp_db(const temp_db&) = delete;
  temp_db& operator=(const temp_db&) = delete;
  const std::string& path() const { return path_; }

 private:
  void remove() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ec);
  }
  std::string path_;
};

struct memory_kind {
  static std::unique_ptr<store> open(const std::string&) { return make_memory_store(); }
};
struct sqlite_kind {
  static std::unique_ptr<store> open(const std::string& path) { return open_sqlite_store(path); }
};

template <class Kind>
class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(Kind::open(db_.path())) {}

  temp_db db_;  // before store_: removed after the store is closed
  std::unique_ptr<store> store_;
};

using store_kinds = ::testing::Types<memory_kind, sqlite_kind>;
class kind_names {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, memory_kind> ? "memory" : "sqlite";
  }
};
TYPED_TEST_SUITE(StoreTest, store_kinds, kind_names);

job_record full_record() {
  job_record r;
  r.id = "video_full";
  r.client = "team-blue";
  r.upstream = "vendor-a";
  r.key_fp = "0a1b2c3d4e5f";
  r.upstream_id = "task_123";
  r.model = "sora-2";
  r.prompt = "a 'quoted' \"prompt\" with ünïcödé; DROP TABLE jobs; --";
  r.size = "1280x720";
  r.seconds = "10";
  r.status = "completed";
  r.progress = 100;
  r.created_at = 1'700'000'000;
  r.completed_at = 1'700'000'123;
  r.expires_at = 1'700'086'400;
  r.remixed_from_video_id = "video_parent";
  r.error_code = "";
  r.error_message = "none";
  r.content_url = "https://cdn.example/v.mp4?sig=abc";
  r.idempotency_key = "idem-1";
  r.updated_at_ms = 1'700'000'123'456;
  return r;
}

job_record make_job(const std::string& id, const std::string& client, std::int64_t created_at = 1000,
                    const std::string& status = "queued") {
  job_record r;
  r.id = id;
  r.client = client;
  r.upstream = "u";
  r.key_fp = "fp";
  r.upstream_id = "up-" + id;
  r.model = "sora-2";
  r.prompt = "p";
  r.size = "720x1280";
  r.seconds = "4";
  r.status = status;
  r.created_at = created_at;
  return r;
}

void expect_same_fields(const job_record& a, const job_record& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.client, b.client);
  EXPECT_EQ(a.upstream, b.upstream);
  EXPECT_EQ(a.key_fp, b.key_fp);
  EXPECT_EQ(a.upstream_id, b.upstream_id);
  EXPECT_EQ(a.model, b.model);
  EXPECT_EQ(a.prompt, b.prompt);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.seconds, b.seconds);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.progress, b.progress);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.completed_at, b.completed_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.remixed_from_video_id, b.remixed_from_video_id);
  EXPECT_EQ(a.error_code, b.error_code);
  EXPECT_EQ(a.error_message, b.error_message);
  EXPECT_EQ(a.content_url, b.content_url);
  EXPECT_EQ(a.idempotency_key, b.idempotency_key);
  EXPECT_EQ(a.updated_at_ms, b.updated_at_ms);
}

std::vector<std::string> ids_of(const list_page& p) {
  std::vector<std::string> out;
  for (const auto& r : p.data) out.push_back(r.id);
  return out;
}

using ids = std::vector<std::string>;

TYPED_TEST(StoreTest, PutGetRoundTripEveryField) {
  const job_record r = full_record();
  this->store_->put(r);
  const auto got = this->store_->get(r.id);
  ASSERT_TRUE(got.has_value());
  expect_same_fields(*got, r);
  EXPECT_EQ(got->seq, 1);
}

TYPED_TEST(StoreTest, PutGetRoundTripOptionalsUnset) {
  job_record r = make_job("video_min", "");
  r.prompt = std::string("nul\0inside", 10);
  this->store_->put(r);
  const auto got = this->store_->get(r.id);
  ASSERT_TRUE(got.has_value());
  expect_same_fields(*got, r);
  EXPECT_FALSE(got->completed_at.has_value());
  EXPECT_FALSE(got->expires_at.has_value());
  EXPECT_FALSE(got->remixed_from_video_id.has_value());
  EXPECT_FALSE(got->error_code.has_value());
  EXPECT_FALSE(got->error_message.has_value());
  EXPECT_FALSE(got->content_url.has_value());
  EXPECT_FALSE(got->idempotency_key.has_value());
}

TYPED_TEST(StoreTest, GetMissing) { EXPECT_FALSE(this->store_->get("video_nope").has_value()); }

TYPED_TEST(StoreTest, SeqAssignedByStoreNotCaller) {
  job_record a = make_job("a", "c");
  a.seq = 999;
  this->store_->put(a);
  this->store_->put(make_job("b", "c"));
  EXPECT_EQ(this->store_->get("a")->seq, 1);
  EXPECT_EQ(this->store_->get("b")->seq, 2);
}

TYPED_TEST(StoreTest, ReplaceKeepsSeqAndUpdatesFields) {
  this->store_->put(make_job("a", "c"));
  this->store_->put(make_job("b", "c"));
  const std::int64_t seq_a = this->store_->get("a")->seq;

  job_record updated = full_record();
  updated.id = "a";
  updated.client = "c";
  updated.seq = 42;
  this->store_->put(updated);

  const auto got = this->store_->get("a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->seq, seq_a);
  expect_same_fields(*got, updated);

  // Clearing optionals on replace clears them in the store.
  job_record cleared = make_job("a", "c");
  this->store_->put(cleared);
  expect_same_fields(*this->store_->get("a"), cleared);
  EXPECT_EQ(this->store_->get("a")->seq, seq_a);

  // The order is unchanged: "b" is still the newest.
  EXPECT_EQ(ids_of(this->store_->list({"c", std::nullopt, 20, true})), (ids{"b", "a"}));
}

TYPED_TEST(StoreTest, ListDescendingThreePages) {
  // Client A's jobs a1..a7 interleaved with another client's.
  for (int i = 1; i <= 7; ++i) {
    this->store_->put(make_job("a" + std::to_string(i), "A"));
    this->store_->put(make_job("b" + std::to_string(i), "B"));
  }
  list_query q{"A", std::nullopt, 3, true};
  auto p1 = this->store_->list(q);
  EXPECT_EQ(ids_of(p1), (ids{"a7", "a6", "a5"}));
  EXPECT_TRUE(p1.has_more);
  q.after = p1.data.back().id;
  auto p2 = this->store_->list(q);
  EXPECT_EQ(ids_of(p2), (ids{"a4", "a3", "a2"}));
  EXPECT_TRUE(p2.has_more);
  q.after = p2.data.back().id;
  auto p3 = this->store_->list(q);
  EXPECT_EQ(ids_of(p3), (ids{"a1"}));
  EXPECT_FALSE(p3.has_more);
  q.after = p3.data.back().id;
  auto p4 = this->store_->list(q);
  EXPECT_TRUE(p4.data.empty());
  EXPECT_FALSE(p4.has_more);
}

TYPED_TEST(StoreTest, ListAscendingThreePages) {
  for (int i = 1; i <= 7; ++i) {
    this->store_->put(make_job("b" + std::to_string(i), "B"));
    this->store_->put(make_job("a" + std::to_string(i), "A"));
  }
  list_query q{"A", std::nullopt, 3, false};
  auto p1 = this->store_->list(q);
  EXPECT_EQ(ids_of(p1), (ids{"a1", "a2", "a3"}));
  EXPECT_TRUE(p1.has_more);
  q.after = p1.data.back().id;
  auto p2 = this->store_->list(q);
  EXPECT_EQ(ids_of(p2), (ids{"a4", "a5", "a6"}));
  EXPECT_TRUE(p2.has_more);
  q.after = p2.data.back().id;
  auto p3 = this->store_->list(q);
  EXPECT_EQ(ids_of(p3), (ids{"a7"}));
  EXPECT_FALSE(p3.has_more);
}

TYPED_TEST(StoreTest, ListExactMultipleHasNoPhantomPage) {
  for (int i = 1; i <= 6; ++i) this->store_->put(make_job("a" + std::to_string(i), "A"));
  auto p1 = this->store_->list({"A", std::nullopt, 3, true});
  EXPECT_TRUE(p1.has_more);
  auto p2 = this->store_->list({"A", p1.data.back().id, 3, true});
  EXPECT_EQ(ids_of(p2), (ids{"a3", "a2", "a1"}));
  EXPECT_FALSE(p2.has_more);
  auto all = this->store_->list({"A", std::nullopt, 6, false});
  EXPECT_EQ(all.data.size(), 6u);
  EXPECT_FALSE(all.has_more);
}

TYPED_TEST(StoreTest, ListLimitIsClamped) {
  for (int i = 1; i <= 3; ++i) this->store_->put(make_job("a" + std::to_string(i), "A"));
  auto zero = this->store_->list({"A", std::nullopt, 0, true});
  EXPECT_EQ(ids_of(zero), (ids{"a3"}));
  EXPECT_TRUE(zero.has_more);
  auto negative = this->store_->list({"A", std::nullopt, -5, false});
  EXPECT_EQ(ids_of(negative), (ids{"a1"}));
  auto huge = this->store_->list({"A", std::nullopt, 1'000'000, true});
  EXPECT_EQ(huge.data.size(), 3u);
  EXPECT_FALSE(huge.has_more);
}

TYPED_TEST(StoreTest, ListEmptyAndDefaults) {
  auto p = this->store_->list({"A", std::nullopt, 20, true});
  EXPECT_TRUE(p.data.empty());
  EXPECT_FALSE(p.has_more);
  list_query defaults;
  defaults.client = "A";
  this->store_->put(make_job("x", "A"));
  this->store_->put(make_job("y", "A"));
  EXPECT_EQ(ids_of(this->store_->list(defaults)), (ids{"y", "x"}));  // desc by default
}

TYPED_TEST(StoreTest, ClientIsolation) {
  this->store_->put(make_job("a1", "A"));
  this->store_->put(make_job("b1", "B"));
  this->store_->put(make_job("n1", ""));
  this->store_->put(make_job("a2", "A"));
  EXPECT_EQ(ids_of(this->store_->list({"A", std::nullopt, 20, true})), (ids{"a2", "a1"}));
  EXPECT_EQ(ids_of(this->store_->list({"B", std::nullopt, 20, true})), (ids{"b1"}));
  EXPECT_EQ(ids_of(this->store_->list({"", std::nullopt, 20, true})), (ids{"n1"}));
  EXPECT_TRUE(this->store_->list({"C", std::nullopt, 20, true}).data.empty());

  // Another client's id as the cursor, or an unknown one: empty page.
  auto foreign = this->store_->list({"B", std::string("a2"), 20, true});
  EXPECT_TRUE(foreign.data.empty());
  EXPECT_FALSE(foreign.has_more);
  auto unknown = this->store_->list({"A", std::string("video_unknown"), 20, false});
  EXPECT_TRUE(unknown.data.empty());
  EXPECT_FALSE(unknown.has_more);
}

TYPED_TEST(StoreTest, FindIdempotent) {
  job_record first = make_job("first", "A", 1000);
  first.idempotency_key = "k1";
  job_record second = make_job("second", "A", 2000);
  second.idempotency_key = "k1";
  job_record other_client = make_job("other", "B", 3000);
  other_client.idempotency_key = "k1";
  job_record other_key = make_job("otherkey", "A", 3000);
  other_key.idempotency_key = "k2";
  this->store_->put(first);
  this->store_->put(second);
  this->store_->put(other_client);
  this->store_->put(other_key);
  this->store_->put(make_job("nokey", "A", 3000));

  auto hit = this->store_->find_idempotent("A", "k1", 0);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->id, "second");  // the newest
  hit = this->store_->find_idempotent("A", "k1", 2000);  // at not_before counts
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->id, "second");
  EXPECT_FALSE(this->store_->find_idempotent("A", "k1", 2001).has_value());
  EXPECT_EQ(this->store_->find_idempotent("B", "k1", 0)->id, "other");
  EXPECT_EQ(this->store_->find_idempotent("A", "k2", 0)->id, "otherkey");
  EXPECT_FALSE(this->store_->find_idempotent("A", "k3", 0).has_value());
  EXPECT_FALSE(this->store_->find_idempotent("C", "k1", 0).has_value());
  EXPECT_FALSE(this->store_->find_idempotent("A", "", 0).has_value());

  // Newest by insertion order even when the older one was replaced later.
  this->store_->put(first);
  EXPECT_EQ(this->store_->find_idempotent("A", "k1", 0)->id, "second");
}

TYPED_TEST(StoreTest, Erase) {
  this->store_->put(make_job("a1", "A"));
  this->store_->put(make_job("a2", "A"));
  this->store_->put(make_job("a3", "A"));
  EXPECT_TRUE(this->store_->erase("a2"));
  EXPECT_FALSE(this->store_->erase("a2"));
  EXPECT_FALSE(this->store_->erase("never"));
  EXPECT_FALSE(this->store_->get("a2").has_value());
  EXPECT_EQ(ids_of(this->store_->list({"A", std::nullopt, 20, true})), (ids{"a3", "a1"}));
  EXPECT_TRUE(this->store_->list({"A", std::string("a2"), 20, true}).data.empty());
  // Re-inserting an erased id makes it the newest.
  this->store_->put(make_job("a2", "A"));
  EXPECT_EQ(ids_of(this->store_->list({"A", std::nullopt, 20, true})), (ids{"a2", "a3", "a1"}));
}

TYPED_TEST(StoreTest, Unfinished) {
  this->store_->put(make_job("q1", "A", 1, "queued"));
  this->store_->put(make_job("c1", "A", 2, "completed"));
  this->store_->put(make_job("p1", "B", 3, "in_progress"));
  this->store_->put(make_job("f1", "A", 4, "failed"));
  this->store_->put(make_job("q2", "", 5, "queued"));

  auto all = this->store_->unfinished(100);
  std::vector<std::string> got;
  for (const auto& r : all) got.push_back(r.id);
  EXPECT_EQ(got, (ids{"q1", "p1", "q2"}));  // oldest first, every client

  auto two = this->store_->unfinished(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].id, "q1");
  EXPECT_EQ(two[1].id, "p1");
  EXPECT_TRUE(this->store_->unfinished(0).empty());

  job_record done = make_job("q1", "A", 1, "completed");
  this->store_->put(done);
  got.clear();
  for (const auto& r : this->store_->unfinished(100)) got.push_back(r.id);
  EXPECT_EQ(got, (ids{"p1", "q2"}));
}

TYPED_TEST(StoreTest, ConcurrentPutsGetDistinctSeqs) {
  constexpr int threads = 4;
  constexpr int per_thread = 25;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([this, t] {
      for (int i = 0; i < per_thread; ++i) {
        this->store_->put(make_job("t" + std::to_string(t) + "_" + std::to_string(i), "A"));
      }
    });
  }
  for (auto& th : pool) th.join();
  auto page = this->store_->list({"A", std::nullopt, 100, true});
  ASSERT_EQ(page.data.size(), static_cast<std::size_t>(threads * per_thread));
  std::set<std::int64_t> seqs;
  for (const auto& r : page.data) seqs.insert(r.seq);
  EXPECT_EQ(seqs.size(), page.data.size());
  EXPECT_EQ(*seqs.begin(), 1);
  EXPECT_EQ(*seqs.rbegin(), threads * per_thread);
}

// --- SQLite only -------------------------------------------------------------------------

TEST(SqliteStore, SurvivesCloseAndReopen) {
  temp_db db;
  job_record full = full_record();
  {
    auto s = open_sqlite_store(db.path());
    s->put(make_job("a1", "A"));
    s->put(full);
    s->put(make_job("a2", "A"));
    s->erase("a2");
    job_record replaced = make_job("a1", "A", 1000, "in_progress");
    replaced.progress = 40;
    s->put(replaced);
  }
  {
    auto s = open_sqlite_store(db.path());
    const auto got = s->get(full.id);
    ASSERT_TRUE(got.has_value());
    expect_same_fields(*got, full);
    EXPECT_EQ(got->seq, 2);
    const auto a1 = s->get("a1");
    ASSERT_TRUE(a1.has_value());
    EXPECT_EQ(a1->status, "in_progress");
    EXPECT_EQ(a1->progress, 40);
    EXPECT_EQ(a1->seq, 1);
    EXPECT_FALSE(s->get("a2").has_value());
    // Sequence numbers go on after the reopen.
    s->put(make_job("a3", "A"));
    EXPECT_EQ(s->get("a3")->seq, 3);
    EXPECT_EQ(ids_of(s->list({"A", std::nullopt, 20, true})), (ids{"a3", "a1"}));
  }
}

TEST(SqliteStore, UsesWalJournal) {
  temp_db db;
  auto s = open_sqlite_store(db.path());
  s->put(make_job("a", "A"));
  s.reset();  // the store holds the file exclusively while open

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.path().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

TEST(SqliteStore, OpenFailureThrowsClearly) {
  const std::string bad = (fs::temp_directory_path() / "videogate_no_such_dir_for_test" / "x" / "jobs.db").string();
  try {
    open_sqlite_store(bad);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("job store"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(bad));
}

TEST(SqliteStore, NotADatabaseThrows) {
  temp_db db;
  {
    std::FILE* f = std::fopen(db.path().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  EXPECT_THROW(open_sqlite_store(db.path()), std::runtime_error);
}

}  // namespace
}  // namespace videogate::jobs

// ---- hardening: paging, conditional updates, idempotency records, key states ---------------

namespace videogate::jobs {
namespace {

template <class Kind>
class StoreHardeningTest : public StoreTest<Kind> {};
TYPED_TEST_SUITE(StoreHardeningTest, store_kinds);

// The job watcher pages through every unfinished job: none is left out past a first page.
TYPED_TEST(StoreHardeningTest, UnfinishedPagesAfterASeq) {
  for (int i = 0; i < 7; ++i) this->store_->put(make_job("j" + std::to_string(i), "A", i + 1, i == 3 ? "completed" : "queued"));
  std::vector<std::string> seen;
  std::int64_t after = 0;
  for (;;) {
    auto page = this->store_->unfinished(2, after);
    for (auto& j : page) {
      seen.push_back(j.id);
      after = j.seq;
    }
    if (page.size() < 2) break;
  }
  EXPECT_EQ(seen, (ids{"j0", "j1", "j2", "j4", "j5", "j6"}));
}

// A poll that ends after a delete must not bring the job back.
TYPED_TEST(StoreHardeningTest, UpdateNeverResurrects) {
  auto j = make_job("v1", "A", 1, "queued");
  EXPECT_FALSE(this->store_->update(j));  // nothing to update
  EXPECT_FALSE(this->store_->get("v1"));
  this->store_->put(j);
  j.status = "in_progress";
  j.lost_polls = 2;
  j.lost_since_ms = 1234;
  EXPECT_TRUE(this->store_->update(j));
  auto got = this->store_->get("v1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, "in_progress");
  EXPECT_EQ(got->lost_polls, 2);
  EXPECT_EQ(got->lost_since_ms, 1234);
  this->store_->erase("v1");
  EXPECT_FALSE(this->store_->update(j));
  EXPECT_FALSE(this->store_->get("v1"));
  // A tombstone stays a tombstone.
  auto t = make_job("v2", "A", 2, "deleted");
  this->store_->put(t);
  t.status = "completed";
  EXPECT_FALSE(this->store_->update(t));
  EXPECT_EQ(this->store_->get("v2")->status, "deleted");
}

TYPED_TEST(StoreHardeningTest, IdempotencyKeyIsClaimedOnce) {
  idempotency_record r{"web", "key-1", "fp-a", idempotency_record::state::pending, "", "", 1000};
  EXPECT_FALSE(this->store_->claim_idempotency(r, 0));  // claimed
  auto again = this->store_->claim_idempotency(r, 0);
  ASSERT_TRUE(again);  // the second claim sees the first
  EXPECT_EQ(again->status, idempotency_record::state::pending);
  EXPECT_EQ(again->fingerprint, "fp-a");
  r.status = idempotency_record::state::unknown;
  r.message = "may exist";
  this->store_->settle_idempotency(r);
  auto settled = this->store_->claim_idempotency(r, 0);
  ASSERT_TRUE(settled);
  EXPECT_EQ(settled->status, idempotency_record::state::unknown);
  EXPECT_EQ(settled->message, "may exist");
  // Another client's same key is its own.
  idempotency_record other{"app", "key-1", "fp-b", idempotency_record::state::pending, "", "", 1000};
  EXPECT_FALSE(this->store_->claim_idempotency(other, 0));
  // Past its window the key is free again.
  idempotency_record later{"web", "key-1", "fp-c", idempotency_record::state::pending, "", "", 200000};
  EXPECT_FALSE(this->store_->claim_idempotency(later, 100000));
  // Released (the request certainly made nothing): free at once.
  this->store_->release_idempotency("app", "key-1");
  EXPECT_FALSE(this->store_->claim_idempotency(other, 0));
}

TYPED_TEST(StoreHardeningTest, KeyStatesRoundTrip) {
  key_state_record k{"vendor-a", "0123456789ab", 2, 1800000000000, 1790000000000, "invalid_key", 600, 0, 0};
  this->store_->save_key_state(k);
  k.until_ms += 1;
  this->store_->save_key_state(k);  // replaces
  this->store_->save_key_state({"vendor-b", "ba9876543210", 1, 5, 4, "rate_limited", 30, 2, 0});
  auto all = this->store_->key_states();
  ASSERT_EQ(all.size(), 2u);
  for (auto& r : all) {
    if (r.upstream != "vendor-a") continue;
    EXPECT_EQ(r.key_fp, "0123456789ab");
    EXPECT_EQ(r.health, 2);
    EXPECT_EQ(r.until_ms, 1800000000001);
    EXPECT_EQ(r.reason, "invalid_key");
    EXPECT_EQ(r.step_s, 600);
  }
}

// A store made by the previous release (schema 2) opens, keeps its jobs and gains the new fields.
TEST(SqliteStore, UpgradesASchema2File) {
  temp_db db;
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    const char* v2 =
        "CREATE TABLE jobs (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, client TEXT NOT NULL, upstream TEXT NOT "
        "NULL, key_fp TEXT NOT NULL, upstream_id TEXT NOT NULL, model TEXT NOT NULL, prompt TEXT NOT NULL, size TEXT NOT "
        "NULL, seconds TEXT NOT NULL, status TEXT NOT NULL, progress INTEGER NOT NULL, created_at INTEGER NOT NULL, "
        "completed_at INTEGER, expires_at INTEGER, remixed_from_video_id TEXT, error_code TEXT, error_message TEXT, "
        "content_url TEXT, idempotency_key TEXT, updated_at_ms INTEGER NOT NULL);"
        "INSERT INTO jobs VALUES (1,'video_old','A','up','fp','u1','sora-2','p','720x1280','4','queued',0,5,NULL,NULL,"
        "NULL,NULL,NULL,NULL,NULL,7);"
        "PRAGMA user_version = 2;";
    ASSERT_EQ(sqlite3_exec(raw, v2, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  auto s = open_sqlite_store(db.path());
  auto j = s->get("video_old");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->lost_polls, 0);
  EXPECT_EQ(s->unfinished(10).size(), 1u);
  idempotency_record r{"A", "k", "f", idempotency_record::state::pending, "", "", 1};
  EXPECT_FALSE(s->claim_idempotency(r, 0));
}

}  // namespace
}  // namespace videogate::jobs
