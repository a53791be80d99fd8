// What ramflowd sends to an agent on its connection (docs/protocol.md,
// "Commands"): one JSON object per packet. Pure: the socket server sends it.
//
//   std::string packet = encode(CaptureCommand{"c-1", "on_demand", 20, 60.0, 8, 10});
//   server.send(pid, packet);
#pragma once

#include <cstdint>
#include <string>

namespace ramflow::ingest {

// Records allocation sites for one window: `tasks` task ends or `seconds`,
// whichever first; `frames` of traceback; the `top` sites that grew most.
struct CaptureCommand {
  std::string id;   // [A-Za-z0-9_.-], 1..kMaxCaptureIdBytes
  std::string why;  // [a-z_], 1..32: on_demand, leak_high, oom_near
  std::uint64_t tasks = 20;
  double seconds = 60;
  std::uint32_t frames = 8;
  std::uint32_t top = 10;
};

// Throws std::invalid_argument naming the field out of the agent's range.
std::string encode(const CaptureCommand& command);

}  // namespace ramflow::ingest
