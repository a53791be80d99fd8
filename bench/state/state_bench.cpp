// What the state file costs at its largest: a week of 60 s working-set peaks
// and 120 minima per cgroup, and `processes` workers each with a full leak
// window and RSS minima. Prints the file size and the median time to build,
// serialise and write it (what one sampling interval pays when the state
// changed), and to read it back (what a restart pays).
//
//   build/release/bench/state/ramflow_state_bench [processes=64] [cgroups=1] [dir=/tmp]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/forecast.h"
#include "analysis/state.h"
#include "analysis/units.h"
#include "daemon/state_store.h"

namespace {

using namespace ramflow;
using Clock = std::chrono::steady_clock;

analysis::AnalysisState largest_state(int processes, int cgroups) {
  analysis::AnalysisState s;
  const double t0 = 1'764'000'000;
  for (int c = 0; c < cgroups; ++c) {
    analysis::CgroupState cg;
    analysis::BucketSeries peaks(60.0, 7 * 1440, analysis::BucketReduce::maximum);
    analysis::NonReclaimableHistory minima;
    for (int i = 0; i <= 7 * 1440; ++i) {
      const double bytes = 600 * analysis::kMiB + (i * 7919 % 65536) * 4096.0;
      peaks.add(t0 + 60.0 * i, bytes);
      for (int s = 0; s < 60; s += 15) minima.add(t0 + 60.0 * i + s, bytes / 2);
    }
    cg.nonreclaimable_maxima = peaks.state();
    cg.nonreclaimable_minima = minima.state();
    s.cgroups["/kubepods/burstable/pod-" + std::to_string(c) + "/worker"] = cg;
  }
  for (int p = 0; p < processes; ++p) {
    analysis::ProcessState ps;
    ps.pid = 1000 + p;
    ps.start_ticks = 123456 + p;
    ps.leak_series = "residual";
    analysis::LeakDetector leak;
    for (int i = 0; i < 200; ++i) leak.add({double(i), t0 + 1.37 * i, (i * 31 % 97) * 4096.0 + i * 65536.0});
    ps.leak = leak.state();
    ps.next_x = 200;
    ps.ready_time = t0 - 12.5;
    ps.max_rss_since_ready = 300 * analysis::kMiB;
    analysis::BucketSeries minima(60.0, 200, analysis::BucketReduce::minimum);
    for (int i = 0; i <= 200; ++i) minima.add(t0 + 60.0 * i, 200 * analysis::kMiB + i * 4096.0);
    ps.rss_minima = minima.state();
    s.processes.push_back(ps);
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int processes = argc > 1 ? std::atoi(argv[1]) : 64;
  const int cgroups = argc > 2 ? std::atoi(argv[2]) : 1;
  const std::string dir = std::string(argc > 3 ? argv[3] : "/tmp") + "/ramflow-state-bench-" + std::to_string(::getpid());
  const auto state = largest_state(processes, cgroups);
  const std::string oom = R"({"counters":{},"history":[],"version":1})";
  daemon::StateStore store(dir);
  std::vector<double> write_ms, read_ms, json_ms;
  for (int round = 0; round < 21; ++round) {
    auto t0 = Clock::now();
    const auto text = analysis::to_json(state).dump();
    json_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    store.save_if_changed(round, [&] { return state; }, oom, 1.0 * round);
    write_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t0 = Clock::now();
    daemon::StateStore reader(dir);
    reader.restore([](const analysis::AnalysisState&, std::string_view) {});
    read_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  FILE* f = std::fopen(store.path().c_str(), "rb");
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fclose(f);
  std::printf("state file: %d processes (200-sample leak windows, 200 RSS minima), %d cgroups (a week of 60 s peaks)\n",
              processes, cgroups);
  std::printf("  size %.2f MiB; write (build + serialise + write + rename) median %.2f ms, of which JSON %.2f ms; "
              "restore (read + parse + check) median %.2f ms (21 rounds)\n",
              size / 1048576.0, median(write_ms), median(json_ms), median(read_ms));
  std::remove(store.path().c_str());
  ::rmdir(dir.c_str());
  return 0;
}
