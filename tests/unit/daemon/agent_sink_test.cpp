// AgentSink: each validated agent message becomes a fact of its process (by
// the kernel's pid of the peer), each rejection a counted reason.
#include "daemon/agent_sink.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace ramflow::daemon {
namespace {

constexpr pid_t kPid = 4100;
const ingest::Peer kPeer{kPid, 1000, 1000, 1};

class AgentSinkTest : public ::testing::Test {
 protected:
  void say(ingest::Message message, std::uint32_t version = ingest::kProtocolVersion) {
    sink_.on_message(kPeer, ingest::Envelope{seq_++, version, std::move(message)});
  }
  model::AgentFacts facts() { return registry_.view().processes.at(kPid); }

  model::AgentRegistry registry_{64, 50};
  AgentSink sink_{registry_};
  std::uint64_t seq_ = 0;
};

ingest::CallRecord call(const std::string& label, ingest::CallKind kind, std::int64_t gross, std::int64_t net_self) {
  ingest::CallRecord c;
  c.label = label;
  c.kind = kind;
  c.wall_start = 1000;
  c.duration_seconds = 0.25;
  c.rss_before = 50 << 20;
  c.rss_after = (50 << 20) + gross;
  c.gross_bytes = gross;
  c.net_self_bytes = net_self;
  return c;
}

TEST_F(AgentSinkTest, AConnectionIsAttributedToThePeersKernelPidAndUid) {
  sink_.on_connect(kPeer);
  EXPECT_TRUE(facts().connected);
  EXPECT_EQ(facts().uid, 1000u);
}

TEST_F(AgentSinkTest, HelloNamesTheWorkerWhateverPidItClaims) {
  ingest::Hello h;
  h.worker = "celery@host/1";
  h.framework = "celery";
  h.pool = "prefork";
  h.claimed_pid = 1;
  say(h);
  ASSERT_TRUE(facts().hello.has_value());
  EXPECT_EQ(facts().hello->worker, "celery@host/1");
  EXPECT_EQ(registry_.view().processes.count(1), 0u);
}

TEST_F(AgentSinkTest, TheBootstrapPhaseIsTheBareInterpreter) {
  ingest::Phase p;
  p.kind = ingest::PhaseKind::bootstrap;
  p.wall_time = 100;
  p.rss = 9 << 20;
  say(p);
  EXPECT_EQ(facts().bootstrap_rss, 9u << 20);
  EXPECT_EQ(facts().bootstrap_time, 100);
  EXPECT_FALSE(facts().ready_rss.has_value());
}

TEST_F(AgentSinkTest, TheReadyPhaseKeepsRssPeakAndImports) {
  ingest::Phase p;
  p.kind = ingest::PhaseKind::ready;
  p.wall_time = 103;
  p.rss = 60 << 20;
  p.vm_hwm = 62 << 20;
  p.imports = {{"django", 30 << 20}, {"numpy", 12 << 20}};
  say(p);
  EXPECT_EQ(facts().ready_rss, 60u << 20);
  EXPECT_EQ(facts().ready_hwm, 62u << 20);
  ASSERT_EQ(facts().imports.size(), 2u);
  EXPECT_EQ(facts().imports[0].module, "django");
}

TEST_F(AgentSinkTest, AReadyWithoutAPeakLeavesThePeakUnknown) {
  ingest::Phase p;
  p.kind = ingest::PhaseKind::ready;
  p.rss = 60 << 20;
  p.vm_hwm = 0;
  say(p);
  EXPECT_FALSE(facts().ready_hwm.has_value());
}

TEST_F(AgentSinkTest, AnImportThatShrankCostsZero) {
  ingest::Phase p;
  p.kind = ingest::PhaseKind::ready;
  p.imports = {{"lazy", -4096}};
  say(p);
  ASSERT_EQ(facts().imports.size(), 1u);
  EXPECT_EQ(facts().imports[0].bytes, 0u);
}

TEST_F(AgentSinkTest, ATaskStartIsTheRunningTask) {
  ingest::TaskStart t;
  t.name = "tasks.resize";
  t.wall_time = 200;
  say(t);
  EXPECT_EQ(facts().current_task, "tasks.resize");
}

TEST_F(AgentSinkTest, ATaskRecordEndsTheTaskAndAddsAResidualPoint) {
  ingest::TaskStart t;
  t.name = "tasks.resize";
  say(t);
  auto c = call("tasks.resize", ingest::CallKind::task, 4096, 1024);
  c.allocated_blocks_delta = 12;
  c.rss_anon_delta = 2048;
  say(c);
  const auto f = facts();
  EXPECT_EQ(f.current_task, "");
  ASSERT_EQ(f.task_ends.size(), 1u);
  const auto& end = f.task_ends.back();
  EXPECT_EQ(end.task, "tasks.resize");
  EXPECT_DOUBLE_EQ(end.time, 1000.25);
  EXPECT_EQ(end.rss_after, (50u << 20) + 4096);
  EXPECT_EQ(end.allocated_blocks_delta, 12);
  EXPECT_EQ(end.rss_anon_delta, 2048);
  EXPECT_EQ(end.net_self_bytes, 1024);
}

TEST_F(AgentSinkTest, AProtocol1FunctionRecordIsACountedCallButNoTaskEnd) {
  say(call("load_catalog", ingest::CallKind::function, 4096, 4096), /*version=*/1);
  const auto view = registry_.view();
  EXPECT_EQ(view.processes.at(kPid).tasks_ended, 0u);
  EXPECT_EQ(view.processes.at(kPid).recent_calls.size(), 1u);
  ASSERT_EQ(view.functions.size(), 1u);
  EXPECT_EQ(view.functions[0].kind, model::CallKind::kFunction);
  EXPECT_EQ(view.functions[0].gross_bytes, 4096);
}

TEST_F(AgentSinkTest, EveryAcceptedMessageIsCountedByType) {
  say(ingest::Hello{});
  say(ingest::Phase{});
  say(ingest::TaskStart{});
  say(call("f", ingest::CallKind::function, 1, 1));
  say(ingest::Heartbeat{});
  const auto accepted = registry_.view().counters.accepted_by_type;
  for (const char* type : {"hello", "phase", "task_start", "call", "heartbeat"}) {
    EXPECT_EQ(accepted.count(type), 1u) << type;
  }
}

TEST_F(AgentSinkTest, AHeartbeatCarriesTheAgentsDropCount) {
  ingest::Heartbeat h;
  h.dropped_total = 7;
  say(h);
  EXPECT_EQ(registry_.view().counters.dropped_in_agent, 7u);
}

TEST_F(AgentSinkTest, RejectionsAreCountedByReason) {
  sink_.on_rejected(kPeer, ingest::RejectReason::malformed);
  sink_.on_over_capacity(0, 99, 1);
  const auto rejected = registry_.view().counters.rejected_by_reason;
  EXPECT_EQ(rejected.at(std::string(ingest::to_string(ingest::RejectReason::malformed))), 1u);
  EXPECT_EQ(rejected.at("over_capacity"), 1u);
}

TEST_F(AgentSinkTest, EveryTypeAndReasonItCountsIsKnownBeforeItHappens) {
  model::AgentCounters known;
  add_known_labels(known);
  say(ingest::Hello{});
  say(ingest::Phase{});
  say(ingest::TaskStart{});
  say(call("f", ingest::CallKind::function, 1, 1));
  say(ingest::Heartbeat{});
  for (ingest::RejectReason r : ingest::kAllRejectReasons) sink_.on_rejected(kPeer, r);
  sink_.on_over_capacity(0, 99, 1);
  const auto counted = registry_.view().counters;
  for (const auto& [type, n] : counted.accepted_by_type) EXPECT_EQ(known.accepted_by_type.count(type), 1u) << type;
  for (const auto& [reason, n] : counted.rejected_by_reason) EXPECT_EQ(known.rejected_by_reason.count(reason), 1u) << reason;
  for (const auto& [key, n] : known.accepted_by_type) EXPECT_EQ(n, 0u) << key;
  for (const auto& [key, n] : known.rejected_by_reason) EXPECT_EQ(n, 0u) << key;
}

TEST_F(AgentSinkTest, KnownLabelsKeepWhatWasCounted) {
  say(ingest::Heartbeat{});
  model::AgentCounters counters = registry_.view().counters;
  add_known_labels(counters);
  EXPECT_EQ(counters.accepted_by_type.at("heartbeat"), 1u);
  EXPECT_EQ(counters.accepted_by_type.at("hello"), 0u);
}

TEST_F(AgentSinkTest, ARefusedPeerIsCounted) {
  sink_.on_refused(4242, 99);
  EXPECT_EQ(registry_.view().counters.refused_peers, 1u);
}

TEST_F(AgentSinkTest, ASequenceGapIsCountedForThePeer) {
  sink_.on_connect(kPeer);
  sink_.on_sequence_gap(kPeer, 3);
  EXPECT_EQ(facts().sequence_gaps, 3u);
}

TEST_F(AgentSinkTest, ADisconnectKeepsTheFacts) {
  sink_.on_connect(kPeer);
  say(ingest::TaskStart{"tasks.resize", "", 1, 0});
  sink_.on_disconnect(kPeer);
  EXPECT_FALSE(facts().connected);
  EXPECT_EQ(facts().current_task, "tasks.resize");
}

// Protocol 3: the running task is what the board passed with the hello says,
// also once the connection closed (an OOM-killed process sends nothing more).
TEST_F(AgentSinkTest, TheBoardPassedWithTheHelloIsTheRunningTaskAlsoAfterTheConnectionCloses) {
  int fd = ::memfd_create("board", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  char layout[ingest::TaskBoard::kBoardBytes] = {};
  std::memcpy(layout, ingest::TaskBoard::kMagic, sizeof(ingest::TaskBoard::kMagic));
  auto show = [&](std::uint64_t seq, const std::string& name, std::int64_t since_ns) {
    char* slot = layout + ingest::TaskBoard::kSlotsAt + (seq & 1) * ingest::TaskBoard::kSlotBytes;
    const std::uint32_t running = 1, length = static_cast<std::uint32_t>(name.size());
    std::memcpy(slot, &seq, 8);
    std::memcpy(slot + 8, &running, 4);
    std::memcpy(slot + 12, &length, 4);
    std::memcpy(slot + 16, &since_ns, 8);
    std::memcpy(slot + 24, name.data(), name.size());
    std::memcpy(slot + ingest::TaskBoard::kSlotBytes - 8, &seq, 8);
    ASSERT_EQ(::pwrite(fd, layout, sizeof(layout), 0), static_cast<ssize_t>(sizeof(layout)));
  };
  show(1, "tasks.resize", 5'000'000'000);
  std::string why;
  std::shared_ptr<const ingest::TaskBoard> board = ingest::TaskBoard::adopt(::dup(fd), &why);
  ASSERT_NE(board, nullptr) << why;
  sink_.on_connect(kPeer);
  sink_.on_task_board(kPeer, board, "");
  EXPECT_EQ(facts().current_task, "tasks.resize");
  EXPECT_DOUBLE_EQ(facts().current_task_since, 5);
  show(2, "tasks.crop", 6'000'000'000);  // the process went on
  sink_.on_disconnect(kPeer);             // and was killed
  ::close(fd);
  EXPECT_FALSE(facts().connected);
  EXPECT_EQ(facts().current_task, "tasks.crop");
}

TEST_F(AgentSinkTest, AnFdThatIsNoBoardChangesNothing) {
  sink_.on_connect(kPeer);
  say(ingest::TaskStart{"tasks.resize", "", 1, 0});
  sink_.on_task_board(kPeer, nullptr, "not a regular file");
  EXPECT_EQ(facts().current_task, "tasks.resize");
}

}  // namespace
}  // namespace ramflow::daemon
