#include "scratch_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace ramflow::fuzz {
namespace {

[[noreturn]] void harness_fault(const std::string& what) {
  std::fprintf(stderr, "fuzz harness: %s: %s\n", what.c_str(), std::strerror(errno));
  std::abort();
}

std::string scratch_base() {
  if (const char* env = std::getenv("RAMFLOW_FUZZ_SCRATCH"); env != nullptr && *env != '\0') return env;
  if (::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return "/tmp";
}

}  // namespace

ScratchTree::ScratchTree() {
  std::string pattern = scratch_base() + "/ramflow-fuzz-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) harness_fault("mkdtemp " + pattern);
  root_ = pattern;
}

ScratchTree::~ScratchTree() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::string ScratchTree::path(std::string_view relative) const { return root_ + "/" + std::string(relative); }

void ScratchTree::write(std::string_view relative, std::string_view content) const {
  const std::string file = path(relative);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  if (ec) harness_fault("mkdir for " + file);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) harness_fault("open " + file);
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) harness_fault("write " + file);
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

void ScratchTree::remove(std::string_view relative) const {
  if (::unlink(path(relative).c_str()) != 0 && errno != ENOENT) harness_fault("unlink " + path(relative));
}

std::vector<std::string_view> split_parts(std::string_view input) {
  constexpr std::string_view kLine = "%%\n";
  std::vector<std::string_view> parts;
  while (true) {
    if (input.substr(0, kLine.size()) == kLine) {  // a "%%" line right away: an empty file
      parts.emplace_back();
      input.remove_prefix(kLine.size());
      continue;
    }
    const std::size_t at = input.find("\n%%\n");
    if (at == std::string_view::npos) break;
    parts.push_back(input.substr(0, at + 1));  // the part keeps its final newline
    input.remove_prefix(at + 1 + kLine.size());
  }
  parts.push_back(input);
  return parts;
}

void write_parts(const ScratchTree& tree, std::string_view dir, const std::vector<std::string_view>& names,
                 std::string_view input) {
  const auto parts = split_parts(input);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string relative = std::string(dir) + "/" + std::string(names[i]);
    if (i < parts.size()) tree.write(relative, parts[i]);
    else tree.remove(relative);
  }
}

}  // namespace ramflow::fuzz
