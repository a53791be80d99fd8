#include "ingest/decoder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "ingest/limits.h"

namespace ramflow::ingest {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::vector<Envelope>& envelopes(const DecodeResult& result) {
  return std::get<std::vector<Envelope>>(result);
}

TEST(Decoder, EveryValidCorpusFileDecodes) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(RAMFLOW_INGEST_CORPUS) / "valid")) {
    DecodeResult result = decode(read_file(entry.path()));
    ASSERT_TRUE(std::holds_alternative<std::vector<Envelope>>(result))
        << entry.path() << ": " << to_string(std::get<RejectReason>(result));
    ++files;
  }
  EXPECT_GE(files, 5);
}

// corpus/rejected/<reason>.<case>.json must be rejected with <reason>.
TEST(Decoder, EveryRejectedCorpusFileGivesItsReason) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(RAMFLOW_INGEST_CORPUS) / "rejected")) {
    std::string expected = entry.path().filename().string();
    expected = expected.substr(0, expected.find('.'));
    DecodeResult result = decode(read_file(entry.path()));
    ASSERT_TRUE(std::holds_alternative<RejectReason>(result)) << entry.path() << " was accepted";
    EXPECT_EQ(to_string(std::get<RejectReason>(result)), expected) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 10);
}

TEST(Decoder, HelloCarriesEveryField) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/hello.json"));
  const auto& hello = std::get<Hello>(envelopes(result).at(0).message);
  EXPECT_EQ(hello.agent_version, "0.1.0");
  EXPECT_EQ(hello.python_version, "3.11.2");
  EXPECT_EQ(hello.framework, "celery");
  EXPECT_EQ(hello.pool, "prefork");
  EXPECT_EQ(hello.worker, "celery@web-1/2");
  EXPECT_EQ(hello.worker_index, 2);
  EXPECT_EQ(hello.claimed_pid, 4242);
}

TEST(Decoder, HelloWithoutIndexHasMinusOne) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/hello_plain.json"));
  EXPECT_EQ(std::get<Hello>(envelopes(result).at(0).message).worker_index, -1);
}

TEST(Decoder, ReadyPhaseCarriesImportBreakdown) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/phase_ready.json"));
  const auto& phase = std::get<Phase>(envelopes(result).at(0).message);
  EXPECT_EQ(phase.kind, PhaseKind::ready);
  EXPECT_EQ(phase.rss, 73400320u);
  EXPECT_EQ(phase.vm_hwm, 75497472u);
  ASSERT_EQ(phase.imports.size(), 3u);
  EXPECT_EQ(phase.imports[0].module, "celery");
  EXPECT_EQ(phase.imports[0].bytes, 31457280);
  EXPECT_EQ(phase.imports[2].bytes, -4096);
}

TEST(Decoder, BatchYieldsOneEnvelopePerRecordWithConsecutiveSeq) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/calls.json"));
  const auto& list = envelopes(result);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].seq, 4u);
  EXPECT_EQ(list[1].seq, 5u);
  const auto& function = std::get<CallRecord>(list[0].message);
  EXPECT_EQ(function.label, "app.load_rows");
  EXPECT_EQ(function.kind, CallKind::function);
  EXPECT_FALSE(function.allocated_blocks_delta.has_value());
  EXPECT_FALSE(function.peak_rss.has_value());
  const auto& task = std::get<CallRecord>(list[1].message);
  EXPECT_EQ(task.kind, CallKind::task);
  EXPECT_EQ(task.task_id, "5f1c1a0e-8d1b-4c57-9a43-4c0d1f4bb0a1");
  EXPECT_DOUBLE_EQ(task.duration_seconds, 0.5);
  EXPECT_EQ(task.gross_bytes, 33554432);
  EXPECT_EQ(task.net_self_bytes, 24117248);
  EXPECT_TRUE(task.approximate);
  EXPECT_FALSE(task.exception);
  EXPECT_EQ(task.allocated_blocks_delta, 402);
  EXPECT_EQ(task.rss_anon_delta, 33030144);
  EXPECT_EQ(task.peak_rss, 110100480u);
}

TEST(Decoder, NegativeNetSelfAndExceptionFlag) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/calls_exception.json"));
  const auto& record = std::get<CallRecord>(envelopes(result).at(0).message);
  EXPECT_EQ(record.net_self_bytes, -8192);
  EXPECT_TRUE(record.exception);
  EXPECT_FALSE(record.approximate);
}

TEST(Decoder, HeartbeatCounters) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/heartbeat.json"));
  const auto& envelope = envelopes(result).at(0);
  EXPECT_EQ(envelope.seq, 10u);
  const auto& heartbeat = std::get<Heartbeat>(envelope.message);
  EXPECT_EQ(heartbeat.dropped_total, 17u);
  EXPECT_EQ(heartbeat.sent_total, 11u);
}

