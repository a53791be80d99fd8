// Which handler answers a request (404 for an unknown path, 405 with Allow
// for a method the path does not serve; a GET route answers HEAD too) and the
// bytes of a response. Pure: the server and the fuzz target share it.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "export/http/http_server.h"

namespace ramflow::exporter::detail {

class Router {
 public:
  void add(const std::string& method, const std::string& path, RequestHandler handler, std::size_t max_body_bytes);
  // The body the route of `head` takes (0 for none, or no route).
  std::size_t body_limit(const Request& head) const;
  // The handler's response; 404, 405 or, when a handler throws, 500.
  Response respond(const Request& request) const;

 private:
  struct Route {
    std::string method;
    RequestHandler handler;
    std::size_t max_body_bytes = 0;
  };
  const Route* find(const Request& head) const;
  std::map<std::string, std::vector<Route>, std::less<>> routes_;  // by path
};

// The whole response as sent: status line, headers (Content-Length, no-store,
// nosniff, Connection: close), then the body unless `head_only`. CR and LF
// in header values are dropped, so a handler cannot split the response.
std::string response_bytes(const Response& response, bool head_only);

// A plain-text error response's bytes (the reason on one line).
std::string error_response_bytes(int status, std::string_view reason);

}  // namespace ramflow::exporter::detail
