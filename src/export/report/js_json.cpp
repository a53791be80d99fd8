#include "export/report/js_json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ramflow::exporter {
namespace {

void write(const nlohmann::json& v, std::string& out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out += ',';
        first = false;
        out += nlohmann::json(key).dump();
        out += ':';
        write(item, out);
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::array: {
      out += '[';
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        write(v[i], out);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::number_float:
      out += js_number(v.get<double>());
      return;
    case nlohmann::json::value_t::discarded:
      out += "null";
      return;
    default:  // null, bool, string, integers: nlohmann writes these as JavaScript does
      out += v.dump();
  }
}

}  // namespace

std::string js_number(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == 0) return "0";  // -0 too
  char buf[64];
  // Shortest round-trip digits as d.ddde±x; ECMAScript then picks the layout from k and n.
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(value), std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::size_t e = sci.find('e');
  std::string digits = sci.substr(0, 1) + (e > 2 ? sci.substr(2, e - 2) : "");
  const int k = static_cast<int>(digits.size());
  const int n = std::atoi(sci.c_str() + e + 1) + 1;  // value = 0.digits x 10^n
  std::string out = value < 0 ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(-n, '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string js_stringify(const nlohmann::json& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace ramflow::exporter
