#include "ingest/decoder.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "ingest/json_reader.h"
#include "ingest/limits.h"

namespace ramflow::ingest {
namespace {

// Thrown inside this file only and turned into a RejectReason by decode().
struct Reject {
  RejectReason reason;
};

[[noreturn]] void reject(RejectReason reason) { throw Reject{reason}; }

// The top-level object's members; the last of duplicate keys wins.
class Fields {
 public:
  explicit Fields(std::string_view text) : text_(text), list_(scan_object(text)) {}

  std::optional<JsonReader> find(std::string_view key) const {
    for (auto it = list_.rbegin(); it != list_.rend(); ++it) {
      if (it->key == key) return JsonReader(text_, it->value_position);
    }
    return std::nullopt;
  }
  JsonReader at(std::string_view key) const {
    auto r = find(key);
    if (!r) reject(RejectReason::malformed);
    return *r;
  }

 private:
  std::string_view text_;
  std::vector<JsonField> list_;
};

std::string text(JsonReader& r, std::size_t max_bytes) {
  if (r.peek() != '"') reject(RejectReason::malformed);
  std::string s;
  r.read_string(s);
  if (s.size() > max_bytes) reject(RejectReason::over_limit);
  return s;
}

std::string optional_text(JsonReader& r, std::size_t max_bytes) {
  return r.read_null() ? std::string() : text(r, max_bytes);
}

JsonNumber number(JsonReader& r) {
  char c = r.peek();
  if (c != '-' && (c < '0' || c > '9')) reject(RejectReason::malformed);
  return r.read_number();
}

std::uint64_t unsigned_number(JsonReader& r, std::uint64_t max) {
  JsonNumber n = number(r);
  if (n.kind == JsonNumber::real) reject(RejectReason::malformed);
  if (n.kind == JsonNumber::negative_integer || n.magnitude > max) reject(RejectReason::absurd_value);
  return n.magnitude;
}

std::int64_t signed_number(JsonReader& r, std::uint64_t max_magnitude) {
  JsonNumber n = number(r);
  if (n.kind == JsonNumber::real) reject(RejectReason::malformed);
  if (n.magnitude > max_magnitude) reject(RejectReason::absurd_value);
  auto v = static_cast<std::int64_t>(n.magnitude);
  return n.kind == JsonNumber::negative_integer ? -v : v;
}

std::optional<std::int64_t> optional_signed(JsonReader& r, std::uint64_t max_magnitude) {
  if (r.read_null()) return std::nullopt;
  return signed_number(r, max_magnitude);
}

double seconds(JsonReader& r, double max) {
  double d = number(r).value;
  if (!std::isfinite(d) || d < 0 || d > max) reject(RejectReason::absurd_value);
  return d;
}

std::uint64_t bytes(JsonReader& r) { return unsigned_number(r, kMaxBytesValue); }

bool boolean(JsonReader& r) {
  char c = r.peek();
  if (c != 't' && c != 'f') reject(RejectReason::malformed);
  return r.read_bool();
}

// Moves to the next array element; a missing one makes the packet malformed.
void element(JsonReader& r) {
  if (!r.next_element()) reject(RejectReason::malformed);
}

void begin_array(JsonReader& r) {
  if (r.peek() != '[') reject(RejectReason::malformed);
  r.begin_array();
}

Hello decode_hello(const Fields& m) {
  Hello h;
  auto r = m.at("agent");
  h.agent_version = text(r, kMaxStringBytes);
  r = m.at("python");
  h.python_version = text(r, kMaxStringBytes);
  r = m.at("framework");
  h.framework = text(r, kMaxStringBytes);
  r = m.at("pool");
  h.pool = text(r, kMaxStringBytes);
  r = m.at("worker");
  h.worker = text(r, kMaxLabelBytes);
  r = m.at("index");
  h.worker_index = r.read_null() ? -1 : static_cast<std::int64_t>(unsigned_number(r, 1 << 20));
  r = m.at("pid");
  h.claimed_pid = static_cast<std::int64_t>(unsigned_number(r, 1 << 30));
  return h;
}

Phase decode_phase(const Fields& m) {
  Phase p;
  auto r = m.at("phase");
  std::string kind = text(r, kMaxStringBytes);
  if (kind == "bootstrap") {
    p.kind = PhaseKind::bootstrap;
  } else if (kind == "ready") {
    p.kind = PhaseKind::ready;
  } else {
    reject(RejectReason::unknown_type);
  }
  r = m.at("t");
  p.wall_time = seconds(r, kMaxWallTime);
  r = m.at("rss");
  p.rss = bytes(r);
  r = m.at("hwm");
  p.vm_hwm = bytes(r);
  r = m.at("anon");
  p.rss_anon = bytes(r);
  r = m.at("blocks");
  p.allocated_blocks = bytes(r);
  if (auto inherited = m.find("inherited")) p.inherited = boolean(*inherited);
  if (auto imports = m.find("imports")) {
    begin_array(*imports);
    while (imports->next_element()) {
      if (p.imports.size() == kMaxImports) reject(RejectReason::over_limit);
      begin_array(*imports);
      element(*imports);
      std::string module = text(*imports, kMaxLabelBytes);
      element(*imports);
      std::int64_t growth = signed_number(*imports, kMaxBytesValue);
      if (imports->next_element()) reject(RejectReason::malformed);
      p.imports.push_back({std::move(module), growth});
    }
  }
  return p;
}

TaskStart decode_task_start(const Fields& m) {
  TaskStart t;
  auto r = m.at("name");
  t.name = text(r, kMaxLabelBytes);
  r = m.at("id");
  t.id = optional_text(r, kMaxStringBytes);
  r = m.at("t");
  t.wall_time = seconds(r, kMaxWallTime);
  r = m.at("rss");
  t.rss = bytes(r);
  return t;
}

CallKind call_kind(JsonReader& r) {
  std::string kind = text(r, kMaxStringBytes);
  if (kind == "task") return CallKind::task;
  if (kind == "function") return CallKind::function;
  reject(RejectReason::unknown_type);
}

// The two fields that open a call record and a figures row: [label, kind, ...
void label_and_kind(JsonReader& r, std::string& label, CallKind& kind) {
  begin_array(r);
  element(r);
  label = text(r, kMaxLabelBytes);
  if (label.empty()) reject(RejectReason::malformed);
  element(r);
  kind = call_kind(r);
}

// [label, kind, task_id, start, duration, rss_before, rss_after, gross, net_self,
//  flags, blocks_delta, anon_delta, peak]
constexpr std::uint64_t kExceptionFlag = 1, kApproximateFlag = 2, kKnownFlags = 3;

// The end of a task record: flags, blocks delta, anon delta (`with_anon`: not
// in version 3, where ramflowd figures it), peak.
void record_tail(JsonReader& r, CallRecord& c, bool with_anon) {
  element(r);
  std::uint64_t flags = unsigned_number(r, kKnownFlags);
  c.exception = flags & kExceptionFlag;
  c.approximate = flags & kApproximateFlag;
  element(r);
  c.allocated_blocks_delta = optional_signed(r, kMaxBytesValue);
  if (with_anon) {
    element(r);
    c.rss_anon_delta = optional_signed(r, kMaxBytesValue);
  }
  element(r);
  if (!r.read_null()) c.peak_rss = bytes(r);
  if (r.next_element()) reject(RejectReason::malformed);
}

CallRecord decode_record(JsonReader& r) {
  CallRecord c;
  label_and_kind(r, c.label, c.kind);
  element(r);
  c.task_id = optional_text(r, kMaxStringBytes);
  element(r);
  c.wall_start = seconds(r, kMaxWallTime);
  element(r);
  c.duration_seconds = seconds(r, kMaxDurationSeconds);
  element(r);
  c.rss_before = bytes(r);
  element(r);
  c.rss_after = bytes(r);
  element(r);
  c.gross_bytes = signed_number(r, kMaxBytesValue);
  element(r);
  c.net_self_bytes = signed_number(r, kMaxBytesValue);
  record_tail(r, c, /*with_anon=*/true);
  return c;
}

// The agent and ramflowd share a kernel (a Unix socket): the same page size.
std::int64_t page_size() {
  static const auto page = static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

// A /proc/PID/statm line, in pages: "size resident shared text lib data dt".
struct Statm {
  std::uint64_t resident = 0;
  std::uint64_t shared = 0;  // RssFile + RssShmem: resident - shared is RssAnon
};

Statm statm(std::string_view line) {
  std::uint64_t fields[3] = {};
  const char* p = line.data();
  const char* end = p + line.size();
  for (std::uint64_t& field : fields) {
    auto [next, error] = std::from_chars(p, end, field);
    if (error != std::errc() || (next != end && *next != ' ')) reject(RejectReason::malformed);
    p = next == end ? next : next + 1;
  }
  if (fields[1] > kMaxBytesValue / static_cast<std::uint64_t>(page_size()) || fields[2] > fields[1]) {
    reject(RejectReason::absurd_value);
  }
  return {fields[1], fields[2]};
}

// Version 3, "task_ends": [label, start_ns, duration_ns, statm_before,
// statm_after, children_pages, flags, blocks_delta, peak]: the raw readings
// (cheaper for the agent to send than the figures), turned here into the
// record a version-2 task end carries (without a task id).
CallRecord decode_task_end(JsonReader& r) {
  const std::int64_t page = page_size();
  CallRecord c;
  c.kind = CallKind::task;
  begin_array(r);
  element(r);
  c.label = text(r, kMaxLabelBytes);
  if (c.label.empty()) reject(RejectReason::malformed);
  element(r);
  c.wall_start = static_cast<double>(unsigned_number(r, static_cast<std::uint64_t>(kMaxWallTime) * 1'000'000'000)) / 1e9;
  element(r);
  c.duration_seconds =
      static_cast<double>(unsigned_number(r, static_cast<std::uint64_t>(kMaxDurationSeconds) * 1'000'000'000)) / 1e9;
  element(r);
  const Statm before = statm(text(r, kMaxStringBytes));
  element(r);
  const Statm after = statm(text(r, kMaxStringBytes));
  element(r);
  const std::int64_t children = signed_number(r, kMaxBytesValue / static_cast<std::uint64_t>(page));
  record_tail(r, c, /*with_anon=*/false);
  const auto r0 = static_cast<std::int64_t>(before.resident), r1 = static_cast<std::int64_t>(after.resident);
  const auto anon0 = r0 - static_cast<std::int64_t>(before.shared), anon1 = r1 - static_cast<std::int64_t>(after.shared);
  c.rss_before = static_cast<std::uint64_t>(r0 * page);
  c.rss_after = static_cast<std::uint64_t>(r1 * page);
  c.gross_bytes = (r1 - r0) * page;
  c.net_self_bytes = (r1 - r0 - children) * page;
  c.rss_anon_delta = (anon1 - anon0) * page;
  return c;
}

// [label, kind, calls, measured, errors, seconds, gross, kept, freed, released, peak, approximate]
FunctionFigures decode_figures(JsonReader& r) {
  FunctionFigures f;
  label_and_kind(r, f.label, f.kind);
  for (std::uint64_t* count : {&f.calls, &f.measured_calls, &f.errors}) {
    element(r);
    *count = unsigned_number(r, kMaxSeq);
  }
  element(r);
  f.seconds = seconds(r, kMaxSecondsSum);
  for (std::uint64_t* size : {&f.gross_bytes, &f.kept_bytes, &f.freed_bytes, &f.released_bytes, &f.peak_bytes}) {
    element(r);
    *size = unsigned_number(r, kMaxBytesSum);
  }
  element(r);
  f.approximate = boolean(r);
  if (r.next_element()) reject(RejectReason::malformed);
  // The definitions' invariants (docs/analysis.md): a row breaking them is not a measurement.
  if (f.measured_calls > f.calls || f.errors > f.calls || f.kept_bytes > f.gross_bytes ||
      f.freed_bytes > f.gross_bytes) {
    reject(RejectReason::absurd_value);
  }
  return f;
}

std::vector<FunctionFigures> decode_rows(const Fields& m, std::size_t max_rows) {
  auto rows = m.at("rows");
  begin_array(rows);
  std::vector<FunctionFigures> out;
  while (rows.next_element()) {
    if (out.size() == max_rows) reject(RejectReason::over_limit);
    out.push_back(decode_figures(rows));
  }
  return out;
}

Heartbeat decode_heartbeat(const Fields& m) {
  Heartbeat h;
  auto r = m.at("t");
  h.wall_time = seconds(r, kMaxWallTime);
  r = m.at("rss");
  h.rss = bytes(r);
  r = m.at("dropped");
  h.dropped_total = unsigned_number(r, kMaxSeq);
  r = m.at("sent");
  h.sent_total = unsigned_number(r, kMaxSeq);
  return h;
}

CaptureStatus capture_status(JsonReader& r) {
  std::string status = text(r, kMaxStringBytes);
  if (status == "running") return CaptureStatus::running;
  if (status == "done") return CaptureStatus::done;
  if (status == "refused") return CaptureStatus::refused;
  if (status == "failed") return CaptureStatus::failed;
  reject(RejectReason::unknown_type);
}

// [bytes, blocks, code, [[file, line, function], ...], site]
AllocationSite decode_site(JsonReader& r) {
  AllocationSite s;
  begin_array(r);
  element(r);
  s.bytes = signed_number(r, kMaxBytesValue);
  if (s.bytes <= 0) reject(RejectReason::absurd_value);
  element(r);
  s.blocks = signed_number(r, kMaxBytesValue);
  element(r);
  s.code = text(r, kMaxStringBytes);
  element(r);
  begin_array(r);
  while (r.next_element()) {
    if (s.frames.size() == kMaxSiteFrames) reject(RejectReason::over_limit);
    SiteFrame f;
    begin_array(r);
    element(r);
    f.file = text(r, kMaxLabelBytes);
    element(r);
    f.line = static_cast<std::uint32_t>(unsigned_number(r, 1u << 30));
    element(r);
    f.function = text(r, kMaxStringBytes);
    if (r.next_element()) reject(RejectReason::malformed);
    s.frames.push_back(std::move(f));
  }
  element(r);
  s.site = static_cast<std::uint32_t>(unsigned_number(r, kMaxSiteFrames));
  if (r.next_element()) reject(RejectReason::malformed);
  if (s.frames.empty() || s.site >= s.frames.size()) reject(RejectReason::malformed);
  return s;
}

AllocationSites decode_allocation_sites(const Fields& m) {
  AllocationSites a;
  auto r = m.at("id");
  a.id = text(r, kMaxCaptureIdBytes);
  if (a.id.empty()) reject(RejectReason::malformed);
  r = m.at("why");
  a.why = text(r, kMaxStringBytes);
  r = m.at("status");
  a.status = capture_status(r);
  r = m.at("error");
  a.error = optional_text(r, kMaxStringBytes);
  r = m.at("tasks_wanted");
  a.tasks_wanted = unsigned_number(r, kMaxCaptureTasks);
  r = m.at("seconds_wanted");
  a.seconds_wanted = seconds(r, kMaxCaptureSeconds);
  r = m.at("frames");
  a.frames = static_cast<std::uint32_t>(unsigned_number(r, kMaxSiteFrames));
  r = m.at("tracing");
  a.tracing = optional_text(r, kMaxStringBytes);
  r = m.at("started");
  a.started = seconds(r, kMaxWallTime);
  r = m.at("ended");
  if (!r.read_null()) a.ended = seconds(r, kMaxWallTime);
  r = m.at("ended_by");
  a.ended_by = optional_text(r, kMaxStringBytes);
  r = m.at("tasks");
  a.tasks = unsigned_number(r, kMaxSeq);
  for (auto [key, field] : {std::pair{"rss_growth", &a.rss_growth}, {"anon_growth", &a.anon_growth},
                            {"traced_growth", &a.traced_growth}, {"tracemalloc_growth", &a.tracemalloc_growth}}) {
    if (auto f = m.find(key)) *field = optional_signed(*f, kMaxBytesValue);
  }
  r = m.at("sites");
  begin_array(r);
  while (r.next_element()) {
    if (a.sites.size() == kMaxCaptureSites) reject(RejectReason::over_limit);
    a.sites.push_back(decode_site(r));
  }
  return a;
}

std::vector<Envelope> decode_object(std::string_view packet) {
  if (JsonReader(packet).peek() != '{') reject(RejectReason::malformed);
  Fields m(packet);
  auto v_field = m.at("v");
  JsonNumber v = number(v_field);
  if (v.kind == JsonNumber::real) reject(RejectReason::malformed);
  if (v.kind == JsonNumber::negative_integer || v.magnitude < kOldestProtocolVersion ||
      v.magnitude > kProtocolVersion) {
    reject(RejectReason::unknown_version);
  }
  const auto version = static_cast<std::uint32_t>(v.magnitude);
  auto r = m.at("seq");
  std::uint64_t seq = unsigned_number(r, kMaxSeq);
  r = m.at("type");
  std::string type = text(r, kMaxStringBytes);

  std::vector<Envelope> out;
  // 1 to kMaxRecordsPerMessage records, one event each.
  auto records = [&](std::string_view field, CallRecord (*decode_one)(JsonReader&)) {
    auto list = m.at(field);
    begin_array(list);
    while (list.next_element()) {
      if (out.size() == kMaxRecordsPerMessage) reject(RejectReason::over_limit);
      out.push_back({seq++, version, decode_one(list)});
    }
    if (out.empty()) reject(RejectReason::malformed);
  };
  if (type == "calls") {
    records("calls", decode_record);
  } else if (type == "task_start") {
    // Version 2: the task ends queued before this start ride in its packet, first.
    if (auto ended = version >= 2 ? m.find("ended") : std::nullopt) {
      begin_array(*ended);
      while (ended->next_element()) {
        if (out.size() == kMaxRecordsPerMessage) reject(RejectReason::over_limit);
        out.push_back({seq++, version, decode_record(*ended)});
        if (std::get<CallRecord>(out.back().message).kind != CallKind::task) reject(RejectReason::unknown_type);
      }
    }
    out.push_back({seq, version, decode_task_start(m)});
  } else if (type == "phase") {
    out.push_back({seq, version, decode_phase(m)});
  } else if (type == "heartbeat") {
    out.push_back({seq, version, decode_heartbeat(m)});
  } else if (type == "hello") {
    out.push_back({seq, version, decode_hello(m)});
  } else if (type == "task_ends" && version >= 3) {
    records("ends", decode_task_end);
  } else if (type == "functions" && version >= 2) {
    out.push_back({seq, version, FunctionDeltas{decode_rows(m, kMaxRecordsPerMessage)}});
  } else if (type == "net_self" && version >= 2) {
    auto since = m.at("since");
    std::string from = text(since, kMaxStringBytes);
    if (from != "ready" && from != "start") reject(RejectReason::malformed);
    out.push_back({seq, version, NetSelfTable{from == "ready", decode_rows(m, kMaxNetSelfRows)}});
  } else if (type == "allocation_sites" && version >= 3) {
    out.push_back({seq, version, decode_allocation_sites(m)});
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
  try {
    return decode_object(packet);
  } catch (const Reject& r) {
    return r.reason;
  } catch (const JsonError&) {
    return RejectReason::malformed;
  }
}

}  // namespace ramflow::ingest
