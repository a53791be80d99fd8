// The bounded JSON parse: the same document as nlohmann's parse, the nesting
// limit, and — measured in a child process from its RSS peak (VmHWM, reset
// through /proc/self/clear_refs) — a count that stays above the memory the
// parse really takes, for the shapes that cost most per byte.
#include "model/bounded_json.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define RAMFLOW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAMFLOW_ASAN 1
#endif
#endif

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

std::string shape(int which, std::size_t size) {
  switch (which) {
    case 0: return repeated("[", "{},", "]", size);
    case 1: return repeated("[", "[],", "]", size);
    case 2: return repeated("[", "0,", "]", size);
    case 3: return repeated("[", "\"\",", "]", size);
    case 4: return repeated("[", "[1,2,3],", "]", size);
    case 5: {
      std::string s = "{";
      for (int i = 0; s.size() < size; ++i) s += "\"" + std::to_string(i) + "\":0,";
      s.back() = '}';
      return s;
    }
    case 6: return "\"" + std::string(size, 'a') + "\"";
    default: return repeated("[", "\"" + std::string(48, 'a') + "\",", "]", size);
  }
}

// Exits 0 when parsing `text` took less than what was counted for it.
[[noreturn]] void measure(const std::string& text) {
  const std::size_t counted = estimated_json_heap_bytes(text, 16);
  std::ofstream("/proc/self/clear_refs") << "5";
  const long before = status_kib("VmRSS:");
  { auto j = parse_bounded_json(text, {16, counted}); }
  const long peak = status_kib("VmHWM:");
  std::fprintf(stderr, "peak +%ld KiB, counted %zu KiB\n", peak - before, counted >> 10);
  std::_Exit((peak - before) * 1024L < static_cast<long>(counted) ? 0 : 1);
}

// Each shape in a fresh process (the death-test style re-executes the test
// binary), as a state file is read by a sidecar that has just started: a
// heap that earlier tests fragmented takes more.
TEST(BoundedJsonDeathTest, TheCountStaysAboveTheMeasuredPeakOfEveryCostlyShape) {
#ifdef RAMFLOW_ASAN
  GTEST_SKIP() << "the count models glibc's allocator; ASan's (redzones, quarantine) takes several times more";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const char* names[] = {"empty objects", "empty arrays", "zeros", "empty strings",
                         "points", "members", "one long string", "long strings"};
  for (int which = 0; which < 8; ++which) {
    EXPECT_EXIT(measure(shape(which, 4u << 20)), ::testing::ExitedWithCode(0), "") << names[which];
  }
}

}  // namespace
}  // namespace ramflow::model
