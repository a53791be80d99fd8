// A /proc file kept open and re-read from offset 0: each cycle then skips the
// path walk, open and close (on this VM ~40 % of what reading a small procfs
// file costs). The fd pins the process it was opened for: once that process
// is gone, a read fails with kNotFound even if its pid was reused.
//
//   auto file = ProcFile::open("/proc/4242/status");
//   auto text = file.value().read();  // the whole file, as read_file bounds it
#pragma once

#include <string>

#include "probe/result.h"

namespace ramflow::probe {

class ProcFile {
 public:
  static Result<ProcFile> open(const std::string& path);
  ProcFile(ProcFile&& other) noexcept;
  ProcFile& operator=(ProcFile&& other) noexcept;
  ProcFile(const ProcFile&) = delete;
  ProcFile& operator=(const ProcFile&) = delete;
  ~ProcFile();

  // For files produced in one piece by the kernel (seq_file single_open, as
  // status): a read shorter than asked for is the end of the file.
  Result<std::string> read() const;
  const std::string& path() const { return path_; }

 private:
  ProcFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace ramflow::probe
