// Both directions of protocol compatibility, with the real programs of the last
// protocol-1 release (docs/protocol.md, "Versions"): its Python agent against
// this ingest, and this agent against its ingest (an older ramflowd).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include "ingest/socket_server.h"
#if RAMFLOW_HAVE_PROTOCOL1
#include "compat/v1_ingest.h"
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
  int disconnects = 0;

  void on_connect(const Peer&) override {}
  void on_message(const Peer&, const Envelope& e) override {
    std::lock_guard l(mutex);
    ++by_version[e.version];
    if (auto* r = std::get_if<CallRecord>(&e.message)) ++records_by_label[r->label];
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

TEST(ProtocolCompat, AProtocol1AgentTalksToThisIngest) {
  if (!RAMFLOW_HAVE_PROTOCOL1) GTEST_SKIP() << "no git history of the protocol-1 release (see CMakeLists.txt)";
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  TempDir dir;
  VersionSink sink;
  SocketServer::Options options;
  options.path = dir.path() + "/ramflow.sock";
  SocketServer server(options, sink);
  ASSERT_EQ(server.start(), std::nullopt);
  const std::string out = run_agent(RAMFLOW_PROTOCOL1_AGENT, options.path,
                                    "import ramflow\n"
                                    "assert ramflow.__version__ == '0.1.0', ramflow.__version__\n"
                                    "ramflow.mark_ready()\n"
                                    "@ramflow.track('old.f')\n"
                                    "def f(): pass\n"
                                    "with ramflow.task('old.task'):\n"
                                    "    for _ in range(100): f()\n"
                                    "print('ok')\n",
                                    dir.path());
  ASSERT_EQ(out, "ok\n");
  std::unique_lock l(sink.mutex);
  ASSERT_TRUE(sink.changed.wait_for(l, std::chrono::seconds(20), [&] { return sink.disconnects == 1; }));
  EXPECT_TRUE(sink.rejected.empty()) << sink.rejected.begin()->first;
  EXPECT_EQ(sink.by_version.count(2), 0u);
  EXPECT_GT(sink.by_version[1], 100);
  EXPECT_EQ(sink.records_by_label["old.f"], 100);  // protocol 1: one record per call, each counted
  EXPECT_EQ(sink.records_by_label["old.task"], 1);
}

TEST(ProtocolCompat, ThisAgentToAProtocol1IngestIsRejectedAndCountedAsUnknownVersion) {
#if RAMFLOW_HAVE_PROTOCOL1
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  TempDir dir;
  const std::string socket = dir.path() + "/ramflow.sock";
  compat_v1::Ingest old(socket);
  ASSERT_EQ(old.start(), std::nullopt);
  const std::string out = run_agent(std::string(RAMFLOW_SOURCE_DIR) + "/agent", socket,
                                    "import time, ramflow\n"
                                    "t = ramflow._agent.get().transport\n"
                                    "ramflow.mark_ready()\n"
                                    "@ramflow.track('new.f')\n"
                                    "def f(): pass\n"
                                    "with ramflow.task('new.task'):\n"
                                    "    for _ in range(100): f()\n"
                                    "end = time.monotonic() + 20\n"
                                    "while not t.proven and time.monotonic() < end: time.sleep(0.01)\n"
                                    "t.flush()\n"
                                    "t.close_for_exit()\n"
                                    "print(t.packets_sent, t.dropped_total)\n",
                                    dir.path());
  int packets = -1, dropped = -1;
  ASSERT_EQ(std::sscanf(out.c_str(), "%d %d", &packets, &dropped), 2) << out;
  compat_v1::Tally tally = old.wait_for_disconnects(1, 20);
  EXPECT_TRUE(tally.accepted.empty()) << tally.accepted.begin()->first;
  EXPECT_GE(packets, 4);  // hello, phases, task start and end, functions...
  EXPECT_EQ(tally.rejected, (std::map<std::string, int>{{"unknown_version", packets}}));
  EXPECT_EQ(dropped, 0);
#else
  GTEST_SKIP() << "no git history of the protocol-1 release (see CMakeLists.txt)";
#endif
}

}  // namespace
}  // namespace ramflow::ingest
