// The agent protocol decoder on arbitrary packets: every input is either
// envelopes or a reject reason, never a crash, a leak or an exception.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "check.h"
#include "ingest/decoder.h"
#include "ingest/limits.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ramflow::ingest;
  const std::string_view packet(reinterpret_cast<const char*>(data), size);
  const DecodeResult result = decode(packet);
  if (const auto* envelopes = std::get_if<std::vector<Envelope>>(&result)) {
    RAMFLOW_FUZZ_CHECK(!envelopes->empty());
    RAMFLOW_FUZZ_CHECK(envelopes->size() <= kMaxRecordsPerMessage);
    RAMFLOW_FUZZ_CHECK(size <= kMaxMessageBytes);
  } else {
    RAMFLOW_FUZZ_CHECK(!to_string(std::get<RejectReason>(result)).empty());
  }
  return 0;
}
