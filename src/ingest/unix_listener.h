// A listening Unix SOCK_SEQPACKET socket made safely (docs/security.md): its
// directory checked (ingest/socket_directory.h), a stale socket file replaced
// only when nobody listens on it, the file chmodded through the checked
// directory and never through a symbolic link. The agent socket and the
// control socket are both made this way.
//
//   auto made = UnixListener::open({.path = p, .mode = 0600, .option = "--control-socket"});
//   if (auto* error = std::get_if<std::string>(&made)) ...
//   UnixListener listener = std::move(std::get<UnixListener>(made));  // closes and removes it when destroyed
#pragma once

#include <sys/types.h>

#include <string>
#include <variant>

namespace ramflow::ingest {

class UnixListener {
 public:
  struct Options {
    std::string path;
    mode_t mode = 0660;
    bool others_connect = false;  // other UIDs may connect: the directory is made 0711, not 0700
    std::string option;           // the flag that sets the path, named in errors ("--socket")
  };
  // Non-blocking and close-on-exec; the error text tells the user what to do.
  static std::variant<UnixListener, std::string> open(const Options& options);

  UnixListener() = default;
  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&& other) noexcept;
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;
  ~UnixListener() { close(); }

  int fd() const { return fd_; }
  void close();  // closes it and removes the socket file we made

 private:
  int fd_ = -1;
  int dir_fd_ = -1;   // the checked directory, O_NOFOLLOW
  std::string name_;  // the socket's name in it
  bool bound_ = false;
};

}  // namespace ramflow::ingest
