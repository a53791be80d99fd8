#include "probe/psi.h"

#include "probe/detail/fields.h"
#include "probe/detail/file_read.h"

namespace ramflow::probe {

using namespace detail;

namespace {

struct PsiLine {
  double avg10, avg60, avg300;
  std::uint64_t total;
};

// "avg10=0.00 avg60=0.00 avg300=0.00 total=0" (the part after "some"/"full").
std::optional<PsiLine> parse_psi_line(const std::vector<std::string_view>& tokens) {
  if (tokens.size() != 5) return std::nullopt;
  const auto value_of = [&](std::size_t i, std::string_view key) -> std::string_view {
    const std::string_view t = tokens[i];
    if (t.size() <= key.size() + 1 || t.substr(0, key.size()) != key || t[key.size()] != '=') return {};
    return t.substr(key.size() + 1);
  };
  const auto a10 = parse_double(value_of(1, "avg10"));
  const auto a60 = parse_double(value_of(2, "avg60"));
  const auto a300 = parse_double(value_of(3, "avg300"));
  const auto total = parse_u64(value_of(4, "total"));
  if (!a10 || !a60 || !a300 || !total) return std::nullopt;
  return PsiLine{*a10, *a60, *a300, *total};
}

}  // namespace

Result<Psi> read_psi(const std::string& file) {
  auto text = read_file(file);
  if (!text) return text.error();
  std::string_view t = text.value();
  if (auto e = require_complete(t, file)) return *e;
  Psi psi;
  bool has_some = false;
  while (!t.empty()) {
    const std::size_t nl = t.find('\n');
    const auto tokens = split_whitespace(t.substr(0, nl));
    t.remove_prefix(nl + 1);
    if (tokens.empty()) continue;
    const bool some = tokens[0] == "some";
    if (!some && tokens[0] != "full") continue;
    const auto line = parse_psi_line(tokens);
    if (!line) return ReadError{ErrorKind::kMalformed, file, "garbled \"" + std::string(tokens[0]) + "\" line"};
    if (some) {
      psi.some_avg10 = line->avg10, psi.some_avg60 = line->avg60, psi.some_avg300 = line->avg300;
      psi.some_total_us = line->total;
      has_some = true;
    } else {
      psi.full_avg10 = line->avg10, psi.full_avg60 = line->avg60, psi.full_avg300 = line->avg300;
      psi.full_total_us = line->total;
      psi.has_full = true;
    }
  }
  if (!has_some) return ReadError{ErrorKind::kMalformed, file, "missing \"some\" line"};
  return psi;
}

}  // namespace ramflow::probe
