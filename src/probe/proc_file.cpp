#include "probe/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "probe/detail/file_read.h"

namespace ramflow::probe {

Result<ProcFile> ProcFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::error_from_errno(errno, path);
  return ProcFile(fd, path);
}

ProcFile::ProcFile(ProcFile&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

ProcFile& ProcFile::operator=(ProcFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

ProcFile::~ProcFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::string> ProcFile::read() const {
  std::string data(4096, '\0');
  std::size_t used = 0;
  while (true) {
    const ssize_t n = ::pread(fd_, data.data() + used, data.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      return detail::error_from_errno(errno, path_);
    }
    used += static_cast<std::size_t>(n);
    if (used < data.size()) break;  // short read: the end
    if (data.size() > detail::kMaxFileBytes) {
      return ReadError{ErrorKind::kMalformed, path_,
                       "file is longer than " + std::to_string(detail::kMaxFileBytes) + " bytes"};
    }
    data.resize(data.size() * 2);
  }
  data.resize(used);
  return data;
}

}  // namespace ramflow::probe
