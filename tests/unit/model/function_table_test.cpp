// FunctionTable: per-function aggregates bounded to K names, admission sticky
// and first come (DESIGN.md "Cardinality is bounded by construction").
#include "model/function_table.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace ramflow::model {
namespace {

CallOutcome grew(std::int64_t gross, std::int64_t net_self, double seconds = 0.01) {
  return {.gross_bytes = gross, .net_self_bytes = net_self, .duration_seconds = seconds};
}

const FunctionStats& row(const std::vector<FunctionStats>& rows, const std::string& name, CallKind kind) {
  for (const auto& r : rows) {
    if (r.function == name && r.kind == kind) return r;
  }
  throw std::runtime_error("no row " + name);
}

// One protocol-1 call counted in the table (figures_of: kept or released from net self's sign).
const std::string& record(FunctionTable& table, const std::string& name, CallKind kind, const CallOutcome& call) {
  FunctionStats delta = figures_of(call);
  delta.function = name;
  delta.kind = kind;
  return table.add(delta);
}

TEST(FunctionTable, TheFirstKNamesGetTheirOwnRows) {
  FunctionTable table(2);
  EXPECT_EQ(record(table, "load", CallKind::kFunction, grew(10, 10)), "load");
  EXPECT_EQ(record(table, "parse", CallKind::kFunction, grew(10, 10)), "parse");
  EXPECT_EQ(table.admitted(), 2u);
}

TEST(FunctionTable, NamesPastKFoldIntoOther) {
  FunctionTable table(1);
  record(table, "load", CallKind::kFunction, grew(1, 1));
  EXPECT_EQ(record(table, "parse", CallKind::kFunction, grew(5, 5)), "other");
  EXPECT_EQ(record(table, "render", CallKind::kFunction, grew(7, 7)), "other");
  const auto other = row(table.rows(), "other", CallKind::kFunction);
  EXPECT_EQ(other.calls, 2u);
  EXPECT_EQ(other.net_self_bytes, 12);
}

TEST(FunctionTable, AnAdmittedNameKeepsItsRowAfterTheTableIsFull) {
  FunctionTable table(1);
  record(table, "load", CallKind::kFunction, grew(1, 1));
  record(table, "parse", CallKind::kFunction, grew(1, 1));
  EXPECT_EQ(record(table, "load", CallKind::kFunction, grew(1, 1)), "load");
  EXPECT_EQ(row(table.rows(), "load", CallKind::kFunction).calls, 2u);
}

TEST(FunctionTable, TasksAndFunctionsFoldIntoTheirOwnOtherRows) {
  FunctionTable table(1);
  record(table, "tasks.resize", CallKind::kTask, grew(1, 1));
  record(table, "tasks.crop", CallKind::kTask, grew(1, 1));
  record(table, "thumbnail", CallKind::kFunction, grew(1, 1));
  const auto rows = table.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(row(rows, "other", CallKind::kTask).calls, 1u);
  EXPECT_EQ(row(rows, "other", CallKind::kFunction).calls, 1u);
}

TEST(FunctionTable, RowsStayWithinKPlusTwoUnderManyNames) {
  FunctionTable table(50);
  for (int i = 0; i < 20000; ++i) {
    record(table, "f" + std::to_string(i), i % 2 ? CallKind::kTask : CallKind::kFunction, grew(1, 1));
  }
  EXPECT_EQ(table.rows().size(), 52u);
  EXPECT_EQ(table.admitted(), 50u);
}

TEST(FunctionTable, TheNameOtherTakesNoSlot) {
  FunctionTable table(1);
  record(table, "other", CallKind::kFunction, grew(1, 1));
  EXPECT_EQ(table.admitted(), 0u);
  EXPECT_EQ(record(table, "load", CallKind::kFunction, grew(1, 1)), "load");
}

TEST(FunctionTable, PositiveNetSelfIsKeptAndNegativeIsReleased) {
  FunctionTable table(10);
  record(table, "load", CallKind::kFunction, grew(300, 100));
  record(table, "load", CallKind::kFunction, grew(0, -40));
  const auto r = row(table.rows(), "load", CallKind::kFunction);
  EXPECT_EQ(r.net_self_bytes, 100);
  EXPECT_EQ(r.released_bytes, 40);
  EXPECT_EQ(r.gross_bytes, 100);  // a protocol-1 record's own rise: what it kept, a lower bound
  EXPECT_LE(r.freed_bytes, r.gross_bytes);
}

TEST(FunctionTable, PeakIsTheLargestOwnRiseOfOneCall) {
  FunctionTable table(10);
  record(table, "load", CallKind::kFunction, grew(300, 300));
  record(table, "load", CallKind::kFunction, grew(900, 900));
  record(table, "load", CallKind::kFunction, grew(-50, -50));
  EXPECT_EQ(row(table.rows(), "load", CallKind::kFunction).peak_bytes, 900);
}

TEST(FunctionTable, DurationsSumAndANegativeOneAddsNothing) {
  FunctionTable table(10);
  record(table, "load", CallKind::kFunction, grew(0, 0, 0.25));
  record(table, "load", CallKind::kFunction, grew(0, 0, -1.0));
  record(table, "load", CallKind::kFunction, grew(0, 0, 0.5));
  EXPECT_DOUBLE_EQ(row(table.rows(), "load", CallKind::kFunction).duration_seconds, 0.75);
}

TEST(FunctionTable, CountsErrorsAndRemembersApproximateAttribution) {
  FunctionTable table(10);
  CallOutcome failed = grew(1, 1);
  failed.error = true;
  CallOutcome shared = grew(1, 1);
  shared.approximate = true;
  record(table, "load", CallKind::kTask, failed);
  record(table, "load", CallKind::kTask, shared);
  record(table, "load", CallKind::kTask, grew(1, 1));
  const auto r = row(table.rows(), "load", CallKind::kTask);
  EXPECT_EQ(r.calls, 3u);
  EXPECT_EQ(r.errors, 1u);
  EXPECT_TRUE(r.approximate);
}

TEST(FunctionTable, RowsComeSortedByRetainedBytesLargestFirst) {
  FunctionTable table(10);
  record(table, "small", CallKind::kFunction, grew(0, 10));
  record(table, "large", CallKind::kFunction, grew(0, 1000));
  record(table, "middle", CallKind::kFunction, grew(0, 100));
  const auto rows = table.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].function, "large");
  EXPECT_EQ(rows[1].function, "middle");
  EXPECT_EQ(rows[2].function, "small");
}

TEST(FunctionTable, AdmitGivesTheNameWhileThereIsRoomThenOther) {
  FunctionTable table(2);
  record(table, "load", CallKind::kFunction, grew(1, 1));
  EXPECT_EQ(table.admit("load", CallKind::kFunction), "load");
  EXPECT_EQ(table.admit("parse", CallKind::kTask), "parse");  // admitted, nothing counted
  EXPECT_EQ(table.admit("never-seen", CallKind::kFunction), "other");
  EXPECT_EQ(table.admitted(), 2u);
}

TEST(FunctionTable, KindsHaveTheirLabelValues) {
  EXPECT_EQ(to_string(CallKind::kTask), "task");
  EXPECT_EQ(to_string(CallKind::kFunction), "function");
}

}  // namespace
}  // namespace ramflow::model
