#include "ingest/json_reader.h"

#include <charconv>
#include <cmath>

namespace ramflow::ingest {

void JsonReader::skip_space() {
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
    ++pos_;
  }
}

char JsonReader::peek() {
  skip_space();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

void JsonReader::expect(char c) {
  if (peek() != c) throw JsonError{};
  ++pos_;
}

bool JsonReader::consume(char c) {
  if (peek() != c) return false;
  ++pos_;
  return true;
}

void JsonReader::expect_end() {
  skip_space();
  if (pos_ != text_.size()) throw JsonError{};
}

void JsonReader::literal(std::string_view word) {
  if (text_.substr(pos_, word.size()) != word) throw JsonError{};
  pos_ += word.size();
}

bool JsonReader::read_null() {
  if (peek() != 'n') return false;
  literal("null");
  return true;
}

bool JsonReader::read_bool() {
  char c = peek();
  if (c == 't') {
    literal("true");
    return true;
  }
  if (c == 'f') {
    literal("false");
    return false;
  }
  throw JsonError{};
}

std::uint32_t JsonReader::hex4() {
  if (pos_ + 4 > text_.size()) throw JsonError{};
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    char c = text_[pos_++];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v |= c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v |= c - 'A' + 10;
    } else {
      throw JsonError{};
    }
  }
  return v;
}

void JsonReader::append_utf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of the valid UTF-8 sequence starting at s[0] (RFC 3629), 0 if invalid.
static std::size_t utf8_sequence(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
  }
  if (c == 0xE0 && b(1) < 0xA0) return 0;                  // overlong
  if (c == 0xED && b(1) >= 0xA0) return 0;                 // surrogates
  if (c == 0xF0 && b(1) < 0x90) return 0;                  // overlong
  if (c == 0xF4 && b(1) >= 0x90) return 0;                 // > U+10FFFF
  return n;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void JsonReader::read_string(std::string& out) {
  out.clear();
  scan_string(&out);
}

// Validates a string; appends its unescaped value to *out unless out is null.
void JsonReader::scan_string(std::string* out) {
  expect('"');
  for (;;) {
    if (pos_ >= text_.size()) throw JsonError{};
    unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      return;
    }
    if (c < 0x20) throw JsonError{};
    if (c == '\\') {
      if (++pos_ >= text_.size()) throw JsonError{};
      char e = text_[pos_++];
      switch (e) {
        case '"': if (out) *out += '"'; break;
        case '\\': if (out) *out += '\\'; break;
        case '/': if (out) *out += '/'; break;
        case 'b': if (out) *out += '\b'; break;
        case 'f': if (out) *out += '\f'; break;
        case 'n': if (out) *out += '\n'; break;
        case 'r': if (out) *out += '\r'; break;
        case 't': if (out) *out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") throw JsonError{};
            pos_ += 2;
            std::uint32_t low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) throw JsonError{};
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            throw JsonError{};
          }
          if (out) append_utf8(cp, *out);
          break;
        }
        default: throw JsonError{};
      }
      continue;
    }
    if (c < 0x80) {
      std::size_t start = pos_;
      while (pos_ < text_.size()) {
        unsigned char d = static_cast<unsigned char>(text_[pos_]);
        if (d == '"' || d == '\\' || d < 0x20 || d >= 0x80) break;
        ++pos_;
      }
      if (out) out->append(text_.substr(start, pos_ - start));
      continue;
    }
    std::size_t n = utf8_sequence(text_.substr(pos_));
    if (n == 0) throw JsonError{};
    if (out) out->append(text_.substr(pos_, n));
    pos_ += n;
  }
}

JsonNumber JsonReader::read_number() {
  skip_space();
  std::size_t start = pos_;
  bool negative = pos_ < text_.size() && text_[pos_] == '-';
  if (negative) ++pos_;
  std::size_t digits = pos_;
  if (pos_ < text_.size() && text_[pos_] == '0') {
    ++pos_;
  } else {
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
  }
  if (pos_ == digits) throw JsonError{};
  bool integer = true;
  if (pos_ < text_.size() && text_[pos_] == '.') {
    integer = false;
    std::size_t f = ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ == f) throw JsonError{};
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    integer = false;
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    std::size_t e = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ == e) throw JsonError{};
  }
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;
  JsonNumber n{JsonNumber::real};
  if (integer) {
    auto [p, ec] = std::from_chars(text_.data() + digits, last, n.magnitude);
    if (ec == std::errc()) {
      n.kind = negative ? JsonNumber::negative_integer : JsonNumber::non_negative_integer;
      n.value = negative ? -static_cast<double>(n.magnitude) : static_cast<double>(n.magnitude);
      return n;
    }
  }
  auto [p, ec] = std::from_chars(first, last, n.value);
  if (ec == std::errc::result_out_of_range) {
    n.value = HUGE_VAL;  // absurd, judged by the caller's range check
  } else if (ec != std::errc()) {
    throw JsonError{};
  }
  return n;
}

bool JsonReader::next_element() {
  if (first_) {
    first_ = false;
    if (consume(']')) return false;
    return true;
  }
  if (consume(']')) return false;
  expect(',');
  return true;
}

void JsonReader::skip_value(int depth) {
  if (depth > kMaxDepth) throw JsonError{};
  char c = peek();
  if (c == '"') {
    scan_string(nullptr);
  } else if (c == '{') {
    ++pos_;
    if (consume('}')) return;
    do {
      if (peek() != '"') throw JsonError{};
      scan_string(nullptr);
      expect(':');
      skip_value(depth + 1);
    } while (consume(','));
    expect('}');
  } else if (c == '[') {
    ++pos_;
    if (consume(']')) return;
    do {
      skip_value(depth + 1);
    } while (consume(','));
    expect(']');
  } else if (c == 't' || c == 'f') {
    read_bool();
  } else if (c == 'n') {
    read_null();
  } else {
    read_number();
  }
}

std::vector<JsonField> scan_object(std::string_view text) {
  JsonReader r(text);
  std::vector<JsonField> fields;
  r.expect('{');
  if (!r.consume('}')) {
    std::string key;
    do {
      if (r.peek() != '"') throw JsonError{};
      std::size_t key_start = r.position();
      r.read_string(key);
      // Keys are compared raw: an escaped key never names a known field.
      std::string_view raw = text.substr(key_start + 1, r.position() - key_start - 2);
      r.expect(':');
      r.peek();
      fields.push_back({raw, r.position()});
      r.skip_value(1);
    } while (r.consume(','));
    r.expect('}');
  }
  r.expect_end();
  return fields;
}

}  // namespace ramflow::ingest
