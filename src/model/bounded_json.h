// JSON parsed with bounded memory and nesting, for files ramflowd reads back
// (the state file). nlohmann's DOM costs 16 to 37 times the text it parses
// (measured: docs/reliability.md), so an 8 MiB file of brackets needs
// ~300 MiB; here each value's heap cost is counted as it is parsed, with
// allocator overheads rounded up, and the parse stops once the count passes
// the budget or the nesting passes the limit. Time is linear in the text.
//
//   nlohmann::json j = parse_bounded_json(text, {.max_depth = 16, .max_bytes = 48 << 20});
//   // throws JsonLimitError (over a bound) or std::invalid_argument (not JSON)
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ramflow::model {

struct JsonBounds {
  int max_depth = 16;              // containers inside containers
  std::size_t max_bytes = 48u << 20;  // heap the document may take while it is built
};

class JsonLimitError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

nlohmann::json parse_bounded_json(std::string_view text, const JsonBounds& bounds);

// What parse_bounded_json counts for the whole of `text` (without keeping
// it), to size a budget. Throws like parse_bounded_json.
std::size_t estimated_json_heap_bytes(std::string_view text, int max_depth);

}  // namespace ramflow::model
