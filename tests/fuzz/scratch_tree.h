// A private directory the probe fuzzers write their input into, so the real
// readers run end to end (open, bounded read, parse) as they do on /proc.
// On tmpfs (/dev/shm) where present: one input costs a few syscalls, not disk.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ramflow::fuzz {

class ScratchTree {
 public:
  ScratchTree();  // mkdtemp under $RAMFLOW_FUZZ_SCRATCH, /dev/shm or /tmp
  ~ScratchTree();  // removes the whole tree
  ScratchTree(const ScratchTree&) = delete;
  ScratchTree& operator=(const ScratchTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(std::string_view relative) const;
  // Creates parent directories; a failure is a harness fault and aborts.
  void write(std::string_view relative, std::string_view content) const;
  void remove(std::string_view relative) const;  // absent afterwards

 private:
  std::string root_;
};

// Splits a fuzz input into the files of one directory: parts are separated by
// lines "%%" ("a\n%%\nb\n" gives "a\n" and "b\n"; "%%\nb\n" gives "" and
// "b\n"), so seeds stay readable.
// Files past the last part are absent (optional files come last).
std::vector<std::string_view> split_parts(std::string_view input);

// Writes parts[i] to names[i], removes the names without a part.
void write_parts(const ScratchTree& tree, std::string_view dir, const std::vector<std::string_view>& names,
                 std::string_view input);

}  // namespace ramflow::fuzz
