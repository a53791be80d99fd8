// The read-only HTTP endpoint of ramflowd: /metrics, /healthz, /readyz,
// /api/v1/report, the dashboard and its assets. GET and HEAD only; requests
// over a few KiB are refused. cpp-httplib stays an implementation detail.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace ramflow::exporter {

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
};

// A route: path → function of the query string parameters.
using Handler = std::function<Response(const std::function<std::string(const std::string&)>& param)>;

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();

  void route(const std::string& path, Handler handler);
  // Binds HOST:PORT; returns an error message (empty on success). Port 0 picks a free port.
  std::string bind(const std::string& listen);
  int port() const;
  void start();  // serves on its own threads
  void stop();   // returns once the listener is closed

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ramflow::exporter
