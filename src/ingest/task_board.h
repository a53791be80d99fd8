// The task board of an agent process (protocol 3, docs/protocol.md "Task
// board"): a page of shared memory (a memfd) where the agent writes which task
// it runs, passed to ramflowd with the hello (SCM_RIGHTS). ramflowd reads it
// when it needs the running task — every sampling cycle, and once more when the
// connection closes — and, holding its own fd, can read it after the process
// died: an OOM kill finds its task without the agent sending anything per task.
//
//   std::string why;
//   if (auto board = TaskBoard::adopt(fd, &why)) { auto now = board->read(); }
//
// Layout (agent/ramflow/_board.py writes it; native byte order, no padding):
// kMagic (8 bytes), u64 ended, then two slots of kSlotBytes: u64 seq, u32
// state (0 idle, 1 running), u32 name length, i64 start (Unix ns), 256 bytes
// of name, u64 seq again. A slot whose two seqs differ was being written (or
// the writer died writing it); of the valid slots the one with the larger seq
// is current, and idle if `ended` is its seq (its task ended).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace ramflow::ingest {

struct BoardState {
  bool running = false;
  std::string task;  // running only
  double since = 0;  // running only: Unix seconds
};

class TaskBoard {
 public:
  static constexpr char kMagic[8] = {'R', 'F', 'T', 'B', 1, 0, 0, 0};
  static constexpr std::size_t kNameBytes = 256;
  static constexpr std::size_t kEndedAt = sizeof(kMagic);
  static constexpr std::size_t kSlotsAt = kEndedAt + 8;
  static constexpr std::size_t kSlotBytes = 8 + 4 + 4 + 8 + kNameBytes + 8;
  static constexpr std::size_t kBoardBytes = kSlotsAt + 2 * kSlotBytes;

  // Takes ownership of `fd` (closed on failure): an in-memory file (memfd or
  // tmpfs, whose reads never block) of kBoardBytes or more with the magic.
  // Otherwise nullptr and `why` says what is wrong with it.
  static std::unique_ptr<TaskBoard> adopt(int fd, std::string* why);
  ~TaskBoard();
  TaskBoard(const TaskBoard&) = delete;
  TaskBoard& operator=(const TaskBoard&) = delete;

  // The current state, or nullopt when no slot is valid (never written, or
  // written with a name that is not UTF-8 / an absurd start).
  std::optional<BoardState> read() const;

 private:
  explicit TaskBoard(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace ramflow::ingest
