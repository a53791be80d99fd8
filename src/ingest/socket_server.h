// Listens for agents on a Unix SOCK_SEQPACKET socket (one message per packet),
// attributes each connection to the kernel's peer credentials, decodes and
// validates every packet, tracks per-connection sequence numbers and hands the
// results to a Sink from its own epoll thread.
//
//   SocketServer server({.path = default_socket_path()}, sink);
//   if (auto error = server.start()) { log(*error); return 1; }
//   ...
//   server.stop();  // joins within a second; the destructor stops too
//
// An fd passed with a packet (SCM_RIGHTS) is the agent's task board
// (ingest/task_board.h), handed to the sink before the packet's messages.
//
// Bounded: at most max_connections peers (one past the cap is refused: its
// sends are shut, what it already sent is counted, then it is closed), one receive buffer of
// max_message_bytes + 1 shared by all connections (a packet is read whole or
// rejected as oversized), at most kReadsPerWake packets per connection per wake
// so one flooding peer cannot starve the others.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ingest/limits.h"
#include "ingest/sink.h"

namespace ramflow::ingest {

class SocketServer {
 public:
  struct Options {
    std::string path;
    mode_t mode = 0660;
    std::vector<uid_t> allowed_uids;  // ramflowd's own uid is always allowed
    std::size_t max_connections = 256;
    std::size_t max_message_bytes = kMaxMessageBytes;
  };
  static constexpr int kReadsPerWake = 64;
  // Reading cadence while agents send fast (see run()): at most this much latency.
  static constexpr std::chrono::milliseconds kPollInterval{10};
  static constexpr std::uint64_t kPollAbovePackets = 100;  // per second
  static constexpr std::size_t kMaxFdsPerPacket = 4;  // an agent passes one (its task board)

  SocketServer(Options options, Sink& sink);
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // Checks the parent directory (ingest/socket_directory.h; created 0700 if
  // missing), replaces a stale socket file (only a socket nobody listens on),
  // binds, chmods and starts the thread.
  // Returns an error message for the user, or nullopt on success.
  std::optional<std::string> start();
  void stop();

  const std::string& path() const { return options_.path; }
  std::size_t connection_count() const { return connection_count_.load(); }

 private:
  struct Connection {
    Peer peer;
    std::uint64_t next_seq = 0;
  };

  std::optional<std::string> prepare_path();
  void run();
  void accept_all();
  void read_from(int fd);
  ssize_t receive(int fd, std::vector<int>& fds, bool& fds_truncated);
  void adopt_board(const Connection& connection, std::vector<int>& fds, bool truncated);
  void deliver(Connection& connection, std::string_view packet);
  void close_connection(int fd);
  std::uint64_t refuse(int fd);  // closes a connection past the cap; returns the packets it had sent

  Options options_;
  Sink& sink_;
  int listen_fd_ = -1;
  int dir_fd_ = -1;     // the checked socket directory, O_NOFOLLOW
  std::string name_;    // the socket's name in it
  bool bound_ = false;  // we created the socket file and remove it on stop
  int epoll_fd_ = -1;
  int pause_fd_ = -1;  // epoll of wake_fd_ alone: the pause between reads while busy
  int wake_fd_ = -1;
  std::thread thread_;
  std::unordered_map<int, Connection> connections_;
  std::atomic<std::size_t> connection_count_{0};
  std::uint64_t next_connection_id_ = 1;
  std::vector<char> buffer_;
  std::uint64_t packets_read_ = 0;
};

}  // namespace ramflow::ingest
