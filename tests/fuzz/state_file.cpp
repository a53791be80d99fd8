// The state file read back at start (daemon::StateStore): arbitrary bytes
// through the bounded JSON parse (which must agree with nlohmann's own parse
// whenever it takes a document), then analysis::analysis_state_from_json, the
// Analyzer's restore (leak windows, bucket series) and the OOM tracker's
// restore, and the capture book's part. Every input is taken or refused with
// a message; a taken state saves back to itself.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "analysis/state.h"
#include "check.h"
#include "config/config.h"
#include "daemon/analyzer.h"
#include "model/allocation_capture_json.h"
#include "model/bounded_json.h"
#include "model/oom_tracker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ramflow;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j;
  try {
    j = model::parse_bounded_json(text, {16, 64u << 20});
  } catch (const std::invalid_argument& e) {
    RAMFLOW_FUZZ_CHECK(std::string(e.what()).size() > 0);
    return 0;
  }
  RAMFLOW_FUZZ_CHECK(j == nlohmann::json::parse(text));
  if (!j.is_object()) return 0;
  if (j.contains("analysis")) {
    try {
      const auto state = analysis::analysis_state_from_json(j["analysis"]);
      daemon::Analyzer analyzer{config::Config{}};
      analyzer.restore(state, 0);
      const auto saved = analysis::to_json(analyzer.save_state());
      RAMFLOW_FUZZ_CHECK(analysis::to_json(analysis::analysis_state_from_json(saved)) == saved);
    } catch (const std::invalid_argument& e) {
      RAMFLOW_FUZZ_CHECK(std::string(e.what()).size() > 0);
    }
  }
  if (j.contains("oom")) {
    model::OomTracker tracker;
    std::string error;
    if (!tracker.restore(j["oom"].dump(), &error)) RAMFLOW_FUZZ_CHECK(!error.empty());
    RAMFLOW_FUZZ_CHECK(tracker.history().size() <= 100);
  }
  if (j.contains("captures")) {
    std::deque<model::AllocationCapture> book;
    model::LastAutomatic last;
    std::string error;
    if (model::captures_from_json(j["captures"].dump(), 64, book, last, &error)) {
      RAMFLOW_FUZZ_CHECK(book.size() <= 64);
      const std::string saved = model::captures_to_json(book, last);
      std::deque<model::AllocationCapture> again;
      model::LastAutomatic again_last;
      RAMFLOW_FUZZ_CHECK(model::captures_from_json(saved, 64, again, again_last, &error));
      RAMFLOW_FUZZ_CHECK(model::captures_to_json(again, again_last) == saved);
    } else {
      RAMFLOW_FUZZ_CHECK(!error.empty());
    }
  }
  return 0;
}
