#include "export/http/detail/request_reader.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace ramflow::exporter::detail {
namespace {

// RFC 9110 tchar.
bool is_token_char(unsigned char c) {
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); });
}

// Visible ASCII, as a request target must be.
bool is_target(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// A field value: visible bytes, spaces and tabs (obs-text, ≥ 0x80, allowed); no CR, LF or other controls.
bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; nullopt for a broken escape or a NUL. `plus_is_space` for form values.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return std::nullopt;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out.push_back(c);
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

RequestReader::RequestReader(HeadLimits limits, BodyLimit body_limit)
    : limits_(limits), body_limit_(std::move(body_limit)) {}

RequestReader::State RequestReader::fail(int status, std::string reason) {
  status_ = status;
  reason_ = std::move(reason);
  line_ = std::string();
  state_ = State::kFailed;
  return state_;
}

RequestReader::State RequestReader::feed(std::string_view bytes) {
  while (state_ == State::kReading && !bytes.empty()) {
    if (in_body_) return read_body(bytes);
    const std::size_t newline = bytes.find('\n');
    const std::size_t take = newline == std::string_view::npos ? bytes.size() : newline + 1;
    if (!have_request_line_ && line_.size() + take > limits_.max_request_line_bytes + 2) {  // + CR LF
      return fail(414, "request line longer than " + std::to_string(limits_.max_request_line_bytes) + " bytes");
    }
    if (head_bytes_ + take > limits_.max_head_bytes) {
      return fail(431, "request head larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
    }
    line_.append(bytes.substr(0, take));
    head_bytes_ += take;
    bytes.remove_prefix(take);
    if (newline == std::string_view::npos) break;
    std::string_view line(line_);
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(line);
    line_.clear();
  }
  return state_;
}

RequestReader::State RequestReader::on_line(std::string_view line) {
  if (!have_request_line_) {
    if (line.empty()) return state_;  // empty lines before the request line are tolerated (RFC 9112 2.2)
    return on_request_line(line);
  }
  if (line.empty()) return on_head_end();
  return on_header(line);
}

RequestReader::State RequestReader::on_request_line(std::string_view line) {
  if (line.size() > limits_.max_request_line_bytes) {
    return fail(414, "request line longer than " + std::to_string(limits_.max_request_line_bytes) + " bytes");
  }
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line: expected METHOD /path HTTP/1.1");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return fail(400, "malformed method");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(static_cast<unsigned char>(version[5])) ||
      version[6] != '.' || !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return fail(400, "malformed HTTP version");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
  if (target.empty() || target.front() != '/' || !is_target(target)) {
    return fail(400, "the request target must be a path starting with /");
  }
  const std::size_t question = target.find('?');
  auto path = percent_decode(target.substr(0, question), /*plus_is_space=*/false);
  if (!path) return fail(400, "malformed percent-encoding in the path");
  request_.method = std::string(method);
  request_.path = std::move(*path);
  if (question != std::string_view::npos) request_.query = std::string(target.substr(question + 1));
  have_request_line_ = true;
  return state_;
}

RequestReader::State RequestReader::on_header(std::string_view line) {
  if (++header_lines_ > limits_.max_header_lines) {
    return fail(431, "more than " + std::to_string(limits_.max_header_lines) + " header lines");
  }
  if (line.front() == ' ' || line.front() == '\t') return fail(400, "folded header lines are not accepted");
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return fail(400, "malformed header line");
  const std::string_view value = trim(line.substr(colon + 1));
  if (!is_field_value(value)) return fail(400, "control character in a header value");
  request_.headers.emplace_back(lower(line.substr(0, colon)), std::string(value));
  return state_;
}

RequestReader::State RequestReader::on_head_end() {
  std::optional<std::size_t> content_length;
  bool transfer_encoding = false;
  for (const auto& [name, value] : request_.headers) {
    if (name == "transfer-encoding") transfer_encoding = true;
    if (name != "content-length") continue;
    if (value.empty() || value.size() > 18 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return value.size() > 18 ? fail(413, "Content-Length too large") : fail(400, "malformed Content-Length");
    }
    const std::size_t n = std::stoull(value);
    if (content_length && *content_length != n) return fail(400, "conflicting Content-Length headers");
    content_length = n;
  }
  line_ = std::string();
  const std::size_t limit = body_limit_ ? body_limit_(request_) : 0;
  if (limit == 0 || (!transfer_encoding && content_length.value_or(0) == 0)) {
    // No body taken: the connection closes after the response, so an unread body cannot be taken for a request.
    state_ = State::kComplete;
    return state_;
  }
  if (transfer_encoding) return fail(411, "send the body with Content-Length (Transfer-Encoding is not accepted)");
  if (*content_length > limit) return fail(413, "body larger than " + std::to_string(limit) + " bytes");
  body_length_ = *content_length;
  request_.body.reserve(body_length_);
  in_body_ = true;
  return state_;
}

RequestReader::State RequestReader::read_body(std::string_view bytes) {
  const std::size_t want = body_length_ - request_.body.size();
  request_.body.append(bytes.substr(0, std::min(want, bytes.size())));
  if (request_.body.size() == body_length_) state_ = State::kComplete;
  return state_;
}

std::string query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const auto key = percent_decode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return {};
    return percent_decode(pair.substr(eq + 1), true).value_or(std::string());
  }
  return {};
}

}  // namespace ramflow::exporter::detail
