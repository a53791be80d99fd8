// Where the socket server delivers what agents say. Every method is called from
// the server's own thread, one call at a time; implementations lock their state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "ingest/decoder.h"
#include "ingest/messages.h"
#include "ingest/task_board.h"

namespace ramflow::ingest {

// A connected agent, identified by the kernel (SO_PEERCRED at accept), never by
// the payload. connection_id is unique for the server's lifetime.
struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::uint64_t connection_id = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void on_connect(const Peer& peer) = 0;
  virtual void on_message(const Peer& peer, const Envelope& envelope) = 0;
  virtual void on_rejected(const Peer& peer, RejectReason reason) = 0;
  // `missing` events were numbered by the agent but never arrived.
  virtual void on_sequence_gap(const Peer& peer, std::uint64_t missing) = 0;
  // The peer's uid is not allowed; the connection was closed at once.
  virtual void on_refused(uid_t uid, pid_t pid) = 0;
  // The connection cap was reached: the connection was closed at once, after
  // its sends were shut and the `packets` it had already queued were read and
  // discarded (so that what the agent sent is counted, never lost silently).
  virtual void on_over_capacity(uid_t uid, pid_t pid, std::uint64_t /*packets*/) { on_refused(uid, pid); }
  virtual void on_disconnect(const Peer& peer) = 0;
  // Protocol 3: the peer passed its task board (replacing any before it on
  // this connection), or an fd that is not one (`board` null, `problem` says why).
  virtual void on_task_board(const Peer& /*peer*/, std::shared_ptr<const TaskBoard> /*board*/,
                             const std::string& /*problem*/) {}
};

}  // namespace ramflow::ingest
