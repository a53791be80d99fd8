#include "ingest/decoder.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/limits.h"

namespace ramflow::ingest {
namespace {

using nlohmann::json;

// Thrown inside this file only and turned into a RejectReason by decode().
struct Reject {
  RejectReason reason;
};

[[noreturn]] void reject(RejectReason reason) { throw Reject{reason}; }

const json& field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) reject(RejectReason::malformed);
  return *it;
}

std::string text(const json& value, std::size_t max_bytes) {
  if (!value.is_string()) reject(RejectReason::malformed);
  const auto& s = value.get_ref<const std::string&>();
  if (s.size() > max_bytes) reject(RejectReason::over_limit);
  return s;
}

std::string optional_text(const json& value, std::size_t max_bytes) {
  return value.is_null() ? std::string() : text(value, max_bytes);
}

std::uint64_t unsigned_number(const json& value, std::uint64_t max) {
  if (value.is_number_unsigned()) {
    auto n = value.get<std::uint64_t>();
    if (n > max) reject(RejectReason::absurd_value);
    return n;
  }
  if (value.is_number_integer()) reject(RejectReason::absurd_value);  // negative
  reject(RejectReason::malformed);
}

std::int64_t signed_number(const json& value, std::uint64_t max_magnitude) {
  if (value.is_number_unsigned()) {
    auto n = value.get<std::uint64_t>();
    if (n > max_magnitude) reject(RejectReason::absurd_value);
    return static_cast<std::int64_t>(n);
  }
  if (!value.is_number_integer()) reject(RejectReason::malformed);
  auto n = value.get<std::int64_t>();
  if (n < -static_cast<std::int64_t>(max_magnitude)) reject(RejectReason::absurd_value);
  return n;
}

std::optional<std::int64_t> optional_signed(const json& value, std::uint64_t max_magnitude) {
  if (value.is_null()) return std::nullopt;
  return signed_number(value, max_magnitude);
}

double seconds(const json& value, double max) {
  if (!value.is_number()) reject(RejectReason::malformed);
  double d = value.get<double>();
  if (!std::isfinite(d) || d < 0 || d > max) reject(RejectReason::absurd_value);
  return d;
}

std::uint64_t bytes(const json& value) { return unsigned_number(value, kMaxBytesValue); }

Hello decode_hello(const json& m) {
  Hello h;
  h.agent_version = text(field(m, "agent"), kMaxStringBytes);
  h.python_version = text(field(m, "python"), kMaxStringBytes);
  h.framework = text(field(m, "framework"), kMaxStringBytes);
  h.pool = text(field(m, "pool"), kMaxStringBytes);
  h.worker = text(field(m, "worker"), kMaxLabelBytes);
  const json& index = field(m, "index");
  h.worker_index = index.is_null() ? -1 : static_cast<std::int64_t>(unsigned_number(index, 1 << 20));
  h.claimed_pid = static_cast<std::int64_t>(unsigned_number(field(m, "pid"), 1 << 30));
  return h;
}

Phase decode_phase(const json& m) {
  Phase p;
  std::string kind = text(field(m, "phase"), kMaxStringBytes);
  if (kind == "bootstrap") {
    p.kind = PhaseKind::bootstrap;
  } else if (kind == "ready") {
    p.kind = PhaseKind::ready;
  } else {
    reject(RejectReason::unknown_type);
  }
  p.wall_time = seconds(field(m, "t"), kMaxWallTime);
  p.rss = bytes(field(m, "rss"));
  p.vm_hwm = bytes(field(m, "hwm"));
  p.rss_anon = bytes(field(m, "anon"));
  p.allocated_blocks = bytes(field(m, "blocks"));
  if (auto it = m.find("inherited"); it != m.end()) {
    if (!it->is_boolean()) reject(RejectReason::malformed);
    p.inherited = it->get<bool>();
  }
  if (auto it = m.find("imports"); it != m.end()) {
    if (!it->is_array()) reject(RejectReason::malformed);
    if (it->size() > kMaxImports) reject(RejectReason::over_limit);
    for (const json& entry : *it) {
      if (!entry.is_array() || entry.size() != 2) reject(RejectReason::malformed);
      p.imports.push_back({text(entry[0], kMaxLabelBytes), signed_number(entry[1], kMaxBytesValue)});
    }
  }
  return p;
}

TaskStart decode_task_start(const json& m) {
  TaskStart t;
  t.name = text(field(m, "name"), kMaxLabelBytes);
  t.id = optional_text(field(m, "id"), kMaxStringBytes);
  t.wall_time = seconds(field(m, "t"), kMaxWallTime);
  t.rss = bytes(field(m, "rss"));
  return t;
}

