#include "ingest/socket_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "ingest/decoder.h"
#include "ingest/task_board.h"
#include "ingest/unix_listener.h"

namespace ramflow::ingest {
namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

SocketServer::SocketServer(Options options, Sink& sink) : options_(std::move(options)), sink_(sink) {}

SocketServer::~SocketServer() { stop(); }

std::optional<std::string> SocketServer::start() {
  if (thread_.joinable()) return "the socket server is already running";
  if (options_.max_message_bytes == 0 || options_.max_message_bytes > kMaxMessageBytes) {
    return "max_message_bytes must be between 1 and " + std::to_string(kMaxMessageBytes);
  }
  auto made = UnixListener::open({options_.path, options_.mode, !options_.allowed_uids.empty(), "--socket"});
  if (auto* error = std::get_if<std::string>(&made)) return *error;
  listener_ = std::move(std::get<UnixListener>(made));
  listen_fd_ = listener_.fd();
  auto fail = [this](std::string message) {
    stop();
    return std::optional<std::string>(std::move(message));
  };
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  pause_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  command_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || pause_fd_ < 0 || wake_fd_ < 0 || command_fd_ < 0) {
    return fail("cannot create epoll/eventfd: " + errno_text());
  }
  for (auto [set, fd] : {std::pair{epoll_fd_, listen_fd_}, {epoll_fd_, wake_fd_}, {pause_fd_, wake_fd_},
                         {epoll_fd_, command_fd_}}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(set, EPOLL_CTL_ADD, fd, &event) != 0) return fail("epoll_ctl: " + errno_text());
  }
  buffer_.resize(options_.max_message_bytes + 1);
  thread_ = std::thread([this] { run(); });
  return std::nullopt;
}

void SocketServer::stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  while (!connections_.empty()) close_connection(connections_.begin()->first);
  listener_.close();
  listen_fd_ = -1;
  for (int* fd : {&epoll_fd_, &pause_fd_, &wake_fd_, &command_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

// While agents send more than kPollAbovePackets a second, the thread reads
// every kPollInterval instead of sleeping in epoll_wait between packets: a
// packet that wakes a sleeping reader costs its sender several microseconds
// more (~10 against ~4 us per send on this kind of machine), paid by a worker
// on every task start. Below that rate the wake-ups cost ramflowd less than
// polling would, so it blocks (docs/protocol.md, "Bounded memory").
void SocketServer::run() {
  std::vector<epoll_event> events(64);
  bool busy = false;
  std::uint64_t packets_then = packets_read_;
  auto window_end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    if (auto now = std::chrono::steady_clock::now(); now >= window_end) {
      busy = packets_read_ - packets_then >= kPollAbovePackets;
      packets_then = packets_read_;
      window_end = now + std::chrono::seconds(1);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(window_end - std::chrono::steady_clock::now());
    const int timeout = busy ? 0 : static_cast<int>(std::max<std::int64_t>(0, left.count())) + 1;
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_fd_) return;
      if (fd == command_fd_) {
        send_queued();
      } else if (fd == listen_fd_) {
        accept_all();
      } else {
        read_from(fd);
      }
    }
    if (n == 0 && busy) {  // drained: pause, listening only for stop()
      epoll_event stop{};
      if (::epoll_wait(pause_fd_, &stop, 1, static_cast<int>(kPollInterval.count())) > 0) return;
    }
  }
}

void SocketServer::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE...): try at the next wake
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      ::close(fd);
      continue;
    }
    const auto& allowed = options_.allowed_uids;
    bool permitted = credentials.uid == ::geteuid() ||
                     std::find(allowed.begin(), allowed.end(), credentials.uid) != allowed.end();
    if (!permitted) {
      ::close(fd);
      sink_.on_refused(credentials.uid, credentials.pid);
      continue;
    }
    if (connections_.size() >= options_.max_connections) {
      sink_.on_over_capacity(credentials.uid, credentials.pid, refuse(fd));
      continue;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      ::close(fd);
      continue;
    }
    Peer peer{credentials.pid, credentials.uid, credentials.gid, next_connection_id_++};
    connections_.emplace(fd, Connection{peer, 0});
    connection_count_.store(connections_.size());
    {
      std::lock_guard lock(outgoing_mu_);
      latest_fd_[peer.pid] = fd;
    }
    sink_.on_connect(peer);
  }
}

std::uint64_t SocketServer::refuse(int fd) {
  // Shut the peer's sends first (they fail with EPIPE from now on), then count
  // what it had queued: exact, whatever the peer does meanwhile.
  ::shutdown(fd, SHUT_RD);
  std::uint64_t packets = 0;
  while (::recv(fd, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC) > 0) ++packets;
  ::close(fd);
  return packets;
}

