// Reads one HTTP/1.x request from bytes as they arrive, within fixed bounds:
// it holds at most one line of the head (≤ the head limit), the parsed
// headers (≤ the head limit) and the body its route takes, whatever the
// client sends. Pure (no I/O): the server feeds it what it read, the fuzz
// target feeds it anything.
//
//   RequestReader reader(limits, [](const Request& head) -> std::size_t { return 0; });  // no bodies
//   switch (reader.feed(bytes)) {
//     case State::kReading: break;                       // wait for more
//     case State::kComplete: serve(reader.request()); break;
//     case State::kFailed: refuse(reader.status(), reader.reason()); break;
//   }
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "export/http/http_server.h"

namespace ramflow::exporter::detail {

struct HeadLimits {
  std::size_t max_request_line_bytes = 4096;
  std::size_t max_head_bytes = 8192;
  std::size_t max_header_lines = 64;
};

class RequestReader {
 public:
  enum class State { kReading, kComplete, kFailed };

  // How many body bytes the route of a parsed head takes; 0: none (the
  // request is complete at the head and a body is never read).
  using BodyLimit = std::function<std::size_t(const Request& head)>;
  RequestReader(HeadLimits limits, BodyLimit body_limit);

  // Takes the next bytes; bytes after a complete request are ignored.
  State feed(std::string_view bytes);
  State state() const { return state_; }
  // After kFailed: 400, 411, 413, 414, 431 or 505, and a one-line reason.
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }
  const Request& request() const { return request_; }
  Request take_request() { return std::move(request_); }

 private:
  State fail(int status, std::string reason);
  State on_line(std::string_view line);
  State on_request_line(std::string_view line);
  State on_header(std::string_view line);
  State on_head_end();
  State read_body(std::string_view bytes);

  HeadLimits limits_;
  BodyLimit body_limit_;
  State state_ = State::kReading;
  bool have_request_line_ = false;
  bool in_body_ = false;
  std::size_t header_lines_ = 0;
  std::size_t head_bytes_ = 0;  // head bytes taken so far
  std::size_t body_length_ = 0;
  std::string line_;            // the head line being received
  int status_ = 0;
  std::string reason_;
  Request request_;
};

// The first value of query parameter `name` (form-urlencoded: '+' is a space), or "".
std::string query_param(std::string_view query, std::string_view name);

}  // namespace ramflow::exporter::detail
