#pragma once
// Integrity (SECURE / STABLE / BLOATED), the python-ram-flow verdicts shown
// beside ours, and what holds a bloat (Python objects or native buffers).

#include <span>
#include <string>
#include <string_view>

#include "analysis/allocation_capture.h"
#include "analysis/leak_detector.h"
#include "thresholds/thresholds.h"
#include "analysis/units.h"

namespace ramflow::analysis {


// RAMFLOW_LEAK_MEDIUM / RAMFLOW_LEAK_HIGH (MiB) arrive here as bytes.
struct ResidualThresholds {
  double medium_bytes = thresholds::kLeakMediumMiB * kMiB;
  double high_bytes = thresholds::kLeakHighMiB * kMiB;
};

// Empty when usable, else what the user must change.
std::string validate(const ResidualThresholds& thresholds);

enum class Integrity { secure, stable, bloated };
std::string_view to_string(Integrity integrity);

// SECURE: residual < medium threshold and leak low. BLOATED: residual >= high
// threshold or leak high. STABLE otherwise.
Integrity integrity(double residual_bytes, LeakLevel leak, const ResidualThresholds& thresholds);

// python-ram-flow's own rule, shown beside ours: a fixed residual threshold
// (< medium low, < high medium, else high), and the residual read against the
// peak footprint (its "residual leak vs peak footprint").
struct SeedVerdict {
  LeakLevel level = LeakLevel::low;
  double residual_share_of_peak = 0;  // residual / peak, clamped to 0..1; 0 when peak is 0
};
SeedVerdict seed_verdict(double residual_bytes, double peak_bytes, const ResidualThresholds& thresholds);

// One task record's changes between its start and its end.
struct TaskDelta {
  double allocated_blocks = 0;  // sys.getallocatedblocks() delta (pymalloc blocks)
  double rss_anon_bytes = 0;    // RssAnon delta
};

enum class BloatHolder { none, python_objects, native_buffers, mixed };
std::string_view to_string(BloatHolder holder);

struct BloatAttribution {
  double retained_bytes = 0;        // sum of RssAnon deltas (clamped at 0)
  double python_object_bytes = 0;   // block delta x bytes_per_block, at most retained
  double native_bytes = 0;          // retained - Python objects
  BloatHolder holder = BloatHolder::none;
  std::string reason;
  std::string capture_id;  // measured by this allocation-site capture; empty: estimated from the blocks
};

// Python-object bytes are estimated as the block delta x a typical pymalloc
// block (64 B: small ints, short str, tuples, dict entries); objects over
// 512 B go through malloc and count as native. >= 60 % of the retained anon
// bytes -> python_objects, <= 40 % -> native_buffers, else mixed.
inline constexpr double kBytesPerPythonBlock = 64;
BloatAttribution what_holds_bloat(std::span<const TaskDelta> tasks, double bytes_per_block = kBytesPerPythonBlock);

// A finished allocation-site capture measured the split over its window:
// tracemalloc traces every Python allocation, pymalloc or not, so its verdict
// replaces the block estimate (which counts a large object, a dict's table or a
// str over 512 B, as native). A window that grew less than
// kMeasuredGrowthMinBytes leaves the estimate: allocator warm-up, or a window
// no task ran in (a Celery child idle after its burst, ended by its exit, grew
// 10 KB), says nothing about what holds the bloat.
inline constexpr double kMeasuredGrowthMinBytes = kNativeMinBytes;
BloatAttribution measured_bloat(const GrowthSplit& split, const std::string& capture_id, const BloatAttribution& estimate);

}  // namespace ramflow::analysis
