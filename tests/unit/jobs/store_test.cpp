#include "videogate/jobs/store.hpp"

#include "redis_server.hpp"
#include "videogate/core/clock.hpp"
#include "videogate/core/error.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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

/// A Redis store on `server` under a key prefix no other test of this process uses: tests on
/// one server do not see each other's jobs, counts or leases.
redis_options redis_at(const vgtest::redis_server& server) {
  static std::atomic<int> counter{0};
  redis_options o;
  o.host = "127.0.0.1";
  o.port = server.port();
  o.db = 0;
  o.prefix = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ":";
  return o;
}
/// On the process's one redis-server (started on first use, stopped at exit).
struct redis_kind {
  static std::unique_ptr<store> open(const std::string&) { return open_redis_store(redis_at(vgtest::shared_redis_server())); }
};
/// Whether a store kind is shared by a fleet (DESIGN §10): the others decide alone.
template <class Kind>
constexpr bool shared_kind = std::is_same_v<Kind, redis_kind>;

template <class Kind>
class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(Kind::open(db_.path())) {}

  temp_db db_;  // before store_: removed after the store is closed
  std::unique_ptr<store> store_;
};

using store_kinds = ::testing::Types<memory_kind, sqlite_kind, redis_kind>;
class kind_names {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, memory_kind>) return "memory";
    if constexpr (std::is_same_v<T, sqlite_kind>) return "sqlite";
    return "redis";
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

