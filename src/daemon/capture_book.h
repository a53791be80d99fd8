// The allocation-site captures (docs/allocation-sites.md): asked on demand
// (`ramflowd capture`, from the control socket's thread) or automatically —
// when a process's leak level is high, and when the pod's non-reclaimable
// margin is under the OOM-risk margin with the time to OOM under
// --capture-oom-within — at most once per process and reason per
// --capture-every (a leak captured an hour ago is captured again before the
// kill it leads to).
// Each is sent to the process's agent as a `capture` command, followed until
// its result (or lost: no answer, or the process ended first), linked to the
// OOM kill that ended its process, and kept, the last kKept, for the report
// and the state file.
//
//   CaptureBook book(config);
//   book.set_sender([&](pid_t pid, const std::string& packet) { return socket.send(pid, packet); });
//   any thread:      book.request({pid, tasks, seconds}, cycle.latest().get(), now);
//   each cycle:      book.update(snap, agents.take_capture_reports());
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "analysis/allocation_capture.h"
#include "config/config.h"
#include "model/allocation_capture.h"
#include "model/allocation_capture_json.h"
#include "model/snapshot.h"

namespace ramflow::daemon {

class CaptureBook {
 public:
  static constexpr std::size_t kKept = 32;
  // The agent reads commands every flush (0.25 s) and says "running" at once.
  static constexpr double kAnswerSeconds = 15;
  // Past its hard end (twice its seconds, 5 s more at least) a window is lost.
  static constexpr double kLateSeconds = 30;
  static constexpr std::uint32_t kTopSites = 10;

  using Send = std::function<bool(pid_t, const std::string& packet)>;

  explicit CaptureBook(const config::Config& config);
  void set_sender(Send send);

  struct Request {
    pid_t pid = 0;
    std::optional<std::uint64_t> tasks;
    std::optional<double> seconds;
  };
  // On demand, any thread: checked against `latest` and sent at once. The
  // capture as asked (status requested), or what to tell the user.
  std::variant<model::AllocationCapture, std::string> request(const Request& request, const model::Snapshot* latest,
                                                              double now);
  std::optional<model::AllocationCapture> find(const std::string& id) const;

  // The sampling cycle, after the analysis and the OOM forensics: the agents'
  // reports merged, unanswered captures lost, automatic ones started, OOM
  // kills linked (snap.oom_kills[].capture_id), each process's (and ended
  // process's) newest measured growth made its bloat attribution; fills
  // snap.captures.
  void update(model::Snapshot& snap, std::vector<model::AllocationCapture> reports);

  // The state file's "captures" part (cached between changes), and back.
  const std::string& state_json();
  bool restore(std::string_view json, std::string* error);

 private:
  std::optional<std::string> start(model::AllocationCapture capture);  // requires mu_; error text
  model::AllocationCapture* by_id(const std::string& id);               // requires mu_
  void merge(model::AllocationCapture report, const model::Snapshot& snap);
  void expire(const model::Snapshot& snap);
  void trigger(const model::Snapshot& snap);
  void link_oom_kills(model::Snapshot& snap);
  void attribute_bloat(model::Snapshot& snap) const;
  void bound();
  std::string next_id(pid_t pid, double now);

  config::Config config_;
  analysis::CaptureDefaults defaults_;
  Send send_;
  mutable std::mutex mu_;
  std::deque<model::AllocationCapture> book_;  // oldest first
  model::LastAutomatic last_automatic_;
  std::uint64_t sequence_ = 0;
  std::uint64_t generation_ = 1;
  std::uint64_t state_generation_ = 0;
  std::string state_json_;
  std::uint64_t published_generation_ = 0;
  std::shared_ptr<const std::vector<model::AllocationCapture>> published_;
};

// Empty when `agent` can capture (protocol 2, agent 0.3 or later, connected), else why not.
std::string capture_unsupported(const model::AgentFacts& agent);

}  // namespace ramflow::daemon
