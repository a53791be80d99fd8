// Bounded reads of kernel files, with errno mapped to ErrorKind.
#pragma once

#include <cstddef>
#include <string>

#include "probe/result.h"

namespace ramflow::probe::detail {

// Kernel text files we parse are a few KiB; anything larger is not what we expect.
inline constexpr std::size_t kMaxFileBytes = 64 * 1024;

enum class Overflow {
  kError,     // a longer file is kMalformed
  kTruncate,  // keep the first max_bytes (cmdline)
};

Result<std::string> read_file(const std::string& path, std::size_t max_bytes = kMaxFileBytes,
                              Overflow overflow = Overflow::kError);

ReadError error_from_errno(int err, const std::string& path);

// "<root>/<a>/<b>" without doubled or missing slashes.
std::string join_path(std::string root, std::string_view rest);

}  // namespace ramflow::probe::detail
