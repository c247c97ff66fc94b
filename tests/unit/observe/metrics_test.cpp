// The metrics' text format: every family declared before its first sample, the job history.
#include "videogate/observe/metrics.hpp"

#include "videogate/core/clock.hpp"

#include <gtest/gtest.h>

#include <string>

namespace videogate::observe {
namespace {

TEST(Metrics, EveryFamilyIsDeclaredBeforeItsFirstSample) {
  metrics m;
  auto text = m.render();
  for (auto* family : {"videogate_http_requests_total counter", "videogate_http_request_duration_seconds histogram",
                       "videogate_upstream_requests_total counter", "videogate_upstream_request_duration_seconds histogram",
                       "videogate_jobs_created_total counter", "videogate_jobs_completed_total counter",
                       "videogate_jobs_failed_total counter", "videogate_config_reloads_total counter",
                       "videogate_webhook_deliveries_total counter", "videogate_job_reads_total counter",
                       "videogate_content_bytes_total counter", "videogate_webhook_backlog gauge",
                       "videogate_config_last_reload_successful gauge",
                       "videogate_config_last_reload_timestamp_seconds gauge"})
    EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
  EXPECT_NE(text.find("\nvideogate_config_last_reload_successful 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nvideogate_job_reads_total{source=\"poll\"} 0\n"), std::string::npos);
  EXPECT_EQ(text.find("See README"), std::string::npos) << "each family says what it counts";
}

TEST(Metrics, SamplesFollowTheirOwnFamilyOnly) {
  metrics m;
  m.job_created("a");
  m.job_finished("a", false);
  m.request("/v1/videos", 200, std::chrono::microseconds(1500));
  auto text = m.render();
  auto created = text.find("# TYPE videogate_jobs_created_total counter\nvideogate_jobs_created_total{upstream=\"a\"} 1\n");
  EXPECT_NE(created, std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE videogate_jobs_failed_total counter\nvideogate_jobs_failed_total{upstream=\"a\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE videogate_jobs_completed_total counter\n# HELP"), std::string::npos) << "declared, empty";
  EXPECT_NE(text.find("videogate_http_request_duration_seconds_bucket{route=\"/v1/videos\",le=\"0.0025\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("videogate_http_request_duration_seconds_count{route=\"/v1/videos\"} 1\n"), std::string::npos);
}

TEST(Metrics, ReloadResultAndTimeAreKept) {
  metrics m;
  m.reload(false);
  auto text = m.render();
  EXPECT_NE(text.find("\nvideogate_config_last_reload_successful 0\n"), std::string::npos);
  EXPECT_NE(text.find("videogate_config_reloads_total{result=\"error\"} 1\n"), std::string::npos);
  auto at = text.find("\nvideogate_config_last_reload_timestamp_seconds ");
  ASSERT_NE(at, std::string::npos);
  auto value = std::stoll(text.substr(at + 47));
  EXPECT_LE(std::llabs(value - clock::now_s()), 5);
  m.reload(true);
  EXPECT_NE(m.render().find("\nvideogate_config_last_reload_successful 1\n"), std::string::npos);
}

TEST(Metrics, JobReadsCountEachSource) {
  metrics m;
  m.job_read_from(job_read::terminal_cache);
  m.job_read_from(job_read::store);
  m.job_read_from(job_read::store);
  auto text = m.render();
  EXPECT_NE(text.find("videogate_job_reads_total{source=\"terminal_cache\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("videogate_job_reads_total{source=\"store\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("videogate_job_reads_total{source=\"poll\"} 0\n"), std::string::npos);
}

TEST(Metrics, JobHistoryCountsThisMinutePerUpstream) {
  metrics m;
  m.job_created("a");
  m.job_created("a");
  m.job_finished("a", true);
  m.job_finished("b", false);
  auto now = clock::now_s() / 60;
  auto h = m.job_history(now);
  // The minute may have turned between the events: sum the minutes seen.
  unsigned created = 0, completed = 0, failed = 0;
  for (auto& x : h["a"]) {
    EXPECT_GE(x.minute, now - 1);
    created += x.created;
    completed += x.completed;
    failed += x.failed;
  }
  EXPECT_EQ(created, 2u);
  EXPECT_EQ(completed, 1u);
  EXPECT_EQ(failed, 0u);
  ASSERT_FALSE(h["b"].empty());
  EXPECT_EQ(h["b"].back().failed, 1u);
  EXPECT_TRUE(m.job_history(now + 61)["a"].empty()) << "an hour later the minute is gone";
}

TEST(Metrics, WebhookDeliveriesByResult) {
  metrics m;
  m.webhook_delivery("delivered");
  m.webhook_delivery("delivered");
  m.webhook_delivery("retry");
  auto d = m.webhook_deliveries();
  EXPECT_EQ(d["delivered"], 2u);
  EXPECT_EQ(d["retry"], 1u);
  EXPECT_EQ(d.count("failed"), 0u);
}

}  // namespace
}  // namespace videogate::observe
