#include "videogate/config/config.hpp"

namespace videogate::config {

namespace {

// Kept byte for byte equal to config/demo.yaml (a unit test compares them).
const char* const demo_text = R"yaml(# videogate demo: the gateway in front of the bundled simulated vendors (videogate-mock-vendor),
# so a first run shows create -> poll -> download with no vendor account.
# No `clients:`: /v1 needs no client key (a sidecar on loopback). Do not expose this config.
# Every ${VAR:-default} below can be overridden from the environment.
listen: "${VIDEOGATE_LISTEN:-127.0.0.1:8080}"
store:
  kind: sqlite
  path: "${VIDEOGATE_DB:-videogate-demo.db}"
upstreams:
  # Later issues add `unified` and `freesora` mock upstreams beside this one
  # (the mock vendor serves all three dialects on the same port).
  - name: mock-openai
    dialect: openai
    base_url: "${VIDEOGATE_MOCK_URL:-http://127.0.0.1:9090}"
    keys: ["demo-key-1", "demo-key-2"]
    poll_interval: 250ms
    models: { sora-2: sora-2, sora-2-pro: sora-2-pro }
)yaml";

}  // namespace

const std::string& demo_yaml() {
  static const std::string text = demo_text;
  return text;
}

}  // namespace videogate::config
