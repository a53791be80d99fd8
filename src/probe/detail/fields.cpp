#include "probe/detail/fields.h"

#include <charconv>
#include <limits>

#include "probe/detail/file_read.h"

namespace ramflow::probe::detail {

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
}  // namespace

bool comma_list_has(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<ReadError> require_complete(std::string_view text, const std::string& path) {
  if (text.empty()) return ReadError{ErrorKind::kMalformed, path, "file is empty"};
  if (text.back() != '\n')
    return ReadError{ErrorKind::kMalformed, path, "file is truncated (no final newline)"};
  return std::nullopt;
}

namespace {

std::optional<std::uint64_t> field_value(std::string_view rest, Unit unit) {
  const auto tokens = split_whitespace(rest);
  const std::size_t want = unit == Unit::kKiB ? 2 : 1;
  if (tokens.size() != want) return std::nullopt;
  auto v = parse_u64(tokens[0]);
  if (!v || unit == Unit::kBytes) return v;
  if (tokens[1] != "kB" || *v > std::numeric_limits<std::uint64_t>::max() / 1024) return std::nullopt;
  return *v * 1024;
}

}  // namespace

std::optional<ReadError> parse_fields(std::string_view text, const std::string& path,
                                      std::span<const Field> fields) {
  if (auto e = require_complete(text, path)) return e;
  std::vector<bool> found(fields.size(), false);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const std::size_t key_end = line.find_first_of(": \t");
    if (key_end == std::string_view::npos || key_end == 0) continue;
    const std::string_view key = line.substr(0, key_end);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (found[i] || fields[i].key != key) continue;
      std::string_view rest = line.substr(key_end);
      if (rest.front() == ':') rest.remove_prefix(1);
      const auto v = field_value(rest, fields[i].unit);
      if (!v)
        return ReadError{ErrorKind::kMalformed, path,
                         "bad value for " + std::string(key) + ": \"" + std::string(line.substr(0, 80)) + "\""};
      *fields[i].out = *v;
      found[i] = true;
    }
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].seen) *fields[i].seen = found[i];
    if (!found[i] && fields[i].presence == Presence::kRequired)
      return ReadError{ErrorKind::kMalformed, path, "missing field " + std::string(fields[i].key)};
  }
  return std::nullopt;
}

std::optional<ReadError> read_fields(const std::string& path, std::span<const Field> fields) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_fields(text.value(), path, fields);
}

Result<std::uint64_t> parse_single_u64(std::string_view text, const std::string& path) {
  if (auto e = require_complete(text, path)) return *e;
  const auto tokens = split_whitespace(text);
  if (tokens.size() == 1)
    if (auto v = parse_u64(tokens[0])) return *v;
  return ReadError{ErrorKind::kMalformed, path, "expected one number"};
}

}  // namespace ramflow::probe::detail
