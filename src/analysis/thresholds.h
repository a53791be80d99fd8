#pragma once
// Every verdict threshold of ramflowd, in one place. The defaults of the
// options that can change them (src/config) come from here; the dashboards,
// the alert rules and the chart read the same values from thresholds.yaml,
// and a test fails when the two disagree. Ratios are 0..1; sizes in MiB where
// users give them in MiB.
namespace ramflow::analysis::thresholds {

// Integrity (RAMFLOW_LEAK_MEDIUM / RAMFLOW_LEAK_HIGH, --leak-medium / --leak-high).
inline constexpr double kLeakMediumMiB = 5;
inline constexpr double kLeakHighMiB = 20;

// Safety margin verdict: under the OOM-risk margin (--oom-risk-margin) it is
// critical, under the tight margin it is tight, else healthy.
inline constexpr double kOomRiskMargin = 0.10;
inline constexpr double kTightMargin = 0.25;
// Real memory pressure (PSI avg10 as a ratio): some at or over, or full at or over.
inline constexpr double kPressureSome = 0.40;
inline constexpr double kPressureFull = 0.10;

// Footprint verdict: the group's peak at or over this share of the limit is near it.
inline constexpr double kNearLimitRatio = 0.90;

// Reality check: bootstrap + ecosystem at or over this share of the peak means
// trim imports / INSTALLED_APPS, not loops.
inline constexpr double kRealityCheckShare = 0.70;

// Allocation speed over which code is "greedy" (--greedy-mib-per-second).
inline constexpr double kGreedyMiBPerSecond = 100;

// Leak probability bands: the probability always agrees with the level.
// LOW < kLeakProbabilityMedium <= MEDIUM < kLeakProbabilityHigh <= HIGH.
inline constexpr double kLeakProbabilityMedium = 0.35;
inline constexpr double kLeakProbabilityHigh = 0.85;

// Recommendations: limit = peak x (1 + headroom) (--headroom); request = the
// kRequestQuantile of per-bucket peaks x kRequestFactor (the VPA's habit).
inline constexpr double kHeadroom = 0.20;
inline constexpr double kRequestQuantile = 0.90;
inline constexpr double kRequestFactor = 1.15;

// Share of the cgroup's non-reclaimable memory the watched workers must hold
// for the cgroup's figures to stand for theirs (else: their own, summed).
inline constexpr double kWorkersAloneShare = 0.80;

}  // namespace ramflow::analysis::thresholds
