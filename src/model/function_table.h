// Per-function and per-task aggregates of tracked calls, bounded to K names.
// Admission is sticky and first come: while fewer than K names are admitted a
// new name gets its own row; after that it folds into the row "other", so the
// series count never exceeds K + 2 (other task, other function) and no counter
// ever goes backwards. Not thread-safe: the AgentRegistry locks around it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ramflow::model {

enum class CallKind { kTask, kFunction };
std::string_view to_string(CallKind kind);

struct FunctionStats {
  std::string function;
  CallKind kind = CallKind::kFunction;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  double net_self_bytes = 0;  // sum of positive net self (retained)
  double freed_bytes = 0;     // sum of |negative net self|
  double gross_bytes = 0;     // sum of positive gross growth, children included
  double duration_seconds = 0;
  double peak_bytes = 0;  // highest gross growth of one call
  bool approximate = false;
};

struct CallOutcome {
  std::int64_t gross_bytes = 0;
  std::int64_t net_self_bytes = 0;
  double duration_seconds = 0;
  bool error = false;
  bool approximate = false;
};

class FunctionTable {
 public:
  static constexpr const char* kOther = "other";
  explicit FunctionTable(std::size_t max_names) : max_names_(max_names) {}

  // Returns the row name the call was counted under (the name or "other").
  const std::string& record(const std::string& name, CallKind kind, const CallOutcome& call);
  // The name a label is published under: itself if admitted, else "other".
  const std::string& published_name(const std::string& name, CallKind kind) const;
  std::vector<FunctionStats> rows() const;
  std::size_t admitted() const { return admitted_; }

 private:
  using Key = std::pair<std::string, CallKind>;
  std::size_t max_names_;
  std::size_t admitted_ = 0;
  std::map<Key, FunctionStats> rows_;
};

}  // namespace ramflow::model
