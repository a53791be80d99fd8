// Live tests: a real v1 memory cgroup, a real python3 OOM-killed by the real
// kernel, the real BPF program. Skipped (with the reason printed) only where
// BPF or cgroup writes are impossible; RAMFLOW_REQUIRE_BPF=1 (CI) turns a skip
// into a failure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "bpf/oom_watcher.h"
#include "memory_cgroup.h"
#include "oom_child.h"

namespace ramflow::bpf {
namespace {

using testing::MemoryCgroup;
using testing::OomChild;

constexpr unsigned long long kLimit = 48ULL << 20;

#define SKIP_OR_FAIL(reason)                                                   \
  do {                                                                         \
    if (testing::bpf_required()) FAIL() << "RAMFLOW_REQUIRE_BPF=1: " << (reason); \
    GTEST_SKIP() << (reason);                                                  \
  } while (0)

int thread_count_named(const std::string& name) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) ++n;
  }
  return n;
}

class EventLog {
 public:
  void add(const OomEvent& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
    changed_.notify_all();
  }
  // Bounded wait, not a timing assertion: the kernel delivers within ms.
  std::vector<OomEvent> wait_for(size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(20), [&] { return events_.size() >= n; });
    return events_;
  }
  std::vector<OomEvent> now() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<OomEvent> events_;
};

class OomWatcherLive : public ::testing::Test {
 protected:
  std::unique_ptr<OomWatcher> start_watching(const std::string& dir, EventLog* log, std::string* why_not) {
    Options options;
    options.cgroup_dirs = {dir};
    options.on_event = [log](const OomEvent& e) { log->add(e); };
    return OomWatcher::start(options, why_not);
  }
};

TEST_F(OomWatcherLive, ReportsTheKilledChildWithPidCommStartTimeAndAnonRss) {
  MemoryCgroup cgroup("victim", kLimit);
  if (!cgroup.ok()) SKIP_OR_FAIL(cgroup.error());
  MemoryCgroup bystander("bystander", kLimit);
  if (!bystander.ok()) SKIP_OR_FAIL(bystander.error());

  EventLog watched, unrelated;
  std::string why_not;
  auto watcher = start_watching(cgroup.dir(), &watched, &why_not);
  if (!watcher) SKIP_OR_FAIL("eBPF OOM watcher unavailable: " + why_not);
  auto other = start_watching(bystander.dir(), &unrelated, &why_not);
  ASSERT_NE(other, nullptr) << why_not;
  EventLog by_pid;
  std::atomic<pid_t> watched_pid{-1};
  Options pid_options;
  pid_options.is_watched_pid = [&watched_pid](pid_t pid) { return pid == watched_pid.load(); };
  pid_options.on_event = [&by_pid](const OomEvent& e) { by_pid.add(e); };
  auto pid_watcher = OomWatcher::start(pid_options, &why_not);
  ASSERT_NE(pid_watcher, nullptr) << why_not;

  OomChild child(cgroup.dir());
  ASSERT_GT(child.pid(), 0);
  watched_pid = child.pid();
  const unsigned long long start_ticks = testing::proc_start_ticks(child.pid());
  ASSERT_TRUE(child.wait_killed()) << "the child was not OOM-killed";
  EXPECT_EQ(cgroup.oom_kill_count(), 1u);

  auto events = watched.wait_for(1);
  ASSERT_EQ(events.size(), 1u);
  const OomEvent& e = events[0];
  EXPECT_EQ(e.pid, child.pid());
  EXPECT_EQ(e.host_pid, child.pid());
  EXPECT_EQ(e.ns_pid, child.pid());
  EXPECT_EQ(e.comm, "python3");
  EXPECT_EQ(e.uid, getuid());
  EXPECT_EQ(e.watched_cgroup, cgroup.dir());
  EXPECT_EQ(e.cgroup_dir, cgroup.dir());
  const long tick = sysconf(_SC_CLK_TCK);
  EXPECT_EQ(e.start_time_ns / (1'000'000'000ULL / static_cast<unsigned long long>(tick)), start_ticks);
  EXPECT_GE(e.anon_rss_bytes, kLimit * 3 / 4);
  EXPECT_LE(e.anon_rss_bytes, kLimit);
  EXPECT_GE(e.total_vm_bytes, e.anon_rss_bytes);

  auto pid_events = by_pid.wait_for(1);
  ASSERT_EQ(pid_events.size(), 1u) << "the watched-pid filter missed the victim";
  EXPECT_EQ(pid_events[0].pid, child.pid());
  EXPECT_TRUE(pid_events[0].watched_cgroup.empty());

  watcher->stop();
  other->stop();
  pid_watcher->stop();
  EXPECT_TRUE(unrelated.now().empty()) << "a victim outside the watched cgroup was reported";
  EXPECT_EQ(other->events_dropped_by_filter(), 1u);
  EXPECT_EQ(watcher->events_dropped_by_filter(), 0u);
}

TEST_F(OomWatcherLive, ReportsThePidAsSeenInsideItsOwnPidNamespace) {
  MemoryCgroup cgroup("pidns", kLimit);
  if (!cgroup.ok()) SKIP_OR_FAIL(cgroup.error());
  int status = 0;
  const std::string out = testing::run_capture(
      {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", OOM_WATCH_PROBE_PATH, cgroup.dir()}, &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "unshare failed: " << out;
  auto seen = nlohmann::json::parse(out);
  if (seen.contains("started") && !seen["started"].get<bool>()) {
    SKIP_OR_FAIL("eBPF OOM watcher unavailable: " + seen["why_not"].get<std::string>());
  }
  ASSERT_TRUE(seen["killed"].get<bool>()) << out;
  ASSERT_TRUE(seen.contains("event_pid")) << "no event inside the namespace: " << out;
  EXPECT_EQ(seen["event_pid"], seen["child_pid"]) << out;
  EXPECT_EQ(seen["ns_pid"], seen["child_pid"]) << out;
  EXPECT_NE(seen["host_pid"], seen["child_pid"]) << "the host pid leaked through: " << out;
  EXPECT_EQ(seen["comm"], "python3");
}

TEST_F(OomWatcherLive, LibbpfMessagesGoToTheDebugCallbackAndThePollerIsNamed) {
  std::atomic<int> lines{0};
  Options options;
  options.on_debug_log = [&lines](std::string_view line) {
    if (!line.empty()) lines.fetch_add(1);
  };
  std::string why_not;
  auto watcher = OomWatcher::start(options, &why_not);
  if (!watcher) SKIP_OR_FAIL("eBPF OOM watcher unavailable: " + why_not);
  EXPECT_EQ(thread_count_named(OomWatcher::kThreadName), 1);
  watcher->stop();
  EXPECT_EQ(thread_count_named(OomWatcher::kThreadName), 0);
  EXPECT_GT(lines.load(), 0) << "libbpf's loading messages did not reach on_debug_log";
}

TEST_F(OomWatcherLive, MissingCapabilitiesAreNamed) {
  if (!OomWatcher::built_with_bpf()) SKIP_OR_FAIL("built without eBPF support");
  int status = 0;
  const std::string out = testing::run_capture(
      {"/usr/bin/setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin", "--inh-caps", "-all",
       OOM_WATCH_PROBE_PATH, "--start-only"},
      &status);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  auto seen = nlohmann::json::parse(out);
  EXPECT_FALSE(seen["started"].get<bool>());
  EXPECT_NE(seen["why_not"].get<std::string>().find("missing CAP_BPF/CAP_PERFMON"), std::string::npos) << out;
}

}  // namespace
}  // namespace ramflow::bpf
