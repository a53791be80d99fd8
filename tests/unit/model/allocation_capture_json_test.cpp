// The capture book's part of the state file: round trip, bounded, clear errors.
#include "model/allocation_capture_json.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace ramflow::model {
namespace {

AllocationCapture done_capture() {
  AllocationCapture c;
  c.id = "4242-1796447123-1";
  c.pid = 4242;
  c.start_ticks = 987654;
  c.worker = "celery@host/1";
  c.reason = analysis::CaptureReason::leak_high;
  c.reason_text = "leak level high: +64 KiB per task over 100 tasks";
  c.requested_at = 1796447123.5;
  c.status = CaptureStatus::done;
  c.tasks_wanted = 20;
  c.seconds_wanted = 60;
  c.frames = 8;
  c.tracing = "agent";
  c.started = 1796447124.1;
  c.ended = 1796447124.5;
  c.ended_by = "tasks";
  c.tasks = 20;
  c.rss_growth = 1318912;
  c.anon_growth = 1318912;
  c.traced_growth = 1315756;
  c.tracemalloc_growth = 9952;
  c.sites.push_back({1311860, 40, "KEPT.append(bytearray(BLOCK))",
                     {{"app/tasks.py", 63, "_store"}, {"app/tasks.py", 67, "_validate"}}, 0});
  c.oom_killed_at = 1796447200.0;
  return c;
}

TEST(CaptureJson, RoundTripKeepsEveryFieldAndWhenEachProcessWasLastCaptured) {
  std::deque<AllocationCapture> book{done_capture()};
  book.push_back(done_capture());
  book.back().id = "7-1-2";
  book.back().status = CaptureStatus::lost;
  book.back().error = "the process ended before its window did";
  book.back().anon_growth.reset();
  book.back().sites.clear();
  book.back().oom_killed_at.reset();
  LastAutomatic last{{{4242, 987654, analysis::CaptureReason::leak_high}, 1796447123.5},
                     {{4242, 987654, analysis::CaptureReason::oom_near}, 1796447124.5}};
  const std::string text = captures_to_json(book, last);

  std::deque<AllocationCapture> back;
  LastAutomatic last_back;
  std::string error;
  ASSERT_TRUE(captures_from_json(text, 64, back, last_back, &error)) << error;
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(captures_to_json(back, last_back), text);
  EXPECT_EQ(back[0].sites[0].frames[1].function, "_validate");
  EXPECT_EQ(back[0].oom_killed_at, 1796447200.0);
  EXPECT_EQ(back[1].status, CaptureStatus::lost);
  EXPECT_FALSE(back[1].anon_growth.has_value());
  EXPECT_EQ(last_back, last);
}

TEST(CaptureJson, ABadDocumentIsRefusedWithItsReasonAndChangesNothing) {
  std::deque<AllocationCapture> book{done_capture()};
  LastAutomatic last{{{1, 2, analysis::CaptureReason::leak_high}, 3.0}};
  const std::string good = captures_to_json(book, last);
  auto mutate = [&](auto change) {
    auto j = nlohmann::json::parse(good);
    change(j);
    return j.dump();
  };
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{\"version\":2,\"captures\":[],\"last_automatic\":[]}",
      mutate([](auto& j) { j["captures"][0]["status"] = "paused"; }),
      mutate([](auto& j) { j["captures"][0]["reason"] = "manual"; }),
      mutate([](auto& j) { j["captures"][0]["pid"] = -3; }),
      mutate([](auto& j) { j["captures"][0]["pid"] = 1.5; }),
      mutate([](auto& j) { j["captures"][0]["sites"][0][4] = 2; }),  // past its 2 frames
      mutate([](auto& j) { j["captures"][0]["sites"][0][3] = nlohmann::json::array(); }),
      mutate([](auto& j) { j["captures"][0].erase("tracing"); }),
      mutate([](auto& j) { j["last_automatic"][0] = {1, 2, 3.0}; }),
      mutate([](auto& j) { j["last_automatic"][0][2] = "manual"; }),
      mutate([](auto& j) { j["captures"][0]["id"] = std::string(65, 'x'); }),
  };
  for (const auto& text : bad) {
    std::deque<AllocationCapture> out{done_capture()};
    LastAutomatic out_last;
    std::string error;
    EXPECT_FALSE(captures_from_json(text, 64, out, out_last, &error)) << text;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(out.size(), 1u) << "untouched";
  }
}

TEST(CaptureJson, MoreCapturesThanTheBoundAreRefused) {
  std::deque<AllocationCapture> book(5, done_capture());
  std::deque<AllocationCapture> out;
  LastAutomatic last;
  std::string error;
  EXPECT_FALSE(captures_from_json(captures_to_json(book, {}), 4, out, last, &error));
  EXPECT_NE(error.find("at most 4"), std::string::npos) << error;
}

}  // namespace
}  // namespace ramflow::model
