// The version-1 ingest of ramflowd (src/ingest at the last commit before
// protocol 2, extracted from git at configure time and compiled in a renamed
// namespace), behind a plain interface: the test runs this agent against it
// as against an older ramflowd.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace compat_v1 {

struct Tally {
  std::map<std::string, int> accepted;  // by message type
  std::map<std::string, int> rejected;  // by reason
  int disconnects = 0;
};

class Ingest {
 public:
  explicit Ingest(const std::string& socket_path);
  ~Ingest();
  std::optional<std::string> start();
  // Waits (bounded) until `disconnects` connections ended; returns what was counted.
  Tally wait_for_disconnects(int disconnects, int seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace compat_v1
