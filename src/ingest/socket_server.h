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
//
// The other way, send() queues a command (ingest/commands.h) for a process's
// connection; the server's thread writes it, non-blocking: a command the
// agent's receive buffer cannot take is dropped, and whoever asked times out.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ingest/limits.h"
#include "ingest/sink.h"
#include "ingest/unix_listener.h"

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

  // Makes the listening socket (ingest/unix_listener.h: the directory
  // checked, a stale socket replaced) and starts the thread.
  // Returns an error message for the user, or nullopt on success.
  std::optional<std::string> start();
  void stop();

  // Queues `packet` for the latest connection of `pid` (kernel pid); false
  // when it has none now, or too many commands wait. Any thread.
  bool send(pid_t pid, std::string packet);

  const std::string& path() const { return options_.path; }
  std::size_t connection_count() const { return connection_count_.load(); }

 private:
  struct Connection {
    Peer peer;
    std::uint64_t next_seq = 0;
  };

  void run();
  void accept_all();
  void read_from(int fd);
  ssize_t receive(int fd, std::vector<int>& fds, bool& fds_truncated);
  void adopt_board(const Connection& connection, std::vector<int>& fds, bool truncated);
  void deliver(Connection& connection, std::string_view packet);
  void close_connection(int fd);
  void send_queued();
  std::uint64_t refuse(int fd);  // closes a connection past the cap; returns the packets it had sent

  Options options_;
  Sink& sink_;
  UnixListener listener_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int pause_fd_ = -1;  // epoll of wake_fd_ alone: the pause between reads while busy
  int wake_fd_ = -1;
  std::thread thread_;
  std::unordered_map<int, Connection> connections_;
  std::atomic<std::size_t> connection_count_{0};
  std::uint64_t next_connection_id_ = 1;
  std::vector<char> buffer_;
  std::uint64_t packets_read_ = 0;
  int command_fd_ = -1;  // eventfd: commands wait in outgoing_
  mutable std::mutex outgoing_mu_;
  std::deque<std::pair<pid_t, std::string>> outgoing_;
  std::map<pid_t, int> latest_fd_;  // under outgoing_mu_: each connected pid's newest connection
};

}  // namespace ramflow::ingest
