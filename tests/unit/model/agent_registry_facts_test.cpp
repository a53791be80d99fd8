// AgentRegistry: what agents said, as facts per process — bounded, and
// forgotten when the process is dead.
#include "model/agent_registry.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ramflow::model {
namespace {

constexpr pid_t kPid = 4100;

CallOutcome outcome(std::int64_t gross, std::int64_t net_self, double seconds = 0.5) {
  return {.gross_bytes = gross, .net_self_bytes = net_self, .duration_seconds = seconds};
}

TaskEnd task_end(const std::string& task, double time, std::uint64_t rss_after) {
  TaskEnd e;
  e.task = task;
  e.time = time;
  e.rss_after = rss_after;
  return e;
}

void end_task(AgentRegistry& r, pid_t pid, const std::string& task, double start, std::uint64_t rss_after) {
  TaskEnd e = task_end(task, start + 0.5, rss_after);
  r.call(pid, task, CallKind::kTask, outcome(1024, 1024), start, rss_after, &e, /*counted=*/true);
}

const AgentFacts& only(const AgentView& view, pid_t pid) { return view.processes.at(pid); }

TEST(AgentRegistry, AConnectionIsAProcessWithItsUid) {
  AgentRegistry r(8, 10);
  r.connected(kPid, 1000, 5);
  const auto view = r.view();
  ASSERT_EQ(view.processes.size(), 1u);
  const AgentFacts& f = only(view, kPid);
  EXPECT_EQ(f.pid, kPid);
  EXPECT_EQ(f.uid, 1000u);
  EXPECT_TRUE(f.connected);
  EXPECT_EQ(f.first_heard, 5);
}

TEST(AgentRegistry, HelloNamesTheWorker) {
  AgentRegistry r(8, 10);
  r.hello(kPid, {"0.1.0", "3.11.2", "celery", "prefork", "celery@host/2"}, 5);
  const auto f = only(r.view(), kPid);
  ASSERT_TRUE(f.hello.has_value());
  EXPECT_EQ(f.hello->worker, "celery@host/2");
  EXPECT_EQ(f.hello->pool, "prefork");
}

TEST(AgentRegistry, BootstrapAndReadyKeepTheirRssAndInstant) {
  AgentRegistry r(8, 10);
  r.bootstrap(kPid, 9 << 20, 100);
  r.ready(kPid, 60 << 20, 62 << 20, 103, {});
  const auto f = only(r.view(), kPid);
  EXPECT_EQ(f.bootstrap_rss, 9u << 20);
  EXPECT_EQ(f.bootstrap_time, 100);
  EXPECT_EQ(f.ready_rss, 60u << 20);
  EXPECT_EQ(f.ready_hwm, 62u << 20);
  EXPECT_EQ(f.ready_time, 103);
}

TEST(AgentRegistry, ReadyKeepsTheTwentyHeaviestImportsHeaviestFirst) {
  AgentRegistry r(8, 10);
  std::vector<ImportCost> imports;
  for (std::uint64_t i = 1; i <= 30; ++i) imports.push_back({"m" + std::to_string(i), i * 1000});
  r.ready(kPid, 1, std::nullopt, 1, imports);
  const auto f = only(r.view(), kPid);
  ASSERT_EQ(f.imports.size(), 20u);
  EXPECT_EQ(f.imports.front().module, "m30");
  EXPECT_EQ(f.imports.back().module, "m11");
}

TEST(AgentRegistry, ATaskStartIsTheRunningTaskUntilItsEnd) {
  AgentRegistry r(8, 10);
  r.task_started(kPid, "tasks.resize", 10);
  EXPECT_EQ(only(r.view(), kPid).current_task, "tasks.resize");
  EXPECT_EQ(only(r.view(), kPid).current_task_since, 10);
  end_task(r, kPid, "tasks.resize", 10, 70 << 20);
  const auto f = only(r.view(), kPid);
  EXPECT_EQ(f.current_task, "");
  EXPECT_EQ(f.tasks_ended, 1u);
  ASSERT_EQ(f.task_ends.size(), 1u);
  EXPECT_EQ(f.task_ends.back().rss_after, 70u << 20);
}

TEST(AgentRegistry, ATaskEndIsAPointOfTheResidualSeriesInOrder) {
  AgentRegistry r(8, 10);
  for (int i = 0; i < 5; ++i) end_task(r, kPid, "tasks.resize", 10 + i, (60u + i) << 20);
  const auto ends = only(r.view(), kPid).task_ends.to_vector();
  ASSERT_EQ(ends.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ends[i].rss_after, (60u + i) << 20);
}

TEST(AgentRegistry, TaskHistoryStaysBoundedAndCountsEveryEnd) {
  AgentRegistry r(8, 10);
  for (int i = 0; i < 1000; ++i) {
    r.task_started(kPid, "tasks.resize", i);
    end_task(r, kPid, "tasks.resize", i, 1);
  }
  const auto f = only(r.view(), kPid);
  EXPECT_EQ(f.tasks_ended, 1000u);
  EXPECT_LE(f.task_ends.size(), f.task_ends.capacity());
  EXPECT_LE(f.task_starts.size(), f.task_starts.capacity());
  EXPECT_LT(f.task_ends.size(), 1000u);
}

TEST(AgentRegistry, AFunctionCallIsARecentCallAndARowOfTheFunctionTable) {
  AgentRegistry r(8, 10);
  r.call(kPid, "load_catalog", CallKind::kFunction, outcome(4096, 1024), 20, 50 << 20, nullptr, /*counted=*/true);
  const auto view = r.view();
  const auto f = only(view, kPid);
  ASSERT_EQ(f.recent_calls.size(), 1u);
  EXPECT_EQ(f.recent_calls.back().function, "load_catalog");
  EXPECT_EQ(f.recent_calls.back().gross_bytes, 4096);
  EXPECT_EQ(f.tasks_ended, 0u);
  ASSERT_EQ(view.functions.size(), 1u);
  EXPECT_EQ(view.functions[0].function, "load_catalog");
  EXPECT_EQ(view.functions[0].net_self_bytes, 1024);
}

TEST(AgentRegistry, ACallPastTheFunctionLimitIsRecordedUnderOther) {
  AgentRegistry r(8, 1);
  r.call(kPid, "first", CallKind::kFunction, outcome(1, 1), 1, 1, nullptr, /*counted=*/true);
  r.call(kPid, "second", CallKind::kFunction, outcome(1, 1), 2, 1, nullptr, /*counted=*/true);
  const auto view = r.view();
  EXPECT_EQ(only(view, kPid).recent_calls.back().function, "other");
  EXPECT_EQ(view.functions.size(), 2u);
}

TEST(AgentRegistry, CumulativeDropReportsCountOnlyWhatIsNew) {
  AgentRegistry r(8, 10);
  r.heartbeat(kPid, 5, 1);
  r.heartbeat(kPid, 5, 2);
  r.heartbeat(kPid, 8, 3);
  r.heartbeat(kPid + 1, 2, 3);
  const auto view = r.view();
  EXPECT_EQ(view.counters.dropped_in_agent, 10u);
  EXPECT_EQ(only(view, kPid).dropped_in_agent, 8u);
}

TEST(AgentRegistry, SequenceGapsCountPerProcessAndInTotal) {
  AgentRegistry r(8, 10);
  r.connected(kPid, 0, 1);
  r.sequence_gap(kPid, 3);
  r.sequence_gap(kPid, 2);
  r.sequence_gap(kPid + 1, 4);  // never connected: counted in the total only
  const auto view = r.view();
  EXPECT_EQ(view.counters.sequence_gaps, 9u);
  EXPECT_EQ(only(view, kPid).sequence_gaps, 5u);
  EXPECT_EQ(view.processes.count(kPid + 1), 0u);
}

TEST(AgentRegistry, AcceptedRejectedAndRefusedAreCountedByName) {
  AgentRegistry r(8, 10);
  r.accepted("call");
  r.accepted("call");
  r.accepted("hello");
  r.rejected("malformed");
  r.refused();
  const auto c = r.view().counters;
  EXPECT_EQ(c.accepted_by_type.at("call"), 2u);
  EXPECT_EQ(c.accepted_by_type.at("hello"), 1u);
  EXPECT_EQ(c.rejected_by_reason.at("malformed"), 1u);
  EXPECT_EQ(c.refused_peers, 1u);
}

TEST(AgentRegistry, ADisconnectedProcessKeepsWhatItSaid) {
  AgentRegistry r(8, 10);
  r.connected(kPid, 0, 1);
  r.ready(kPid, 60 << 20, std::nullopt, 2, {});
  r.disconnected(kPid, 3);
  const auto f = only(r.view(), kPid);
  EXPECT_FALSE(f.connected);
  EXPECT_EQ(f.ready_rss, 60u << 20);
  EXPECT_EQ(f.last_heard, 3);
}

TEST(AgentRegistry, ForgettingDropsTheProcessButNotTheFunctionTable) {
  AgentRegistry r(8, 10);
  r.call(kPid, "load_catalog", CallKind::kFunction, outcome(1, 1), 1, 1, nullptr, /*counted=*/true);
  r.forget(kPid);
  const auto view = r.view();
  EXPECT_TRUE(view.processes.empty());
  EXPECT_EQ(view.functions.size(), 1u);
}

TEST(AgentRegistry, NeverHoldsMoreThanMaxProcesses) {
  AgentRegistry r(4, 10);
  for (pid_t pid = 1; pid <= 100; ++pid) r.connected(pid, 0, pid);
  EXPECT_EQ(r.view().processes.size(), 4u);
}

TEST(AgentRegistry, WhenFullADisconnectedProcessMakesRoomBeforeAConnectedOne) {
  AgentRegistry r(2, 10);
  r.connected(1, 0, 1);  // oldest, still connected
  r.connected(2, 0, 2);
  r.disconnected(2, 3);
  r.connected(3, 0, 4);
  const auto view = r.view();
  EXPECT_EQ(view.processes.count(1), 1u);
  EXPECT_EQ(view.processes.count(2), 0u);
  EXPECT_EQ(view.processes.count(3), 1u);
}

TEST(AgentRegistry, WhenFullAndAllConnectedTheLongestSilentMakesRoom) {
  AgentRegistry r(2, 10);
  r.connected(1, 0, 1);
  r.connected(2, 0, 2);
  r.heartbeat(1, 0, 5);  // pid 1 spoke last
  r.connected(3, 0, 6);
  const auto view = r.view();
  EXPECT_EQ(view.processes.count(1), 1u);
  EXPECT_EQ(view.processes.count(2), 0u);
}

TEST(AgentRegistry, TheViewIsACopyThatLaterMessagesDoNotChange) {
  AgentRegistry r(8, 10);
  r.task_started(kPid, "tasks.resize", 1);
  const auto before = r.view();
  r.task_started(kPid, "tasks.crop", 2);
  EXPECT_EQ(only(before, kPid).current_task, "tasks.resize");
}

// Protocol 3: the running task is what the process' task board says when the
// view is taken (the board itself is tested in tests/unit/ingest/task_board_test.cpp).
struct FakeBoard {
  std::optional<RunningTask> says;
  int reads = 0;
  TaskBoardReader reader() {
    return [this] {
      ++reads;
      return says;
    };
  }
};

TEST(AgentRegistry, TheRunningTaskIsWhatTheBoardSaysWhenTheViewIsTaken) {
  AgentRegistry r(8, 10);
  FakeBoard board{RunningTask{"tasks.resize", 10}};
  r.task_board(kPid, 1, board.reader(), 1);
  EXPECT_EQ(only(r.view(), kPid).current_task, "tasks.resize");
  EXPECT_EQ(only(r.view(), kPid).current_task_since, 10);
  board.says = RunningTask{};  // idle
  EXPECT_EQ(only(r.view(), kPid).current_task, "");
  board.says = RunningTask{"tasks.crop", 12};
  EXPECT_EQ(only(r.view(), kPid).current_task, "tasks.crop");
  board.says.reset();  // nothing valid on it: what was known stays
  EXPECT_EQ(only(r.view(), kPid).current_task, "tasks.crop");
}

TEST(AgentRegistry, AReadingOfATaskWhoseEndIsAlreadyHereSaysIdle) {
  AgentRegistry r(8, 10);
  FakeBoard board{RunningTask{"tasks.resize", 10}};
  r.task_board(kPid, 1, board.reader(), 1);
  end_task(r, kPid, "tasks.resize", 10, 1);  // ended at 10.5; the board read before it said "running"
  EXPECT_EQ(only(r.view(), kPid).current_task, "");
  board.says = RunningTask{"tasks.resize", 11};  // the next run of the same task
  EXPECT_EQ(only(r.view(), kPid).current_task, "tasks.resize");
}

TEST(AgentRegistry, AClosedConnectionsBoardIsReadOnceMoreThenDropped) {
  AgentRegistry r(8, 10);
  FakeBoard board{RunningTask{"tasks.resize", 10}};
  r.task_board(kPid, 1, board.reader(), 1);
  r.disconnected(kPid, 2);
  r.task_board_closed(kPid, 1);  // e.g. OOM-killed: the board still says what it ran
  EXPECT_EQ(board.reads, 1);
  board.says = RunningTask{};
  const auto f = only(r.view(), kPid);
  EXPECT_EQ(f.current_task, "tasks.resize");
  EXPECT_EQ(board.reads, 1);  // dropped: not read again
}

TEST(AgentRegistry, TheCloseOfAnOlderConnectionKeepsTheNewerBoard) {
  AgentRegistry r(8, 10);
  FakeBoard old_board{RunningTask{}}, new_board{RunningTask{"tasks.crop", 20}};
  r.task_board(kPid, 1, old_board.reader(), 1);
  r.task_board(kPid, 2, new_board.reader(), 2);  // reconnected before the old close was seen
  r.task_board_closed(kPid, 1);
  EXPECT_EQ(old_board.reads, 0);
  EXPECT_EQ(only(r.view(), kPid).current_task, "tasks.crop");
}

TEST(AgentRegistry, AForgottenProcessDropsItsBoard) {
  AgentRegistry r(8, 10);
  FakeBoard board{RunningTask{"tasks.resize", 10}};
  r.task_board(kPid, 1, board.reader(), 1);
  r.forget(kPid);
  r.view();
  EXPECT_EQ(board.reads, 0);
}

}  // namespace
}  // namespace ramflow::model
