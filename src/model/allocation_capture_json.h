// The capture book's part of the state file (daemon/capture_book.h): the
// captures kept and when each process was last captured automatically, so
// that a restarted sidecar still shows them and does not capture a process
// again for the same reason within --capture-every. Strict and bounded on the way back.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "model/allocation_capture.h"

namespace ramflow::model {

// (pid, start ticks, reason) -> when it was last captured automatically for that reason.
using LastAutomatic = std::map<std::tuple<pid_t, std::uint64_t, analysis::CaptureReason>, double>;

std::string captures_to_json(const std::deque<AllocationCapture>& captures, const LastAutomatic& last_automatic);

// False (outputs untouched) with *error set when the text is not such a
// document or holds more than `max_captures` captures.
bool captures_from_json(std::string_view json, std::size_t max_captures, std::deque<AllocationCapture>& captures,
                        LastAutomatic& last_automatic, std::string* error);

}  // namespace ramflow::model
