#include "export/http/detail/router.h"

#include <algorithm>
#include <exception>

namespace ramflow::exporter::detail {
namespace {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 400 ? "OK" : "Error";
  }
}

std::string header_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

bool serves(const std::string& route_method, std::string_view method) {
  return route_method == method || (route_method == "GET" && method == "HEAD");
}

}  // namespace

void Router::add(const std::string& method, const std::string& path, RequestHandler handler,
                 std::size_t max_body_bytes) {
  routes_[path].push_back(Route{method, std::move(handler), max_body_bytes});
}

const Router::Route* Router::find(const Request& head) const {
  auto it = routes_.find(head.path);
  if (it == routes_.end()) return nullptr;
  for (const auto& route : it->second) {
    if (serves(route.method, head.method)) return &route;
  }
  return nullptr;
}

std::size_t Router::body_limit(const Request& head) const {
  const Route* route = find(head);
  return route ? route->max_body_bytes : 0;
}

Response Router::respond(const Request& request) const {
  auto it = routes_.find(request.path);
  if (it == routes_.end()) return Response{404, "text/plain", "not found: " + request.path + "\n", {}};
  const Route* route = find(request);
  if (!route) {
    std::string allow;
    bool read_only = true;
    for (const auto& r : it->second) {
      allow += (allow.empty() ? "" : ", ") + r.method + (r.method == "GET" ? ", HEAD" : "");
      read_only = read_only && r.method == "GET";
    }
    std::string body = read_only ? "ramflowd is read-only: only GET and HEAD are served\n"
                                 : "method " + request.method + " is not served on " + request.path + "\n";
    return Response{405, "text/plain", std::move(body), {{"Allow", allow}}};
  }
  try {
    return route->handler(request);
  } catch (const std::exception& e) {
    return Response{500, "text/plain", std::string("internal error: ") + e.what() + "\n", {}};
  }
}

std::string response_bytes(const Response& response, bool head_only) {
  const int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  if (!response.content_type.empty()) out += "Content-Type: " + header_safe(response.content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n";
  for (const auto& [name, value] : response.headers) out += header_safe(name) + ": " + header_safe(value) + "\r\n";
  out += "\r\n";
  if (!head_only) out += response.body;
  return out;
}

std::string error_response_bytes(int status, std::string_view reason) {
  return response_bytes(Response{status, "text/plain", header_safe(reason) + "\n", {}}, false);
}

}  // namespace ramflow::exporter::detail
