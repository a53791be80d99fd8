// A small HTTP/1.1 server for ramflowd's read-only endpoints (/metrics,
// /healthz, /readyz, /api/v1/report, the dashboard), built to stay up when a
// client on the port is hostile (docs/security.md, docs/reliability.md):
//
// * memory per request and in total is bounded: request line, head bytes and
//   header lines have limits, a body is read only for a route that takes one
//   and only up to its limit, responses waiting for slow readers share a budget;
// * one event-loop thread does all socket I/O, so a slow or idle client never
//   holds a handler thread; handlers run on a few worker threads;
// * connections are capped; at the cap a new connection sheds the oldest one
//   that has not sent a whole request (a scrape sends its request at once and
//   is answered while slowloris clients hold the rest);
// * whole-request, idle and write deadlines; one request per connection;
// * stop() returns within a few milliseconds whatever clients do.
//
// Thread safety: route() before start(); start()/stop() from one thread.
// Handlers run concurrently on `workers` threads.
//
//   HttpServer http;                       // or HttpServer http(limits)
//   http.route("/healthz", [](const auto&) { return Response{200, "text/plain", "ok\n"}; });
//   if (auto err = http.bind("127.0.0.1:9977"); !err.empty()) die(err);
//   http.start(); ... http.stop();
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ramflow::exporter {

struct HttpLimits {
  std::size_t max_connections = 64;
  // At the cap a connection younger than this keeps its slot: newcomers wait
  // meanwhile (one accepted and unread, the rest in the kernel's backlog), so a
  // scraper's request arrives before it is read instead of racing a flood of
  // clients that reconnect the moment they are shed.
  std::chrono::milliseconds shed_grace{20};
  std::size_t max_request_line_bytes = 4096;  // longer: 414
  std::size_t max_head_bytes = 8192;          // request line + headers; more: 431
  std::size_t max_header_lines = 64;          // more: 431
  std::chrono::milliseconds request_timeout{5000};  // from accept to the whole request: else 408
  std::chrono::milliseconds idle_timeout{2000};     // silence before the whole request arrived: else 408
  std::chrono::milliseconds write_timeout{10000};   // from the response to its last byte sent: else closed
  // Responses not yet taken by their (slow) readers, in all: past it the
  // reader stalled longest is disconnected.
  std::size_t max_buffered_response_bytes = 16u << 20;
  std::size_t workers = 2;  // handler threads
  // Called (on the server's thread) with a one-line summary of refused, shed
  // and timed-out connections, at most once a minute while they happen.
  std::function<void(std::string_view)> warn;
};

struct Request {
  std::string method;
  std::string path;   // percent-decoded
  std::string query;  // as sent, without the '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;   // only for a route that takes a body

  std::string param(std::string_view name) const;        // first query value, decoded; "" if absent
  std::string_view header(std::string_view name) const;  // first value of a lower-case name; "" if absent
};

struct Response {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  Response() = default;
  Response(int status_code, std::string type, std::string content, Headers extra = {})
      : status(status_code), content_type(std::move(type)), body(std::move(content)), headers(std::move(extra)) {}

  int status = 200;
  std::string content_type;
  std::string body;
  Headers headers;  // extra response headers
};

// A GET route: path → function of the query string parameters.
using Handler = std::function<Response(const std::function<std::string(const std::string&)>& param)>;
// Any method, with the request (e.g. a POST webhook).
using RequestHandler = std::function<Response(const Request&)>;

class HttpServer {
 public:
  explicit HttpServer(HttpLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void route(const std::string& path, Handler handler);  // GET and HEAD
  // `method` on `path`, taking a body of at most `max_body_bytes` (Content-Length only).
  void route(const std::string& method, const std::string& path, RequestHandler handler,
             std::size_t max_body_bytes = 0);
  // Binds HOST:PORT; returns an error message naming the address and what to
  // do (empty on success). Port 0 picks a free port. A port another process
  // listens on is an error (no SO_REUSEPORT sharing).
  std::string bind(const std::string& listen);
  int port() const;
  void start();  // serves on its own threads
  void stop();   // closes every connection and joins the threads

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ramflow::exporter