// Receives one packet and the fds passed with it (at most kMaxFdsPerPacket; the
// kernel closes any beyond: MSG_CTRUNC). MSG_TRUNC makes the result the packet's
// real length even when it did not fit.
ssize_t SocketServer::receive(int fd, std::vector<int>& fds, bool& fds_truncated) {
  iovec io{buffer_.data(), buffer_.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerPacket)];
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
  fds.clear();
  fds_truncated = n >= 0 && (message.msg_flags & MSG_CTRUNC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(passed);
    }
  }
  return n;
}

// Protocol 3: the agent passes its task board with its hello. The first fd of
// a packet is taken as the board (it replaces the connection's previous one);
// any other is closed.
void SocketServer::adopt_board(const Connection& connection, std::vector<int>& fds, bool truncated) {
  if (fds.empty()) {
    if (truncated) sink_.on_task_board(connection.peer, nullptr, "its fd did not fit (ramflowd out of file descriptors?)");
    return;
  }
  for (std::size_t i = 1; i < fds.size(); ++i) ::close(fds[i]);
  std::string why;
  std::shared_ptr<const TaskBoard> board = TaskBoard::adopt(fds[0], &why);
  fds.clear();
  sink_.on_task_board(connection.peer, std::move(board), why);
}

void SocketServer::read_from(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  std::vector<int> fds;
  for (int i = 0; i < kReadsPerWake; ++i) {
    bool fds_truncated = false;
    ssize_t n = receive(fd, fds, fds_truncated);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      close_connection(fd);
      return;
    }
    if (n == 0) {  // end of stream (an empty packet is indistinguishable and ends it too)
      for (int passed : fds) ::close(passed);
      close_connection(fd);
      return;
    }
    adopt_board(it->second, fds, fds_truncated);
    if (static_cast<std::size_t>(n) > options_.max_message_bytes) {
      sink_.on_rejected(it->second.peer, RejectReason::oversized);
      continue;
    }
    ++packets_read_;
    deliver(it->second, std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
  }
}

void SocketServer::deliver(Connection& connection, std::string_view packet) {
  DecodeResult result = decode(packet);
  if (auto* reason = std::get_if<RejectReason>(&result)) {
    sink_.on_rejected(connection.peer, *reason);
    return;
  }
  auto& envelopes = std::get<std::vector<Envelope>>(result);
  std::uint64_t first = envelopes.front().seq;
  if (first < connection.next_seq) {
    sink_.on_rejected(connection.peer, RejectReason::out_of_order);
    return;
  }
  if (first > connection.next_seq) sink_.on_sequence_gap(connection.peer, first - connection.next_seq);
  connection.next_seq = envelopes.back().seq + 1;
  for (const Envelope& envelope : envelopes) sink_.on_message(connection.peer, envelope);
}

void SocketServer::close_connection(int fd) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Peer peer = it->second.peer;
  {
    std::lock_guard lock(outgoing_mu_);
    if (auto latest = latest_fd_.find(peer.pid); latest != latest_fd_.end() && latest->second == fd) {
      latest_fd_.erase(latest);
    }
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  connections_.erase(it);
  connection_count_.store(connections_.size());
  sink_.on_disconnect(peer);
}

}  // namespace ramflow::ingest

namespace ramflow::ingest {

bool SocketServer::send(pid_t pid, std::string packet) {
  constexpr std::size_t kMaxWaiting = 64;
  {
    std::lock_guard lock(outgoing_mu_);
    if (!latest_fd_.count(pid) || outgoing_.size() >= kMaxWaiting || command_fd_ < 0) return false;
    outgoing_.emplace_back(pid, std::move(packet));
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(command_fd_, &one, sizeof(one));
  return true;
}

// On the server's thread: the fd in latest_fd_ is open until close_connection, which runs here too.
void SocketServer::send_queued() {
  std::uint64_t count = 0;
  [[maybe_unused]] auto drained = ::read(command_fd_, &count, sizeof(count));
  std::deque<std::pair<pid_t, std::string>> batch;
  std::map<pid_t, int> fds;
  {
    std::lock_guard lock(outgoing_mu_);
    batch.swap(outgoing_);
    fds = latest_fd_;
  }
  for (const auto& [pid, packet] : batch) {
    auto it = fds.find(pid);
    if (it == fds.end()) continue;
    ::send(it->second, packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

}  // namespace ramflow::ingest
