#include "export/report/badge.h"

#include <stdexcept>

namespace ramflow::exporter {
namespace {

struct Look {
  std::string_view status, text, colour;
};

// shields.io's brightgreen, yellow, red and lightgrey.
constexpr Look kLooks[] = {
    {"secure", "SECURE", "#4c1"},
    {"stable", "STABLE", "#dfb317"},
    {"bloated", "BLOATED", "#e05d44"},
    {"unknown", "UNKNOWN", "#9f9f9f"},
};

// Width of an upper-case word or "ramflow" in 11 px Verdana, rounded up: a
// badge needs no font metrics beyond its own few words.
int text_width(std::string_view text) {
  int width = 0;
  for (char c : text) width += (c >= 'A' && c <= 'Z') ? 8 : 7;
  return width;
}

// The middle of a box, as SVG text ("24" or "24.5").
std::string centre(int from, int width) {
  const int twice = 2 * from + width;
  return std::to_string(twice / 2) + (twice % 2 ? ".5" : "");
}

}  // namespace

std::string integrity_badge_svg(std::string_view status) {
  const Look* look = nullptr;
  for (const auto& l : kLooks) {
    if (l.status == status) look = &l;
  }
  if (!look) {
    throw std::invalid_argument("integrity status \"" + std::string(status) +
                                "\" has no badge: expected secure, stable, bloated or unknown");
  }
  constexpr std::string_view kLabel = "ramflow";
  const int left = text_width(kLabel) + 10;
  const int right = text_width(look->text) + 10;
  const int total = left + right;
  const std::string l = std::to_string(left), r = std::to_string(right), t = std::to_string(total);
  const std::string label_x = centre(0, left), value_x = centre(left, right);
  std::string text(look->text), colour(look->colour);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + t + "\" height=\"20\" role=\"img\" aria-label=\"ramflow: " + text +
         "\">\n"
         "<title>ramflow: " + text + "</title>\n"
         "<linearGradient id=\"s\" x2=\"0\" y2=\"100%\"><stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/>"
         "<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>\n"
         "<clipPath id=\"r\"><rect width=\"" + t + "\" height=\"20\" rx=\"3\" fill=\"#fff\"/></clipPath>\n"
         "<g clip-path=\"url(#r)\"><rect width=\"" + l + "\" height=\"20\" fill=\"#555\"/>"
         "<rect x=\"" + l + "\" width=\"" + r + "\" height=\"20\" fill=\"" + colour + "\"/>"
         "<rect width=\"" + t + "\" height=\"20\" fill=\"url(#s)\"/></g>\n"
         "<g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">"
         "<text x=\"" + label_x + "\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">ramflow</text>"
         "<text x=\"" + label_x + "\" y=\"14\">ramflow</text>"
         "<text x=\"" + value_x + "\" y=\"15\" fill=\"#010101\" fill-opacity=\".3\">" + text + "</text>"
         "<text x=\"" + value_x + "\" y=\"14\">" + text + "</text></g>\n"
         "</svg>\n";
}

std::string report_badge_svg(const nlohmann::json& report) {
  const auto* status = &report;
  for (const char* key : {"executive", "integrity", "status"}) {
    if (!status->is_object() || !status->contains(key)) {
      throw std::invalid_argument("the report lacks executive.integrity.status: build it with build_report()");
    }
    status = &(*status)[key];
  }
  if (!status->is_string()) throw std::invalid_argument("executive.integrity.status is not a string");
  return integrity_badge_svg(status->get<std::string>());
}

}  // namespace ramflow::exporter
