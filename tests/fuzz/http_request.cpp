// The HTTP request path of ramflowd's server (src/export/http/detail/): bytes
// from the network into the request reader — fed whole, and again in pieces
// whose sizes the input chooses — then the router and the response bytes.
// Invariants: both feedings agree; what is held stays within the limits; a
// refusal has a 4xx/5xx status and a reason; a complete request has a token
// method and a path; every response is one well-formed head and its body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.h"
#include "export/http/detail/request_reader.h"
#include "export/http/detail/router.h"

namespace {

using namespace ramflow::exporter;
using detail::RequestReader;

constexpr detail::HeadLimits kLimits{256, 1024, 16};
constexpr std::size_t kBodyLimit = 64;

const detail::Router& router() {
  static const detail::Router r = [] {
    detail::Router out;
    out.add("GET", "/metrics", [](const Request& q) { return Response{200, "text/plain", "p=" + q.param("p")}; }, 0);
    out.add("POST", "/hook", [](const Request& q) { return Response{200, std::string(q.header("content-type")), q.body}; },
            kBodyLimit);
    return out;
  }();
  return r;
}

RequestReader make_reader() {
  return RequestReader(kLimits, [](const Request& head) { return router().body_limit(head); });
}

void check_response(const std::string& bytes, bool head_only) {
  RAMFLOW_FUZZ_CHECK(bytes.rfind("HTTP/1.1 ", 0) == 0);
  const std::size_t end = bytes.find("\r\n\r\n");
  RAMFLOW_FUZZ_CHECK(end != std::string::npos);
  const std::string_view head(bytes.data(), end);
  // No bare CR or LF inside a header line: a handler's text cannot add lines.
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n') RAMFLOW_FUZZ_CHECK(i > 0 && head[i - 1] == '\r');
    if (head[i] == '\r') RAMFLOW_FUZZ_CHECK(i + 1 < head.size() && head[i + 1] == '\n');
  }
  const std::size_t length_at = head.find("\r\nContent-Length: ");
  RAMFLOW_FUZZ_CHECK(length_at != std::string::npos);
  const std::size_t length = std::stoull(std::string(head.substr(length_at + 18)));
  RAMFLOW_FUZZ_CHECK(bytes.size() - end - 4 == (head_only ? 0 : length));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t step_seed = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  RequestReader whole = make_reader();
  const auto state = whole.feed(input);

  RequestReader pieces = make_reader();
  auto piecewise = RequestReader::State::kReading;
  std::size_t at = 0;
  for (std::size_t i = 0; at < input.size(); ++i) {
    const std::size_t step = 1 + ((step_seed + i * 7) % 97);
    piecewise = pieces.feed(input.substr(at, step));
    at += step;
  }
  RAMFLOW_FUZZ_CHECK(piecewise == state);

  if (state == RequestReader::State::kFailed) {
    RAMFLOW_FUZZ_CHECK(whole.status() == pieces.status());
    RAMFLOW_FUZZ_CHECK(whole.status() >= 400 && whole.status() <= 505);
    RAMFLOW_FUZZ_CHECK(!whole.reason().empty());
    check_response(detail::error_response_bytes(whole.status(), whole.reason()), false);
    return 0;
  }
  if (state != RequestReader::State::kComplete) return 0;
  const Request& request = whole.request();
  RAMFLOW_FUZZ_CHECK(request.method == pieces.request().method && request.path == pieces.request().path);
  RAMFLOW_FUZZ_CHECK(request.headers == pieces.request().headers && request.body == pieces.request().body);
  RAMFLOW_FUZZ_CHECK(!request.method.empty() && request.method.find(' ') == std::string::npos);
  RAMFLOW_FUZZ_CHECK(!request.path.empty() && request.path.front() == '/');
  RAMFLOW_FUZZ_CHECK(request.path.size() <= kLimits.max_request_line_bytes);
  RAMFLOW_FUZZ_CHECK(request.headers.size() <= kLimits.max_header_lines);
  RAMFLOW_FUZZ_CHECK(request.body.size() <= kBodyLimit);
  check_response(detail::response_bytes(router().respond(request), request.method == "HEAD"), request.method == "HEAD");
  return 0;
}
