#include "model/bounded_json.h"

#include <limits>
#include <string>
#include <vector>

namespace ramflow::model {
namespace {

using json = nlohmann::json;

// Heap bytes, glibc malloc chunks included (tests/unit/model/bounded_json_test.cpp
// checks that the count stays above the measured peak of every shape):
constexpr std::size_t kSlotBytes = 16;     // a json value inside an array
constexpr std::size_t kArrayBytes = 32;    // the std::vector an array points to
constexpr std::size_t kObjectBytes = 64;   // the std::map an object points to
constexpr std::size_t kMemberBytes = 128;  // a map node: tree links, key, value
constexpr std::size_t kStringBytes = 48;   // the std::string a string points to
constexpr std::size_t kShortString = 15;   // longer ones have their own heap block
constexpr std::size_t kParserBytes = 1u << 20;  // the parser's own, and the heap's slack

std::size_t string_heap(std::size_t length) { return length > kShortString ? length + 32 : 0; }

// nlohmann's SAX events into a DOM, counting as it goes. (nlohmann's own
// callback parser is no use here: it rescans the parent at each closing
// bracket, quadratic in the siblings — minutes for a 4 MiB array of {}.)
class CountingBuilder {
 public:
  CountingBuilder(const JsonBounds& bounds, bool keep) : bounds_(bounds), keep_(keep) {}

  json root;
  std::size_t counted = 0;

  bool null() { return add(nullptr, 0); }
  bool boolean(bool v) { return add(v, 0); }
  bool number_integer(json::number_integer_t v) { return add(v, 0); }
  bool number_unsigned(json::number_unsigned_t v) { return add(v, 0); }
  bool number_float(json::number_float_t v, const json::string_t&) { return add(v, 0); }
  bool string(json::string_t& v) {
    const std::size_t bytes = kStringBytes + string_heap(v.size()) + token(v.size());
    return add(std::move(v), bytes);
  }
  bool binary(json::binary_t& v) {
    const std::size_t bytes = kStringBytes + v.size();
    return add(std::move(v), bytes);
  }
  bool start_object(std::size_t) { return open(json::object(), kObjectBytes); }
  bool start_array(std::size_t) { return open(json::array(), kArrayBytes); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    charge(kMemberBytes + string_heap(k.size()) + token(k.size()));
    key_ = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const json::exception& e) {
    throw std::invalid_argument(e.what());
  }

 private:
  struct Frame {
    json* container = nullptr;  // null when only counting
    bool is_array = false;
    std::size_t size = 0;
    std::size_t capacity = 0;
  };

  void charge(std::size_t bytes) {
    counted += bytes;
    if (counted > bounds_.max_bytes) {
      throw JsonLimitError("would take more than " + std::to_string(bounds_.max_bytes >> 20) +
                           " MiB of memory to load");
    }
  }

  // The lexer reads each string into two buffers (the text and its raw
  // bytes), grown by doubling and kept: the largest string counts once, six
  // times (each buffer up to twice the string, old and new block while it grows).
  std::size_t token(std::size_t length) {
    if (6 * length <= token_bytes_) return 0;
    const std::size_t more = 6 * length - token_bytes_;
    token_bytes_ = 6 * length;
    return more;
  }

  // An array's vector doubles when full and the old blocks stay in the heap
  // (so each new block counts in full), and destroying the array moves its
  // values into one more block of its size (nlohmann's iterative destroy):
  // half as much again.
  std::size_t slot_bytes() {
    if (stack_.empty() || !stack_.back().is_array) return 0;
    Frame& f = stack_.back();
    if (f.size++ < f.capacity) return 0;
    f.capacity = f.capacity == 0 ? 1 : 2 * f.capacity;
    return kSlotBytes * f.capacity * 3 / 2;
  }

  // Places a value in the open container (or as the root); its address stays
  // valid while it is the innermost open container.
  json* place(json&& value) {
    if (stack_.empty()) {
      root = std::move(value);
      return &root;
    }
    json& parent = *stack_.back().container;
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }

  bool add(json&& value, std::size_t bytes) {
    charge(bytes + slot_bytes());
    if (keep_ && !stack_.empty()) place(std::move(value));
    else if (stack_.empty()) root = std::move(value);
    return true;
  }

  bool open(json&& container, std::size_t bytes) {
    if (stack_.size() >= static_cast<std::size_t>(bounds_.max_depth)) {
      throw JsonLimitError("nested deeper than " + std::to_string(bounds_.max_depth) + " levels");
    }
    charge(bytes + slot_bytes());
    Frame frame;
    frame.is_array = container.is_array();
    if (keep_) frame.container = place(std::move(container));
    stack_.push_back(frame);
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  const JsonBounds& bounds_;
  const bool keep_;
  std::size_t token_bytes_ = 0;
  std::vector<Frame> stack_;
  json::string_t key_;
};

std::size_t parse_counted(std::string_view text, const JsonBounds& bounds, bool keep, json* out) {
  CountingBuilder builder(bounds, keep);
  builder.counted = kParserBytes;
  json::sax_parse(text.begin(), text.end(), &builder);
  if (out) *out = std::move(builder.root);
  return builder.counted;
}

}  // namespace

json parse_bounded_json(std::string_view text, const JsonBounds& bounds) {
  json out;
  parse_counted(text, bounds, true, &out);
  return out;
}

std::size_t estimated_json_heap_bytes(std::string_view text, int max_depth) {
  return parse_counted(text, {max_depth, std::numeric_limits<std::size_t>::max()}, false, nullptr);
}

}  // namespace ramflow::model
