// Parsers for the value types options use. Each returns nullopt on bad input;
// the caller turns that into a ConfigError naming the option.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ramflow::config {

// "500ms", "1s", "2m", "1h", "1h30m"; a bare number is seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "1048576", "512Mi", "2Gi", "64M", "1G", "100Ki", "1KiB", "1.5Gi".
std::optional<std::uint64_t> parse_bytes(std::string_view text);
std::optional<std::uint64_t> parse_unsigned(std::string_view text);
std::optional<double> parse_number(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);
// "HOST:PORT" with a numeric port 0..65535 (0: any free port); IPv6 hosts in brackets.
bool valid_listen_address(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace ramflow::config