TEST(Decoder, Version2FunctionDeltasCarryEveryFigure) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/functions.json"));
  const auto& envelope = envelopes(result).at(0);
  EXPECT_EQ(envelope.version, 2u);
  EXPECT_EQ(envelope.seq, 5u);
  const auto& rows = std::get<FunctionDeltas>(envelope.message).rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].label, "app.load_rows");
  EXPECT_EQ(rows[0].kind, CallKind::function);
  EXPECT_EQ(rows[0].calls, 1200u);
  EXPECT_EQ(rows[0].measured_calls, 150u);
  EXPECT_EQ(rows[0].errors, 2u);
  EXPECT_DOUBLE_EQ(rows[0].seconds, 0.75);
  EXPECT_EQ(rows[0].gross_bytes, 9441280u);
  EXPECT_EQ(rows[0].kept_bytes, 8392704u);
  EXPECT_EQ(rows[0].freed_bytes, 1048576u);
  EXPECT_EQ(rows[0].released_bytes, 4096u);
  EXPECT_EQ(rows[0].peak_bytes, 2097152u);
  EXPECT_FALSE(rows[0].approximate);
  EXPECT_EQ(rows[1].kind, CallKind::task);
  EXPECT_TRUE(rows[1].approximate);
}

TEST(Decoder, Version2NetSelfSaysSinceWhen) {
  auto ready = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/net_self.json"));
  const auto& table = std::get<NetSelfTable>(envelopes(ready).at(0).message);
  EXPECT_TRUE(table.since_ready);
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[1].released_bytes, 12288u);
  auto start = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/net_self_since_start.json"));
  EXPECT_FALSE(std::get<NetSelfTable>(envelopes(start).at(0).message).since_ready);
}

TEST(Decoder, Version2TaskStartCarriesTheEndsQueuedBeforeIt) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/task_start_with_ended.json"));
  const auto& list = envelopes(result);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].seq, 8u);
  EXPECT_EQ(std::get<CallRecord>(list[0].message).task_id, "a1");
  EXPECT_EQ(list[1].seq, 9u);
  EXPECT_EQ(std::get<TaskStart>(list[1].message).id, "b2");
}

// Version 3: the raw readings of a task's end become the record a version-2
// task end carried, figured in this machine's pages.
TEST(Decoder, Version3TaskEndsAreFiguredFromTheirStatmLines) {
  const std::int64_t page = ::sysconf(_SC_PAGESIZE);
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/task_ends.json"));
  const auto& list = envelopes(result);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].seq, 7u);
  EXPECT_EQ(list[1].seq, 8u);
  EXPECT_EQ(list[0].version, 3u);
  const auto& c = std::get<CallRecord>(list[0].message);
  EXPECT_EQ(c.label, "tasks.retain_32mib");
  EXPECT_EQ(c.kind, CallKind::task);
  EXPECT_TRUE(c.task_id.empty());
  EXPECT_DOUBLE_EQ(c.wall_start, 1764109210.0);
  EXPECT_DOUBLE_EQ(c.duration_seconds, 0.5);
  EXPECT_EQ(c.rss_before, static_cast<std::uint64_t>(18432 * page));
  EXPECT_EQ(c.rss_after, static_cast<std::uint64_t>(26624 * page));
  EXPECT_EQ(c.gross_bytes, 8192 * page);
  EXPECT_EQ(c.net_self_bytes, (8192 - 2048) * page);  // its tracked children grew 2048 pages
  EXPECT_EQ(c.rss_anon_delta, ((26624 - 4352) - (18432 - 4096)) * page);
  EXPECT_EQ(c.allocated_blocks_delta, 402);
  EXPECT_FALSE(c.peak_rss.has_value());
  EXPECT_FALSE(c.exception);
  EXPECT_TRUE(c.approximate);
  const auto& quick = std::get<CallRecord>(list[1].message);
  EXPECT_TRUE(quick.exception);
  EXPECT_EQ(quick.gross_bytes, 0);
  EXPECT_EQ(quick.peak_rss, 110100480u);
  EXPECT_FALSE(quick.allocated_blocks_delta.has_value());
}

TEST(Decoder, EnvelopeCarriesTheVersionOfBothProtocols) {
  auto v1 = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/hello.json"));
  auto v2 = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/hello_v2.json"));
  EXPECT_EQ(envelopes(v1).at(0).version, 1u);
  EXPECT_EQ(envelopes(v2).at(0).version, 2u);
}

TEST(Decoder, EveryTruncationOfAValidPacketIsRejected) {
  for (const auto& entry : fs::directory_iterator(fs::path(RAMFLOW_INGEST_CORPUS) / "valid")) {
    std::string packet = read_file(entry.path());
    for (std::size_t n = 0; n < packet.size(); ++n) {
      DecodeResult result = decode(std::string_view(packet).substr(0, n));
      EXPECT_TRUE(std::holds_alternative<RejectReason>(result)) << entry.path() << " cut at " << n;
    }
  }
}

