// One event-loop thread owns every socket (accept, read, write, deadlines);
// `workers` threads run the handlers. Why not cpp-httplib 0.11 (Debian's):
// docs/reliability.md ("The HTTP port under attack").
#include "export/http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "export/http/detail/request_reader.h"
#include "export/http/detail/router.h"

namespace ramflow::exporter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::uint64_t kListenId = 0;
constexpr std::uint64_t kWakeId = 1;
constexpr std::size_t kReadChunk = 4096;
// Accepted per loop turn, after the turn's reads: under a connection flood a
// connection that has sent its request is read before newer ones can push it
// out at the cap.
constexpr std::size_t kAcceptBatch = 16;
constexpr int kBacklog = 4096;  // the kernel caps it at net.core.somaxconn
// After the response, the rest of what the client sent is read and dropped for
// this long (closing with unread bytes would reset the connection and could
// destroy the response in flight).
constexpr milliseconds kLinger{1000};
constexpr std::size_t kMaxLingerBytes = 64 * 1024;
constexpr std::chrono::seconds kWarnEvery{60};

enum class Phase { kReading, kQueued, kWriting, kLingering };

struct Connection {
  int fd = -1;
  Phase phase = Phase::kReading;
  Clock::time_point accepted;
  Clock::time_point last_read;
  Clock::time_point write_started;
  Clock::time_point last_progress;
  std::optional<detail::RequestReader> reader;
  std::string out;
  std::size_t sent = 0;
  std::size_t lingered = 0;
};

struct Job {
  std::uint64_t id;
  Request request;
};

struct Done {
  std::uint64_t id;
  std::string bytes;
};

// What the warn callback summarises.
struct Tally {
  std::uint64_t shed = 0;           // a connection that had not sent its request, closed at the cap
  std::uint64_t refused = 0;        // a new connection turned away at the cap
  std::uint64_t timed_out = 0;      // request or idle deadline
  std::uint64_t rejected = 0;       // malformed or over a limit (4xx from the reader)
  std::uint64_t slow_readers = 0;   // disconnected for the response budget or the write deadline
  bool operator==(const Tally&) const = default;
};

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

struct HttpServer::Impl {
  explicit Impl(HttpLimits l) : limits(std::move(l)) {}

  HttpLimits limits;
  detail::Router router;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  int port = 0;
  std::thread loop_thread;
  std::vector<std::thread> worker_threads;
  std::atomic<bool> stopping{false};

  // Shared with the workers.
  std::mutex mu;
  std::condition_variable work_ready;
  std::deque<Job> jobs;
  std::vector<Done> done;
  bool workers_stop = false;

  // The loop thread's own.
  std::map<std::uint64_t, Connection> connections;  // by id, i.e. oldest first
  std::uint64_t next_id = 2;
  std::size_t buffered = 0;  // bytes of responses not yet sent
  std::optional<Clock::time_point> listen_paused_until;
  int parked_fd = -1;  // accepted at the cap while every reader was in its grace
  Tally tally;
  Tally reported;
  Clock::time_point last_warn{};

  detail::HeadLimits head_limits() const {
    return {limits.max_request_line_bytes, limits.max_head_bytes, limits.max_header_lines};
  }

