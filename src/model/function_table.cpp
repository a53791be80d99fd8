#include "model/function_table.h"

#include <algorithm>

namespace ramflow::model {

std::string_view to_string(CallKind kind) { return kind == CallKind::kTask ? "task" : "function"; }

const std::string& FunctionTable::published_name(const std::string& name, CallKind kind) const {
  static const std::string other = kOther;
  auto it = rows_.find({name, kind});
  return it == rows_.end() ? other : it->second.function;
}

const std::string& FunctionTable::record(const std::string& name, CallKind kind, const CallOutcome& call) {
  auto it = rows_.find({name, kind});
  if (it == rows_.end()) {
    bool admit = admitted_ < max_names_ && name != kOther;
    Key key{admit ? name : std::string(kOther), kind};
    it = rows_.find(key);
    if (it == rows_.end()) {
      it = rows_.emplace(key, FunctionStats{key.first, kind}).first;
      if (admit) ++admitted_;
    }
  }
  FunctionStats& row = it->second;
  ++row.calls;
  if (call.error) ++row.errors;
  if (call.net_self_bytes > 0) row.net_self_bytes += static_cast<double>(call.net_self_bytes);
  if (call.net_self_bytes < 0) row.freed_bytes += -static_cast<double>(call.net_self_bytes);
  if (call.gross_bytes > 0) row.gross_bytes += static_cast<double>(call.gross_bytes);
  row.duration_seconds += std::max(0.0, call.duration_seconds);
  row.peak_bytes = std::max(row.peak_bytes, static_cast<double>(call.gross_bytes));
  row.approximate = row.approximate || call.approximate;
  return row.function;
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
