// Per-function and per-task aggregates of tracked calls, bounded to K names.
// Admission is sticky and first come: while fewer than K names are admitted a
// new name gets its own row; after that it folds into the row "other", so the
// series count never exceeds K + 2 (other task, other function) and no counter
// ever goes backwards. Not thread-safe: the AgentRegistry locks around it.
//
// The figures and their invariants are defined in docs/analysis.md ("Net self"):
// kept <= gross, freed <= gross, kept + freed = gross (own rise), per call and summed.
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
  std::uint64_t measured_calls = 0;  // calls whose memory was read (quiet functions are sampled)
  std::uint64_t errors = 0;
  double net_self_bytes = 0;  // kept: positive net self, summed
  double released_bytes = 0;  // negative net self, summed as a positive number
  double gross_bytes = 0;     // own rise (children excluded) = kept + freed
  double freed_bytes = 0;     // own rise given back before the call returned
  double duration_seconds = 0;
  double peak_bytes = 0;  // the largest own rise of one call
  bool approximate = false;
};

// Adds `delta`'s figures to `into` (counts saturate; the peak is a maximum).
void accumulate(FunctionStats& into, const FunctionStats& delta);

// One call as a protocol-v1 agent records it (net self only): kept or
// released from its sign, own rise = kept (a lower bound), freed unknown (0).
struct CallOutcome {
  std::int64_t gross_bytes = 0;  // RSS change, tracked children included (timeline)
  std::int64_t net_self_bytes = 0;
  double duration_seconds = 0;
  bool error = false;
  bool approximate = false;
};
FunctionStats figures_of(const CallOutcome& call);

class FunctionTable {
 public:
  static constexpr const char* kOther = "other";
  explicit FunctionTable(std::size_t max_names) : max_names_(max_names) {}

  // Adds `delta` (its function and kind name the row); returns the row name it
  // was counted under (the name or "other").
  const std::string& add(const FunctionStats& delta);
  // The row name of `name`, admitting it if there is room (nothing counted).
  const std::string& admit(const std::string& name, CallKind kind);
  std::vector<FunctionStats> rows() const;
  std::size_t admitted() const { return admitted_; }

 private:
  using Key = std::pair<std::string, CallKind>;
  FunctionStats& row(const std::string& name, CallKind kind);
  std::size_t max_names_;
  std::size_t admitted_ = 0;
  std::map<Key, FunctionStats> rows_;
};

}  // namespace ramflow::model
