// JSON text exactly as JavaScript's JSON.stringify(value) writes it: compact,
// keys in the document's order, numbers in ECMAScript's Number::toString form
// (1777889700 not 1777889700.0, 1e+21, 1e-7). The standalone report must be
// byte-identical to tests/ui/build-standalone.mjs, which re-serializes with it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ramflow::exporter {

// NaN and infinities become null, as in JavaScript. Throws nlohmann's
// type_error on a string that is not valid UTF-8.
std::string js_stringify(const nlohmann::json& value);

// ECMAScript Number::toString of a double (shortest round-trip digits).
std::string js_number(double value);

}  // namespace ramflow::exporter
