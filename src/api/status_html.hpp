#pragma once
/// @file The operator's status page (GET /admin) as HTML: a pure function of what the page
/// shows, so that it is tested without a gateway. Everything the page prints is escaped; the
/// view holds no secret (fingerprints and last 4 only, messages already scrubbed).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace videogate::api {

struct status_view {
  struct key {
    std::string fp, last4;
    std::string state;   ///< healthy | cooling | disabled
    std::string reason;  ///< cooling: rate_limited | transient; disabled: invalid_key | out_of_credit
    long long seconds_left = 0;  ///< cooling: until usable; disabled: until the next probe
    long long seconds_in_state = -1;  ///< since it entered its state; -1: unknown
    bool probing = false;        ///< disabled, its probe in flight
    int in_flight = 0, unfinished = 0;
  };
  struct vendor_error {
    std::int64_t at_s = 0;
    std::string key_fp, code, message;
  };
  struct minute {
    std::int64_t minute = 0;  ///< minutes since the epoch
    unsigned created = 0, completed = 0, failed = 0;
  };
  struct upstream {
    std::string name, dialect, host;
    std::vector<key> keys;
    std::optional<vendor_error> last_error;
    std::vector<minute> history;  ///< the last hour's minutes with any job event, oldest first
  };
  struct load {
    std::int64_t at_s = 0;
    bool applied = true, startup = true;
    std::string source;
    std::vector<std::string> errors, needs_restart;
  };
  struct webhook_event {
    std::string id, type, video_id, client, last_error;
    int attempts = 0;
    std::int64_t next_attempt_s = 0;
  };
  struct webhooks {
    bool configured = false;  ///< some client has a webhook
    long long pending = 0, failed = 0;  ///< events in the outbox by state
    std::map<std::string, unsigned long long> deliveries;  ///< by result
    std::vector<webhook_event> pending_events;  ///< a few, latest change first
    std::string store_error;                    ///< the store failed to list the outbox
  };

  std::int64_t now_s = 0;
  std::int64_t started_s = 0;
  std::string store_kind;
  int refresh_s = 15;  ///< the page reloads itself this often; 0: never
  std::vector<upstream> upstreams;
  load config;
  webhooks hooks;
};

/// The whole page.
std::string render_status_html(const status_view& v);

/// The page's Content-Security-Policy: nothing loads, nothing runs; only its one inline
/// stylesheet applies (allowed by its SHA-256).
const std::string& status_page_csp();

/// "45 s", "9 min 59 s", "2 h 5 min", "3 d 4 h".
std::string human_duration(long long seconds);

}  // namespace videogate::api
