#include "app/capture_command.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "app/control_socket.h"
#include "config/parse_value.h"
#include "export/report/capture_json.h"

namespace ramflow::app {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 1;
constexpr std::size_t kMaxAnswerBytes = 1 << 20;

using nlohmann::json;

class Connection {
 public:
  explicit Connection(const std::string& path) {
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof(address.sun_path)) throw std::runtime_error("control socket path too long: " + path);
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      const std::string why = std::strerror(errno);
      throw std::runtime_error("cannot connect to " + path + ": " + why +
                               " — run this where ramflowd serves (in a pod: kubectl exec POD -c ramflow -- ramflowd "
                               "capture ...), as ramflowd's user, or give --url unix:PATH");
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  void send(const json& message) {
    const std::string text = message.dump();
    if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) < 0) throw std::runtime_error("cannot send the request");
  }
  // The next answer; throws when none comes within `seconds` or ramflowd hung up.
  json receive(double seconds) {
    pollfd p{fd_, POLLIN, 0};
    const int ms = static_cast<int>(std::min(seconds, 1e6) * 1000);
    if (::poll(&p, 1, ms) <= 0) throw std::runtime_error("no answer from ramflowd in time");
    std::string buffer(kMaxAnswerBytes, '\0');
    ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n <= 0) throw std::runtime_error("ramflowd closed the control connection (was it restarted?)");
    json j = json::parse(buffer.substr(0, static_cast<std::size_t>(n)), nullptr, false);
    if (!j.is_object()) throw std::runtime_error("ramflowd answered something that is not JSON");
    return j;
  }

 private:
  int fd_ = -1;
};

std::string strip_prefix(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
}

}  // namespace

std::string control_socket_of(const std::string& url, const config::Config& config) {
  if (url.empty()) return control_socket_path(config);
  if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
    throw std::invalid_argument(
        "the HTTP port is read-only: captures are asked on ramflowd's control socket — run ramflowd capture where "
        "the sidecar runs (kubectl exec POD -c ramflow -- ramflowd capture --pid N) or give --url unix:" +
        control_socket_path(config));
  }
  std::string path = url.rfind("unix://", 0) == 0 ? strip_prefix(url, "unix://") : strip_prefix(url, "unix:");
  if (path.empty() || path.find("://") != std::string::npos) {
    throw std::invalid_argument("--url must name the control socket: unix:PATH (e.g. unix:" + control_socket_path(config) + ")");
  }
  return path;
}

int capture_command(const CommandLine& cl, const config::Config& config) {
  auto usage = [](const std::string& why) {
    std::cerr << "ramflowd capture: " << why
              << "\nusage: ramflowd capture --pid N [--tasks N | --seconds T] [--url unix:PATH] [--output text|json]\n";
    return kExitUsage;
  };
  if (cl.pid.empty()) return usage("--pid is required");
  if (!cl.output.empty() && cl.output != "text" && cl.output != "json") return usage("--output must be text or json");
  json request;
  auto pid = config::parse_unsigned(cl.pid);
  if (!pid || *pid == 0 || *pid > (1u << 30)) return usage("--pid must be a process id");
  request["pid"] = *pid;
  if (!cl.tasks.empty()) {
    auto tasks = config::parse_unsigned(cl.tasks);
    if (!tasks || *tasks < 1 || *tasks > 100000) return usage("--tasks must be a whole number from 1 to 100000");
    request["tasks"] = *tasks;
  }
  if (!cl.seconds.empty()) {
    auto seconds = config::parse_number(cl.seconds);
    if (!seconds || *seconds < 1 || *seconds > 3600) return usage("--seconds must be a number from 1 to 3600");
    request["seconds"] = *seconds;
  }
  try {
    Connection control(control_socket_of(cl.url, config));
    control.send({{"capture", request}});
    json answer = control.receive(10);
    if (answer.contains("error")) throw std::runtime_error(answer["error"].get<std::string>());
    const json& asked = answer.at("accepted");
    const double wait = 2 * asked["window"]["seconds_wanted"].get<double>() + 180;
    if (cl.output != "json") {
      std::cerr << "capture " << asked["id"].get<std::string>() << " of pid " << *pid << ": up to "
                << asked["window"]["tasks_wanted"] << " tasks or " << asked["window"]["seconds_wanted"] << " s…\n";
    }
    answer = control.receive(wait);
    if (answer.contains("error")) throw std::runtime_error(answer["error"].get<std::string>());
    const json& result = answer.at("result");
    if (cl.output == "json") std::cout << result.dump(2) << "\n";
    else std::cout << exporter::format_capture_text(result, 10);
    return result["status"] == "done" ? 0 : kExitUnavailable;
  } catch (const std::invalid_argument& e) {
    std::cerr << "ramflowd capture: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "ramflowd capture: " << e.what() << "\n";
    return kExitUnavailable;
  }
}

}  // namespace ramflow::app
