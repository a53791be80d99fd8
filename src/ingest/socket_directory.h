// The directory that holds the agent socket, checked before ramflowd binds in
// it (the agent's ramflow/_socket_dir.py applies the same rules before it
// connects; docs/security.md). Another user must not be able to own it,
// replace it, or swap the socket inside it:
//
//   * missing: created with mode 0700 (0711 when other UIDs may connect, so
//     they can reach the socket), owned by ramflowd's user;
//   * refused: a symbolic link, not a directory, owned by a user other than
//     ramflowd's or root, or writable by group/others unless it is sticky (like
//     /tmp) or a mount point of its own (a volume made for it, like the
//     chart's emptyDir at /run/ramflow, which kubelet creates root-owned 0777).
//
// Checks go through one O_NOFOLLOW descriptor, never through the path again.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <variant>

namespace ramflow::ingest {

// Why a directory with these attributes must not hold the socket, or nullopt.
std::optional<std::string> untrusted_directory(const std::string& path, const struct stat& st, uid_t euid,
                                               bool mount_point);

// True when `path` (canonical) is the target of a mount in /proc/self/mountinfo.
bool is_mount_point(const std::string& path);

// An open O_DIRECTORY|O_NOFOLLOW descriptor of the trusted directory (created
// if missing), or the error to show the user. The caller closes the fd.
std::variant<int, std::string> open_socket_directory(const std::string& path, bool others_connect);

}  // namespace ramflow::ingest
