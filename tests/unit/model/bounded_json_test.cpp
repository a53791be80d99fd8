// The bounded JSON parse: the same document as nlohmann's parse, the nesting
// limit, and — measured in a child process from its RSS peak (VmHWM, reset
// through /proc/self/clear_refs) — a count that stays above the memory the
// parse really takes, for the shapes that cost most per byte.
#include "model/bounded_json.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace ramflow::model {
namespace {

long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  }
  return -1;
}

std::string repeated(const std::string& open, const std::string& unit, const std::string& close, std::size_t size) {
  std::string out = open;
  while (out.size() < size) out += unit;
  out.pop_back();
  return out + close;
}

TEST(BoundedJson, ParsesLikeNlohmann) {
  const std::string text = R"({"a":[1,-2,3.5,"x",null,true,{"b":{}}],"long key of many bytes":"v","a":0})";
  EXPECT_EQ(parse_bounded_json(text, {}), nlohmann::json::parse(text));
  EXPECT_EQ(parse_bounded_json("7", {}), 7);
}

TEST(BoundedJson, InvalidJsonIsAnInvalidArgument) {
  for (const char* text : {"", "{", "[1,]", "{\"a\":1} x", "nul"}) {
    EXPECT_THROW(parse_bounded_json(text, {}), std::invalid_argument) << text;
  }
}

TEST(BoundedJson, NestingPastTheLimitStops) {
  EXPECT_NO_THROW(parse_bounded_json(std::string(16, '[') + std::string(16, ']'), {16, 4u << 20}));
  EXPECT_THROW(parse_bounded_json(std::string(17, '[') + std::string(17, ']'), {16, 4u << 20}), JsonLimitError);
  EXPECT_THROW(parse_bounded_json(std::string(1 << 20, '['), {16, 4u << 20}), JsonLimitError);
}

TEST(BoundedJson, ADocumentOverTheBudgetStops) {
  const std::string objects = repeated("[", "{},", "]", 1 << 20);
  EXPECT_GT(estimated_json_heap_bytes(objects, 16), 16u << 20);
  EXPECT_THROW(parse_bounded_json(objects, {16, 16u << 20}), JsonLimitError);
  EXPECT_NO_THROW(parse_bounded_json(objects, {16, 64u << 20}));
}

TEST(BoundedJson, TheCountStaysAboveTheMeasuredPeakOfEveryCostlyShape) {
  const std::size_t size = 4u << 20;
  const std::pair<const char*, std::string> shapes[] = {
      {"empty objects", repeated("[", "{},", "]", size)},
      {"empty arrays", repeated("[", "[],", "]", size)},
      {"zeros", repeated("[", "0,", "]", size)},
      {"empty strings", repeated("[", "\"\",", "]", size)},
      {"points", repeated("[", "[1,2,3],", "]", size)},
      {"members", [size] {
         std::string s = "{";
         for (int i = 0; s.size() < size; ++i) s += "\"" + std::to_string(i) + "\":0,";
         s.back() = '}';
         return s;
       }()},
      {"one long string", "\"" + std::string(size, 'a') + "\""},
      {"long strings", repeated("[", "\"" + std::string(48, 'a') + "\",", "]", size)},
  };
  for (const auto& [name, text] : shapes) {
    const std::size_t counted = estimated_json_heap_bytes(text, 16);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::ofstream("/proc/self/clear_refs") << "5";
      const long before = status_kib("VmRSS:");
      { auto j = parse_bounded_json(text, {16, counted}); }
      const long peak = status_kib("VmHWM:");
      ::_exit((peak - before) * 1024L < static_cast<long>(counted) ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << name << ": the parse took more than the " << (counted >> 10) << " KiB counted";
  }
}

}  // namespace
}  // namespace ramflow::model
