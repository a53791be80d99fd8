// Leak-test quality benchmark. Usage:
//   ramflow_leak_quality TRACE_DIR [--seeds N] [--quiet]
// Runs LeakDetector over every trace listed in TRACE_DIR/index.csv (first N
// seeds of each kind), prints per trace the levels reached and when, compares
// with python-ram-flow's fixed residual threshold and Prometheus'
// predict_linear over 1 h, checks the targets and exits 1 if one is missed.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/leak_detector.h"

namespace {

using ramflow::analysis::LeakConfig;
using ramflow::analysis::LeakDetector;
using ramflow::analysis::LeakLevel;
using ramflow::analysis::LeakSample;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kMedium = 5 * kMiB, kHigh = 20 * kMiB;
constexpr double kHorizon = 24 * 3600.0;  // predict_linear's horizon = our restart horizon
constexpr double kHour = 3600.0;

struct Trace {
  std::string file, kind;
  int seed = 0;
  std::optional<int> plateau_task;
  std::vector<LeakSample> samples;
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

std::vector<Trace> load(const std::string& dir, int max_seed) {
  std::ifstream index(dir + "/index.csv");
  if (!index) {
    std::cerr << "cannot open " << dir << "/index.csv — regenerate it with "
              << "/usr/bin/python3 tests/data/traces/generate.py\n";
    std::exit(2);
  }
  std::vector<Trace> traces;
  std::string line;
  std::getline(index, line);
  while (std::getline(index, line)) {
    const auto cells = split(line);
    Trace t;
    t.file = cells.at(0);
    t.kind = cells.at(1);
    t.seed = std::stoi(cells.at(2));
    if (t.seed > max_seed) continue;
    if (cells.size() > 4 && !cells[4].empty()) t.plateau_task = std::stoi(cells[4]);
    std::ifstream f(dir + "/" + t.file);
    std::getline(f, line);
    while (std::getline(f, line)) {
      const auto row = split(line);
      t.samples.push_back({std::stod(row.at(0)), std::stod(row.at(1)), std::stod(row.at(2))});
    }
    traces.push_back(std::move(t));
  }
  return traces;
}

LeakLevel fixed_threshold(double residual) {
  return residual < kMedium ? LeakLevel::low : residual < kHigh ? LeakLevel::medium : LeakLevel::high;
}

// predict_linear(residual[1h], 24h): least squares over the last hour, the
// fitted value now extrapolated 24 h, against the same 5 / 20 MiB thresholds.
LeakLevel predict_linear(const std::vector<LeakSample>& s, size_t end, size_t min_samples) {
  const double now = s[end].time_s;
  size_t begin = end;
  while (begin > 0 && s[begin - 1].time_s >= now - kHour) --begin;
  const double n = static_cast<double>(end - begin + 1);
  if (n < static_cast<double>(min_samples)) return LeakLevel::low;
  double st = 0, sy = 0, stt = 0, sty = 0;
  for (size_t i = begin; i <= end; ++i) {
    const double t = s[i].time_s - now;
    st += t, sy += s[i].bytes, stt += t * t, sty += t * s[i].bytes;
  }
  const double slope = (n * sty - st * sy) / (n * stt - st * st);
  const double at_now = (sy - slope * st) / n;
  return fixed_threshold(at_now + slope * kHorizon);
}

struct Run {
  std::vector<LeakLevel> levels;  // per task; low before a verdict exists
  size_t evaluations = 0;
};

// The DESIGN.md rule as written: the step check switched off.
LeakConfig baseline_config() {
  LeakConfig c;
  c.step_share = 1e300;
  return c;
}

Run run_ours(const Trace& t, const LeakConfig& config) {
  LeakDetector detector{config};
  Run run;
  for (const auto& s : t.samples) {
    const auto& e = detector.add(s);
    run.evaluations += e.evaluated;
    run.levels.push_back(e.level);
  }
  return run;
}

Run run_rule(const Trace& t, bool predict) {
  Run run;
  const size_t min_samples = LeakConfig{}.min_samples;
  for (size_t i = 0; i < t.samples.size(); ++i) {
    run.levels.push_back(predict ? predict_linear(t.samples, i, min_samples) : fixed_threshold(t.samples[i].bytes));
    run.evaluations += !predict || i + 1 >= min_samples;
  }
  return run;
}

// Tasks seen when `level` (or above) was first reported; -1 if never.
int first_at(const Run& r, LeakLevel level, size_t from = 0) {
  for (size_t i = from; i < r.levels.size(); ++i)
    if (r.levels[i] >= level) return static_cast<int>(i + 1);
  return -1;
}

size_t count_at(const Run& r, LeakLevel level, size_t from = 0) {
  size_t n = 0;
  for (size_t i = from; i < r.levels.size(); ++i) n += r.levels[i] == level;
  return n;
}

// For the cache: tasks after the plateau until low was reported again.
int back_to_low(const Run& r, size_t plateau) {
  for (size_t i = plateau; i < r.levels.size(); ++i)
    if (r.levels[i] == LeakLevel::low) return static_cast<int>(i - plateau);
  return -1;
}

std::string when(int tasks) { return tasks < 0 ? "never" : std::to_string(tasks); }

struct KindSummary {
  int traces = 0;
  std::map<std::string, std::vector<int>> first_medium, first_high;  // by method
  std::map<std::string, size_t> medium_evals, high_evals, evals;
  std::vector<int> cache_back_to_low;
  int cache_high_after_low = 0;
};

int worst(const std::vector<int>& v) {  // -1 (never) counts as worst
  int w = 0;
  for (int x : v) w = (x < 0 || w < 0) ? -1 : std::max(w, x);
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ramflow_leak_quality TRACE_DIR [--seeds N] [--quiet]\n";
    return 2;
  }
  int max_seed = 1000;
  bool quiet = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seeds" && i + 1 < argc) max_seed = std::stoi(argv[++i]);
    else if (a == "--quiet") quiet = true;
    else {
      std::cerr << "unknown argument " << a << " — usage: ramflow_leak_quality TRACE_DIR [--seeds N] [--quiet]\n";
      return 2;
    }
  }
  const auto traces = load(argv[1], max_seed);
  if (traces.empty()) {
    std::cerr << "no traces in " << argv[1] << "\n";
    return 2;
  }
  const std::vector<std::string> methods = {"ramflow", "design_baseline", "fixed", "predict_linear"};
  std::map<std::string, KindSummary> kinds;
  std::vector<std::string> kind_order;
  if (!quiet) std::printf("%-22s %-15s %8s %8s %8s %8s %8s\n", "trace", "method", "medium@", "high@", "%medium", "%high", "final");
  for (const auto& t : traces) {
    if (!kinds.count(t.kind)) kind_order.push_back(t.kind);
    auto& k = kinds[t.kind];
    ++k.traces;
    for (const auto& m : methods) {
      const Run r = m == "ramflow"           ? run_ours(t, LeakConfig{})
                      : m == "design_baseline" ? run_ours(t, baseline_config())
                                               : run_rule(t, m == "predict_linear");
      const int fm = first_at(r, LeakLevel::medium), fh = first_at(r, LeakLevel::high);
      k.first_medium[m].push_back(fm);
      k.first_high[m].push_back(fh);
      k.medium_evals[m] += count_at(r, LeakLevel::medium);
      k.high_evals[m] += count_at(r, LeakLevel::high);
      k.evals[m] += r.evaluations;
      std::string extra;
      if (m == "ramflow" && t.plateau_task) {
        const int back = back_to_low(r, static_cast<size_t>(*t.plateau_task));
        k.cache_back_to_low.push_back(back);
        if (back >= 0) k.cache_high_after_low += static_cast<int>(count_at(r, LeakLevel::high, *t.plateau_task + back));
        extra = " low " + when(back) + " tasks after plateau";
      }
      if (!quiet) {
        std::printf("%-22s %-15s %8s %8s %7.2f%% %7.2f%% %8s%s\n", t.file.c_str(), m.c_str(), when(fm).c_str(),
                    when(fh).c_str(), 100.0 * count_at(r, LeakLevel::medium) / std::max<size_t>(r.evaluations, 1),
                    100.0 * count_at(r, LeakLevel::high) / std::max<size_t>(r.evaluations, 1),
                    std::string(to_string(r.levels.back())).c_str(), extra.c_str());
      }
    }
  }

