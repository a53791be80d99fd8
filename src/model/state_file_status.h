// How saving the state file goes, as /metrics reports it.
#pragma once

#include <cstdint>
#include <optional>

namespace ramflow::model {

struct StateFileStatus {
  std::uint64_t write_errors = 0;
  std::optional<double> last_write;  // Unix seconds of the last successful write
};

}  // namespace ramflow::model
