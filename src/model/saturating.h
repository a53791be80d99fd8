// Counters only ever go up: past the top of their range they stay at the top
// (a sequence jump of 2^53 repeated must not wrap ramflow_agent_events_dropped_total).
#pragma once

#include <cstdint>
#include <limits>

namespace ramflow::model {

inline std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? std::numeric_limits<std::uint64_t>::max() : sum;
}

inline void add_to(std::uint64_t& counter, std::uint64_t n) { counter = saturating_add(counter, n); }

}  // namespace ramflow::model
