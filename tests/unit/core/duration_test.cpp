#include "videogate/core/duration.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace videogate {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// --- parse_duration -------------------------------------------------------------------

TEST(ParseDuration, EveryUnitOfTheConfigContract) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
}

TEST(ParseDuration, ZeroAndLargeValues) {
  EXPECT_EQ(parse_duration("0ms"), milliseconds(0));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
  EXPECT_EQ(parse_duration("0h"), milliseconds(0));
  EXPECT_EQ(parse_duration("1500ms"), milliseconds(1500));
  EXPECT_EQ(parse_duration("90s"), milliseconds(90'000));
  EXPECT_EQ(parse_duration("120m"), milliseconds(7'200'000));
  EXPECT_EQ(parse_duration("24h"), milliseconds(86'400'000));
  EXPECT_EQ(parse_duration("007s"), milliseconds(7'000));  // leading zeros are still a number
}

TEST(ParseDuration, UnitIsRequired) {
  EXPECT_EQ(parse_duration("30"), std::nullopt);
  EXPECT_EQ(parse_duration("0"), std::nullopt);
}

TEST(ParseDuration, NumberIsRequired) {
  EXPECT_EQ(parse_duration(""), std::nullopt);
  EXPECT_EQ(parse_duration("s"), std::nullopt);
  EXPECT_EQ(parse_duration("ms"), std::nullopt);
  EXPECT_EQ(parse_duration("h"), std::nullopt);
}

TEST(ParseDuration, UnknownUnitsAreRejected) {
  EXPECT_EQ(parse_duration("10x"), std::nullopt);
  EXPECT_EQ(parse_duration("10d"), std::nullopt);
  EXPECT_EQ(parse_duration("10sec"), std::nullopt);
  EXPECT_EQ(parse_duration("10us"), std::nullopt);
  EXPECT_EQ(parse_duration("10mss"), std::nullopt);
  EXPECT_EQ(parse_duration("10S"), std::nullopt);
  EXPECT_EQ(parse_duration("10MS"), std::nullopt);
}

TEST(ParseDuration, NegativeAndSignedValuesAreRejected) {
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("+5s"), std::nullopt);
}

TEST(ParseDuration, FractionsAndCompoundFormsAreRejected) {
  EXPECT_EQ(parse_duration("1.5s"), std::nullopt);
  EXPECT_EQ(parse_duration("1h30m"), std::nullopt);
  EXPECT_EQ(parse_duration("1e3ms"), std::nullopt);
}

TEST(ParseDuration, WhitespaceIsRejected) {
  EXPECT_EQ(parse_duration(" 1s"), std::nullopt);
  EXPECT_EQ(parse_duration("1s "), std::nullopt);
  EXPECT_EQ(parse_duration("1 s"), std::nullopt);
}

TEST(ParseDuration, OverflowIsRejectedNotWrapped) {
  EXPECT_EQ(parse_duration("99999999999999999999s"), std::nullopt);  // beyond long long
  EXPECT_EQ(parse_duration("9223372036854775807h"), std::nullopt);   // would overflow the multiply
  EXPECT_EQ(parse_duration("9223372036854775807ms"), std::nullopt);
  auto big = parse_duration("1000000h");
  if (big) {
    EXPECT_GT(big->count(), 0) << "a huge duration must never wrap around";
  }
}

// --- format_duration ------------------------------------------------------------------

TEST(FormatDuration, PicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1ms), "1ms");
  EXPECT_EQ(format_duration(30'000ms), "30s");
  EXPECT_EQ(format_duration(90'000ms), "90s");
  EXPECT_EQ(format_duration(300'000ms), "5m");
  EXPECT_EQ(format_duration(5'400'000ms), "90m");
  EXPECT_EQ(format_duration(3'600'000ms), "1h");
  EXPECT_EQ(format_duration(86'400'000ms), "24h");
}

TEST(FormatDuration, Zero) { EXPECT_EQ(format_duration(0ms), "0s"); }

TEST(FormatDuration, RoundTripsThroughParse) {
  for (long long ms : {0LL, 1LL, 250LL, 999LL, 1000LL, 1001LL, 30'000LL, 59'999LL, 60'000LL, 61'000LL, 600'000LL,
                       3'600'000LL, 3'660'000LL, 7'200'000LL, 86'400'000LL}) {
    auto text = format_duration(milliseconds(ms));
    auto back = parse_duration(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->count(), ms) << text;
  }
}

TEST(FormatDuration, ParseThenFormatIsCanonical) {
  EXPECT_EQ(format_duration(*parse_duration("60s")), "1m");
  EXPECT_EQ(format_duration(*parse_duration("60m")), "1h");
  EXPECT_EQ(format_duration(*parse_duration("1000ms")), "1s");
  EXPECT_EQ(format_duration(*parse_duration("5m")), "5m");
}

}  // namespace
}  // namespace videogate
