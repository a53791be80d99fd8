// Outcome of one kernel read: a value or a ReadError the user can act on.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ramflow::probe {

enum class ErrorKind {
  kNotFound,          // ENOENT/ESRCH: on /proc/PID the process exited; on a cgroup dir it vanished
  kPermissionDenied,  // EACCES/EPERM
  kMalformed,         // content does not parse, is truncated, or exceeds the read cap
  kIo,                // any other errno
};

std::string_view to_string(ErrorKind kind);

struct ReadError {
  ErrorKind kind;
  std::string path;
  std::string detail;

  // One line a user can act on: "cannot read PATH: DETAIL — WHAT TO DO".
  std::string message() const;
};

// Value or error. Thread-compatible, like std::variant.
//   auto st = read_proc_status("/proc", pid);
//   if (!st) log(st.error().message()); else use(st.value().vm_rss);
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(ReadError error) : v_(std::move(error)) {}    // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const ReadError& error() const { return std::get<ReadError>(v_); }

 private:
  std::variant<T, ReadError> v_;
};

}  // namespace ramflow::probe
