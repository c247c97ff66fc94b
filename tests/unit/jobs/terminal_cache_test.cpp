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
  EXPECT_TRUE(c->get("video_9"));  // the newest is always kept
  // Replacing a held job never evicts another.
  c->put(finished("video_9", "failed"));
  held = 0;
  for (int i = 0; i < 10; ++i) held += c->get("video_" + std::to_string(i)) ? 1 : 0;
  EXPECT_EQ(held, 3);
}

}  // namespace
}  // namespace videogate::jobs
