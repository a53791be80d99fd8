// Connects the socket ingest to the model: every validated agent message
// becomes a fact in the AgentRegistry, every rejection a counted reason.
#pragma once

#include <atomic>

#include "ingest/sink.h"
#include "model/agent_registry.h"

namespace ramflow::daemon {

// Every event type and rejection reason the sink counts, added at 0 where not
// counted yet: published from the start, so increase() sees the first one.
void add_known_labels(model::AgentCounters& counters);

class AgentSink : public ingest::Sink {
 public:
  explicit AgentSink(model::AgentRegistry& registry) : registry_(registry) {}

  void on_connect(const ingest::Peer& peer) override;
  void on_message(const ingest::Peer& peer, const ingest::Envelope& envelope) override;
  void on_rejected(const ingest::Peer& peer, ingest::RejectReason reason) override;
  void on_sequence_gap(const ingest::Peer& peer, std::uint64_t missing) override;
  void on_refused(uid_t uid, pid_t pid) override;
  void on_over_capacity(uid_t uid, pid_t pid, std::uint64_t packets) override;
  void on_disconnect(const ingest::Peer& peer) override;
  void on_task_board(const ingest::Peer& peer, std::shared_ptr<const ingest::TaskBoard> board,
                     const std::string& problem) override;

 private:
  model::AgentRegistry& registry_;
  std::atomic<double> last_capacity_log_{0};
  std::atomic<double> last_board_log_{0};
};

}  // namespace ramflow::daemon
