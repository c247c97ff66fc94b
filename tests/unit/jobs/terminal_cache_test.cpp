#include "videogate/jobs/terminal_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace videogate::jobs {
namespace {

job_record finished(const std::string& id, const std::string& status = "completed") {
  job_record j;
  j.id = id;
  j.status = status;
  return j;
}

TEST(MemoryTerminalCache, RemembersAndForgets) {
  auto c = make_memory_terminal_cache(10);
  EXPECT_FALSE(c->get("video_a"));
  c->put(finished("video_a"));
  ASSERT_TRUE(c->get("video_a"));
  EXPECT_EQ(c->get("video_a")->status, "completed");
  c->put(finished("video_a", "failed"));  // the newer copy wins
  EXPECT_EQ(c->get("video_a")->status, "failed");
  c->forget("video_a");
  EXPECT_FALSE(c->get("video_a"));
}

TEST(MemoryTerminalCache, HoldsAtMostItsBound) {
  auto c = make_memory_terminal_cache(3);
  for (int i = 0; i < 10; ++i) c->put(finished("video_" + std::to_string(i)));
  int held = 0;
  for (int i = 0; i < 10; ++i) held += c->get("video_" + std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(held, 3);
  EXPECT_TRUE(c->get("video_9"));  // the newest is kept, the oldest went first
  EXPECT_TRUE(c->get("video_7"));
  EXPECT_FALSE(c->get("video_6"));
  // Replacing a held job never evicts another.
  c->put(finished("video_9", "failed"));
  held = 0;
  for (int i = 0; i < 10; ++i) held += c->get("video_" + std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(held, 3);
}

// Prompts run to 32k characters: the cache is bounded by bytes, not only by count.
TEST(MemoryTerminalCache, HoldsAtMostItsByteBudget) {
  auto c = make_memory_terminal_cache(50'000, 1024 * 1024);
  for (int i = 0; i < 200; ++i) {
    auto j = finished("video_" + std::to_string(i));
    j.prompt.assign(32'000, 'x');
    c->put(j);
  }
  int held = 0;
  for (int i = 0; i < 200; ++i) held += c->get("video_" + std::to_string(i)) ? 1 : 0;
  EXPECT_GE(held, 25);   // 1 MiB / ~32 KiB
  EXPECT_LE(held, 32);
  EXPECT_TRUE(c->get("video_199"));
  EXPECT_FALSE(c->get("video_0"));
  // One record larger than the whole budget is not kept (and evicts nothing).
  auto huge = finished("video_huge");
  huge.prompt.assign(2 * 1024 * 1024, 'y');
  c->put(huge);
  EXPECT_FALSE(c->get("video_huge"));
  EXPECT_TRUE(c->get("video_199"));
}

}  // namespace
}  // namespace videogate::jobs