// [label, kind, task_id, start, duration, rss_before, rss_after, gross, net_self,
//  flags, blocks_delta, anon_delta, peak]
constexpr std::size_t kRecordFields = 13;
constexpr std::uint64_t kExceptionFlag = 1, kApproximateFlag = 2, kKnownFlags = 3;

CallRecord decode_record(const json& r) {
  if (!r.is_array() || r.size() != kRecordFields) reject(RejectReason::malformed);
  CallRecord c;
  c.label = text(r[0], kMaxLabelBytes);
  if (c.label.empty()) reject(RejectReason::malformed);
  std::string kind = text(r[1], kMaxStringBytes);
  if (kind == "task") {
    c.kind = CallKind::task;
  } else if (kind == "function") {
    c.kind = CallKind::function;
  } else {
    reject(RejectReason::unknown_type);
  }
  c.task_id = optional_text(r[2], kMaxStringBytes);
  c.wall_start = seconds(r[3], kMaxWallTime);
  c.duration_seconds = seconds(r[4], kMaxDurationSeconds);
  c.rss_before = bytes(r[5]);
  c.rss_after = bytes(r[6]);
  c.gross_bytes = signed_number(r[7], kMaxBytesValue);
  c.net_self_bytes = signed_number(r[8], kMaxBytesValue);
  std::uint64_t flags = unsigned_number(r[9], kKnownFlags);
  c.exception = flags & kExceptionFlag;
  c.approximate = flags & kApproximateFlag;
  c.allocated_blocks_delta = optional_signed(r[10], kMaxBytesValue);
  c.rss_anon_delta = optional_signed(r[11], kMaxBytesValue);
  if (!r[12].is_null()) c.peak_rss = bytes(r[12]);
  return c;
}

Heartbeat decode_heartbeat(const json& m) {
  Heartbeat h;
  h.wall_time = seconds(field(m, "t"), kMaxWallTime);
  h.rss = bytes(field(m, "rss"));
  h.dropped_total = unsigned_number(field(m, "dropped"), kMaxSeq);
  h.sent_total = unsigned_number(field(m, "sent"), kMaxSeq);
  return h;
}

std::vector<Envelope> decode_object(const json& m) {
  if (!m.is_object()) reject(RejectReason::malformed);
  const json& version = field(m, "v");
  if (!version.is_number_integer()) reject(RejectReason::malformed);
  if (!version.is_number_unsigned() || version.get<std::uint64_t>() != kProtocolVersion) {
    reject(RejectReason::unknown_version);
  }
  std::uint64_t seq = unsigned_number(field(m, "seq"), kMaxSeq);
  std::string type = text(field(m, "type"), kMaxStringBytes);

  std::vector<Envelope> out;
  if (type == "calls") {
    const json& calls = field(m, "calls");
    if (!calls.is_array() || calls.empty()) reject(RejectReason::malformed);
    if (calls.size() > kMaxRecordsPerMessage) reject(RejectReason::over_limit);
    out.reserve(calls.size());
    for (const json& r : calls) out.push_back({seq++, decode_record(r)});
  } else if (type == "task_start") {
    out.push_back({seq, decode_task_start(m)});
  } else if (type == "phase") {
    out.push_back({seq, decode_phase(m)});
  } else if (type == "heartbeat") {
    out.push_back({seq, decode_heartbeat(m)});
  } else if (type == "hello") {
    out.push_back({seq, decode_hello(m)});
  } else {
    reject(RejectReason::unknown_type);
  }
  return out;
}

}  // namespace

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::malformed: return "malformed";
    case RejectReason::oversized: return "oversized";
    case RejectReason::unknown_version: return "unknown_version";
    case RejectReason::unknown_type: return "unknown_type";
    case RejectReason::over_limit: return "over_limit";
    case RejectReason::absurd_value: return "absurd_value";
    case RejectReason::out_of_order: return "out_of_order";
  }
  return "unknown";
}

DecodeResult decode(std::string_view packet) {
  if (packet.size() > kMaxMessageBytes) return RejectReason::oversized;
  json parsed = json::parse(packet.begin(), packet.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return RejectReason::malformed;
  try {
    return decode_object(parsed);
  } catch (const Reject& r) {
    return r.reason;
  } catch (const json::exception&) {
    return RejectReason::malformed;
  }
}

}  // namespace ramflow::ingest
