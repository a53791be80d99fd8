// AgentRegistry's counters and tables: saturating at the extremes (a counter
// never goes down), protocol-2 deltas and net-self tables, protocol-1 records.
#include "model/agent_registry.h"

#include <gtest/gtest.h>

#include <limits>

namespace ramflow::model {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kJump = 1ULL << 53;  // the largest seq a packet may carry

FunctionStats figures(const std::string& name, CallKind kind, std::uint64_t calls, double kept, double released,
                      double freed) {
  FunctionStats f;
  f.function = name;
  f.kind = kind;
  f.calls = calls;
  f.measured_calls = calls;
  f.net_self_bytes = kept;
  f.released_bytes = released;
  f.freed_bytes = freed;
  f.gross_bytes = kept + freed;
  f.peak_bytes = kept + freed;
  return f;
}

TEST(AgentRegistry, SequenceGapsOfTwoToThe53RepeatedSaturateAndNeverDecrease) {
  AgentRegistry registry(8, 10);
  std::uint64_t previous = 0;
  for (int i = 0; i < 3000; ++i) {  // 2048 jumps reach 2^64: the old sum wrapped here
    registry.sequence_gap(100 + i % 4, kJump);
    std::uint64_t now = registry.view().counters.sequence_gaps;
    ASSERT_GE(now, previous) << "jump " << i;
    previous = now;
  }
  EXPECT_EQ(previous, kMax);
}

TEST(AgentRegistry, AgentReportedDropsSaturateAcrossProcesses) {
  AgentRegistry registry(4000, 10);
  for (pid_t pid = 1; pid <= 3000; ++pid) registry.heartbeat(pid, kJump, 1.0);
  EXPECT_EQ(registry.view().counters.dropped_in_agent, kMax);
  registry.heartbeat(1, kJump, 2.0);  // the same cumulative report: nothing new
  EXPECT_EQ(registry.view().counters.dropped_in_agent, kMax);
}

TEST(AgentRegistry, RejectionsCountPacketsAndSaturate) {
  AgentRegistry registry(8, 10);
  registry.rejected("over_capacity", 3);
  EXPECT_EQ(registry.view().counters.rejected_by_reason.at("over_capacity"), 3u);
  registry.rejected("over_capacity", kMax);
  registry.rejected("over_capacity", 5);
  EXPECT_EQ(registry.view().counters.rejected_by_reason.at("over_capacity"), kMax);
}

TEST(AgentRegistry, FunctionCallCountsSaturate) {
  AgentRegistry registry(8, 10);
  for (int i = 0; i < 3; ++i) registry.function_deltas(1, {figures("f", CallKind::kFunction, kMax / 2, 0, 0, 0)}, 1.0);
  auto rows = registry.view().functions;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].calls, kMax);
}

TEST(AgentRegistry, DeltasAddUpAndKeepTheInvariants) {
  AgentRegistry registry(8, 10);
  registry.function_deltas(1, {figures("load", CallKind::kFunction, 2, 4096, 0, 8192)}, 1.0);
  registry.function_deltas(2, {figures("load", CallKind::kFunction, 3, 0, 12288, 4096)}, 1.0);
  auto rows = registry.view().functions;
  ASSERT_EQ(rows.size(), 1u);
  const auto& r = rows[0];
  EXPECT_EQ(r.calls, 5u);
  EXPECT_DOUBLE_EQ(r.net_self_bytes, 4096);
  EXPECT_DOUBLE_EQ(r.released_bytes, 12288);
  EXPECT_DOUBLE_EQ(r.freed_bytes, 12288);
  EXPECT_DOUBLE_EQ(r.gross_bytes, r.net_self_bytes + r.freed_bytes);
  EXPECT_LE(r.freed_bytes, r.gross_bytes);
  EXPECT_LE(r.net_self_bytes, r.gross_bytes);
}

TEST(AgentRegistry, ANetSelfTableReplacesThePreviousOne) {
  AgentRegistry registry(8, 10);
  registry.net_self(7, {figures("a", CallKind::kFunction, 1, 10, 0, 0), figures("b", CallKind::kTask, 1, 0, 5, 0)},
                    true, 1.0);
  registry.net_self(7, {figures("c", CallKind::kFunction, 4, 1, 0, 0)}, false, 2.0);
  const auto view = registry.view();
  const auto& facts = view.processes.at(7);
  EXPECT_TRUE(facts.net_self_known);
  EXPECT_FALSE(facts.net_self_since_ready);
  ASSERT_EQ(facts.net_self.size(), 1u);
  EXPECT_EQ(facts.net_self[0].function, "c");
  EXPECT_TRUE(registry.view().functions.empty());  // tables never touch the counters
}

TEST(AgentRegistry, Protocol1RecordsAfterReadyFillTheTableThenOther) {
  AgentRegistry registry(8, 100);
  registry.protocol(9, 1, 1.0);
  registry.ready(9, 1 << 20, std::nullopt, 10.0, {});
  CallOutcome before{4096, 4096, 0.1, false, false};
  registry.call(9, "early", CallKind::kFunction, before, 5.0, 0, nullptr, true);  // before ready: counted, not in the table
  for (std::size_t i = 0; i < kNetSelfRows + 5; ++i) {
    CallOutcome kept{8192, 8192, 0.1, false, false};
    registry.call(9, "f" + std::to_string(i), CallKind::kFunction, kept, 11.0, 0, nullptr, true);
  }
  CallOutcome released{-4096, -4096, 0.1, true, false};
  registry.call(9, "f0", CallKind::kFunction, released, 12.0, 0, nullptr, true);
  auto view = registry.view();
  const auto& table = view.processes.at(9).net_self;
  ASSERT_EQ(table.size(), kNetSelfRows + 1);
  EXPECT_EQ(table.back().function, FunctionTable::kOther);
  EXPECT_EQ(table.back().calls, 5u);
  EXPECT_DOUBLE_EQ(table[0].net_self_bytes, 8192);
  EXPECT_DOUBLE_EQ(table[0].released_bytes, 4096);
  EXPECT_EQ(table[0].errors, 1u);
  std::uint64_t counted = 0;
  for (const auto& f : view.functions) counted += f.calls;
  EXPECT_EQ(counted, kNetSelfRows + 5 + 2);
}

TEST(AgentRegistry, Protocol2RecordsAreSamplesNotCounts) {
  AgentRegistry registry(8, 100);
  CallOutcome call{8192, 8192, 0.1, false, false};
  registry.call(3, "sampled", CallKind::kFunction, call, 1.0, 0, nullptr, false);
  auto view = registry.view();
  ASSERT_EQ(view.functions.size(), 1u);  // admitted so the span has its name
  EXPECT_EQ(view.functions[0].calls, 0u);
  EXPECT_EQ(view.processes.at(3).recent_calls.size(), 1u);
}

}  // namespace
}  // namespace ramflow::model
