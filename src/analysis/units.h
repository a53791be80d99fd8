#pragma once
// Binary size units (Kubernetes' Ki / Mi / Gi).

namespace ramflow::analysis {

inline constexpr double kKiB = 1024.0;
inline constexpr double kMiB = 1024.0 * kKiB;
inline constexpr double kGiB = 1024.0 * kMiB;

}  // namespace ramflow::analysis