  void watch(std::uint64_t id, int fd, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd, op, fd, &ev);
  }

  void close_connection(std::map<std::uint64_t, Connection>::iterator it) {
    buffered -= it->second.out.size();
    ::close(it->second.fd);  // also leaves the epoll set
    connections.erase(it);
  }

  void close_connection(std::uint64_t id) {
    auto it = connections.find(id);
    if (it != connections.end()) close_connection(it);
  }

  // At the cap, room is made by a lingering close, else by the reader past its
  // grace that has been silent longest (a client that idles or trickles, not one
  // whose request is on its way). False when none can go.
  bool shed_one(Clock::time_point now) {
    for (auto it = connections.begin(); it != connections.end(); ++it) {
      if (it->second.phase == Phase::kLingering) {
        close_connection(it);
        return true;
      }
    }
    auto quietest = connections.end();
    for (auto it = connections.begin(); it != connections.end(); ++it) {
      const Connection& c = it->second;
      if (c.phase != Phase::kReading || now - c.accepted < limits.shed_grace) continue;
      if (quietest == connections.end() || c.last_read < quietest->second.last_read) quietest = it;
    }
    if (quietest == connections.end()) return false;
    ++tally.shed;
    close_connection(quietest);
    return true;
  }

  // When the first reader still in its grace leaves it, if any.
  std::optional<Clock::time_point> grace_ends() const {
    std::optional<Clock::time_point> first;
    for (const auto& [id, c] : connections) {
      if (c.phase == Phase::kReading && (!first || c.accepted + limits.shed_grace < *first)) {
        first = c.accepted + limits.shed_grace;
      }
    }
    return first;
  }

  void pause_listening(Clock::time_point until) {
    watch(kListenId, listen_fd, 0, EPOLL_CTL_MOD);
    listen_paused_until = until;
  }

  void resume_listening() {
    listen_paused_until.reset();
    watch(kListenId, listen_fd, EPOLLIN, EPOLL_CTL_MOD);
  }

  void accept_all(Clock::time_point now) {
    for (std::size_t i = 0; i < kAcceptBatch; ++i) {
      int fd = std::exchange(parked_fd, -1);
      if (fd < 0) fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop accepting for a moment instead of spinning on the ready listener.
          pause_listening(now + milliseconds(100));
        }
        return;  // EAGAIN, or a connection that went away before it was taken
      }
      if (connections.size() >= limits.max_connections && !shed_one(now)) {
        if (auto until = grace_ends()) {
          // Every reader is in its grace: this one waits, unread, and the next ones in the backlog.
          parked_fd = fd;
          pause_listening(*until);
          return;
        }
        // Every connection is being answered.
        ++tally.refused;
        const std::string busy = detail::error_response_bytes(503, "too many connections: try again");
        [[maybe_unused]] auto n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        continue;
      }
      const std::uint64_t id = next_id++;
      Connection& c = connections[id];
      c.fd = fd;
      c.accepted = c.last_read = now;
      c.reader.emplace(head_limits(), [this](const Request& head) { return router.body_limit(head); });
      watch(id, fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
      // A client that waited in the backlog has usually sent its request by now.
      on_readable(id, c, now);
    }
  }

  void dispatch(std::uint64_t id, Connection& c) {
    c.phase = Phase::kQueued;
    watch(id, c.fd, 0, EPOLL_CTL_MOD);  // errors and hang-ups are still reported
    Request request = c.reader->take_request();
    c.reader.reset();
    {
      std::lock_guard lock(mu);
      jobs.push_back(Job{id, std::move(request)});
    }
    work_ready.notify_one();
  }

  void on_readable(std::uint64_t id, Connection& c, Clock::time_point now) {
    char buffer[kReadChunk];
    while (true) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        close_connection(id);  // the client left (or reset) before its request was whole
        return;
      }
      if (n < 0) return;
      c.last_read = now;
      switch (c.reader->feed(std::string_view(buffer, static_cast<std::size_t>(n)))) {
        case detail::RequestReader::State::kReading: continue;
        case detail::RequestReader::State::kComplete: dispatch(id, c); return;
        case detail::RequestReader::State::kFailed:
          ++tally.rejected;
          start_write(id, c, detail::error_response_bytes(c.reader->status(), c.reader->reason()), now);
          return;
      }
    }
  }

  void on_linger_readable(std::uint64_t id, Connection& c) {
    char buffer[kReadChunk];
    while (true) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      if (n <= 0 || (c.lingered += static_cast<std::size_t>(n)) > kMaxLingerBytes) {
        close_connection(id);
        return;
      }
    }
  }

  // Sends what it can; a finished response half-closes and lingers.
  void flush(std::uint64_t id, Connection& c, Clock::time_point now) {
    while (c.sent < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(id, c.fd, EPOLLOUT, EPOLL_CTL_MOD);
        return;
      }
      if (n <= 0) {
        close_connection(id);
        return;
      }
      c.sent += static_cast<std::size_t>(n);
      c.last_progress = now;
    }
    buffered -= c.out.size();
    c.out = std::string();
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Phase::kLingering;
    c.write_started = now;
    watch(id, c.fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
  }

  void start_write(std::uint64_t id, Connection& c, std::string bytes, Clock::time_point now) {
    // Responses held for slow readers share one budget: the reader stalled longest goes first.
    while (buffered + bytes.size() > limits.max_buffered_response_bytes) {
      auto victim = connections.end();
      for (auto it = connections.begin(); it != connections.end(); ++it) {
        if (it->second.phase == Phase::kWriting &&
            (victim == connections.end() || it->second.last_progress < victim->second.last_progress)) {
          victim = it;
        }
      }
      if (victim == connections.end()) {
        bytes = detail::error_response_bytes(503, "response too large for the server's buffer: try again");
        break;
      }
      ++tally.slow_readers;
      close_connection(victim);
    }
    c.reader.reset();
    c.phase = Phase::kWriting;
    c.out = std::move(bytes);
    c.sent = 0;
    buffered += c.out.size();
    c.write_started = c.last_progress = now;
    flush(id, c, now);
  }

  void on_event(const epoll_event& ev, Clock::time_point now) {
    const std::uint64_t id = ev.data.u64;
    auto it = connections.find(id);
    if (it == connections.end()) return;
    Connection& c = it->second;
    switch (c.phase) {
      case Phase::kReading: on_readable(id, c, now); break;
      case Phase::kQueued:
        if (ev.events & (EPOLLHUP | EPOLLERR)) close_connection(id);  // its response will be dropped
        break;
      case Phase::kWriting:
        if (ev.events & EPOLLERR) close_connection(id);
        else flush(id, c, now);
        break;
      case Phase::kLingering: on_linger_readable(id, c); break;
    }
  }

  void take_done(Clock::time_point now) {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(wake_fd, &count, sizeof count);
    std::vector<Done> finished;
    {
      std::lock_guard lock(mu);
      finished.swap(done);
    }
    for (auto& d : finished) {
      auto it = connections.find(d.id);
      if (it == connections.end()) continue;  // closed while its handler ran
      start_write(d.id, it->second, std::move(d.bytes), now);
    }
  }

  void expire(Clock::time_point now) {
    // Decided first, acted on after: answering one connection may close others (the response budget).
    std::vector<std::uint64_t> late_requests;
    std::vector<std::uint64_t> to_close;
    for (const auto& [id, c] : connections) {
      switch (c.phase) {
        case Phase::kReading:
          if (now - c.accepted >= limits.request_timeout || now - c.last_read >= limits.idle_timeout) {
            late_requests.push_back(id);
          }
          break;
        case Phase::kWriting:
          if (now - c.write_started >= limits.write_timeout) {
            ++tally.slow_readers;
            to_close.push_back(id);
          }
          break;
        case Phase::kLingering:
          if (now - c.write_started >= kLinger) to_close.push_back(id);
          break;
        case Phase::kQueued: break;
      }
    }
    for (std::uint64_t id : to_close) close_connection(id);
    for (std::uint64_t id : late_requests) {
      auto it = connections.find(id);
      if (it == connections.end()) continue;
      ++tally.timed_out;
      start_write(id, it->second, detail::error_response_bytes(408, "the request did not arrive in time"), now);
    }
    // Listening again when the pause is over, or as soon as a slot is free for the connection parked at the cap.
    if (listen_paused_until && (now >= *listen_paused_until ||
                                (parked_fd >= 0 && connections.size() < limits.max_connections))) {
      resume_listening();
    }
  }

  int next_timeout_ms(Clock::time_point now) const {
    Clock::time_point next = now + milliseconds(1000);
    for (const auto& [id, c] : connections) {
      switch (c.phase) {
        case Phase::kReading:
          next = std::min({next, c.accepted + limits.request_timeout, c.last_read + limits.idle_timeout});
          break;
        case Phase::kWriting: next = std::min(next, c.write_started + limits.write_timeout); break;
        case Phase::kLingering: next = std::min(next, c.write_started + kLinger); break;
        case Phase::kQueued: break;
      }
    }
    if (listen_paused_until) next = std::min(next, *listen_paused_until);
    const auto wait = std::chrono::ceil<milliseconds>(next - now).count();
    return static_cast<int>(std::max<std::int64_t>(0, wait));
  }

  void maybe_warn(Clock::time_point now) {
    if (!limits.warn || tally == reported || now - last_warn < kWarnEvery) return;
    limits.warn("HTTP port under pressure since the last report: " + std::to_string(tally.shed - reported.shed) +
                " connections without a whole request shed at the cap of " + std::to_string(limits.max_connections) +
                ", " + std::to_string(tally.refused - reported.refused) + " refused, " +
                std::to_string(tally.timed_out - reported.timed_out) + " requests timed out, " +
                std::to_string(tally.rejected - reported.rejected) + " malformed or oversized, " +
                std::to_string(tally.slow_readers - reported.slow_readers) + " slow readers disconnected");
    reported = tally;
    last_warn = now;
  }

  void loop() {
    epoll_event events[64];
    while (!stopping.load()) {
      const int n = ::epoll_wait(epoll_fd, events, 64, next_timeout_ms(Clock::now()));
      const auto now = Clock::now();
      bool accept_ready = false;
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kListenId) accept_ready = true;
        else if (events[i].data.u64 == kWakeId) take_done(now);
        else on_event(events[i], now);
      }
      if (accept_ready) accept_all(now);
      expire(now);
      if (parked_fd >= 0 && !listen_paused_until) accept_all(now);
      maybe_warn(now);
    }
    while (!connections.empty()) close_connection(connections.begin());
    if (parked_fd >= 0) ::close(std::exchange(parked_fd, -1));
  }

  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mu);
        work_ready.wait(lock, [this] { return workers_stop || !jobs.empty(); });
        if (workers_stop) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      std::string bytes = detail::response_bytes(router.respond(job.request), job.request.method == "HEAD");
      {
        std::lock_guard lock(mu);
        done.push_back(Done{job.id, std::move(bytes)});
      }
      const std::uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
    }
  }
};

