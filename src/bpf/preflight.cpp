#include "bpf/preflight.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace ramflow::bpf {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

bool has(unsigned long long mask, int cap) { return (mask >> cap) & 1ULL; }

}  // namespace

bool effective_caps(unsigned long long* mask, std::string* error) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    try {
      *mask = std::stoull(line.substr(7), nullptr, 16);
      return true;
    } catch (const std::exception&) {
      break;
    }
  }
  *error = "cannot read CapEff from /proc/self/status";
  return false;
}

std::string preflight_problem(const std::string& btf_path) {
  if (access(btf_path.c_str(), R_OK) != 0) {
    return "no BTF at " + btf_path + " (" + std::strerror(errno) +
           ") — the kernel needs CONFIG_DEBUG_INFO_BTF=y for the eBPF OOM watcher";
  }
  unsigned long long caps = 0;
  std::string error;
  if (!effective_caps(&caps, &error)) return error;
  // Linux >= 5.8 splits CAP_BPF/CAP_PERFMON out of CAP_SYS_ADMIN; either grant works.
  if (!(has(caps, kCapBpf) && has(caps, kCapPerfmon)) && !has(caps, kCapSysAdmin)) {
    return "missing CAP_BPF/CAP_PERFMON in the effective capabilities — add them to the "
           "sidecar's securityContext.capabilities (or run with --ebpf off)";
  }
  return "";
}

}  // namespace ramflow::bpf
