#include "model/function_table.h"

#include <algorithm>

#include "model/saturating.h"

namespace ramflow::model {

std::string_view to_string(CallKind kind) { return kind == CallKind::kTask ? "task" : "function"; }

void accumulate(FunctionStats& into, const FunctionStats& delta) {
  add_to(into.calls, delta.calls);
  add_to(into.measured_calls, delta.measured_calls);
  add_to(into.errors, delta.errors);
  into.net_self_bytes += std::max(0.0, delta.net_self_bytes);
  into.released_bytes += std::max(0.0, delta.released_bytes);
  into.gross_bytes += std::max(0.0, delta.gross_bytes);
  into.freed_bytes += std::max(0.0, delta.freed_bytes);
  into.duration_seconds += std::max(0.0, delta.duration_seconds);
  into.peak_bytes = std::max(into.peak_bytes, delta.peak_bytes);
  into.approximate = into.approximate || delta.approximate;
}

FunctionStats figures_of(const CallOutcome& call) {
  FunctionStats f;
  f.calls = 1;
  f.measured_calls = 1;
  f.errors = call.error ? 1 : 0;
  f.net_self_bytes = static_cast<double>(std::max<std::int64_t>(0, call.net_self_bytes));
  f.released_bytes = static_cast<double>(std::max<std::int64_t>(0, -call.net_self_bytes));
  f.gross_bytes = f.net_self_bytes;
  f.peak_bytes = f.gross_bytes;
  f.duration_seconds = std::max(0.0, call.duration_seconds);
  f.approximate = call.approximate;
  return f;
}

FunctionStats& FunctionTable::row(const std::string& name, CallKind kind) {
  auto it = rows_.find({name, kind});
  if (it == rows_.end()) {
    bool admit = admitted_ < max_names_ && name != kOther;
    Key key{admit ? name : std::string(kOther), kind};
    it = rows_.find(key);
    if (it == rows_.end()) {
      FunctionStats fresh;
      fresh.function = key.first;
      fresh.kind = kind;
      it = rows_.emplace(key, std::move(fresh)).first;
      if (admit) ++admitted_;
    }
  }
  return it->second;
}

const std::string& FunctionTable::admit(const std::string& name, CallKind kind) { return row(name, kind).function; }

const std::string& FunctionTable::add(const FunctionStats& delta) {
  FunctionStats& r = row(delta.function, delta.kind);
  accumulate(r, delta);
  return r.function;
}

std::vector<FunctionStats> FunctionTable::rows() const {
  std::vector<FunctionStats> out;
  out.reserve(rows_.size());
  for (const auto& [key, row] : rows_) out.push_back(row);
  std::sort(out.begin(), out.end(), [](const FunctionStats& a, const FunctionStats& b) {
    return a.net_self_bytes > b.net_self_bytes;
  });
  return out;
}

}  // namespace ramflow::model
