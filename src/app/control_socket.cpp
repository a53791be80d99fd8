#include "app/control_socket.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "export/report/capture_json.h"
#include "ingest/default_socket_path.h"
#include "ingest/unix_listener.h"

namespace ramflow::app {
namespace {

using nlohmann::json;

constexpr int kTickMs = 200;
constexpr double kRequestSeconds = 5;  // to send the request once connected
constexpr double kResultGraceSeconds = 60;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void reply(int fd, const json& message) {
  const std::string text = message.dump();
  ::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

std::string control_socket_path(const config::Config& config) {
  if (!config.control_socket.empty()) return config.control_socket;
  const std::string agents = config.socket.empty() ? ingest::default_socket_path() : config.socket;
  return (std::filesystem::path(agents).parent_path() / "control.sock").string();
}

struct ControlSocket::State {
  State(std::string p, daemon::Cycle& c) : path(std::move(p)), cycle(c) {}
  std::string path;
  daemon::Cycle& cycle;
  ingest::UnixListener listener;
  int wake_fd = -1;
  std::thread thread;
  struct Client {
    int fd;
    double deadline;       // unix seconds: the request, then the result, must come by then
    std::string capture;   // the capture it waits for; empty before its request
  };
  std::vector<Client> clients;

  void run();
  void accept_all();
  bool read_request(Client& c);  // false: done with it
  bool check_result(Client& c);  // false: done with it
};

ControlSocket::ControlSocket(std::string path, daemon::Cycle& cycle)
    : state_(std::make_unique<State>(std::move(path), cycle)) {}

ControlSocket::~ControlSocket() { stop(); }

std::optional<std::string> ControlSocket::start() {
  auto made = ingest::UnixListener::open({state_->path, 0600, false, "--control-socket"});
  if (auto* error = std::get_if<std::string>(&made)) return *error;
  state_->listener = std::move(std::get<ingest::UnixListener>(made));
  state_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (state_->wake_fd < 0) return std::string("cannot create an eventfd for the control socket");
  state_->thread = std::thread([s = state_.get()] { s->run(); });
  return std::nullopt;
}

void ControlSocket::stop() {
  if (!state_) return;
  if (state_->thread.joinable()) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(state_->wake_fd, &one, sizeof(one));
    state_->thread.join();
  }
  for (auto& c : state_->clients) ::close(c.fd);
  state_->clients.clear();
  state_->listener.close();
  if (state_->wake_fd >= 0) ::close(state_->wake_fd);
  state_->wake_fd = -1;
}

void ControlSocket::State::run() {
  for (;;) {
    std::vector<pollfd> fds{{wake_fd, POLLIN, 0}, {listener.fd(), POLLIN, 0}};
    for (const auto& c : clients) fds.push_back({c.fd, static_cast<short>(c.capture.empty() ? POLLIN : 0), 0});
    if (::poll(fds.data(), fds.size(), kTickMs) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    if (fds[1].revents & POLLIN) accept_all();
    std::vector<Client> kept;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short events = i + 2 < fds.size() ? fds[i + 2].revents : 0;
      bool keep = true;
      if (events & (POLLHUP | POLLERR)) keep = false;  // the client gave up
      else if (c.capture.empty() && (events & POLLIN)) keep = read_request(c);
      else if (!c.capture.empty()) keep = check_result(c);
      if (keep && unix_now() > c.deadline) {
        reply(c.fd, {{"error", c.capture.empty() ? "no request within 5 s" : "the capture did not finish in time"}});
        keep = false;
      }
      if (keep) kept.push_back(c);
      else ::close(c.fd);
    }
    clients = std::move(kept);
  }
}

void ControlSocket::State::accept_all() {
  for (;;) {
    int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred peer{};
    socklen_t length = sizeof(peer);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || (peer.uid != ::geteuid() && peer.uid != 0)) {
      spdlog::warn("refused a control connection from pid {} uid {}: only ramflowd's own UID ({}) and root may ask",
                   peer.pid, peer.uid, ::geteuid());
      ::close(fd);
      continue;
    }
    if (clients.size() >= kMaxClients) {
      reply(fd, {{"error", "too many control clients at once; try again later"}});
      ::close(fd);
      continue;
    }
    clients.push_back({fd, unix_now() + kRequestSeconds, ""});
  }
}

bool ControlSocket::State::read_request(Client& c) {
  char buffer[kMaxRequestBytes + 1];
  ssize_t n = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC);
  if (n <= 0) return n < 0 && errno == EAGAIN;
  if (static_cast<std::size_t>(n) > kMaxRequestBytes) {
    reply(c.fd, {{"error", "request larger than 4 KiB"}});
    return false;
  }
  const json request = json::parse(std::string_view(buffer, static_cast<std::size_t>(n)), nullptr, false);
  const json* capture = request.is_object() && request.contains("capture") ? &request["capture"] : nullptr;
  if (!capture || !capture->is_object() || !(*capture)["pid"].is_number_unsigned()) {
    reply(c.fd, {{"error", "expected {\"capture\":{\"pid\":N,\"tasks\":N,\"seconds\":T}}"}});
    return false;
  }
  daemon::CaptureBook::Request r;
  r.pid = static_cast<pid_t>(std::min<std::uint64_t>((*capture)["pid"].get<std::uint64_t>(), 1u << 30));
  if (capture->contains("tasks")) {
    if (!(*capture)["tasks"].is_number_unsigned()) {
      reply(c.fd, {{"error", "tasks must be a whole number"}});
      return false;
    }
    r.tasks = (*capture)["tasks"].get<std::uint64_t>();
  }
  if (capture->contains("seconds")) {
    if (!(*capture)["seconds"].is_number()) {
      reply(c.fd, {{"error", "seconds must be a number"}});
      return false;
    }
    r.seconds = (*capture)["seconds"].get<double>();
  }
  auto snap = cycle.latest();
  auto outcome = cycle.captures().request(r, snap.get(), unix_now());
  if (auto* error = std::get_if<std::string>(&outcome)) {
    reply(c.fd, {{"error", *error}});
    return false;
  }
  const auto& asked = std::get<model::AllocationCapture>(outcome);
  reply(c.fd, {{"accepted", exporter::capture_json(asked)}});
  c.capture = asked.id;
  c.deadline = unix_now() + daemon::CaptureBook::kAnswerSeconds + 2 * asked.seconds_wanted +
               daemon::CaptureBook::kLateSeconds + kResultGraceSeconds;
  return true;
}

bool ControlSocket::State::check_result(Client& c) {
  auto capture = cycle.captures().find(c.capture);
  if (!capture) {
    reply(c.fd, {{"error", "capture " + c.capture + " is no longer kept"}});
    return false;
  }
  if (!model::finished(capture->status)) return true;
  reply(c.fd, {{"result", exporter::capture_json(*capture)}});
  return false;
}

}  // namespace ramflow::app
