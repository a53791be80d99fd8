// An older ramflowd's ingest (src/ingest at the last commit of protocol 1 or
// 2, extracted from git at configure time and compiled in a renamed
// namespace), behind a plain interface: the tests run this agent against it as
// against an older ramflowd.
//
// No include guard on purpose: included once per older version, each time with
// RAMFLOW_COMPAT_NS naming its namespace (compat_v1, compat_v2).
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace RAMFLOW_COMPAT_NS {

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

}  // namespace RAMFLOW_COMPAT_NS
