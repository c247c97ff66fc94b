#include "sqlite_checkpointer.hpp"

#include "sqlite_db.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace videogate::jobs {

sqlite_checkpointer::sqlite_checkpointer(sqlite3* writer, std::string path) {
  sqlite3_wal_hook(writer, &sqlite_checkpointer::on_wal, this);  // replaces the automatic checkpoint
  thread_ = std::thread([this, p = std::move(path)] { run(p); });
}

sqlite_checkpointer::~sqlite_checkpointer() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int sqlite_checkpointer::on_wal(void* self_ptr, sqlite3* db, const char*, int frames) {
  auto* self = static_cast<sqlite_checkpointer*>(self_ptr);
  if (frames >= writer_checkpoint_pages) {
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  // Frames since the last checkpoint (a WAL started over from the top counts from 0).
  auto done = self->done_frames_.load(std::memory_order_relaxed);
  if (frames < done) done = 0;
  if (frames - done >= checkpoint_pages) {
    {
      std::lock_guard lk(self->mu_);
      self->wanted_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void sqlite_checkpointer::run(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_ptr conn(raw);
  if (rc != SQLITE_OK) {
    spdlog::warn("store: no checkpoint connection ({}); the writer checkpoints past {} pages", sqlite3_errstr(rc),
                 writer_checkpoint_pages);
    return;
  }
  sqlite3_busy_timeout(conn.get(), 1000);
  // A connection opens the WAL on its first read; until then a checkpoint is a no-op.
  sqlite3_exec(conn.get(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::seconds(1), [this] { return stop_ || wanted_; });
    if (stop_) break;
    wanted_ = false;
    lk.unlock();
    int log_frames = 0, copied = 0;
    rc = sqlite3_wal_checkpoint_v2(conn.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
    if (rc == SQLITE_OK) done_frames_.store(copied, std::memory_order_relaxed);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) spdlog::warn("store: checkpoint failed: {}", sqlite3_errmsg(conn.get()));
    lk.lock();
  }
}

}  // namespace videogate::jobs
