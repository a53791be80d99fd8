// Standard base64 (RFC 4648, with padding): the encoding of
// AdmissionResponse.patch.
#pragma once

#include <string>
#include <string_view>

namespace ramflow::webhook {

std::string base64_encode(std::string_view bytes);

}  // namespace ramflow::webhook
