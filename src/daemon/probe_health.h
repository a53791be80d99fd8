// Health of the kernel probes: errors counted per source, each distinct cause
// logged once (not once per sample), and the time each probe took last cycle.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "probe/result.h"

namespace ramflow::daemon {

class ProbeHealth {
 public:
  // Every source starts at 0 errors: published from the start, so increase() sees the first.
  ProbeHealth();
  // Counts the error under `source`; logs it the first time its cause is seen.
  void error(const std::string& source, const probe::ReadError& error);
  void duration(const std::string& source, double seconds) { durations_[source] += seconds; }
  void begin_cycle() { durations_.clear(); }

  const std::map<std::string, std::uint64_t>& errors() const { return errors_; }
  const std::map<std::string, double>& durations() const { return durations_; }

 private:
  std::map<std::string, std::uint64_t> errors_;
  std::map<std::string, double> durations_;
  std::set<std::string> logged_causes_;
};

}  // namespace ramflow::daemon