std::string Request::param(std::string_view name) const { return detail::query_param(query, name); }

std::string_view Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

HttpServer::HttpServer(HttpLimits limits) : impl_(std::make_unique<Impl>(std::move(limits))) {}

HttpServer::~HttpServer() {
  stop();
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
}

void HttpServer::route(const std::string& path, Handler handler) {
  impl_->router.add("GET", path,
                    [handler = std::move(handler)](const Request& request) {
                      return handler([&request](const std::string& name) { return request.param(name); });
                    },
                    0);
}

void HttpServer::route(const std::string& method, const std::string& path, RequestHandler handler,
                       std::size_t max_body_bytes) {
  impl_->router.add(method, path, std::move(handler), max_body_bytes);
}

std::string HttpServer::bind(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return "cannot listen on " + listen + ": expected HOST:PORT";
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = listen.substr(colon + 1);
  int port = -1;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return "cannot listen on " + listen + ": the port must be a number from 0 to 65535";
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return "cannot listen on " + listen + ": cannot resolve " + host + " (" + ::gai_strerror(rc) +
           ") — use an address of this machine, e.g. 0.0.0.0 or 127.0.0.1";
  }
  int err = 0;
  for (addrinfo* a = found; a != nullptr && impl_->listen_fd < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    // SO_REUSEADDR lets a restart bind while old connections are in TIME_WAIT;
    // unlike SO_REUSEPORT it never lets two processes listen on one port.
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, kBacklog) != 0) {
      err = errno;
      ::close(fd);
      continue;
    }
    impl_->listen_fd = fd;
  }
  ::freeaddrinfo(found);
  if (impl_->listen_fd < 0) {
    std::string why;
    switch (err) {
      case EADDRINUSE:
        why = "port " + port_text + " is already in use by another process — stop that process, or choose "
              "another port with --listen HOST:PORT";
        break;
      case EACCES:
        why = "permission denied (a port below 1024 needs CAP_NET_BIND_SERVICE) — choose a port from 1024 up "
              "with --listen HOST:PORT";
        break;
      case EADDRNOTAVAIL:
        why = host + " is not an address of this machine — use 0.0.0.0 (every interface) or 127.0.0.1 (loopback)";
        break;
      default: why = errno_text(err) + " — choose another address with --listen HOST:PORT"; break;
    }
    return "cannot listen on " + listen + ": " + why;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  impl_->port = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                           : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return {};
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::start() {
  Impl& s = *impl_;
  if (s.listen_fd < 0 || s.loop_thread.joinable()) return;
  s.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  s.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  s.watch(kListenId, s.listen_fd, EPOLLIN, EPOLL_CTL_ADD);
  s.watch(kWakeId, s.wake_fd, EPOLLIN, EPOLL_CTL_ADD);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, s.limits.workers); ++i) {
    s.worker_threads.emplace_back([&s] { s.work(); });
  }
  s.loop_thread = std::thread([&s] { s.loop(); });
}

void HttpServer::stop() {
  if (!impl_) return;
  Impl& s = *impl_;
  if (!s.loop_thread.joinable()) return;
  s.stopping = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(s.wake_fd, &one, sizeof one);
  s.loop_thread.join();
  {
    std::lock_guard lock(s.mu);
    s.workers_stop = true;
  }
  s.work_ready.notify_all();
  for (auto& t : s.worker_threads) t.join();
  s.worker_threads.clear();
  ::close(s.listen_fd);
  ::close(s.wake_fd);
  ::close(s.epoll_fd);
  s.listen_fd = s.wake_fd = s.epoll_fd = -1;
}

}  // namespace ramflow::exporter
