#include "probe/detail/fields.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "probe/detail/file_read.h"

namespace ramflow::probe::detail {
namespace {

TEST(ParseU64, AcceptsOnlyPlainDecimalThatFits) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_u64("18446744073709551616"));
  EXPECT_FALSE(parse_u64(""));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("12x"));
  EXPECT_FALSE(parse_u64(" 1"));
}

TEST(ParseFields, ConvertsKibibytesAndRejectsAMissingUnit) {
  std::uint64_t rss = 0;
  const Field f[] = {{"VmRSS", &rss, Unit::kKiB}};
  EXPECT_FALSE(parse_fields("VmRSS:\t  100 kB\n", "x", f));
  EXPECT_EQ(rss, 102400u);
  const auto e = parse_fields("VmRSS:\t  100\n", "x", f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ErrorKind::kMalformed);
}

TEST(ParseFields, OverflowingKibibytesAreMalformed) {
  std::uint64_t v = 0;
  const Field f[] = {{"Big", &v, Unit::kKiB}};
  EXPECT_TRUE(parse_fields("Big: 18446744073709551615 kB\n", "x", f));
}

TEST(ParseFields, OptionalKeyReportsWhetherItWasSeen) {
  std::uint64_t v = 7;
  bool seen = true;
  const Field f[] = {{"oom_kill", &v, Unit::kBytes, Presence::kOptional, &seen}};
  EXPECT_FALSE(parse_fields("under_oom 0\n", "x", f));
  EXPECT_FALSE(seen);
  EXPECT_EQ(v, 7u);
}

TEST(ParseFields, KeyMustMatchWholly) {
  std::uint64_t anon = 0;
  const Field f[] = {{"anon", &anon}};
  EXPECT_FALSE(parse_fields("inactive_anon 5\nanon_thp 6\nanon 7\n", "x", f));
  EXPECT_EQ(anon, 7u);
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/ramflow-probe-test-XXXXXX";
    const int fd = ::mkstemp(name);
    path_ = name;
    ::close(fd);
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ReadFile, LongerThanTheCapIsMalformed) {
  const TempFile f(std::string(kMaxFileBytes + 1, 'x'));
  const auto r = read_file(f.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kMalformed);
}

TEST(ReadFile, ExactlyTheCapIsRead) {
  const TempFile f(std::string(kMaxFileBytes, 'x'));
  const auto r = read_file(f.path());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().size(), kMaxFileBytes);
}

TEST(ReadFile, TruncateModeKeepsThePrefix) {
  const TempFile f(std::string(5000, 'x'));
  const auto r = read_file(f.path(), 4096, Overflow::kTruncate);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r.value().size(), 4096u);
}

TEST(JoinPath, NeitherDoublesNorDropsSlashes) {
  EXPECT_EQ(join_path("/proc", "1/status"), "/proc/1/status");
  EXPECT_EQ(join_path("/proc/", "/1/status"), "/proc/1/status");
  EXPECT_EQ(join_path("/", "memory"), "/memory");
  EXPECT_EQ(join_path("/sys/fs/cgroup/memory", "/"), "/sys/fs/cgroup/memory");
}

}  // namespace
}  // namespace ramflow::probe::detail