  std::printf("\n| trace | method | seeds reaching medium | first medium, worst seed (tasks) | seeds reaching high | first high, worst seed (tasks) | evaluations at medium | evaluations at high |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& kind : kind_order) {
    auto& k = kinds[kind];
    for (const auto& m : methods) {
      const auto reached = [](const std::vector<int>& v) { return std::count_if(v.begin(), v.end(), [](int x) { return x >= 0; }); };
      const auto latest = [](const std::vector<int>& v) { return v.empty() ? -1 : *std::max_element(v.begin(), v.end()); };
      const auto& fm = k.first_medium[m];
      const auto& fh = k.first_high[m];
      std::printf("| %s | %s | %ld/%d | %s | %ld/%d | %s | %.2f%% | %.2f%% |\n", kind.c_str(), m.c_str(),
                  static_cast<long>(reached(fm)), k.traces, reached(fm) ? when(latest(fm)).c_str() : "-",
                  static_cast<long>(reached(fh)), k.traces, reached(fh) ? when(latest(fh)).c_str() : "-",
                  100.0 * k.medium_evals[m] / std::max<size_t>(k.evals[m], 1),
                  100.0 * k.high_evals[m] / std::max<size_t>(k.evals[m], 1));
    }
  }

  int failed = 0, passed = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
    (ok ? passed : failed)++;
  };
  auto all_within = [](const std::vector<int>& v, int limit) {
    return std::all_of(v.begin(), v.end(), [&](int x) { return x >= 0 && x <= limit; });
  };
  auto never = [](const std::vector<int>& v) { return std::all_of(v.begin(), v.end(), [](int x) { return x < 0; }); };
  std::printf("\n");
  if (kinds.count("staircase"))
    check(all_within(kinds["staircase"].first_high["ramflow"], 30), "staircase: high within 30 tasks on every seed");
  if (kinds.count("slow_leak")) {
    check(all_within(kinds["slow_leak"].first_medium["ramflow"], 200), "slow_leak: at least medium within 200 tasks");
    check(all_within(kinds["slow_leak"].first_high["ramflow"], 400), "slow_leak: high within 400 tasks");
  }
  if (kinds.count("clean")) {
    auto& k = kinds["clean"];
    check(never(k.first_high["ramflow"]), "clean: never high");
    const double share = static_cast<double>(k.medium_evals["ramflow"]) / std::max<size_t>(k.evals["ramflow"], 1);
    char buf[96];
    std::snprintf(buf, sizeof buf, "clean: medium on %.2f%% of evaluations (< 1%%)", 100 * share);
    check(share < 0.01, buf);
  }
  if (kinds.count("fragmentation")) check(never(kinds["fragmentation"].first_high["ramflow"]), "fragmentation: never high");
  if (kinds.count("cache")) {
    auto& k = kinds["cache"];
    check(all_within(k.cache_back_to_low, 120),
          "cache: back to low within 120 tasks of the plateau (worst " + when(worst(k.cache_back_to_low)) + ")");
    check(k.cache_high_after_low == 0, "cache: never high after that");
  }
  if (kinds.count("spike")) check(never(kinds["spike"].first_high["ramflow"]), "spike: never high");
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