// The job watcher's question: per upstream, the unfinished jobs asked about longest ago.
TYPED_TEST(StoreTest, DueIsPerUpstreamStalestFirstAndBounded) {
  auto job = [](const std::string& id, const std::string& upstream, std::int64_t updated, const std::string& status) {
    auto j = make_job(id, "A", 1, status);
    j.upstream = upstream;
    j.updated_at_ms = updated;
    return j;
  };
  this->store_->put(job("a1", "up-a", 5000, "queued"));
  this->store_->put(job("a2", "up-a", 1000, "in_progress"));
  this->store_->put(job("a3", "up-a", 3000, "queued"));
  this->store_->put(job("a4", "up-a", 9000, "queued"));      // asked about too recently
  this->store_->put(job("a5", "up-a", 500, "completed"));    // finished: never due
  this->store_->put(job("b1", "up-b", 100, "queued"));       // another upstream's
  auto ids_of = [](const std::vector<job_record>& js) {
    ids out;
    for (auto& j : js) out.push_back(j.id);
    return out;
  };
  auto due = [&](const std::string& upstream, std::int64_t before, int limit) {
    return ids_of(this->store_->due({{upstream, before, limit}}).at(0));
  };
  EXPECT_EQ(due("up-a", 8000, 10), (ids{"a2", "a3", "a1"}));
  EXPECT_EQ(due("up-a", 8000, 2), (ids{"a2", "a3"})) << "the stalest, not the oldest made";
  EXPECT_EQ(due("up-b", 8000, 10), (ids{"b1"}));
  EXPECT_TRUE(due("up-a", 800, 10).empty());
  EXPECT_TRUE(due("up-a", 8000, 0).empty());
  EXPECT_TRUE(due("up-c", 8000, 10).empty()) << "an upstream without jobs";
  // Several upstreams in one call, each with its own time and limit, answered in order.
  auto both = this->store_->due({{"up-b", 8000, 5}, {"up-a", 4000, 1}});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(ids_of(both[0]), (ids{"b1"}));
  EXPECT_EQ(ids_of(both[1]), (ids{"a2"}));
  // A poll moves a job to the back of the line.
  auto polled = job("a2", "up-a", 7000, "in_progress");
  this->store_->update(polled);
  EXPECT_EQ(due("up-a", 8000, 10), (ids{"a3", "a1", "a2"}));
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
TYPED_TEST_SUITE(StoreHardeningTest, store_kinds, kind_names);

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

// ---- fleet decisions (DESIGN §10): leases, capped slots, poll budgets, shared key states ----
// A store of one process (memory, SQLite) grants every lease and slot: that process decides
// alone, with its own locks and counts. A Redis store decides for every gateway sharing it.

namespace videogate::jobs {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

template <class Kind>
class StoreFleetTest : public StoreTest<Kind> {};
TYPED_TEST_SUITE(StoreFleetTest, store_kinds, kind_names);

/// Calls `take` every 20 ms until it returns true or 5 s pass; returns how long that took
/// (from `since`), or nullopt when it never did.
template <class F>
std::optional<std::chrono::milliseconds> first_success(F take, steady::time_point since) {
  while (steady::now() - since < 5s) {
    if (take()) return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - since);
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

TYPED_TEST(StoreFleetTest, OnlyRedisIsShared) {
  EXPECT_EQ(this->store_->shared(), shared_kind<TypeParam>);
  EXPECT_NO_THROW(this->store_->ping());
}

TYPED_TEST(StoreFleetTest, LeaseIsHeldUntilDropped) {
  auto& s = *this->store_;
  ASSERT_TRUE(s.take_lease("poll:video_1", 60'000));
  if constexpr (!shared_kind<TypeParam>) {
    EXPECT_TRUE(s.take_lease("poll:video_1", 60'000)) << "a local store takes every lease";
    s.drop_lease("poll:video_1");
    EXPECT_TRUE(s.take_lease("poll:video_1", 60'000));
    return;
  }
  EXPECT_FALSE(s.take_lease("poll:video_1", 60'000)) << "a lease is held until dropped or expired";
  EXPECT_TRUE(s.take_lease("poll:video_2", 60'000)) << "each name is its own lease";
  s.drop_lease("poll:video_1");
  EXPECT_TRUE(s.take_lease("poll:video_1", 60'000)) << "a dropped lease is free";
  EXPECT_NO_THROW(s.drop_lease("never-taken"));
}

TYPED_TEST(StoreFleetTest, LeaseEndsAtItsTtl) {
  auto& s = *this->store_;
  auto t0 = steady::now();
  ASSERT_TRUE(s.take_lease("probe:vendor-a|fp", 300));
  if constexpr (!shared_kind<TypeParam>) {
    EXPECT_TRUE(s.take_lease("probe:vendor-a|fp", 300));
    return;
  }
  EXPECT_FALSE(s.take_lease("probe:vendor-a|fp", 300));
  auto freed = first_success([&] { return s.take_lease("probe:vendor-a|fp", 300); }, t0);
  ASSERT_TRUE(freed) << "an expired lease is never taken again";
  EXPECT_GE(freed->count(), 280) << "the lease ended before its 300 ms";
}

TYPED_TEST(StoreFleetTest, SlotsHoldTheCapWithReservations) {
  auto& s = *this->store_;
  auto claim = [&](int cap, const std::string& token) { return s.claim_slot("u", "fp", cap, token, 60'000); };
  if constexpr (!shared_kind<TypeParam>) {
    // The key pool of the one process counts; the store grants.
    EXPECT_TRUE(claim(1, "r1"));
    EXPECT_TRUE(claim(1, "r2"));
    s.release_slot("u", "fp", "r1");
    s.release_slot("u", "fp", "r2");
    return;
  }
  ASSERT_TRUE(claim(1, "r1"));
  EXPECT_FALSE(claim(1, "r2")) << "the only slot is reserved";
  EXPECT_TRUE(s.claim_slot("u", "other-fp", 1, "r3", 60'000)) << "each key has its own slots";
  EXPECT_TRUE(s.claim_slot("other-u", "fp", 1, "r4", 60'000)) << "each upstream has its own keys";
  s.release_slot("u", "fp", "r1");
  EXPECT_TRUE(claim(1, "r2")) << "a released reservation frees its slot";
  s.release_slot("u", "fp", "r2");
  EXPECT_TRUE(claim(2, "a"));
  EXPECT_TRUE(claim(2, "b"));
  EXPECT_FALSE(claim(2, "c")) << "two reservations fill a cap of 2";
  s.release_slot("u", "fp", "a");
  s.release_slot("u", "fp", "b");
  EXPECT_NO_THROW(s.release_slot("u", "fp", "never-claimed"));
}

// Redis only: a store of one process takes every slot and saves its key states in order.
TEST(RedisStoreFleet, SlotsCountStoredUnfinishedJobs) {
  auto owned = redis_kind::open("");
  auto& s = *owned;
  // make_job: upstream "u", key "fp".
  auto free_at_cap_1 = [&] {
    bool ok = s.claim_slot("u", "fp", 1, "probe", 60'000);
    if (ok) s.release_slot("u", "fp", "probe");
    return ok;
  };
  s.put(make_job("done", "A", 1, "completed"));
  EXPECT_TRUE(free_at_cap_1()) << "a finished job holds no slot";

  auto j = make_job("v1", "A", 2, "queued");
  s.put(j);
  EXPECT_FALSE(free_at_cap_1()) << "a stored unfinished job of the key takes its slot";
  s.put(j);  // replaced, not counted twice
  EXPECT_TRUE(s.claim_slot("u", "fp", 2, "r", 60'000)) << "one job and one reservation fit a cap of 2";
  s.release_slot("u", "fp", "r");
  EXPECT_TRUE(s.claim_slot("u", "other-fp", 1, "r", 60'000)) << "another key's slot is free";
  s.release_slot("u", "other-fp", "r");
  j.status = "in_progress";
  ASSERT_TRUE(s.update(j));
  EXPECT_FALSE(free_at_cap_1()) << "still unfinished";
  j.status = "completed";
  ASSERT_TRUE(s.update(j));  // how a poll ends a job
  EXPECT_TRUE(free_at_cap_1()) << "an update to a terminal state frees the slot";

  s.put(make_job("v2", "A", 3, "queued"));
  EXPECT_FALSE(free_at_cap_1());
  s.put(make_job("v2", "A", 3, "failed"));
  EXPECT_TRUE(free_at_cap_1()) << "a terminal put frees the slot";

  s.put(make_job("v3", "A", 4, "in_progress"));
  EXPECT_FALSE(free_at_cap_1());
  s.put(make_job("v3", "A", 4, "deleted"));  // how a delete ends a job: a tombstone
  EXPECT_TRUE(free_at_cap_1()) << "a tombstone frees the slot";

  s.put(make_job("v4", "A", 5, "queued"));
  EXPECT_FALSE(free_at_cap_1());
  ASSERT_TRUE(s.erase("v4"));
  EXPECT_TRUE(free_at_cap_1()) << "an erased job holds no slot";

  s.put_many({make_job("v5", "A", 6, "queued"), make_job("v6", "B", 7, "in_progress")});
  EXPECT_FALSE(s.claim_slot("u", "fp", 2, "r", 60'000)) << "put_many counts each unfinished job";
}

// Redis only: a store of one process takes every slot and saves its key states in order.
TEST(RedisStoreFleet, SlotReservationEndsAtItsTtl) {
  auto owned = redis_kind::open("");
  auto& s = *owned;
  auto t0 = steady::now();
  ASSERT_TRUE(s.claim_slot("u", "fp", 1, "r1", 300));
  EXPECT_FALSE(s.claim_slot("u", "fp", 1, "r2", 300));
  // A gateway that died between its claim and its create leaves a reservation that ends alone.
  auto freed = first_success([&] { return s.claim_slot("u", "fp", 1, "r2", 60'000); }, t0);
  ASSERT_TRUE(freed) << "an expired reservation still holds the slot";
  EXPECT_GE(freed->count(), 280) << "the reservation ended before its 300 ms";
}

// max_polls_per_second: `per_second` status calls per upstream in one wall-clock second. A
// local store counts this process; Redis counts every gateway sharing it.
TYPED_TEST(StoreFleetTest, PollBudgetIsPerSecondAndPerUpstream) {
  auto& s = *this->store_;
  bool checked = false;
  // A second boundary crossed midway restarts the count: that attempt says nothing, try again
  // (with fresh upstream names, so the calls of the failed attempt do not count).
  for (int attempt = 0; attempt < 5 && !checked; ++attempt) {
    const std::string up = "vendor-" + std::to_string(attempt);
    auto second = clock::now_s();
    std::vector<bool> got;
    for (int i = 0; i < 4; ++i) got.push_back(s.take_poll_budget(up, 3));
    bool other = s.take_poll_budget(up + "-other", 3);
    if (clock::now_s() != second) continue;
    EXPECT_EQ(got, (std::vector<bool>{true, true, true, false}));
    EXPECT_TRUE(other) << "each upstream has its own budget";
    checked = true;
    // The next second brings a new budget.
    auto renewed = first_success([&] { return s.take_poll_budget(up, 3); }, steady::now());
    ASSERT_TRUE(renewed);
    EXPECT_GT(clock::now_s(), second);
  }
  ASSERT_TRUE(checked) << "every attempt crossed a second boundary";
}

TYPED_TEST(StoreFleetTest, KeyStatesOfOneUpstream) {
  auto& s = *this->store_;
  s.save_key_state({"vendor-a", "fp-1", 1, 5000, 4000, "rate_limited", 30, 1, 0, 1000});
  s.save_key_state({"vendor-a", "fp-2", 0, 0, 0, "", 0, 0, 0, 1000});
  s.save_key_state({"vendor-b", "fp-1", 2, 9000, 8000, "invalid_key", 600, 0, 0, 1000});
  auto a = s.key_states_of("vendor-a");
  std::sort(a.begin(), a.end(), [](auto& x, auto& y) { return x.key_fp < y.key_fp; });
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].upstream, "vendor-a");
  EXPECT_EQ(a[0].key_fp, "fp-1");
  EXPECT_EQ(a[0].health, 1);
  EXPECT_EQ(a[0].until_ms, 5000);
  EXPECT_EQ(a[0].reason, "rate_limited");
  EXPECT_EQ(a[0].rate_limit_streak, 1);
  if (s.shared()) {
    EXPECT_EQ(a[0].updated_ms, 1000);  // one process needs no stamps: it saves in order
  }
  EXPECT_EQ(a[1].upstream, "vendor-a");
  EXPECT_EQ(a[1].key_fp, "fp-2");
  auto b = s.key_states_of("vendor-b");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].key_fp, "fp-1");
  EXPECT_EQ(b[0].health, 2);
  EXPECT_EQ(b[0].reason, "invalid_key");
  EXPECT_TRUE(s.key_states_of("vendor-c").empty());
  EXPECT_EQ(s.key_states().size(), 3u);
}

// Two gateways may save one key's state out of order: the newest change wins, whoever writes last.
// Redis only: a store of one process takes every slot and saves its key states in order.
TEST(RedisStoreFleet, SharedKeyStateKeepsTheNewest) {
  auto owned = redis_kind::open("");
  auto& s = *owned;
  s.save_key_state({"vendor-a", "fp-1", 1, 5000, 4000, "rate_limited", 30, 1, 0, 2000});
  s.save_key_state({"vendor-a", "fp-1", 2, 9000, 1000, "invalid_key", 600, 0, 0, 1500});  // older: ignored
  auto a = s.key_states_of("vendor-a");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].health, 1);
  EXPECT_EQ(a[0].reason, "rate_limited");
  EXPECT_EQ(a[0].updated_ms, 2000);
  s.save_key_state({"vendor-a", "fp-1", 0, 0, 0, "", 0, 0, 0, 2500});  // newer: kept
  a = s.key_states_of("vendor-a");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].health, 0);
  EXPECT_EQ(a[0].reason, "");
  EXPECT_EQ(a[0].updated_ms, 2500);
}

TYPED_TEST(StoreFleetTest, SharedSecretIsTheFirstCandidate) {
  auto& s = *this->store_;
  const std::string one = "first-candidate-0123456789abcdef0123456789";
  const std::string two = "second-candidate-0123456789abcdef012345678";
  EXPECT_EQ(s.shared_secret(one), one);
  if (shared_kind<TypeParam>) {
    EXPECT_EQ(s.shared_secret(two), one) << "a shared store keeps the first secret for every gateway";
  }
}

// ---- Redis only ---------------------------------------------------------------------------

/// Expects `call` to throw error_exception(store_unavailable), soon.
template <class F>
void expect_store_unavailable(const char* what, F call) {
  auto t0 = steady::now();
  try {
    call();
    ADD_FAILURE() << what << ": no exception while Redis is down";
  } catch (const error_exception& e) {
    EXPECT_EQ(e.err.code, errc::store_unavailable) << what << ": " << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": '" << e.what() << "' is not an error_exception(store_unavailable)";
  }
  EXPECT_LT(steady::now() - t0, 3s) << what << ": a call while Redis is down must fail fast";
}

/// Pings `s` until it answers (each failure a store_unavailable) or 5 s pass.
bool comes_back(store& s) {
  return first_success(
             [&] {
               try {
                 s.ping();
                 return true;
               } catch (const error_exception& e) {
                 EXPECT_EQ(e.err.code, errc::store_unavailable) << e.what();
                 return false;
               }
             },
             steady::now())
      .has_value();
}

// Several gateways = several store objects on one server and prefix: one job list, one seq,
// one set of leases, slots, budgets, key states, idempotency records and id secret.
TEST(RedisStore, StoresOnOnePrefixAreOneFleet) {
  auto o = redis_at(vgtest::shared_redis_server());
  auto a = open_redis_store(o);
  auto b = open_redis_store(o);

  a->put(make_job("v1", "A"));
  b->put(make_job("v2", "A"));
  ASSERT_TRUE(b->get("v1"));
  EXPECT_EQ(b->get("v1")->seq, 1);
  EXPECT_EQ(a->get("v2")->seq, 2) << "one sequence for the fleet";
  EXPECT_EQ(ids_of(a->list({"A", std::nullopt, 20, true})), (ids{"v2", "v1"}));
  auto page = b->list({"A", std::nullopt, 1, true});
  EXPECT_EQ(ids_of(page), (ids{"v2"}));
  EXPECT_EQ(ids_of(a->list({"A", page.data.back().id, 1, true})), (ids{"v1"})) << "a cursor from one gateway works on another";

  ASSERT_TRUE(a->take_lease("poll:v1", 60'000));
  EXPECT_FALSE(b->take_lease("poll:v1", 60'000)) << "one gateway polls a job at a time";
  b->drop_lease("poll:v1");
  EXPECT_FALSE(b->take_lease("poll:v1", 60'000)) << "a gateway drops only its own lease";
  a->drop_lease("poll:v1");
  EXPECT_TRUE(b->take_lease("poll:v1", 60'000));

  ASSERT_TRUE(a->claim_slot("u", "fp2", 1, "ra", 60'000));
  EXPECT_FALSE(b->claim_slot("u", "fp2", 1, "rb", 60'000)) << "max_jobs_per_key holds across the fleet";
  a->release_slot("u", "fp2", "ra");
  EXPECT_TRUE(b->claim_slot("u", "fp2", 1, "rb", 60'000));
  EXPECT_FALSE(b->claim_slot("u", "fp", 2, "r", 60'000)) << "v1 and v2, put by two gateways, fill a cap of 2";

  bool checked = false;
  for (int attempt = 0; attempt < 5 && !checked; ++attempt) {
    const std::string up = "vendor-" + std::to_string(attempt);
    auto second = clock::now_s();
    std::vector<bool> got{a->take_poll_budget(up, 3), b->take_poll_budget(up, 3), a->take_poll_budget(up, 3),
                          b->take_poll_budget(up, 3), a->take_poll_budget(up, 3)};
    if (clock::now_s() != second) continue;
    EXPECT_EQ(got, (std::vector<bool>{true, true, true, false, false})) << "max_polls_per_second is fleet-wide";
    checked = true;
  }
  EXPECT_TRUE(checked) << "every attempt crossed a second boundary";

  a->save_key_state({"vendor-a", "fp-1", 1, 5000, 4000, "rate_limited", 30, 1, 0, 1000});
  auto seen = b->key_states_of("vendor-a");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].reason, "rate_limited") << "a 429 seen by one gateway cools the key for all";

  idempotency_record r{"A", "order-1", "fp-a", idempotency_record::state::pending, "", "", clock::now_s()};
  EXPECT_FALSE(a->claim_idempotency(r, 0));
  auto other = b->claim_idempotency(r, 0);
  ASSERT_TRUE(other) << "an Idempotency-Key claimed on one gateway is claimed for all";
  EXPECT_EQ(other->status, idempotency_record::state::pending);

  EXPECT_EQ(a->shared_secret("secret-of-a-0123456789abcdef0123456789"), "secret-of-a-0123456789abcdef0123456789");
  EXPECT_EQ(b->shared_secret("secret-of-b-0123456789abcdef0123456789"), "secret-of-a-0123456789abcdef0123456789");

  // Another prefix on the same server is another fleet.
  auto c = open_redis_store(redis_at(vgtest::shared_redis_server()));
  EXPECT_FALSE(c->get("v1"));
  EXPECT_TRUE(c->list({"A", std::nullopt, 20, true}).data.empty());
  EXPECT_TRUE(c->take_lease("poll:v1", 60'000));
  EXPECT_TRUE(c->claim_slot("u", "fp", 1, "r", 60'000));
  EXPECT_TRUE(c->key_states().empty());
}

// Redis stopped: every call throws error_exception(store_unavailable), quickly; started again
// on its AOF: the same store object works again, with nothing lost.
TEST(RedisStore, UnreachableIsStoreUnavailableAndRecoversWithoutReopening) {
  vgtest::redis_server server;
  auto o = redis_at(server);
  o.connect_timeout = 300ms;
  o.command_timeout = 500ms;
  auto s = open_redis_store(o);
  const job_record full = full_record();
  s->put(full);
  server.stop();

  expect_store_unavailable("get", [&] { s->get(full.id); });
  expect_store_unavailable("put", [&] { s->put(make_job("v2", "team-blue")); });
  expect_store_unavailable("list", [&] { s->list({"team-blue", std::nullopt, 20, true}); });
  expect_store_unavailable("unfinished", [&] { s->unfinished(10); });
  expect_store_unavailable("ping", [&] { s->ping(); });
  // A decision the fleet cannot make is not a "yes": no lease, no slot, no poll budget.
  expect_store_unavailable("take_lease", [&] { s->take_lease("poll:x", 1000); });
  expect_store_unavailable("claim_slot", [&] { s->claim_slot("u", "fp", 1, "r", 1000); });
  expect_store_unavailable("take_poll_budget", [&] { s->take_poll_budget("u", 3); });
  expect_store_unavailable("claim_idempotency", [&] {
    s->claim_idempotency({"team-blue", "k", "fp", idempotency_record::state::pending, "", "", clock::now_s()}, 0);
  });

  server.start_again();
  ASSERT_TRUE(comes_back(*s)) << "the store did not reconnect within 5 s";
  auto got = s->get(full.id);
  ASSERT_TRUE(got);
  expect_same_fields(*got, full);
  EXPECT_FALSE(s->get("v2")) << "a put that threw wrote nothing";
  s->put(make_job("v3", "team-blue"));
  EXPECT_EQ(ids_of(s->list({"team-blue", std::nullopt, 20, true})), (ids{"v3", full.id}));
  EXPECT_EQ(s->get("v3")->seq, 2);
}

// A gateway may start before its Redis: opening does not connect, calls fail until it is there.
TEST(RedisStore, OpensBeforeRedisIsUp) {
  vgtest::redis_server server;
  auto o = redis_at(server);
  o.connect_timeout = 300ms;
  o.command_timeout = 500ms;
  server.stop();  // its port is now closed
  std::unique_ptr<store> s;
  ASSERT_NO_THROW(s = open_redis_store(o));
  expect_store_unavailable("get", [&] { s->get("v1"); });
  expect_store_unavailable("ping", [&] { s->ping(); });
  server.start_again();
  ASSERT_TRUE(comes_back(*s));
  s->put(make_job("v1", "A"));
  EXPECT_TRUE(s->get("v1"));
}

// appendfsync always: whatever a call acknowledged is on disk before it returns, so a kill -9
// of Redis loses none of it (DESIGN §4 "kill -9 loses nothing acknowledged", §10).
TEST(RedisStore, AcknowledgedWritesSurviveKill9) {
  vgtest::redis_server server;
  auto o = redis_at(server);
  auto s = open_redis_store(o);
  std::vector<job_record> jobs;
  for (int i = 0; i < 20; ++i) {
    auto j = make_job("v" + std::to_string(i), "A", 1000 + i, i % 4 == 0 ? "queued" : "completed");
    j.idempotency_key = "idem-" + std::to_string(i);
    jobs.push_back(j);
    s->put(j);
  }
  jobs.push_back(full_record());
  s->put(jobs.back());
  idempotency_record idem{"A", "order-9", "fp-9", idempotency_record::state::pending, "", "", clock::now_s()};
  ASSERT_FALSE(s->claim_idempotency(idem, 0));
  idem.status = idempotency_record::state::done;
  idem.video_id = "v9";
  s->settle_idempotency(idem);
  s->save_key_state({"u", "fp", 1, 9'000'000'000'000, 1000, "rate_limited", 30, 1, 0, 1000});
  const std::string secret = "kept-secret-0123456789abcdef0123456789ab";
  ASSERT_EQ(s->shared_secret(secret), secret);

  server.kill9();
  server.start_again();
  ASSERT_TRUE(comes_back(*s));

  // The store that was open, and one opened afresh (a gateway restarted meanwhile).
  auto fresh = open_redis_store(o);
  for (store* st : {s.get(), fresh.get()}) {
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      auto got = st->get(jobs[i].id);
      ASSERT_TRUE(got) << jobs[i].id << " was lost";
      expect_same_fields(*got, jobs[i]);
      EXPECT_EQ(got->seq, static_cast<std::int64_t>(i + 1));
    }
    EXPECT_EQ(st->list({"A", std::nullopt, 100, true}).data.size(), 20u);
    EXPECT_EQ(st->unfinished(100).size(), 5u);
    EXPECT_EQ(st->find_idempotent("A", "idem-7", 0)->id, "v7");
    auto claimed = st->claim_idempotency(idem, 0);
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->status, idempotency_record::state::done);
    EXPECT_EQ(claimed->video_id, "v9");
    auto keys = st->key_states_of("u");
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].until_ms, 9'000'000'000'000);
    EXPECT_EQ(st->shared_secret("another-secret-0123456789abcdef01234567"), secret);
  }
  // The unfinished-job counts came back with the jobs: the 5 queued ones fill a cap of 5.
  EXPECT_FALSE(fresh->claim_slot("u", "fp", 5, "r", 60'000));
  EXPECT_TRUE(fresh->claim_slot("u", "fp", 6, "r", 60'000));
  s->put(make_job("after", "A"));
  EXPECT_EQ(fresh->get("after")->seq, static_cast<std::int64_t>(jobs.size() + 1)) << "the sequence goes on";
}

// ---- store.url ------------------------------------------------------------------------------

// redis://[[user]:password@]host[:port][/db]; a password holding '@' or ':' is written
// percent-encoded, as in any URL.
TEST(RedisUrl, Parses) {
  struct want {
    const char* url;
    const char* host;
    int port;
    int db;
    const char* username;
    const char* password;
  };
  for (const want& w : {want{"redis://cache.internal:6380/3", "cache.internal", 6380, 3, "", ""},
                        want{"redis://cache.internal", "cache.internal", 6379, 0, "", ""},
                        want{"redis://cache.internal/", "cache.internal", 6379, 0, "", ""},
                        want{"redis://127.0.0.1:7000", "127.0.0.1", 7000, 0, "", ""},
                        want{"redis://:s3cret@h:1/2", "h", 1, 2, "", "s3cret"},
                        want{"redis://user:s3cret@h/0", "h", 6379, 0, "user", "s3cret"},
                        want{"redis://:p%40ss%3Aword@h:1/0", "h", 1, 0, "", "p@ss:word"}}) {
    SCOPED_TRACE(w.url);
    std::string error;
    auto o = parse_redis_url(w.url, &error);
    ASSERT_TRUE(o) << error;
    EXPECT_EQ(o->host, w.host);
    EXPECT_EQ(o->port, w.port);
    EXPECT_EQ(o->db, w.db);
    EXPECT_EQ(o->username, w.username);
    EXPECT_EQ(o->password, w.password);
  }
}

TEST(RedisUrl, RefusesWhatIsNotARedisUrl) {
  for (const char* url : {"", "http://h:6379/0", "h:6379", "redis://", "redis://h:port/0", "redis://h:0/0",
                          "redis://h:65536/0", "redis://h:-1/0", "redis://h:1/db", "redis://h:1/-1", "redis://h:1/1x"}) {
    SCOPED_TRACE(url);
    std::string error;
    EXPECT_FALSE(parse_redis_url(url, &error));
    EXPECT_FALSE(error.empty()) << "a refusal says why";
    EXPECT_FALSE(parse_redis_url(url)) << "no error string asked for";
  }
}

TEST(RedisUrl, ErrorsNeverQuoteThePassword) {
  for (const char* url : {"http://:hunter2-pw@h:1/0", "redis://:hunter2-pw@h:notaport/0", "redis://u:hunter2-pw@h:1/zero",
                          "redis://:hunter2-pw@h:99999/0", "redis://u:hunter2-pw@/0"}) {
    SCOPED_TRACE(url);
    std::string error;
    EXPECT_FALSE(parse_redis_url(url, &error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace videogate::jobs

namespace videogate::jobs {
namespace {

// ---- The webhook outbox (DESIGN §9), the same on every store kind ----

template <class Kind>
class OutboxTest : public StoreTest<Kind> {};
TYPED_TEST_SUITE(OutboxTest, store_kinds, kind_names);

outbox_event make_event(const std::string& id, const std::string& video, std::int64_t due_ms) {
  outbox_event e;
  e.id = id;
  e.type = "video.completed";
  e.video_id = video;
  e.client = "A";
  e.body = R"({"id":")" + id + R"(","object":"event"})";
  e.created_at = due_ms / 1000;
  e.next_attempt_ms = due_ms;
  e.updated_ms = due_ms;
  return e;
}

TYPED_TEST(OutboxTest, AnEventIsWrittenWithItsJobAndOnlyIfTheJobWas) {
  auto& s = *this->store_;
  auto j = make_job("v1", "A", 1, "queued");
  s.put(j);
  j.status = "completed";
  ASSERT_TRUE(s.update(j, {make_event("evt_1", "v1", 5'000)}));
  auto e = s.outbox_get("evt_1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->video_id, "v1");
  EXPECT_EQ(e->body, R"({"id":"evt_1","object":"event"})");
  EXPECT_EQ(e->status, outbox_event::state::pending);

  // An update that does not happen (a tombstone, an unknown job) writes no event.
  s.put(make_job("v2", "A", 2, "deleted"));
  auto gone = make_job("v2", "A", 2, "completed");
  EXPECT_FALSE(s.update(gone, {make_event("evt_2", "v2", 5'000)}));
  EXPECT_FALSE(s.update(make_job("nope", "A", 3, "completed"), {make_event("evt_3", "nope", 5'000)}));
  EXPECT_FALSE(s.outbox_get("evt_2").has_value());
  EXPECT_FALSE(s.outbox_get("evt_3").has_value());

  // A put carries events too.
  s.put(make_job("v4", "A", 4, "failed"), {make_event("evt_4", "v4", 6'000)});
  EXPECT_TRUE(s.outbox_get("evt_4").has_value());
  EXPECT_EQ(s.outbox_count(outbox_event::state::pending), 2);
}

TYPED_TEST(OutboxTest, OneEventPerIdEver) {
  auto& s = *this->store_;
  auto j = make_job("v1", "A", 1, "completed");
  s.put(j, {make_event("evt_1", "v1", 5'000)});
  auto delivered = *s.outbox_get("evt_1");
  delivered.status = outbox_event::state::delivered;
  delivered.attempts = 1;
  delivered.updated_ms = 7'000;
  ASSERT_TRUE(s.outbox_save(delivered));
  // The same event again (a second poll that saw the end, another replica): kept as it is.
  ASSERT_TRUE(s.update(j, {make_event("evt_1", "v1", 9'000)}));
  auto e = s.outbox_get("evt_1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, outbox_event::state::delivered);
  EXPECT_EQ(e->attempts, 1);
  EXPECT_EQ(s.outbox_count(outbox_event::state::pending), 0);
  EXPECT_EQ(s.outbox_count(outbox_event::state::delivered), 1);
}

TYPED_TEST(OutboxTest, DueEventsSoonestFirstAndTheNextDueTime) {
  auto& s = *this->store_;
  EXPECT_FALSE(s.outbox_next_due().has_value());
  s.put(make_job("v1", "A", 1, "completed"), {make_event("evt_late", "v1", 9'000), make_event("evt_soon", "v1b", 2'000)});
  s.put(make_job("v2", "A", 2, "completed"), {make_event("evt_mid", "v2", 5'000)});
  EXPECT_EQ(s.outbox_next_due(), 2'000);
  auto due = s.outbox_due(6'000, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, "evt_soon");
  EXPECT_EQ(due[1].id, "evt_mid");
  EXPECT_EQ(s.outbox_due(6'000, 1).size(), 1u) << "the limit holds";
  EXPECT_TRUE(s.outbox_due(1'000, 10).empty());

  // Delivered and failed events are never due again.
  auto e = due[0];
  e.status = outbox_event::state::delivered;
  e.updated_ms = 6'000;
  ASSERT_TRUE(s.outbox_save(e));
  auto f = due[1];
  f.status = outbox_event::state::failed;
  f.last_error = "HTTP 410";
  f.updated_ms = 6'500;
  ASSERT_TRUE(s.outbox_save(f));
  EXPECT_TRUE(s.outbox_due(6'000, 10).empty());
  EXPECT_EQ(s.outbox_next_due(), 9'000);
  EXPECT_FALSE(s.outbox_save(make_event("evt_unknown", "v9", 1)));
}

TYPED_TEST(OutboxTest, ListsByStatusNewestChangeFirst) {
  auto& s = *this->store_;
  s.put(make_job("v1", "A", 1, "completed"),
        {make_event("evt_a", "v1", 1'000), make_event("evt_b", "v1", 2'000), make_event("evt_c", "v1", 3'000)});
  auto b = *s.outbox_get("evt_b");
  b.status = outbox_event::state::delivered;
  b.updated_ms = 10'000;
  s.outbox_save(b);
  auto c = *s.outbox_get("evt_c");
  c.status = outbox_event::state::failed;
  c.updated_ms = 11'000;
  c.last_error = "HTTP 410";
  s.outbox_save(c);
  auto all = s.outbox_list(std::nullopt, 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "evt_c");
  EXPECT_EQ(all[1].id, "evt_b");
  EXPECT_EQ(all[2].id, "evt_a");
  auto failed = s.outbox_list(outbox_event::state::failed, 10);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].last_error, "HTTP 410");
  auto pending = s.outbox_list(outbox_event::state::pending, 10);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "evt_a");
  EXPECT_EQ(s.outbox_list(std::nullopt, 2).size(), 2u);
  EXPECT_EQ(s.outbox_count(outbox_event::state::failed), 1);
}

TEST(SqliteStore, OutboxSurvivesCloseAndReopen) {
  temp_db db;
  {
    auto s = open_sqlite_store(db.path());
    s->put(make_job("v1", "A", 1, "completed"), {make_event("evt_1", "v1", 5'000)});
  }
  auto s = open_sqlite_store(db.path());
  auto e = s->outbox_get("evt_1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, outbox_event::state::pending);
  EXPECT_EQ(s->outbox_due(5'000, 10).size(), 1u);
}

}  // namespace
}  // namespace videogate::jobs
