#pragma once
// Private to src/jobs: checkpoints of a SQLite WAL off the writing thread.
//
// SQLite's automatic checkpoint runs inside the commit that crosses its threshold: every
// request queued behind that commit waits for the whole copy and its fsync (the p99 of a
// create load, tests/bench). With this, the writer only appends to the WAL; a thread of its
// own, on its own connection, copies the WAL back (PASSIVE: never blocking the writer) when
// it holds checkpoint_pages, and at least once a second.

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace videogate::jobs {

class sqlite_checkpointer {
 public:
  /// Takes over the WAL hook of `writer` (the automatic checkpoint) for the database at `path`.
  sqlite_checkpointer(sqlite3* writer, std::string path);
  /// Stops the thread; call before `writer` closes.
  ~sqlite_checkpointer();
  sqlite_checkpointer(const sqlite_checkpointer&) = delete;
  sqlite_checkpointer& operator=(const sqlite_checkpointer&) = delete;

  static constexpr int checkpoint_pages = 2000;  // ~8 MiB of WAL
  // Under writes that never pause the WAL cannot start over (the checkpointer always trails
  // the writer); at this size the writer copies back the little the checkpointer has not
  // (and syncs), and the WAL starts from the top: it stays near 32 MiB on disk.
  static constexpr int writer_checkpoint_pages = 8000;

 private:
  static int on_wal(void* self, sqlite3* db, const char*, int frames);
  void run(const std::string& path);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wanted_ = false;
  std::atomic<int> done_frames_{0};  ///< WAL frames copied back by the last checkpoint
  std::thread thread_;               // last: started once the rest is ready
};

}  // namespace videogate::jobs
