#include "export/http/http_server.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <httplib.h>

namespace ramflow::exporter {
namespace {

constexpr std::size_t kMaxRequestBytes = 8 * 1024;

}  // namespace

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  int port = 0;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  auto& s = impl_->server;
  s.set_payload_max_length(kMaxRequestBytes);
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  // One request per connection: cpp-httplib 0.11 waits for a kept-alive
  // connection's next request by polling every ~10 ms, which cost 0.9 % of a
  // core per idle scraper connection (docs/performance.md). A new TCP
  // connection per scrape costs far less.
  s.set_keep_alive_max_count(1);
  // cpp-httplib's default sets SO_REUSEPORT, which lets a second ramflowd
  // listen on a port already served (the kernel then splits the scrapes
  // between the two); SO_REUSEADDR alone still allows a quick restart.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("ramflowd is read-only: only GET and HEAD are served\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(const std::string& path, Handler handler) {
  impl_->server.Get(path, [handler](const httplib::Request& req, httplib::Response& res) {
    auto param = [&req](const std::string& name) { return req.get_param_value(name); };
    Response r = handler(param);
    res.status = r.status;
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::move(r.body), r.content_type);
  });
}

std::string HttpServer::bind(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = std::stoi(listen.substr(colon + 1));
  if (port == 0) {
    impl_->port = impl_->server.bind_to_any_port(host);
    if (impl_->port <= 0) return "cannot bind " + listen + ": no free port";
  } else {
    if (!impl_->server.bind_to_port(host, port)) {
      return "cannot listen on " + listen + ": the address is in use or not available "
             "(choose another with --listen HOST:PORT)";
    }
    impl_->port = port;
  }
  return {};
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::start() {
  impl_->thread = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->listen_returned = true;
  });
  // cpp-httplib's stop() closes the listener only once its serving thread has
  // marked itself running: a stop() before that would leave it serving forever.
  while (!impl_->server.is_running() && !impl_->listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void HttpServer::stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ramflow::exporter
