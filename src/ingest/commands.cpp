#include "ingest/commands.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "ingest/limits.h"
#include "ingest/messages.h"

namespace ramflow::ingest {
namespace {

// Ids and reasons are ramflowd's own words: checked, then written without escaping.
bool plain(const std::string& text, std::size_t max, bool lower_only) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || c == '_' ||
              (!lower_only && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string encode(const CaptureCommand& c) {
  if (!plain(c.id, kMaxCaptureIdBytes, false)) throw std::invalid_argument("capture id: 1 to 64 of [A-Za-z0-9_.-]");
  if (!plain(c.why, 32, true)) throw std::invalid_argument("capture reason: 1 to 32 of [a-z_]");
  if (c.tasks < 1 || c.tasks > kMaxCaptureTasks) throw std::invalid_argument("capture tasks: 1 to 100000");
  if (!std::isfinite(c.seconds) || c.seconds <= 0 || c.seconds > kMaxCaptureSeconds) {
    throw std::invalid_argument("capture seconds: above 0, at most 3600");
  }
  if (c.frames < 1 || c.frames > kMaxSiteFrames) throw std::invalid_argument("capture frames: 1 to 64");
  if (c.top < 1 || c.top > kMaxCaptureSites) throw std::invalid_argument("capture top: 1 to 50");
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.3f", c.seconds);
  return "{\"v\":" + std::to_string(kProtocolVersion) + ",\"type\":\"capture\",\"id\":\"" + c.id + "\",\"why\":\"" +
         c.why + "\",\"tasks\":" + std::to_string(c.tasks) + ",\"seconds\":" + seconds +
         ",\"frames\":" + std::to_string(c.frames) + ",\"top\":" + std::to_string(c.top) + "}";
}

}  // namespace ramflow::ingest
