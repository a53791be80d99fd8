// Both directions of protocol compatibility, with the real programs of the last
// protocol-1 and protocol-2 releases (docs/protocol.md, "Versions"): their
// Python agents against this ingest, and this agent against their ingests (an
// older ramflowd).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "ingest/socket_server.h"
#if RAMFLOW_HAVE_PROTOCOL1
#define RAMFLOW_COMPAT_NS compat_v1
#include "compat/old_ingest.h"
#undef RAMFLOW_COMPAT_NS
#endif
#if RAMFLOW_HAVE_PROTOCOL2
#define RAMFLOW_COMPAT_NS compat_v2
#include "compat/old_ingest.h"
#undef RAMFLOW_COMPAT_NS
#endif

namespace ramflow::ingest {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char dir[] = "/tmp/ramflow-compat-XXXXXX";
    path_ = ::mkdtemp(dir) ? dir : "";
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `script` under /usr/bin/python3 with the agent at `agent_dir`; returns its stdout.
std::string run_agent(const std::string& agent_dir, const std::string& socket, const std::string& script,
                      const std::string& dir) {
  const std::string file = dir + "/scenario.py";
  std::ofstream(file) << script;
  const std::string command = "RAMFLOW_SOCKET=" + socket + " PYTHONPATH=" + agent_dir + " /usr/bin/python3 " + file;
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof(buffer), p)) out += buffer;
    if (::pclose(p) != 0) out += "\n(exit status not 0)";
  }
  return out;
}

struct VersionSink : Sink {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> rejected;
  std::map<std::uint32_t, int> by_version;
  std::map<std::string, int> records_by_label;
  std::map<std::string, int> starts_by_name;
  std::map<std::string, std::uint64_t> calls_by_label;  // summed from the function deltas
  int boards = 0;
  int disconnects = 0;

  void on_connect(const Peer&) override {}
  void on_message(const Peer&, const Envelope& e) override {
    std::lock_guard l(mutex);
    ++by_version[e.version];
    if (auto* r = std::get_if<CallRecord>(&e.message)) ++records_by_label[r->label];
    if (auto* t = std::get_if<TaskStart>(&e.message)) ++starts_by_name[t->name];
    if (auto* d = std::get_if<FunctionDeltas>(&e.message)) {
      for (const auto& row : d->rows) calls_by_label[row.label] += row.calls;
    }
  }
  void on_task_board(const Peer&, std::shared_ptr<const TaskBoard>, const std::string&) override {
    std::lock_guard l(mutex);
    ++boards;
  }
  void on_rejected(const Peer&, RejectReason r) override {
    std::lock_guard l(mutex);
    ++rejected[std::string(to_string(r))];
  }
  void on_sequence_gap(const Peer&, std::uint64_t) override {}
  void on_refused(uid_t, pid_t) override {}
  void on_disconnect(const Peer&) override {
    {
      std::lock_guard l(mutex);
      ++disconnects;
    }
    changed.notify_all();
  }
};

// Runs `script` with the agent at `agent_dir` against this ingest until it
// disconnects; `check` sees what the sink counted.
void against_this_ingest(const std::string& agent_dir, const std::string& script,
                         const std::function<void(VersionSink&)>& check) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  TempDir dir;
  VersionSink sink;
  SocketServer::Options options;
  options.path = dir.path() + "/ramflow.sock";
  SocketServer server(options, sink);
  ASSERT_EQ(server.start(), std::nullopt);
  ASSERT_EQ(run_agent(agent_dir, options.path, script, dir.path()), "ok\n");
  std::unique_lock l(sink.mutex);
  ASSERT_TRUE(sink.changed.wait_for(l, std::chrono::seconds(20), [&] { return sink.disconnects == 1; }));
  EXPECT_TRUE(sink.rejected.empty()) << sink.rejected.begin()->first;
  check(sink);
}

TEST(ProtocolCompat, AProtocol1AgentTalksToThisIngest) {
  if (!RAMFLOW_HAVE_PROTOCOL1) GTEST_SKIP() << "no git history of the protocol-1 release (see CMakeLists.txt)";
  against_this_ingest(RAMFLOW_PROTOCOL1_AGENT,
                      "import ramflow\n"
                      "assert ramflow.__version__ == '0.1.0', ramflow.__version__\n"
                      "ramflow.mark_ready()\n"
                      "@ramflow.track('old.f')\n"
                      "def f(): pass\n"
                      "with ramflow.task('old.task'):\n"
                      "    for _ in range(100): f()\n"
                      "print('ok')\n",
                      [](VersionSink& sink) {
                        EXPECT_EQ(sink.by_version.count(2), 0u);
                        EXPECT_GT(sink.by_version[1], 100);
                        EXPECT_EQ(sink.records_by_label["old.f"], 100);  // one record per call, each counted
                        EXPECT_EQ(sink.records_by_label["old.task"], 1);
                      });
}

