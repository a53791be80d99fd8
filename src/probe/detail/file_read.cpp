#include "probe/detail/file_read.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ramflow::probe::detail {

ReadError error_from_errno(int err, const std::string& path) {
  ErrorKind kind = ErrorKind::kIo;
  if (err == ENOENT || err == ESRCH || err == ENOTDIR) kind = ErrorKind::kNotFound;
  else if (err == EACCES || err == EPERM) kind = ErrorKind::kPermissionDenied;
  return ReadError{kind, path, std::strerror(err)};
}

Result<std::string> read_file(const std::string& path, std::size_t max_bytes, Overflow overflow) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error_from_errno(errno, path);
  // Grow in steps instead of zero-filling the whole cap: most files are ~1-2 KiB.
  // Reading one byte past the cap tells "exactly max_bytes" from "longer".
  std::string data;
  std::size_t used = 0;
  while (used <= max_bytes) {
    if (used == data.size()) data.resize(std::min(max_bytes + 1, std::max<std::size_t>(4096, used * 2)));
    const ssize_t n = ::read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return error_from_errno(err, path);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (used > max_bytes) {
    if (overflow == Overflow::kError)
      return ReadError{ErrorKind::kMalformed, path,
                       "file is longer than " + std::to_string(max_bytes) + " bytes"};
    used = max_bytes;
  }
  data.resize(used);
  return data;
}

std::string join_path(std::string root, std::string_view rest) {
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (rest.empty()) return root;
  if (root.empty() || root.back() != '/') root += '/';
  root += rest;
  return root;
}

}  // namespace ramflow::probe::detail
