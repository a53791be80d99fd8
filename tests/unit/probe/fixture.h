// Paths into tests/fixtures/ (see tests/fixtures/README.md for what each tree is).
#pragma once

#include <string>
#include <string_view>

namespace ramflow::probe::fx {

inline std::string fixture(std::string_view rel) {
  return std::string(RAMFLOW_FIXTURES) + "/" + std::string(rel);
}

// The real capture: a prefork tree in a v1 memory cgroup with a real OOM kill.
inline const std::string kV1Proc = fixture("e2e/proc");
inline const std::string kV1CgroupRoot = fixture("e2e/sys/fs/cgroup");
inline const std::string kV2Proc = fixture("e2e-v2/proc");
inline const std::string kV2CgroupRoot = fixture("e2e-v2/sys/fs/cgroup");
inline constexpr pid_t kMainPid = 12662;
inline constexpr pid_t kChild1Pid = 12663;
inline constexpr pid_t kChild2Pid = 12664;
inline constexpr pid_t kOddCommPid = 12685;  // comm "ml) job (1"
inline constexpr pid_t kSleepPid = 12686;
inline constexpr pid_t kKthreaddPid = 2;
inline constexpr pid_t kMalformedPid = 100;  // in every malformed/proc-* tree
inline constexpr std::uint64_t kKiB = 1024;
inline const std::string kV2PodCgroup =
    "/kubepods.slice/kubepods-burstable.slice/"
    "kubepods-burstable-pod6f1c2a34_55d8_4e0b_9c1f_2b7d8e9a0c11.slice/"
    "cri-containerd-4b9e2c7d1a0f.scope";

}  // namespace ramflow::probe::fx
