#include "config/parse_value.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace ramflow::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<double> leading_number(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + i, value);
  if (ec != std::errc() || ptr != s.data() + i) return std::nullopt;
  s.remove_prefix(i);
  return value;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  double total_ms = 0;
  bool bare = true;
  while (!s.empty()) {
    auto number = leading_number(s);
    if (!number) return std::nullopt;
    std::size_t unit_len = 0;
    while (unit_len < s.size() && std::isalpha(static_cast<unsigned char>(s[unit_len]))) ++unit_len;
    std::string_view unit = s.substr(0, unit_len);
    s.remove_prefix(unit_len);
    double scale;
    if (unit.empty()) {
      if (!s.empty() || !bare) return std::nullopt;
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else {
      return std::nullopt;
    }
    bare = false;
    total_ms += *number * scale;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(total_ms)));
}

std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::string_view s = trim(text);
  auto number = leading_number(s);
  if (!number) return std::nullopt;
  s = trim(s);
  if (s.size() > 1 && s.back() == 'B' && s[s.size() - 2] == 'i') s.remove_suffix(1);  // "MiB" → "Mi"
  double scale;
  if (s.empty() || s == "B") scale = 1;
  else if (s == "k" || s == "K") scale = 1e3;
  else if (s == "M") scale = 1e6;
  else if (s == "G") scale = 1e9;
  else if (s == "T") scale = 1e12;
  else if (s == "Ki") scale = 1024.0;
  else if (s == "Mi") scale = 1024.0 * 1024;
  else if (s == "Gi") scale = 1024.0 * 1024 * 1024;
  else if (s == "Ti") scale = 1024.0 * 1024 * 1024 * 1024;
  else return std::nullopt;
  double bytes = *number * scale;
  if (!std::isfinite(bytes) || bytes >= 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::string_view s = trim(text);
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_number(std::string_view text) {
  std::string_view s = trim(text);
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string_view s = trim(text);
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

bool valid_listen_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return false;
  auto port = parse_unsigned(text.substr(colon + 1));
  return port && *port <= 65535;  // 0: any free port (tests, `ramflowd run`)
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace ramflow::config
