// The pure half of the webhooks (DESIGN §9): signature, event, schedule, state machine.

#include "videogate/config/config.hpp"
#include "videogate/jobs/webhooks.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace videogate;
using namespace videogate::jobs;
using namespace std::chrono_literals;

namespace {

config::config with_webhook_client() {
  config::config c;
  config::client_config app;
  app.name = "app";
  app.key = "k";
  app.webhook = config::webhook_target{"https://app.example/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""};
  config::client_config plain;
  plain.name = "plain";
  plain.key = "k2";
  c.clients = {app, plain};
  return c;
}

job_record job(const std::string& client, const std::string& status) {
  job_record j;
  j.id = "video_abc";
  j.client = client;
  j.status = status;
  return j;
}

}  // namespace

// The Standard Webhooks specification's published test vector.
TEST(WebhookSignature, MatchesTheStandardWebhooksTestVector) {
  auto key = config::webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(sign_webhook(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignature, ARotationSignsWithBothSecretsNewFirst) {
  config::webhook_target t{"https://x", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""};
  auto one = webhook_signature(t, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  EXPECT_EQ(one, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  config::webhook_target rotating{"https://x", "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",
                                  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  auto two = webhook_signature(rotating, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  auto space = two.find(' ');
  ASSERT_NE(space, std::string::npos) << two;
  EXPECT_EQ(two.substr(space + 1), one) << "the previous secret's signature comes second";
  EXPECT_EQ(two.substr(0, space),
            sign_webhook(*config::webhook_key(rotating.secret), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                         R"({"test": 2432232314})"));
}

TEST(WebhookSecret, WhsecIsBase64AndRawTextIsItself) {
  EXPECT_EQ(config::webhook_key("whsec_aGVsbG8gd29ybGQ="), "hello world");
  EXPECT_EQ(config::webhook_key("plain-text-secret"), "plain-text-secret");
  EXPECT_FALSE(config::webhook_key("whsec_not*base64").has_value());
}

TEST(WebhookEvent, OnlyWhenAJobOfAClientWithAWebhookEnds) {
  auto cfg = with_webhook_client();
  auto done = event_for(cfg, job("app", "completed"), false, 1'700'000'000'123);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->type, "video.completed");
  EXPECT_EQ(done->video_id, "video_abc");
  EXPECT_EQ(done->client, "app");
  EXPECT_EQ(done->created_at, 1'700'000'000);
  EXPECT_EQ(done->next_attempt_ms, 1'700'000'000'123) << "due at once";
  EXPECT_EQ(done->status, outbox_event::state::pending);
  EXPECT_EQ(done->body, R"({"id":")" + done->id +
                            R"(","object":"event","created_at":1700000000,"type":"video.completed","data":{"id":"video_abc"}})");
  EXPECT_EQ(done->id.rfind("evt_", 0), 0u);

  auto failed = event_for(cfg, job("app", "failed"), false, 1'000);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->type, "video.failed");
  EXPECT_NE(failed->id, done->id);

  EXPECT_FALSE(event_for(cfg, job("app", "completed"), true, 1'000)) << "it had ended before";
  EXPECT_FALSE(event_for(cfg, job("app", "in_progress"), false, 1'000));
  EXPECT_FALSE(event_for(cfg, job("app", "deleted"), false, 1'000));
  EXPECT_FALSE(event_for(cfg, job("plain", "completed"), false, 1'000)) << "no webhook configured";
  EXPECT_FALSE(event_for(cfg, job("stranger", "completed"), false, 1'000));
}

TEST(WebhookEvent, TheIdIsTheSameEveryTimeForOneVideoAndType) {
  EXPECT_EQ(event_id("video_a", "video.completed"), event_id("video_a", "video.completed"));
  std::set<std::string> ids{event_id("video_a", "video.completed"), event_id("video_a", "video.failed"),
                            event_id("video_b", "video.completed")};
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(event_id("video_a", "video.completed").size(), 4u + 32u);
}

TEST(WebhookSchedule, DelaysFollowTheScheduleWithinTwentyPercentAndTheLastRepeats) {
  std::vector<std::chrono::milliseconds> s{5s, 5min, 30min};
  EXPECT_EQ(retry_delay(s, 1, 0.0), 5s);
  EXPECT_EQ(retry_delay(s, 2, 0.0), 5min);
  EXPECT_EQ(retry_delay(s, 3, 0.0), 30min);
  EXPECT_EQ(retry_delay(s, 4, 0.0), 30min);
  EXPECT_EQ(retry_delay(s, 40, 0.0), 30min);
  EXPECT_EQ(retry_delay(s, 1, 1.0), 6s);
  EXPECT_EQ(retry_delay(s, 1, -1.0), 4s);
  EXPECT_EQ(retry_delay(s, 1, 7.0), 6s) << "jitter is clamped to ±20 %";
  EXPECT_EQ(retry_delay(s, 0, 0.0), 5s);
}

TEST(WebhookSchedule, TheDefaultScheduleIsDesigns) {
  config::webhooks_config p;
  std::vector<std::chrono::milliseconds> expected{5s, 5min, 30min, 2h, 5h, 10h, 10h};
  EXPECT_EQ(p.schedule, expected);
  EXPECT_EQ(p.timeout, 15s);
  EXPECT_EQ(p.retry_for, 72h);
  EXPECT_FALSE(p.allow_private);
}

TEST(WebhookStatus, OnlyTwoHundredsDeliverAndFourTenStops) {
  EXPECT_EQ(outcome_of_status(200), attempt_outcome::delivered);
  EXPECT_EQ(outcome_of_status(204), attempt_outcome::delivered);
  EXPECT_EQ(outcome_of_status(410), attempt_outcome::gone);
  for (int st : {100, 301, 302, 307, 400, 401, 404, 408, 429, 500, 502, 503})
    EXPECT_EQ(outcome_of_status(st), attempt_outcome::retry) << st;
}

// pending -> (an attempt) -> delivered | pending again | failed; failed/delivered -> redelivered -> pending.
TEST(OutboxStateMachine, PendingDeliveringDeliveredFailedRedelivered) {
  config::webhooks_config p;
  p.schedule = {5s, 5min};
  p.retry_for = 1h;
  outbox_event e;
  e.id = "evt_x";
  e.next_attempt_ms = 1'000;

  auto a1 = after_attempt(e, attempt_outcome::retry, "HTTP 500", 1'000, p, 0.0);
  EXPECT_EQ(a1.status, outbox_event::state::pending);
  EXPECT_EQ(a1.attempts, 1);
  EXPECT_EQ(a1.first_attempt_ms, 1'000);
  EXPECT_EQ(a1.next_attempt_ms, 6'000);
  EXPECT_EQ(a1.last_error, "HTTP 500");

  auto a2 = after_attempt(a1, attempt_outcome::retry, "timed out", 6'000, p, 0.0);
  EXPECT_EQ(a2.attempts, 2);
  EXPECT_EQ(a2.next_attempt_ms, 6'000 + 300'000);
  EXPECT_EQ(a2.first_attempt_ms, 1'000) << "retry_for counts from the first attempt";

  auto a3 = after_attempt(a2, attempt_outcome::delivered, "", 306'000, p, 0.0);
  EXPECT_EQ(a3.status, outbox_event::state::delivered);
  EXPECT_EQ(a3.attempts, 3);
  EXPECT_TRUE(a3.last_error.empty());

  auto gone = after_attempt(a1, attempt_outcome::gone, "HTTP 410", 6'000, p, 0.0);
  EXPECT_EQ(gone.status, outbox_event::state::failed) << "410 stops at once";
  EXPECT_EQ(gone.last_error, "HTTP 410");

  // Past retry_for: the next retry would start after the window ends.
  auto late = a1;
  late.attempts = 20;
  auto out = after_attempt(late, attempt_outcome::retry, "HTTP 503", 1'000 + 3'600'000 - 60'000, p, 0.0);
  EXPECT_EQ(out.status, outbox_event::state::failed);
  EXPECT_NE(out.last_error.find("HTTP 503"), std::string::npos);
  EXPECT_NE(out.last_error.find("retry_for"), std::string::npos);

  auto again = redelivered(gone, 50'000);
  EXPECT_EQ(again.status, outbox_event::state::pending);
  EXPECT_EQ(again.next_attempt_ms, 50'000) << "due now";
  EXPECT_EQ(again.first_attempt_ms, 0) << "a fresh retry_for window";
  EXPECT_EQ(again.attempts, gone.attempts) << "attempts keep counting";
  EXPECT_EQ(again.id, "evt_x") << "the same webhook-id";
}
