#include "probe/result.h"

namespace ramflow::probe {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kPermissionDenied: return "permission denied";
    case ErrorKind::kMalformed: return "malformed";
    case ErrorKind::kIo: return "I/O error";
  }
  return "unknown";
}

namespace {

std::string_view hint(const ReadError& e) {
  switch (e.kind) {
    case ErrorKind::kNotFound:
      return "the process exited or the cgroup was removed; check --proc-root/--cgroup-root if it persists";
    case ErrorKind::kPermissionDenied:
      if (e.path.find("smaps_rollup") != std::string::npos)
        return "run the sidecar with the worker's UID or grant SYS_PTRACE";
      return "run the sidecar with the worker's UID or as root, and mount the path readable";
    case ErrorKind::kMalformed:
      return "unexpected kernel file format; please report it with the file's content";
    case ErrorKind::kIo:
      return "check that the filesystem is mounted and readable";
  }
  return "";
}

}  // namespace

std::string ReadError::message() const {
  std::string m = "cannot read " + path + ": ";
  m += detail.empty() ? std::string(to_string(kind)) : detail;
  m += " — ";
  m += hint(*this);
  return m;
}

}  // namespace ramflow::probe
