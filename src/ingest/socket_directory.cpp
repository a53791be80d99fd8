#include "ingest/socket_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ramflow::ingest {
namespace {

std::string octal(mode_t mode) {
  std::ostringstream out;
  out << std::oct << (mode & 07777);
  return out.str();
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field.find_first_not_of("01234567", i + 1) >= i + 4) {
      out.push_back(static_cast<char>(std::strtol(field.substr(i + 1, 3).c_str(), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> untrusted_directory(const std::string& path, const struct stat& st, uid_t euid,
                                               bool mount_point) {
  if (S_ISLNK(st.st_mode)) return path + " is a symbolic link";
  if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
  if (st.st_uid != euid && st.st_uid != 0) {
    return path + " is owned by uid " + std::to_string(st.st_uid) + ", not by ramflowd's uid " +
           std::to_string(euid) + " or root: another user could read the agents' messages";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0 && !mount_point) {
    return path + " is writable by other users (mode " + octal(st.st_mode) +
           "): they could replace the socket — chmod go-w it";
  }
  return std::nullopt;
}

bool is_mount_point(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, target;
    if (fields >> id >> parent >> device >> root >> target && unescape(target) == path) return true;
  }
  return false;
}

std::variant<int, std::string> open_socket_directory(const std::string& path, bool others_connect) {
  const mode_t mode = others_connect ? 0711 : 0700;
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return "cannot create socket directory " + path + ": " + std::strerror(errno) +
           " — create it or choose another --socket path";
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) {
      if (::lstat(path.c_str(), &st) == 0) {
        return "refusing socket directory " + *untrusted_directory(path, st, ::geteuid(), false) +
               " — remove it (ramflowd creates it) or choose another --socket path";
      }
    }
    return "cannot open socket directory " + path + ": " + std::strerror(errno);
  }
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return "cannot inspect socket directory " + path + ": " + std::strerror(errno);
  }
  bool shared = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0;
  char canonical[PATH_MAX];
  bool mount_point = shared && ::realpath(path.c_str(), canonical) != nullptr && is_mount_point(canonical);
  if (auto why = untrusted_directory(path, st, ::geteuid(), mount_point)) {
    ::close(fd);
    return "refusing socket directory " + *why + " — remove it (ramflowd creates it) or choose another --socket path";
  }
  return fd;
}

}  // namespace ramflow::ingest
