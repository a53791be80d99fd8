// The control path (docs/security.md): `ramflowd capture` asks the serving
// ramflowd for an allocation-site capture over this Unix SOCK_SEQPACKET
// socket, never over the HTTP port, which stays read-only. The socket is made
// like the agent socket (ingest/unix_listener.h) with mode 0600, and a peer
// whose UID (SO_PEERCRED) is neither ramflowd's own nor root is closed: only
// who could already signal or ptrace ramflowd may ask.
//
// One JSON object per packet. The client sends
//   {"capture":{"pid":123,"tasks":20,"seconds":60}}   (tasks, seconds optional)
// and gets {"error":"..."}, or {"accepted":CAPTURE} then, when the window is
// over, {"result":CAPTURE} (export/report/capture_json.h), then end of stream.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "daemon/cycle.h"

namespace ramflow::app {

// --control-socket, else control.sock beside the agent socket.
std::string control_socket_path(const config::Config& config);

class ControlSocket {
 public:
  static constexpr std::size_t kMaxClients = 16;
  static constexpr std::size_t kMaxRequestBytes = 4096;

  ControlSocket(std::string path, daemon::Cycle& cycle);
  ~ControlSocket();
  // Returns the error to log (the daemon serves on without captures on demand).
  std::optional<std::string> start();
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ramflow::app
