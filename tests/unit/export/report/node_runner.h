// Runs Node.js (Debian's nodejs, installed by scripts/install-deps.sh) for the
// byte-for-byte comparisons with the JavaScript reference implementation.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ramflow::exporter::testing {

inline bool have_node() { return std::system("node --version >/dev/null 2>&1") == 0; }

inline std::filesystem::path artifacts_dir() {
  std::filesystem::path dir = RAMFLOW_ARTIFACTS_DIR;
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ramflow::exporter::testing
