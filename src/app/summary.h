// The executive summary `ramflowd run` prints when the command ends: layers,
// integrity, the four KPIs, the top net-self culprits, the recommended limit.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ramflow::app {

std::string executive_summary(const nlohmann::json& report);

}  // namespace ramflow::app
