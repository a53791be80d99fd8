// Checks done before touching libbpf, so a missing feature is named plainly.
#pragma once

#include <string>

namespace ramflow::bpf {

// Empty when the kernel BTF is readable and this process may load tracing
// programs; else one line saying what is missing and how to fix it.
std::string preflight_problem(const std::string& btf_path);

// The effective-capability bitmask of this process, from /proc/self/status.
bool effective_caps(unsigned long long* mask, std::string* error);

}  // namespace ramflow::bpf
