// Parsers shared by the readers: strict numbers and "key value" line files.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probe/result.h"

namespace ramflow::probe::detail {

// Decimal digits only, no sign, must fit: "12x", "", "-1" and overflow are nullopt.
std::optional<std::uint64_t> parse_u64(std::string_view s);
std::optional<double> parse_double(std::string_view s);
std::vector<std::string_view> split_whitespace(std::string_view s);
// Whether "a,b,c" has `item` as one of its comma-separated entries.
bool comma_list_has(std::string_view list, std::string_view item);

// Every kernel text file we read ends with '\n'; a file without one was cut short.
std::optional<ReadError> require_complete(std::string_view text, const std::string& path);

enum class Unit { kBytes, kKiB };
enum class Presence { kRequired, kOptional };

struct Field {
  std::string_view key;
  std::uint64_t* out;
  Unit unit = Unit::kBytes;
  Presence presence = Presence::kRequired;
  bool* seen = nullptr;  // set to whether the key was present
};

// Lines "Key:   123 kB" (procfs) or "key 123" (cgroup). Unknown keys are ignored;
// a wanted key whose value is garbled, lacks or has an unexpected unit, or a
// missing required key, is kMalformed. kKiB values are returned in bytes.
std::optional<ReadError> parse_fields(std::string_view text, const std::string& path,
                                      std::span<const Field> fields);

// read_file + parse_fields: the whole job of a reader of one "key value" file.
std::optional<ReadError> read_fields(const std::string& path, std::span<const Field> fields);

// A file holding one number (memory.current, memory.usage_in_bytes ...).
Result<std::uint64_t> parse_single_u64(std::string_view text, const std::string& path);

}  // namespace ramflow::probe::detail
