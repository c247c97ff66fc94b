#include "videogate/config/reload.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace videogate::config {
namespace {

config base() {
  config c;
  c.listen_host = "127.0.0.1";
  c.listen_port = 8080;
  c.threads = 2;
  c.store.kind = "sqlite";
  c.store.path = "videogate.db";
  c.ids.secret = std::string(40, 's');
  upstream_config u;
  u.name = "vendor-a";
  u.ca_file = "/etc/ca-a.pem";
  c.upstreams.push_back(u);
  return c;
}

using names = std::vector<std::string>;

TEST(RestartOnlyChanges, NoneWhenOnlyLiveKeysChange) {
  auto next = base();
  next.limits.max_body_bytes = 1;
  next.upstreams[0].keys = {"k1", "k2"};
  next.log.level = "debug";
  EXPECT_EQ(restart_only_changes(base(), next), names{});
}

TEST(RestartOnlyChanges, NamesEachStartUpKeyThatChanged) {
  auto next = base();
  next.listen_port = 9090;
  next.threads = 4;
  next.store.kind = "memory";
  next.store.path = "other.db";
  next.store.sync = "full";
  next.ids.secret = std::string(40, 't');
  EXPECT_EQ(restart_only_changes(base(), next),
            (names{"listen", "threads", "store.kind", "store.path", "store.sync", "ids.secret"}));
}

TEST(RestartOnlyChanges, ACaFileNotLoadedAtStartNeedsARestart) {
  auto next = base();
  upstream_config b;
  b.name = "vendor-b";
  b.ca_file = "/etc/ca-b.pem";
  next.upstreams.push_back(b);
  upstream_config c;
  c.name = "vendor-c";
  c.ca_file = "/etc/ca-a.pem";  // loaded at start for vendor-a: the TLS context has it
  next.upstreams.push_back(c);
  EXPECT_EQ(restart_only_changes(base(), next), names{"upstreams[vendor-b].ca_file"});
}

}  // namespace
}  // namespace videogate::config
