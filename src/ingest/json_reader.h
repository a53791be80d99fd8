// A strict, allocation-light JSON reader for agent packets: just what the
// decoder needs, several times faster than building a DOM (the ingest target
// is 200,000 events/s on one core). Errors throw JsonError; depth is capped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ramflow::ingest {

struct JsonError {};

struct JsonNumber {
  enum Kind { non_negative_integer, negative_integer, real } kind;
  std::uint64_t magnitude = 0;  // integers: absolute value
  double value = 0;             // always set
};

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates).
bool is_valid_utf8(std::string_view s);

class JsonReader {
 public:
  static constexpr int kMaxDepth = 16;

  explicit JsonReader(std::string_view text, std::size_t position = 0) : text_(text), pos_(position) {}

  char peek();  // next non-space character, '\0' at the end
  void expect(char c);
  bool consume(char c);  // skips spaces; consumes c if it is next
  void expect_end();

  void read_string(std::string& out);
  JsonNumber read_number();
  bool read_bool();
  bool read_null();  // consumes "null" if it is next
  void skip_value(int depth = 0);

  // Array iteration: begin_array(); while (next_element()) { read... }
  void begin_array() { expect('['); first_ = true; }
  bool next_element();

  std::size_t position() const { return pos_; }

 private:
  void skip_space();
  void scan_string(std::string* out);
  void literal(std::string_view word);
  void append_utf8(std::uint32_t code_point, std::string& out);
  std::uint32_t hex4();

  std::string_view text_;
  std::size_t pos_;
  bool first_ = false;
};

// The members of a top-level object: keys (raw, unescaped only if plain) and
// where each value starts. Values are validated while scanning.
struct JsonField {
  std::string_view key;
  std::size_t value_position;
};
std::vector<JsonField> scan_object(std::string_view text);

}  // namespace ramflow::ingest
