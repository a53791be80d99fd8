#include "config/parse_value.h"

#include <gtest/gtest.h>

namespace ramflow::config {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnitsAndCompounds) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1s"), milliseconds(1000));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration("3"), milliseconds(3000));
}

TEST(ParseDuration, RejectsGarbage) {
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("fast"));
  EXPECT_FALSE(parse_duration("1d"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1s2"));
  EXPECT_FALSE(parse_duration("99999999999999h"));
}

TEST(ParseBytes, KubernetesAndPlainUnits) {
  EXPECT_EQ(parse_bytes("1048576"), 1048576u);
  EXPECT_EQ(parse_bytes("512Mi"), 512ull << 20);
  EXPECT_EQ(parse_bytes("2Gi"), 2ull << 30);
  EXPECT_EQ(parse_bytes("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_bytes("64M"), 64000000u);
  EXPECT_EQ(parse_bytes("1.5Gi"), 3ull << 29);
  EXPECT_FALSE(parse_bytes("lots"));
  EXPECT_FALSE(parse_bytes("12Q"));
  EXPECT_FALSE(parse_bytes("99999999999Ti"));
}

TEST(ParseScalars, NumbersAndBooleans) {
  EXPECT_EQ(parse_unsigned("64"), 64u);
  EXPECT_FALSE(parse_unsigned("-1"));
  EXPECT_FALSE(parse_unsigned("6x"));
  EXPECT_EQ(parse_number("0.25"), 0.25);
  EXPECT_FALSE(parse_number("nan"));
  EXPECT_EQ(parse_bool("on"), true);
  EXPECT_EQ(parse_bool("false"), false);
  EXPECT_FALSE(parse_bool("maybe"));
}

TEST(ListenAddress, NeedsHostAndPortInRange) {
  EXPECT_TRUE(valid_listen_address("0.0.0.0:9977"));
  EXPECT_TRUE(valid_listen_address("[::1]:80"));
  EXPECT_FALSE(valid_listen_address("9977"));
  EXPECT_FALSE(valid_listen_address(":9977"));
  EXPECT_TRUE(valid_listen_address("localhost:0")) << "port 0 picks a free port";
  EXPECT_FALSE(valid_listen_address("localhost:70000"));
}

TEST(FormatDuration, PicksTheLargestWholeUnit) {
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(1000)), "1s");
  EXPECT_EQ(format_duration(milliseconds(120000)), "2m");
  EXPECT_EQ(format_duration(milliseconds(86400000)), "24h");
}

}  // namespace
}  // namespace ramflow::config
