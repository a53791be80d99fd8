// Decodes and validates one agent packet (protocols v1 and v2, docs/protocol.md).
// Pure and thread-safe: no I/O, no state; the socket server, unit tests and the
// fuzzer call it directly.
//
//   auto result = decode(packet);
//   if (auto* envelopes = std::get_if<std::vector<Envelope>>(&result)) ...
//   else count(to_string(std::get<RejectReason>(result)));
#pragma once

#include <string_view>
#include <variant>
#include <vector>

#include "ingest/messages.h"

namespace ramflow::ingest {

enum class RejectReason {
  malformed,        // not JSON, not an object, a field missing or of the wrong type
  oversized,        // packet larger than the limit
  unknown_version,  // "v" is not a version this sidecar reads (1 or 2)
  unknown_type,     // "type" names no message of this version
  over_limit,       // a string, record count or import count past its limit
  absurd_value,     // a number out of its plausible range
  out_of_order,     // seq went backwards on a connection (socket server only)
};

// The label value of ramflow_agent_events_rejected_total{reason}.
std::string_view to_string(RejectReason reason);

inline constexpr RejectReason kAllRejectReasons[] = {
    RejectReason::malformed,    RejectReason::oversized,    RejectReason::unknown_version, RejectReason::unknown_type,
    RejectReason::over_limit,   RejectReason::absurd_value, RejectReason::out_of_order,
};

// A "calls" packet yields one envelope per record (seq, seq+1, ...); others yield one.
using DecodeResult = std::variant<std::vector<Envelope>, RejectReason>;

DecodeResult decode(std::string_view packet);

}  // namespace ramflow::ingest
