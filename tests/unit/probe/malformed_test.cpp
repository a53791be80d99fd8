// Every reader on every defect of tests/fixtures/malformed/proc-*: the right
// ErrorKind, never a crash (the ASan build runs this too).
#include <gtest/gtest.h>

#include <functional>

#include "fixture.h"
#include "probe/cgroup.h"
#include "probe/meminfo.h"
#include "probe/proc_stat.h"
#include "probe/proc_status.h"
#include "probe/psi.h"
#include "probe/smaps_rollup.h"

namespace ramflow::probe {
namespace {

using namespace fx;

// Runs one reader on a proc root; returns the error, or nullopt when it read fine.
using Reader = std::function<std::optional<ReadError>(const std::string& proc_root)>;

template <class T>
std::optional<ReadError> error_of(const Result<T>& r) {
  if (r) return std::nullopt;
  return r.error();
}

const std::vector<std::pair<std::string, Reader>> kReaders = {
    {"status", [](const std::string& root) { return error_of(read_proc_status(root, kMalformedPid)); }},
    {"stat", [](const std::string& root) { return error_of(read_proc_stat(root, kMalformedPid)); }},
    {"smaps_rollup", [](const std::string& root) { return error_of(read_smaps_rollup(root, kMalformedPid)); }},
    {"cgroup", [](const std::string& root) {
       return error_of(read_memory_cgroup_path(root, kMalformedPid, CgroupVersion::kV1));
     }},
    {"meminfo", [](const std::string& root) { return error_of(read_meminfo(root)); }},
    {"uptime", [](const std::string& root) { return error_of(read_uptime_seconds(root)); }},
    {"pressure", [](const std::string& root) { return error_of(read_psi(root + "/pressure/memory")); }},
};

class MalformedProcTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedProcTest, EveryReaderReportsMalformed) {
  const std::string root = fixture("malformed/proc-" + GetParam());
  for (const auto& [name, read] : kReaders) {
    const auto e = read(root);
    ASSERT_TRUE(e) << name << " accepted a " << GetParam() << " file";
    EXPECT_EQ(e->kind, ErrorKind::kMalformed) << name << ": " << e->message();
    EXPECT_NE(e->message().find(root), std::string::npos) << e->message();
  }
}

INSTANTIATE_TEST_SUITE_P(Defects, MalformedProcTest,
                         ::testing::Values("truncated", "missing-lines", "garbled-number",
                                           "binary-garbage", "empty"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(Malformed, MessageSaysWhatIsWrongAndWhatToDo) {
  const auto r = read_proc_status(fixture("malformed/proc-garbled-number"), kMalformedPid);
  ASSERT_FALSE(r);
  const std::string m = r.error().message();
  EXPECT_NE(m.find("VmRSS"), std::string::npos) << m;
  EXPECT_NE(m.find("please report it"), std::string::npos) << m;
}

TEST(Malformed, PermissionDeniedOnSmapsRollupNamesTheFix) {
  const ReadError e{ErrorKind::kPermissionDenied, "/proc/123/smaps_rollup", "Permission denied"};
  EXPECT_EQ(e.message(),
            "cannot read /proc/123/smaps_rollup: Permission denied — run the sidecar with the "
            "worker's UID or grant SYS_PTRACE");
}

}  // namespace
}  // namespace ramflow::probe