TEST(Decoder, PacketOverTheLimitIsOversizedWithoutParsing) {
  std::string packet(kMaxMessageBytes + 1, '{');
  EXPECT_EQ(std::get<RejectReason>(decode(packet)), RejectReason::oversized);
}

// Random bytes and random mutations of valid packets: never a crash, always a verdict.
TEST(Decoder, RandomInputNeverCrashes) {
  std::mt19937 rng(20251125);
  std::vector<std::string> seeds;
  for (const auto& entry : fs::directory_iterator(fs::path(RAMFLOW_INGEST_CORPUS) / "valid")) {
    seeds.push_back(read_file(entry.path()));
  }
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string packet;
    if (i % 2 == 0) {
      packet.resize(rng() % 200);
      for (char& c : packet) c = static_cast<char>(rng());
    } else {
      packet = seeds[rng() % seeds.size()];
      for (int m = 0; m < 3; ++m) packet[rng() % packet.size()] = static_cast<char>(rng() % 128);
    }
    DecodeResult result = decode(packet);
    if (auto* list = std::get_if<std::vector<Envelope>>(&result)) {
      ASSERT_FALSE(list->empty());
      ++accepted;
    }
  }
  EXPECT_LT(accepted, 20000);
}

TEST(Decoder, EveryReasonHasALabel) {
  for (auto reason : {RejectReason::malformed, RejectReason::oversized, RejectReason::unknown_version,
                      RejectReason::unknown_type, RejectReason::over_limit, RejectReason::absurd_value,
                      RejectReason::out_of_order}) {
    EXPECT_NE(to_string(reason), "unknown");
  }
}

}  // namespace
}  // namespace ramflow::ingest

namespace ramflow::ingest {
namespace {

TEST(Decoder, EscapesAreDecodedToUtf8) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/task_start_escapes.json"));
  EXPECT_EQ(std::get<TaskStart>(envelopes(result).at(0).message).name, "caf\xC3\xA9 \xF0\x9F\x9A\x80 \"q\"\\/\n");
}

}  // namespace
}  // namespace ramflow::ingest

namespace ramflow::ingest {
namespace {

TEST(Decoder, AllocationSitesCarryTheWindowTheGrowthAndEachSite) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/allocation_sites_done.json"));
  ASSERT_TRUE(std::holds_alternative<std::vector<Envelope>>(result)) << to_string(std::get<RejectReason>(result));
  const auto& a = std::get<AllocationSites>(envelopes(result).at(0).message);
  EXPECT_EQ(a.id, "4242-1796447123-1");
  EXPECT_EQ(a.why, "leak_high");
  EXPECT_EQ(a.status, CaptureStatus::done);
  EXPECT_EQ(a.tasks_wanted, 20u);
  EXPECT_EQ(a.frames, 8u);
  EXPECT_EQ(a.tracing, "agent");
  ASSERT_TRUE(a.ended.has_value());
  EXPECT_DOUBLE_EQ(*a.ended, 1796447124.55);
  EXPECT_EQ(a.ended_by, "tasks");
  EXPECT_EQ(a.anon_growth, 1318912);
  EXPECT_EQ(a.traced_growth, 1315756);
  EXPECT_EQ(a.tracemalloc_growth, 9952);
  ASSERT_EQ(a.sites.size(), 2u);
  const auto& top = a.sites[0];
  EXPECT_EQ(top.bytes, 998188);
  EXPECT_EQ(top.blocks, 12137);
  ASSERT_EQ(top.frames.size(), 4u);
  EXPECT_EQ(top.site, 3u);
  EXPECT_EQ(top.frames[3].file, "app/tasks.py");
  EXPECT_EQ(top.frames[3].line, 83u);
  EXPECT_EQ(top.frames[3].function, "caf\xC3\xA9_cache");
  EXPECT_EQ(top.frames[0].function, "JSONDecoder.raw_decode");
  EXPECT_EQ(a.sites[1].blocks, -1);  // frees may outnumber allocations at a site that still grew
  EXPECT_EQ(a.sites[1].frames[0].function, "");
}

TEST(Decoder, ARunningWindowHasNoEndAndNoGrowth) {
  auto result = decode(read_file(fs::path(RAMFLOW_INGEST_CORPUS) / "valid/allocation_sites_running.json"));
  const auto& a = std::get<AllocationSites>(envelopes(result).at(0).message);
  EXPECT_EQ(a.status, CaptureStatus::running);
  EXPECT_FALSE(a.ended.has_value());
  EXPECT_FALSE(a.anon_growth.has_value());
  EXPECT_TRUE(a.sites.empty());
  EXPECT_EQ(a.tracing, "application");
}

}  // namespace
}  // namespace ramflow::ingest
