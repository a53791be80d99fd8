// Ingest throughput of ramflowd's SocketServer, driven by a real client process.
//
//   ramflow_ingest_bench steady [RATE=200000] [SECONDS=10]
//       One client sends call records (32 per packet, like the agent) paced at
//       RATE events/s on a blocking socket. PASS when every event arrived
//       (sequence numbers: sent = accepted, no gap) and RATE was sustained.
//   ramflow_ingest_bench flood [SECONDS=3]
//       One client sends as fast as it can on a non-blocking socket; packets
//       hitting EAGAIN are dropped and counted (as the agent does), 1 packet in
//       100 is malformed. A final heartbeat reports the drops. PASS when
//       attempted = accepted + rejected + dropped exactly.
//   ramflow_ingest_bench python [SECONDS=5]
//       The real Python agent (agent/, /usr/bin/python3) as the sender: tracked
//       calls in a tight loop; reports the rate and checks the same identity.
//
// Prints one line per figure and a closing "N passed, M failed".
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <functional>
#include <memory>
#include <thread>

#include "ingest/socket_server.h"

using namespace ramflow::ingest;
using Clock = std::chrono::steady_clock;

namespace {

struct CountingSink : Sink {
  std::atomic<std::uint64_t> records{0}, other{0}, rejected{0}, gaps{0}, dropped_reported{0},
      sent_reported{0}, disconnects{0}, calls_counted{0};
  void on_connect(const Peer&) override {}
  void on_message(const Peer&, const Envelope& e) override {
    if (std::holds_alternative<CallRecord>(e.message)) {
      records.fetch_add(1, std::memory_order_relaxed);
    } else if (auto* d = std::get_if<FunctionDeltas>(&e.message)) {
      other.fetch_add(1, std::memory_order_relaxed);
      for (const auto& row : d->rows) calls_counted.fetch_add(row.calls, std::memory_order_relaxed);
    } else {
      other.fetch_add(1, std::memory_order_relaxed);
      if (auto* h = std::get_if<Heartbeat>(&e.message)) {
        dropped_reported = h->dropped_total;
        sent_reported = h->sent_total;
      }
    }
  }
  void on_rejected(const Peer&, RejectReason) override { rejected.fetch_add(1); }
  void on_sequence_gap(const Peer&, std::uint64_t missing) override { gaps.fetch_add(missing); }
  void on_refused(uid_t, pid_t) override {}
  void on_disconnect(const Peer&) override { disconnects.fetch_add(1); }
};

constexpr int kRecordsPerPacket = 32;

std::string record() {
  return R"(["tasks.process_rows","function",null,1764109210.001,0.000125,75497472,75501568,4096,4096,0,null,null,null])";
}

std::string calls_packet(std::uint64_t seq) {
  static const std::string body = [] {
    std::string b;
    for (int i = 0; i < kRecordsPerPacket; ++i) b += (i ? "," : "") + record();
    return b;
  }();
  return R"({"v":1,"seq":)" + std::to_string(seq) + R"(,"type":"calls","calls":[)" + body + "]}";
}

std::string heartbeat_packet(std::uint64_t seq, std::uint64_t dropped, std::uint64_t sent) {
  return R"({"v":1,"seq":)" + std::to_string(seq) + R"(,"type":"heartbeat","t":1764109230.0,"rss":1,"dropped":)" +
         std::to_string(dropped) + R"(,"sent":)" + std::to_string(sent) + "}";
}

int connect_to(const std::string& path, bool nonblocking) {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
  return fd;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Child: paced sender. Writes the number of events it sent to `out_fd`.
void steady_client(const std::string& path, double rate, double seconds, int out_fd) {
  int fd = connect_to(path, false);
  std::uint64_t seq = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    while (static_cast<double>(seq) < elapsed * rate) {
      std::string p = calls_packet(seq);
      if (::send(fd, p.data(), p.size(), MSG_NOSIGNAL) < 0) ::_exit(2);
      seq += kRecordsPerPacket;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  [[maybe_unused]] auto w = ::write(out_fd, &seq, sizeof(seq));
  ::close(fd);
  ::_exit(0);
}

// Child: flooding sender; seq is consumed only by packets that went out.
void flood_client(const std::string& path, double seconds, int out_fd) {
  int fd = connect_to(path, true);
  std::uint64_t seq = 0, attempted = 0, dropped = 0, malformed = 0;
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::uint64_t n = 0;
  while (Clock::now() < end) {
    for (int burst = 0; burst < 64; ++burst, ++n) {
      bool bad = n % 100 == 99;
      std::string p = bad ? std::string("{\"v\":1,\"seq\":") + std::to_string(seq) + ",\"type\":" : calls_packet(seq);
      std::uint64_t events = bad ? 1 : kRecordsPerPacket;
      attempted += events;
      if (::send(fd, p.data(), p.size(), MSG_NOSIGNAL) < 0) {
        dropped += events;
      } else if (bad) {
        ++malformed;
      } else {
        seq += events;
      }
    }
  }
  // The drops are reported the way the agent does: in a heartbeat, sent blocking.
  int blocking = 0;
  ::ioctl(fd, FIONBIO, &blocking);
  std::string hb = heartbeat_packet(seq, dropped, seq);
  if (::send(fd, hb.data(), hb.size(), MSG_NOSIGNAL) < 0) ::_exit(2);
  std::uint64_t out[3] = {attempted, dropped, malformed};
  [[maybe_unused]] auto w = ::write(out_fd, out, sizeof(out));
  ::close(fd);
  ::_exit(0);
}

bool wait_until(const std::function<bool()>& done, double seconds) {
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

int passed = 0, failed = 0;
void verdict(bool ok, const char* what) {
  std::printf("%-58s %s\n", what, ok ? "PASS" : "FAIL");
  (ok ? passed : failed)++;
}

struct Server {
  CountingSink sink;
  std::string dir, path;
  std::unique_ptr<SocketServer> server;
  Server() {
    char d[] = "/tmp/ramflow-ingest-bench-XXXXXX";
    dir = ::mkdtemp(d);
    path = dir + "/ramflow.sock";
    SocketServer::Options o;
    o.path = path;
    server = std::make_unique<SocketServer>(o, sink);
    if (auto e = server->start()) {
      std::fprintf(stderr, "%s\n", e->c_str());
      std::exit(1);
    }
  }
  ~Server() {
    server->stop();
    ::rmdir(dir.c_str());
  }
};

void steady(double rate, double seconds) {
  Server s;
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::exit(1);
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  pid_t child = ::fork();
  if (child == 0) steady_client(s.path, rate, seconds, pipe_fds[1]);
  std::uint64_t sent = 0;
  [[maybe_unused]] auto r = ::read(pipe_fds[0], &sent, sizeof(sent));
  int status = 0;
  ::waitpid(child, &status, 0);
  wait_until([&] { return s.sink.disconnects.load() == 1; }, 30);
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  std::printf("steady: target %.0f events/s for %.0f s: sent %llu, accepted %llu, gaps %llu, rejected %llu\n", rate,
              seconds, (unsigned long long)sent, (unsigned long long)s.sink.records.load(),
              (unsigned long long)s.sink.gaps.load(), (unsigned long long)s.sink.rejected.load());
  std::printf("steady: achieved %.0f events/s; server CPU %.2f s over %.2f s wall (%.0f%% of one core)\n",
              sent / seconds, cpu, wall, 100 * cpu / wall);
  verdict(sent == s.sink.records.load() && s.sink.gaps == 0 && s.sink.rejected == 0, "steady: sent = accepted, no gap");
  verdict(sent / seconds >= rate * 0.99, "steady: target rate sustained");
}

void flood(double seconds) {
  Server s;
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::exit(1);
  pid_t child = ::fork();
  if (child == 0) flood_client(s.path, seconds, pipe_fds[1]);
  std::uint64_t out[3] = {0, 0, 0};
  [[maybe_unused]] auto r = ::read(pipe_fds[0], out, sizeof(out));
  ::waitpid(child, nullptr, 0);
  wait_until([&] { return s.sink.disconnects.load() == 1; }, 30);
  auto accepted = s.sink.records.load(), rejected = s.sink.rejected.load(), dropped = s.sink.dropped_reported.load();
  std::printf("flood: attempted %llu events in %.0f s: accepted %llu, rejected %llu, dropped (reported) %llu, gaps %llu\n",
              (unsigned long long)out[0], seconds, (unsigned long long)accepted, (unsigned long long)rejected,
              (unsigned long long)dropped, (unsigned long long)s.sink.gaps.load());
  std::printf("flood: accepted %.0f events/s\n", accepted / seconds);
  verdict(out[0] == accepted + rejected + dropped && dropped == out[1] && rejected == out[2],
          "flood: attempted = accepted + rejected + dropped");
}

void python_agent(double seconds) {
  Server s;
  std::string src = RAMFLOW_SOURCE_DIR;
  std::string script =
      "import time, ramflow\n"
      "from ramflow import _agent\n"
      "t = _agent.get().transport\n"
      "end = time.monotonic() + 20\n"
      "while t.connects == 0 and time.monotonic() < end: time.sleep(0.01)\n"
      "@ramflow.track('bench.call')\n"
      "def f(): pass\n"
      "n = 0\n"
      "end = time.monotonic() + " + std::to_string(seconds) + "\n"
      "while time.monotonic() < end:\n"
      "    for _ in range(1000): f()\n"
      "    n += 1000\n"
      "while t.outbox or t.aggregate.pending or ramflow._tracking.DIRTY_ROWS:\n"
      "    t.flush(); time.sleep(0.001)\n"
      "t.post(_agent.get()._heartbeat_body())\n"
      "print(n)\n";
  std::string cmd = "RAMFLOW_SOCKET=" + s.path + " PYTHONPATH=" + src + "/agent /usr/bin/python3 -c \"" + script + "\"";
  FILE* p = ::popen(cmd.c_str(), "r");
  unsigned long long calls = 0;
  if (p == nullptr || std::fscanf(p, "%llu", &calls) != 1) calls = 0;
  if (p) ::pclose(p);
  wait_until([&] { return s.sink.disconnects.load() == 1; }, 30);
  // Protocol 2: calls are counted in the functions deltas, never dropped.
  auto counted = s.sink.calls_counted.load(), dropped = s.sink.dropped_reported.load();
  std::printf("python agent: %llu tracked calls in %.0f s (%.0f/s): counted %llu, dropped (reported) %llu, gaps %llu\n",
              calls, seconds, calls / seconds, (unsigned long long)counted, (unsigned long long)dropped,
              (unsigned long long)s.sink.gaps.load());
  verdict(calls > 0 && calls == counted && dropped == 0 && s.sink.gaps == 0, "python agent: calls = counted");
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "steady";
  if (mode == "steady") {
    steady(argc > 2 ? std::atof(argv[2]) : 200000, argc > 3 ? std::atof(argv[3]) : 10);
  } else if (mode == "flood") {
    flood(argc > 2 ? std::atof(argv[2]) : 3);
  } else if (mode == "python") {
    python_agent(argc > 2 ? std::atof(argv[2]) : 5);
  } else {
    std::fprintf(stderr, "usage: %s steady [RATE] [SECONDS] | flood [SECONDS] | python [SECONDS]\n", argv[0]);
    return 2;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
