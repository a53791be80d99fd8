// Result and ReadError: a value or one line the user can act on.
#include "probe/result.h"

#include <gtest/gtest.h>

namespace ramflow::probe {
namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(ReadError, MessageNamesThePathAndTheDetail) {
  ReadError e{ErrorKind::kMalformed, "/proc/12/status", "no VmRSS line"};
  const std::string m = e.message();
  EXPECT_EQ(m.rfind("cannot read /proc/12/status: no VmRSS line — ", 0), 0u) << m;
}

TEST(ReadError, WithoutADetailTheKindIsSaid) {
  EXPECT_TRUE(contains(ReadError{ErrorKind::kIo, "/proc/meminfo", ""}.message(), "/proc/meminfo: I/O error"));
}

TEST(ReadError, AnUnreadableSmapsRollupSaysToGrantSysPtrace) {
  const std::string m = ReadError{ErrorKind::kPermissionDenied, "/proc/12/smaps_rollup", ""}.message();
  EXPECT_TRUE(contains(m, "SYS_PTRACE")) << m;
  EXPECT_TRUE(contains(m, "worker's UID")) << m;
}

TEST(ReadError, EveryKindEndsWithWhatToDo) {
  for (ErrorKind kind : {ErrorKind::kNotFound, ErrorKind::kPermissionDenied, ErrorKind::kMalformed, ErrorKind::kIo}) {
    const std::string m = ReadError{kind, "/x", ""}.message();
    const auto dash = m.find(" — ");
    ASSERT_NE(dash, std::string::npos) << m;
    EXPECT_GT(m.size(), dash + 10) << m;
  }
}

TEST(ReadError, KindsHaveDistinctNames) {
  EXPECT_EQ(to_string(ErrorKind::kNotFound), "not found");
  EXPECT_EQ(to_string(ErrorKind::kPermissionDenied), "permission denied");
  EXPECT_EQ(to_string(ErrorKind::kMalformed), "malformed");
  EXPECT_EQ(to_string(ErrorKind::kIo), "I/O error");
}

TEST(Result, HoldsAValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 42);
}

TEST(Result, HoldsAnError) {
  Result<int> r = ReadError{ErrorKind::kNotFound, "/proc/9", ""};
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(r.error().path, "/proc/9");
}

TEST(Result, AValueCanBeMovedOut) {
  Result<std::string> r = std::string(1000, 'x');
  std::string taken = std::move(r).value();
  EXPECT_EQ(taken.size(), 1000u);
}

}  // namespace
}  // namespace ramflow::probe
