#include "ingest/commands.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "ingest/json_reader.h"

namespace ramflow::ingest {
namespace {

TEST(Commands, ACaptureIsOneJsonObjectWithEveryField) {
  const std::string packet = encode({"4242-1796447123-1", "leak_high", 35, 60, 8, 10});
  EXPECT_EQ(packet,
            R"({"v":3,"type":"capture","id":"4242-1796447123-1","why":"leak_high","tasks":35,"seconds":60.000,"frames":8,"top":10})");
  EXPECT_NO_THROW(scan_object(packet));
}

TEST(Commands, FieldsOutOfTheAgentsRangeAreRefusedBeforeSending) {
  EXPECT_THROW(encode({"", "on_demand"}), std::invalid_argument);
  EXPECT_THROW(encode({"a\"b", "on_demand"}), std::invalid_argument);
  EXPECT_THROW(encode({std::string(65, 'a'), "on_demand"}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "On-Demand"}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "on_demand", 0}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "on_demand", 100001}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "on_demand", 20, 0}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "on_demand", 20, 3601}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "on_demand", 20, 60, 0}), std::invalid_argument);
  EXPECT_THROW(encode({"c1", "on_demand", 20, 60, 8, 51}), std::invalid_argument);
}

}  // namespace
}  // namespace ramflow::ingest
