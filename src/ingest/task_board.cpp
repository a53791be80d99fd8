#include "ingest/task_board.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "ingest/json_reader.h"
#include "ingest/limits.h"

namespace ramflow::ingest {
namespace {

template <class T>
T field(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

struct Slot {
  std::uint64_t seq = 0;
  bool valid = false;
  BoardState state;
};

// A slot is read three times: its closing seq (`before`), its content, its
// opening seq (`after`). The agent writes the opening seq, the content, then
// the closing seq: when the closing seq read first equals the opening seq read
// last, the content read between is that write's, whole (stores become
// visible in program order on x86; elsewhere a live read may rarely see a mix
// of two valid writes, and once the process is dead every read is exact).
Slot parse_slot(const char* before, const char* at, const char* after) {
  constexpr std::size_t kClosing = TaskBoard::kSlotBytes - 8;
  Slot slot;
  slot.seq = field<std::uint64_t>(before + kClosing);
  if (slot.seq == 0 || slot.seq != field<std::uint64_t>(after) || slot.seq != field<std::uint64_t>(at) ||
      slot.seq != field<std::uint64_t>(at + kClosing)) {
    return slot;
  }
  const auto state = field<std::uint32_t>(at + 8);
  const auto length = field<std::uint32_t>(at + 12);
  const auto since_ns = field<std::int64_t>(at + 16);
  if (state > 1) return slot;
  slot.state.running = state == 1;
  if (slot.state.running) {
    const double since = static_cast<double>(since_ns) / 1e9;
    if (length == 0 || length > TaskBoard::kNameBytes || since < 0 || since > kMaxWallTime) return slot;
    slot.state.task.assign(at + 24, length);
    if (!is_valid_utf8(slot.state.task)) return slot;
    slot.state.since = since;
  }
  slot.valid = true;
  return slot;
}

}  // namespace

std::unique_ptr<TaskBoard> TaskBoard::adopt(int fd, std::string* why) {
  auto refuse = [&](const char* reason) {
    ::close(fd);
    if (why) *why = reason;
    return std::unique_ptr<TaskBoard>();
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return refuse("not a regular file");
  // Only memfd and tmpfs files have seals: their reads never block on a device.
  if (::fcntl(fd, F_GET_SEALS) < 0) return refuse("not an in-memory file (memfd)");
  if (static_cast<std::size_t>(st.st_size) < kBoardBytes) return refuse("smaller than a task board");
  char magic[sizeof(kMagic)];
  if (::pread(fd, magic, sizeof(magic), 0) != static_cast<ssize_t>(sizeof(magic)) ||
      std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    return refuse("no task board layout 1 magic");
  }
  return std::unique_ptr<TaskBoard>(new TaskBoard(fd));
}

TaskBoard::~TaskBoard() { ::close(fd_); }

std::optional<BoardState> TaskBoard::read() const {
  char pages[3][kBoardBytes];  // closing seqs, content, opening seqs (see parse_slot)
  for (auto& page : pages) {
    if (::pread(fd_, page, sizeof(page), 0) != static_cast<ssize_t>(sizeof(page)) ||
        std::memcmp(page, kMagic, sizeof(kMagic)) != 0) {
      return std::nullopt;
    }
  }
  auto slot = [&](std::size_t i) {
    const std::size_t at = kSlotsAt + i * kSlotBytes;
    return parse_slot(pages[0] + at, pages[1] + at, pages[2] + at);
  };
  Slot a = slot(0);
  Slot b = slot(1);
  if (!a.valid && !b.valid) return std::nullopt;
  Slot& current = !b.valid || (a.valid && a.seq > b.seq) ? a : b;
  // Read last: an end marked after the slot was read still counts.
  if (current.state.running && field<std::uint64_t>(pages[2] + kEndedAt) == current.seq) return BoardState{};
  return std::move(current.state);
}

}  // namespace ramflow::ingest
