// The task board as ramflowd reads it: boards written here byte for byte as
// agent/ramflow/_board.py writes them (the real agent's board is read in
// agent_contract_test.cpp), torn writes, and fds that are not boards.
#include "ingest/task_board.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace ramflow::ingest {
namespace {

// A memfd with the board's layout; writes slots as the agent does.
class Writer {
 public:
  Writer() : fd_(::memfd_create("board-test", MFD_CLOEXEC)) {
    EXPECT_EQ(::ftruncate(fd_, TaskBoard::kBoardBytes), 0);
    EXPECT_EQ(::pwrite(fd_, TaskBoard::kMagic, sizeof(TaskBoard::kMagic), 0),
              static_cast<ssize_t>(sizeof(TaskBoard::kMagic)));
  }
  ~Writer() {
    if (fd_ >= 0) ::close(fd_);
  }
  // The fd for adopt() (which owns it from then on); this writer keeps its own.
  int share() const { return ::dup(fd_); }

  void write(std::uint64_t seq, std::uint32_t state, const std::string& name, double since_seconds,
             std::uint64_t closing_seq = 0) {
    const auto since = static_cast<std::int64_t>(since_seconds * 1e9);
    char slot[TaskBoard::kSlotBytes] = {};
    const auto length = static_cast<std::uint32_t>(name.size());
    closing_seq = closing_seq ? closing_seq : seq;
    std::memcpy(slot, &seq, 8);
    std::memcpy(slot + 8, &state, 4);
    std::memcpy(slot + 12, &length, 4);
    std::memcpy(slot + 16, &since, 8);
    std::memcpy(slot + 24, name.data(), std::min(name.size(), TaskBoard::kNameBytes));
    std::memcpy(slot + TaskBoard::kSlotBytes - 8, &closing_seq, 8);
    const off_t at = static_cast<off_t>(TaskBoard::kSlotsAt + (seq & 1) * TaskBoard::kSlotBytes);
    ASSERT_EQ(::pwrite(fd_, slot, sizeof(slot), at), static_cast<ssize_t>(sizeof(slot)));
  }
  void ended(std::uint64_t seq) {
    ASSERT_EQ(::pwrite(fd_, &seq, 8, TaskBoard::kEndedAt), 8);
  }

 private:
  int fd_;
};

std::unique_ptr<TaskBoard> adopt(int fd) {
  std::string why;
  auto board = TaskBoard::adopt(fd, &why);
  EXPECT_NE(board, nullptr) << why;
  return board;
}

TEST(TaskBoard, TheLatestWriteIsWhatItSays) {
  Writer w;
  auto board = adopt(w.share());
  EXPECT_EQ(board->read(), std::nullopt);  // never written
  w.write(1, 0, "", 0);
  ASSERT_TRUE(board->read().has_value());
  EXPECT_FALSE(board->read()->running);
  w.write(2, 1, "tasks.resize", 1764109210.25);
  auto now = board->read();
  ASSERT_TRUE(now.has_value());
  EXPECT_TRUE(now->running);
  EXPECT_EQ(now->task, "tasks.resize");
  EXPECT_NEAR(now->since, 1764109210.25, 1e-6);
  w.write(3, 0, "", 0);
  EXPECT_FALSE(board->read()->running);
}

// An end names the write of its own start: a task started since stands.
TEST(TaskBoard, AnEndedMarkIdlesOnlyTheWriteItNames) {
  Writer w;
  auto board = adopt(w.share());
  w.write(1, 1, "tasks.resize", 10);
  w.ended(1);
  ASSERT_TRUE(board->read().has_value());
  EXPECT_FALSE(board->read()->running);
  w.write(2, 1, "tasks.crop", 11);
  EXPECT_EQ(board->read()->task, "tasks.crop");
  w.ended(1);  // a late end of the first task (another thread): the second still runs
  EXPECT_EQ(board->read()->task, "tasks.crop");
  w.ended(2);
  EXPECT_FALSE(board->read()->running);
}

TEST(TaskBoard, ATornWriteLeavesThePreviousState) {
  Writer w;
  auto board = adopt(w.share());
  w.write(2, 1, "tasks.resize", 10);
  w.write(3, 1, "tasks.crop", 11, /*closing_seq=*/1);  // the writer died in the middle of it
  auto now = board->read();
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->task, "tasks.resize");
}

TEST(TaskBoard, ANameThatIsNotUtf8OrTooLongOrAnAbsurdStartIsNotRead) {
  Writer w;
  auto board = adopt(w.share());
  w.write(1, 1, "caf\xC3", 10);
  EXPECT_EQ(board->read(), std::nullopt);
  w.write(2, 1, std::string(300, 'x'), 10);  // length field 300 > 256
  EXPECT_EQ(board->read(), std::nullopt);
  w.write(3, 1, "tasks.resize", -1);
  w.write(4, 7, "tasks.resize", 10);  // no such state
  EXPECT_EQ(board->read(), std::nullopt);
  w.write(5, 1, "caf\xC3\xA9", 10);
  EXPECT_EQ(board->read()->task, "caf\xC3\xA9");
}

TEST(TaskBoard, OnlyAnInMemoryFileWithTheLayoutIsAdopted) {
  std::string why;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[1]);
  EXPECT_EQ(TaskBoard::adopt(pipe_fds[0], &why), nullptr);  // a read would block
  EXPECT_EQ(why, "not a regular file");

  char path[] = "/tmp/ramflow-board-XXXXXX";  // a regular file on disk (this machine's /tmp is ext4)
  int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  ::unlink(path);
  ASSERT_EQ(::ftruncate(file, TaskBoard::kBoardBytes), 0);
  if (::fcntl(file, F_GET_SEALS) < 0) {
    EXPECT_EQ(TaskBoard::adopt(file, &why), nullptr);
    EXPECT_EQ(why, "not an in-memory file (memfd)");
  } else {
    ::close(file);  // /tmp is a tmpfs here: nothing to show
  }

  int small = ::memfd_create("small", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(small, 16), 0);
  EXPECT_EQ(TaskBoard::adopt(small, &why), nullptr);
  EXPECT_EQ(why, "smaller than a task board");

  int blank = ::memfd_create("blank", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(blank, TaskBoard::kBoardBytes), 0);
  EXPECT_EQ(TaskBoard::adopt(blank, &why), nullptr);
  EXPECT_EQ(why, "no task board layout 1 magic");
}

}  // namespace
}  // namespace ramflow::ingest
