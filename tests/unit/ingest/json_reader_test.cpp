// JsonReader: the strict JSON subset agent packets use (RFC 8259), read
// without building a DOM. Every malformed input throws JsonError.
#include "ingest/json_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace ramflow::ingest {
namespace {

std::string string_of(std::string_view json) {
  JsonReader r(json);
  std::string out;
  r.read_string(out);
  r.expect_end();
  return out;
}

JsonNumber number_of(std::string_view json) {
  JsonReader r(json);
  JsonNumber n = r.read_number();
  r.expect_end();
  return n;
}

bool rejected(std::string_view json) {
  try {
    scan_object(json);
    return false;
  } catch (const JsonError&) {
    return true;
  }
}

TEST(JsonReader, UnescapesEveryShortEscape) {
  EXPECT_EQ(string_of(R"("a\"b\\c\/d\be\ff\ng\rh\ti")"), "a\"b\\c/d\be\ff\ng\rh\ti");
}

TEST(JsonReader, DecodesUnicodeEscapesIncludingSurrogatePairs) {
  EXPECT_EQ(string_of(R"("\u00e9\u20ac")"), "\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(string_of(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");
}

TEST(JsonReader, KeepsValidUtf8AsIs) { EXPECT_EQ(string_of("\"caf\xc3\xa9\""), "caf\xc3\xa9"); }

TEST(JsonReader, RejectsALoneSurrogate) {
  EXPECT_THROW(string_of(R"("\ud83d")"), JsonError);
  EXPECT_THROW(string_of(R"("\ude00")"), JsonError);
}

TEST(JsonReader, RejectsInvalidUtf8) {
  EXPECT_THROW(string_of("\"\xc0\xaf\""), JsonError);      // overlong '/'
  EXPECT_THROW(string_of("\"\xed\xa0\x80\""), JsonError);  // encoded surrogate
  EXPECT_THROW(string_of("\"\xff\""), JsonError);
}

TEST(JsonReader, RejectsRawControlCharactersInStrings) { EXPECT_THROW(string_of("\"a\nb\""), JsonError); }

TEST(JsonReader, RejectsAnUnterminatedString) { EXPECT_THROW(string_of(R"("abc)"), JsonError); }

TEST(JsonReader, IntegersKeepTheirExactMagnitude) {
  const JsonNumber big = number_of("18446744073709551615");
  EXPECT_EQ(big.kind, JsonNumber::non_negative_integer);
  EXPECT_EQ(big.magnitude, 18446744073709551615ull);
  const JsonNumber negative = number_of("-42");
  EXPECT_EQ(negative.kind, JsonNumber::negative_integer);
  EXPECT_EQ(negative.magnitude, 42u);
  EXPECT_EQ(negative.value, -42);
}

TEST(JsonReader, FractionsAndExponentsAreReal) {
  EXPECT_EQ(number_of("1.5").kind, JsonNumber::real);
  EXPECT_DOUBLE_EQ(number_of("1.5").value, 1.5);
  EXPECT_EQ(number_of("2e3").kind, JsonNumber::real);
  EXPECT_DOUBLE_EQ(number_of("2e3").value, 2000);
}

TEST(JsonReader, AnIntegerPastSixtyFourBitsIsARealNotAnError) {
  const JsonNumber n = number_of("184467440737095516160");
  EXPECT_EQ(n.kind, JsonNumber::real);
  EXPECT_GT(n.value, 1.8e20);
}

TEST(JsonReader, AnOutOfRangeRealIsHugeForTheRangeCheckToReject) {
  EXPECT_TRUE(std::isinf(number_of("1e999").value));
}

TEST(JsonReader, RejectsNumbersJsonDoesNotAllow) {
  for (const char* bad : {"01", "1.", ".5", "+1", "1e", "-", "0x10", "NaN", "Infinity"}) {
    EXPECT_THROW(number_of(bad), JsonError) << bad;
  }
}

TEST(JsonReader, ReadsLiterals) {
  JsonReader t("true");
  EXPECT_TRUE(t.read_bool());
  JsonReader f("false");
  EXPECT_FALSE(f.read_bool());
  JsonReader n("null");
  EXPECT_TRUE(n.read_null());
  JsonReader not_null("1");
  EXPECT_FALSE(not_null.read_null());
  JsonReader bad("tru");
  EXPECT_THROW(bad.read_bool(), JsonError);
}

TEST(JsonReader, IteratesAnArray) {
  JsonReader r("[1, 2 ,3]");
  r.begin_array();
  std::vector<std::uint64_t> seen;
  while (r.next_element()) seen.push_back(r.read_number().magnitude);
  r.expect_end();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(JsonReader, AnEmptyArrayHasNoElement) {
  JsonReader r("[ ]");
  r.begin_array();
  EXPECT_FALSE(r.next_element());
}

TEST(JsonReader, ScanObjectListsEachKeyWithWhereItsValueStarts) {
  const std::string text = R"({"v": 1, "type":"call", "r":[{"a":null}]})";
  const auto fields = scan_object(text);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].key, "v");
  EXPECT_EQ(text[fields[0].value_position], '1');
  EXPECT_EQ(fields[1].key, "type");
  EXPECT_EQ(text.substr(fields[1].value_position, 6), "\"call\"");
  EXPECT_EQ(fields[2].key, "r");
  EXPECT_EQ(text[fields[2].value_position], '[');
}

TEST(JsonReader, ScanObjectKeepsEscapedKeysRaw) {
  const auto fields = scan_object(R"({"t\u0079pe": 1})");
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].key, "t\\u0079pe");  // never equal to "type"
}

TEST(JsonReader, ScanObjectRejectsWhatIsNotOneObject) {
  for (const char* bad : {"", "[]", "{} {}", R"({"a":1,})", R"({"a" 1})", R"({a:1})", R"({"a":1)", "{\"a\":[1,]}"}) {
    EXPECT_TRUE(rejected(bad)) << bad;
  }
}

TEST(JsonReader, NestingDeeperThanTheCapIsRejected) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < JsonReader::kMaxDepth + 2; ++i) deep += "[";
  for (int i = 0; i < JsonReader::kMaxDepth + 2; ++i) deep += "]";
  deep += "}";
  EXPECT_TRUE(rejected(deep));
  std::string shallow = "{\"a\":[[[]]]}";
  EXPECT_FALSE(rejected(shallow));
}

}  // namespace
}  // namespace ramflow::ingest
