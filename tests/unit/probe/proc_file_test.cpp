// ProcFile on the real kernel: one kept-open fd follows the process's memory
// across reads, and stops at the process's end even if its pid comes back.
#include "probe/proc_file.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "probe/proc_status.h"

namespace ramflow::probe {
namespace {

std::uint64_t rss_of(const ProcFile& f) {
  auto text = f.read();
  EXPECT_TRUE(text) << text.error().message();
  auto status = parse_proc_status(text.value(), f.path());
  EXPECT_TRUE(status) << status.error().message();
  return status ? status.value().vm_rss : 0;
}

TEST(ProcFile, OneOpenFileFollowsTheProcessAcrossReads) {
  auto file = ProcFile::open("/proc/self/status");
  ASSERT_TRUE(file) << file.error().message();
  const std::uint64_t before = rss_of(file.value());
  constexpr std::size_t kBytes = 64u << 20;
  void* block = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(block, MAP_FAILED);
  std::memset(block, 1, kBytes);  // touched: resident
  const std::uint64_t after = rss_of(file.value());
  ::munmap(block, kBytes);
  EXPECT_GE(after, before + kBytes - (4u << 20)) << "the second read must see the new memory";
  const std::string text = file.value().read().value();
  EXPECT_EQ(text.rfind("Name:", 0), 0u) << "each read starts at the top of the file";
  EXPECT_NE(text.find("VmRSS:"), std::string::npos);
}

TEST(ProcFile, AnExitedProcessIsNotFoundThroughItsOpenFile) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto file = ProcFile::open("/proc/" + std::to_string(child) + "/status");
  ASSERT_TRUE(file) << file.error().message();
  ASSERT_TRUE(file.value().read());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);  // reaped: the pid may be reused, the fd still names the dead one
  auto text = file.value().read();
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind, ErrorKind::kNotFound) << text.error().message();
}

TEST(ProcFile, AMissingFileIsNotFound) {
  auto file = ProcFile::open("/proc/999999999/status");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace ramflow::probe