// The last protocol-2 agent: its task starts (sent at once, no board) and its
// task ends riding in them are read as before.
TEST(ProtocolCompat, AProtocol2AgentTalksToThisIngest) {
  if (!RAMFLOW_HAVE_PROTOCOL2) GTEST_SKIP() << "no git history of the protocol-2 release (see CMakeLists.txt)";
  against_this_ingest(RAMFLOW_PROTOCOL2_AGENT,
                      "import time, ramflow\n"
                      "assert ramflow._transport.PROTOCOL_VERSION == 2\n"
                      "t = ramflow._agent.get().transport\n"
                      "end = time.monotonic() + 20\n"
                      "while not t.proven and time.monotonic() < end: time.sleep(0.01)\n"
                      "ramflow.mark_ready()\n"
                      "@ramflow.track('old.f')\n"
                      "def f(): pass\n"
                      "for _ in range(3):\n"
                      "    with ramflow.task('old.task'):\n"
                      "        for _ in range(100): f()\n"
                      "t.flush()\n"
                      "print('ok')\n",
                      [](VersionSink& sink) {
                        EXPECT_EQ(sink.by_version.count(3), 0u);
                        EXPECT_GT(sink.by_version[2], 0);
                        EXPECT_EQ(sink.boards, 0);
                        EXPECT_EQ(sink.starts_by_name["old.task"], 3);
                        EXPECT_EQ(sink.records_by_label["old.task"], 3);
                        EXPECT_EQ(sink.calls_by_label["old.f"], 300u);
                      });
}

// This agent against an older ramflowd's ingest: every packet is a clear,
// counted unknown_version there (a protocol-2 ingest reads with recv: the
// kernel drops the board fd passed with the hello), and the agent goes on.
template <class OldIngest>
void this_agent_against(const char* release) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  TempDir dir;
  const std::string socket = dir.path() + "/ramflow.sock";
  OldIngest old(socket);
  ASSERT_EQ(old.start(), std::nullopt) << release;
  const std::string out = run_agent(std::string(RAMFLOW_SOURCE_DIR) + "/agent", socket,
                                    "import time, ramflow\n"
                                    "t = ramflow._agent.get().transport\n"
                                    "ramflow.mark_ready()\n"
                                    "@ramflow.track('new.f')\n"
                                    "def f(): pass\n"
                                    "for _ in range(3):\n"
                                    "    with ramflow.task('new.task'):\n"
                                    "        for _ in range(100): f()\n"
                                    "end = time.monotonic() + 20\n"
                                    "while not t.proven and time.monotonic() < end: time.sleep(0.01)\n"
                                    "t.flush()\n"
                                    "t.close_for_exit()\n"
                                    "print(t.packets_sent, t.dropped_total)\n",
                                    dir.path());
  int packets = -1, dropped = -1;
  ASSERT_EQ(std::sscanf(out.c_str(), "%d %d", &packets, &dropped), 2) << out;
  auto tally = old.wait_for_disconnects(1, 20);
  EXPECT_TRUE(tally.accepted.empty()) << release << ": " << tally.accepted.begin()->first;
  EXPECT_GE(packets, 4);  // hello, phases, task ends, functions...
  EXPECT_EQ(tally.rejected, (std::map<std::string, int>{{"unknown_version", packets}})) << release;
  EXPECT_EQ(dropped, 0);
}

TEST(ProtocolCompat, ThisAgentToAProtocol1IngestIsRejectedAndCountedAsUnknownVersion) {
#if RAMFLOW_HAVE_PROTOCOL1
  this_agent_against<compat_v1::Ingest>("protocol 1");
#else
  GTEST_SKIP() << "no git history of the protocol-1 release (see CMakeLists.txt)";
#endif
}

TEST(ProtocolCompat, ThisAgentToAProtocol2IngestIsRejectedAndCountedAsUnknownVersion) {
#if RAMFLOW_HAVE_PROTOCOL2
  this_agent_against<compat_v2::Ingest>("protocol 2");
#else
  GTEST_SKIP() << "no git history of the protocol-2 release (see CMakeLists.txt)";
#endif
}

}  // namespace
}  // namespace ramflow::ingest
