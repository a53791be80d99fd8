#include "ingest/unix_listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "ingest/socket_directory.h"

namespace ramflow::ingest {
namespace {

std::string errno_text() { return std::strerror(errno); }

bool fill_address(const std::string& path, sockaddr_un& address) {
  if (path.empty() || path.size() >= sizeof(address.sun_path)) return false;
  address = {};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// True when some process accepts connections on the socket file at `path`.
bool someone_listens(const sockaddr_un& address) {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool listening = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return listening;
}

}  // namespace

UnixListener::UnixListener(UnixListener&& other) noexcept { *this = std::move(other); }

UnixListener& UnixListener::operator=(UnixListener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    name_ = std::move(other.name_);
    bound_ = std::exchange(other.bound_, false);
  }
  return *this;
}

void UnixListener::close() {
  if (bound_) ::unlinkat(dir_fd_, name_.c_str(), 0);
  bound_ = false;
  for (int* fd : {&fd_, &dir_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

std::variant<UnixListener, std::string> UnixListener::open(const Options& o) {
  sockaddr_un address;
  if (!fill_address(o.path, address)) {
    return "socket path '" + o.path + "' is empty or longer than " + std::to_string(sizeof(address.sun_path) - 1) +
           " bytes — choose a shorter " + o.option + " path";
  }
  UnixListener l;
  std::filesystem::path file(o.path);
  std::string parent = file.parent_path().empty() ? "." : file.parent_path().string();
  l.name_ = file.filename().string();
  auto directory = open_socket_directory(parent, o.others_connect);
  if (auto* error = std::get_if<std::string>(&directory)) return *error;
  l.dir_fd_ = std::get<int>(directory);
  struct stat st {};
  if (::fstatat(l.dir_fd_, l.name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return "refusing to replace " + o.path + ": it is not a socket — remove it or choose another " + o.option + " path";
    }
    if (someone_listens(address)) {
      return "another process is listening on " + o.path + " — stop it or choose another " + o.option + " path";
    }
    if (::unlinkat(l.dir_fd_, l.name_.c_str(), 0) != 0) {
      return "cannot remove the stale socket " + o.path + ": " + errno_text();
    }
  } else if (errno != ENOENT) {
    return "cannot inspect " + o.path + ": " + errno_text();
  }
  l.fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l.fd_ < 0) return "cannot create a Unix socket: " + errno_text();
  if (::bind(l.fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return "cannot bind " + o.path + ": " + errno_text() + " — check the directory's permissions";
  }
  l.bound_ = true;
  // Relative to the checked directory and never through a symbolic link.
  if (::fchmodat(l.dir_fd_, l.name_.c_str(), o.mode, AT_SYMLINK_NOFOLLOW) != 0) {
    return "cannot chmod " + o.path + ": " + errno_text() + " — was the socket replaced?";
  }
  if (::listen(l.fd_, 128) != 0) return "cannot listen on " + o.path + ": " + errno_text();
  return l;
}

}  // namespace ramflow::ingest
