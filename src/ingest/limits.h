// Wire limits of protocols v1 and v2; docs/protocol.md lists the same values.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ramflow::ingest {

inline constexpr std::size_t kMaxMessageBytes = 65536;     // one SOCK_SEQPACKET packet
inline constexpr std::size_t kMaxLabelBytes = 256;         // call labels, task names
inline constexpr std::size_t kMaxStringBytes = 128;        // every other string
inline constexpr std::size_t kMaxRecordsPerMessage = 512;  // call records in one "calls"
inline constexpr std::size_t kMaxImports = 20;             // import breakdown entries
inline constexpr std::uint64_t kMaxBytesValue = 1ULL << 48;  // 256 TiB: any size beyond is absurd
inline constexpr std::uint64_t kMaxSeq = 1ULL << 53;         // exact in a JSON double
inline constexpr double kMaxDurationSeconds = 1e7;           // ~115 days
inline constexpr double kMaxWallTime = 1ULL << 33;           // Unix seconds, year ~2242
inline constexpr std::size_t kMaxNetSelfRows = 64;           // rows of one "net_self"
inline constexpr std::uint64_t kMaxBytesSum = 1ULL << 62;    // a sum of sizes over many calls
inline constexpr double kMaxSecondsSum = 1e12;               // a sum of durations over many calls
inline constexpr std::size_t kMaxCaptureSites = 50;          // sites of one "allocation_sites"
inline constexpr std::size_t kMaxSiteFrames = 64;            // frames of one site's traceback
inline constexpr std::size_t kMaxCaptureIdBytes = 64;        // a capture's id
inline constexpr std::uint64_t kMaxCaptureTasks = 100000;    // tasks a window may wait for
inline constexpr double kMaxCaptureSeconds = 3600;           // seconds a window may last

}  // namespace ramflow::ingest
