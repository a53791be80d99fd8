// The contract between the two halves: everything the real Python agent
// (agent/ramflow under /usr/bin/python3) sends is accepted by the real
// SocketServer + decoder, numbered without gaps, attributed to its pid.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <iterator>
#include <string>

#include "ingest/commands.h"
#include "ingest/socket_server.h"

namespace ramflow::ingest {
namespace {

struct TallySink : Sink {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, int> by_type;
  std::map<std::string, int> rejected;
  std::uint64_t gaps = 0;
  int disconnects = 0;
  pid_t pid = 0;
  std::vector<CallRecord> records;
  std::map<std::string, FunctionFigures> functions;  // deltas summed per label
  std::vector<NetSelfTable> tables;
  std::shared_ptr<const TaskBoard> board;  // the last one passed
  std::vector<std::string> board_problems;
  std::vector<AllocationSites> captures;

  void on_connect(const Peer& p) override {
    { std::lock_guard l(mutex); pid = p.pid; }
    changed.notify_all();
  }
  void on_message(const Peer&, const Envelope& e) override {
    std::lock_guard l(mutex);
    static const char* names[] = {"hello", "phase", "task_start", "calls", "heartbeat", "functions", "net_self",
                                  "allocation_sites"};
    static_assert(std::variant_size_v<Message> == std::size(names));
    ++by_type[names[e.message.index()]];
    EXPECT_EQ(e.version, kProtocolVersion);
    if (auto* r = std::get_if<CallRecord>(&e.message)) records.push_back(*r);
    if (auto* t = std::get_if<NetSelfTable>(&e.message)) tables.push_back(*t);
    if (auto* a = std::get_if<AllocationSites>(&e.message)) {
      captures.push_back(*a);
      changed.notify_all();
    }
    if (auto* d = std::get_if<FunctionDeltas>(&e.message)) {
      for (const auto& row : d->rows) {
        auto& f = functions[row.label];
        f.kind = row.kind;
        f.calls += row.calls;
        f.errors += row.errors;
        f.kept_bytes += row.kept_bytes;
        f.gross_bytes += row.gross_bytes;
        f.freed_bytes += row.freed_bytes;
      }
    }
  }
  void on_rejected(const Peer&, RejectReason r) override { std::lock_guard l(mutex); ++rejected[std::string(to_string(r))]; }
  void on_sequence_gap(const Peer&, std::uint64_t n) override { std::lock_guard l(mutex); gaps += n; }
  void on_refused(uid_t, pid_t) override {}
  void on_disconnect(const Peer&) override {
    { std::lock_guard l(mutex); ++disconnects; }
    changed.notify_all();
  }
  void on_task_board(const Peer&, std::shared_ptr<const TaskBoard> b, const std::string& problem) override {
    std::lock_guard l(mutex);
    if (b) board = std::move(b);
    else board_problems.push_back(problem);
  }
};

// Runs `script` under /usr/bin/python3 with this agent, sending to `path`; returns its wait status.
int run_agent(const std::string& path, const char* script) {
  pid_t child = ::fork();
  if (child == 0) {
    std::string agent = std::string(RAMFLOW_SOURCE_DIR) + "/agent";
    ::setenv("PYTHONPATH", agent.c_str(), 1);
    ::setenv("RAMFLOW_SOCKET", path.c_str(), 1);
    ::setenv("RAMFLOW_EXACT_PEAK", "1", 1);
    ::execl("/usr/bin/python3", "python3", "-c", script, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return status;
}

// The worker's stdin closes when the test is done with it.
struct Worker {
  pid_t pid = -1;
  int stdin_fd = -1;
  // The script runs from a file beside the socket: the sites name its lines.
  Worker(const std::string& socket, const std::string& script) {
    const std::string file = std::filesystem::path(socket).parent_path() / "worker.py";
    std::ofstream(file) << script;
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[0], 0);
      ::close(fds[1]);
      std::string agent = std::string(RAMFLOW_SOURCE_DIR) + "/agent";
      ::setenv("PYTHONPATH", agent.c_str(), 1);
      ::setenv("RAMFLOW_SOCKET", socket.c_str(), 1);
      ::execl("/usr/bin/python3", "python3", file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[0]);
    stdin_fd = fds[1];
  }
  int finish() {
    ::close(stdin_fd);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

// The real socket server in a private directory, with a sink that tallies.
class AgentContract : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    path = std::string(dir) + "/ramflow.sock";
    SocketServer::Options options;
    options.path = path;
    server = std::make_unique<SocketServer>(options, sink);
    ASSERT_EQ(server->start(), std::nullopt);
  }
  void TearDown() override {
    if (server) server->stop();
    std::filesystem::remove_all(dir);
  }
  char dir[32] = "/tmp/ramflow-contract-XXXXXX";
  std::string path;
  TallySink sink;
  std::unique_ptr<SocketServer> server;
};

TEST_F(AgentContract, EverythingTheRealAgentSendsIsAccepted) {

  const char* script =
      "import ramflow, json, decimal\n"
      "from ramflow import tracker\n"
      "t = ramflow._agent.get().transport\n"
      "ramflow.mark_ready()\n"
      "@ramflow.track('caf\\u00e9 \\\"quoted\\\" label')\n"
      "def f(): return bytearray(b'x' * 100000)\n"
      "@tracker.track\n"
      "def seed_style(batch_id=None): pass\n"
      "with ramflow.task('job'):\n"
      "    for _ in range(100): f()\n"
      "    seed_style(batch_id=1)\n"
      "try:\n"
      "    with ramflow.track('failing'): raise ValueError()\n"
      "except ValueError: pass\n"
      "t.post(ramflow._agent.get()._heartbeat_body())\n";
  int status = run_agent(path, script);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  {
    std::unique_lock l(sink.mutex);
    ASSERT_TRUE(sink.changed.wait_for(l, std::chrono::seconds(20), [&] { return sink.disconnects == 1; }));
    EXPECT_TRUE(sink.rejected.empty()) << sink.rejected.begin()->first;
    EXPECT_EQ(sink.gaps, 0u);
    EXPECT_GT(sink.pid, 0);
    EXPECT_GE(sink.by_type["hello"], 1);
    EXPECT_EQ(sink.by_type["phase"], 2);
    EXPECT_EQ(sink.by_type["task_start"], 0);  // the running task is on its board
    ASSERT_NE(sink.board, nullptr) << (sink.board_problems.empty() ? "" : sink.board_problems[0]);
    ASSERT_TRUE(sink.board->read().has_value());
    EXPECT_FALSE(sink.board->read()->running);  // the task ended
    EXPECT_EQ(sink.by_type["heartbeat"], 1);
    EXPECT_GE(sink.by_type["functions"], 1);
    ASSERT_FALSE(sink.tables.empty());
    EXPECT_TRUE(sink.tables.back().since_ready);
    // Counting is in the deltas; records are the task's end and timeline samples.
    const std::string label = "caf\xC3\xA9 \"quoted\" label";
    EXPECT_EQ(sink.functions[label].calls, 100u);
    EXPECT_LE(sink.functions[label].kept_bytes, sink.functions[label].gross_bytes);
    EXPECT_LE(sink.functions[label].freed_bytes, sink.functions[label].gross_bytes);
    EXPECT_EQ(sink.functions["SEED STYLE"].calls, 1u);
    EXPECT_EQ(sink.functions["failing"].calls, 1u);
    EXPECT_EQ(sink.functions["failing"].errors, 1u);
    EXPECT_EQ(sink.functions["job"].calls, 1u);
    EXPECT_EQ(sink.functions["job"].kind, CallKind::task);
    int tasks = 0;
    for (const auto& r : sink.records) {
      if (r.kind == CallKind::task) {
        ++tasks;
        EXPECT_EQ(r.label, "job");
        EXPECT_TRUE(r.peak_rss.has_value());
        EXPECT_TRUE(r.allocated_blocks_delta.has_value());
      } else {
        EXPECT_EQ(r.kind, CallKind::function);  // a timeline sample
      }
    }
    EXPECT_EQ(tasks, 1);
  }
}

// The guarantee the board exists for: a process killed in the middle of a task
// (as the OOM killer does, with no chance to send anything) leaves the task on
// its board, which ramflowd still reads after the process is gone.
TEST_F(AgentContract, AProcessKilledInATaskLeavesItOnItsBoard) {

  const char* script =
      "import os, signal, time, ramflow\n"
      "t = ramflow._agent.get().transport\n"
      "end = time.monotonic() + 20\n"
      "while not t.proven and time.monotonic() < end: time.sleep(0.01)\n"
      "for _ in range(3):\n"
      "    with ramflow.task('tasks.before'): pass\n"
      "with ramflow.task('tasks.eat_memory'):\n"
      "    os.kill(os.getpid(), signal.SIGKILL)\n";
  int status = run_agent(path, script);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  {
    std::unique_lock l(sink.mutex);
    ASSERT_TRUE(sink.changed.wait_for(l, std::chrono::seconds(20), [&] { return sink.disconnects == 1; }));
    EXPECT_TRUE(sink.rejected.empty());
    EXPECT_EQ(sink.by_type["task_start"], 0);
    ASSERT_NE(sink.board, nullptr) << (sink.board_problems.empty() ? "" : sink.board_problems[0]);
    auto state = sink.board->read();
    ASSERT_TRUE(state.has_value());
    EXPECT_TRUE(state->running);
    EXPECT_EQ(state->task, "tasks.eat_memory");
  }
}

// The other way: a command from the real server reaches the real agent, which
// runs its window and answers with sites the decoder accepts.
TEST_F(AgentContract, ACaptureCommandIsAnsweredWithTheLeakingLine) {
  EXPECT_FALSE(server->send(::getpid(), "{}")) << "no connection of that pid";

  const char* script =
      "import sys, threading, time, ramflow\n"
      "KEPT = []\n"
      "@ramflow.task('leak')\n"
      "def leak():\n"
      "    KEPT.append(bytearray(65536))  # the leaking line\n"
      "done = threading.Event()\n"
      "threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()\n"
      "while not done.is_set():\n"
      "    leak(); time.sleep(0.005)\n";
  Worker worker(path, script);
  ASSERT_GT(worker.pid, 0);
  {
    std::unique_lock l(sink.mutex);
    ASSERT_TRUE(sink.changed.wait_for(l, std::chrono::seconds(20), [&] { return sink.pid == worker.pid; }));
  }
  ASSERT_TRUE(server->send(worker.pid, encode({"c-1", "on_demand", 10, 60, 4, 5})));
  {
    std::unique_lock l(sink.mutex);
    ASSERT_TRUE(sink.changed.wait_for(l, std::chrono::seconds(20), [&] {
      return !sink.captures.empty() && sink.captures.back().status != CaptureStatus::running;
    }));
  }
  EXPECT_EQ(worker.finish(), 0);
  std::lock_guard l(sink.mutex);
  EXPECT_TRUE(sink.rejected.empty());
  const AllocationSites& result = sink.captures.back();
  EXPECT_EQ(result.id, "c-1");
  EXPECT_EQ(result.status, CaptureStatus::done) << result.error;
  EXPECT_EQ(result.tasks, 10u);
  ASSERT_FALSE(result.sites.empty());
  const AllocationSite& top = result.sites[0];
  EXPECT_EQ(top.frames[top.site].line, 5u);
  EXPECT_EQ(top.frames[top.site].function, "leak");
  EXPECT_NE(top.code.find("the leaking line"), std::string::npos);
  EXPECT_GE(top.bytes, 9 * 65536);
}

}  // namespace
}  // namespace ramflow::ingest
