// Numbers from vendors and clients are clamped before any arithmetic (DESIGN §8): a fuzzer
// found 1.7e79 converted to long in unix_seconds.
#include "videogate/dialects/dialect.hpp"

#include "videogate/api/video.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace videogate::dialects {
namespace {

namespace json = boost::json;

std::optional<long long> retry_after_of(const std::string& header) {
  return classify_http_error(429, {{"Retry-After", header}}, R"({"error":{"message":"slow down"}})").retry_after_s;
}

TEST(Clamps, RetryAfterStaysWithinADay) {
  EXPECT_EQ(retry_after_of("99999999999999999999999"), 86400);
  EXPECT_EQ(retry_after_of("1000000"), 86400);
  EXPECT_EQ(retry_after_of("-5"), 0);
  EXPECT_EQ(retry_after_of("12"), 12);
  EXPECT_EQ(retry_after_of("Fri, 31 Dec 9999 23:59:59 GMT"), 86400);
  EXPECT_FALSE(retry_after_of("Fri, 31 Dec 99999999999 23:59:59 GMT"));
}

TEST(Clamps, TimestampsOutOfRangeAreNoTimestamps) {
  for (auto text : {"1.70056e+79", "1e300", "-1", "0"}) {
    auto v = json::parse(text);
    EXPECT_FALSE(unix_seconds(&v)) << text;
  }
  for (auto text : {"\"inf\"", "\"nan\"", "\"1e400\""}) {
    auto v = json::parse(text);
    EXPECT_FALSE(unix_seconds(&v)) << text;
  }
  auto ms = json::parse("1790000000123");
  EXPECT_EQ(unix_seconds(&ms), 1790000000);
  auto big_ms = json::parse("253402300799000");  // the last second of 9999, in ms
  EXPECT_EQ(unix_seconds(&big_ms), 253402300799);
}

TEST(Clamps, ProgressIsZeroToHundred) {
  for (auto [text, want] : std::initializer_list<std::pair<const char*, int>>{
           {"1e300", 100}, {"-1e300", 0}, {"\"1e300%\"", 100}, {"\"nan\"", 0}, {"\"-inf\"", 0}, {"0.5", 50}}) {
    auto v = json::parse(text);
    EXPECT_EQ(normalize_progress(&v), want) << text;
  }
}

TEST(Clamps, ShotDurationsMustBeFiniteAndBounded) {
  for (auto d : {"1e10", "1e308", "3600.5"}) {
    auto body = std::string(R"({"prompt":"p","model":"sora-2-pro","shots":[{"scene":"a","duration":)") + d + "}]}";
    auto r = api::parse_create("application/json", body);
    ASSERT_FALSE(r) << d;
    EXPECT_EQ(r.error().code, errc::invalid_value);
    EXPECT_EQ(r.error().param, "shots[0].duration");
  }
  // The multipart bracket form parses text: "inf" must not slip through.
  std::string mp =
      "--b\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\np\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"shots[0][scene]\"\r\n\r\na\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"shots[0][duration]\"\r\n\r\ninf\r\n--b--\r\n";
  auto r = api::parse_create("multipart/form-data; boundary=b", mp);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_value);
  auto ok = api::parse_create("application/json", R"({"prompt":"p","shots":[{"scene":"a","duration":12.5}]})");
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace videogate::dialects
