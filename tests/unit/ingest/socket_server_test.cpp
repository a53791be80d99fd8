// Real sockets, real processes: clients are forked children of the test so that
// SO_PEERCRED reports a pid (and, for the refusal test, a uid) other than ours.
#include "ingest/socket_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace ramflow::ingest {
namespace {

namespace fs = std::filesystem;

class RecordingSink : public Sink {
 public:
  void on_connect(const Peer& peer) override { add([&] { connects.push_back(peer); }); }
  void on_message(const Peer& peer, const Envelope& envelope) override {
    add([&] { messages.push_back({peer, envelope}); });
  }
  void on_rejected(const Peer&, RejectReason reason) override { add([&] { rejected.push_back(reason); }); }
  void on_sequence_gap(const Peer&, std::uint64_t missing) override { add([&] { gaps.push_back(missing); }); }
  void on_refused(uid_t uid, pid_t pid) override { add([&] { refused.push_back({uid, pid}); }); }
  void on_over_capacity(uid_t, pid_t pid, std::uint64_t packets) override {
    add([&] { over_capacity.push_back({pid, packets}); });
  }
  void on_disconnect(const Peer& peer) override { add([&] { disconnects.push_back(peer); }); }
  void on_task_board(const Peer& peer, std::shared_ptr<const TaskBoard> board, const std::string& problem) override {
    add([&] { boards.push_back({peer, std::move(board), problem}); });
  }

  // Waits (bounded, generous: this is not a timing assertion) until `done` holds.
  bool wait_for(const std::function<bool()>& done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), done);
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Peer> connects, disconnects;
  std::vector<std::pair<Peer, Envelope>> messages;
  std::vector<RejectReason> rejected;
  std::vector<std::uint64_t> gaps;
  std::vector<std::pair<uid_t, pid_t>> refused;
  std::vector<std::pair<pid_t, std::uint64_t>> over_capacity;
  struct PassedBoard {
    Peer peer;
    std::shared_ptr<const TaskBoard> board;
    std::string problem;
  };
  std::vector<PassedBoard> boards;

 private:
  void add(const std::function<void()>& f) {
    {
      std::lock_guard lock(mutex);
      f();
    }
    changed.notify_all();
  }
};

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_packet(int fd, const std::string& packet) {
  return ::send(fd, packet.data(), packet.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(packet.size());
}

// Sends `packet` with `fd` passed along (SCM_RIGHTS), as the agent sends its hello.
bool send_with_fd(int socket, const std::string& packet, int fd) {
  iovec io{const_cast<char*>(packet.data()), packet.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&message);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(socket, &message, MSG_NOSIGNAL) == static_cast<ssize_t>(packet.size());
}

std::string heartbeat(std::uint64_t seq) {
  return R"({"v":1,"seq":)" + std::to_string(seq) +
         R"(,"type":"heartbeat","t":1764109230.0,"rss":1000,"dropped":0,"sent":1})";
}

// Runs `body` in a forked child, which exits with 0 when body returns true.
pid_t spawn(const std::function<bool()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body() ? 0 : 1);
  return pid;
}

SocketServer::Options with(const std::function<void(SocketServer::Options&)>& set) {
  SocketServer::Options options;
  set(options);
  return options;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class SocketServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ramflow-ingest-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    ::chmod(dir, 0755);
    path_ = dir_ + "/sub/ramflow.sock";
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  std::optional<std::string> start(SocketServer::Options options = {}) {
    options.path = path_;
    server_ = std::make_unique<SocketServer>(options, sink_);
    return server_->start();
  }

  std::string dir_, path_;
  RecordingSink sink_;
  std::unique_ptr<SocketServer> server_;
};

TEST_F(SocketServerTest, CreatesTheDirectoryAndAppliesTheMode) {
  ASSERT_EQ(start(), std::nullopt);
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ASSERT_EQ(::lstat(fs::path(path_).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // owner only: nobody else may list, replace or reach it
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(SocketServerTest, ADirectoryForOtherUidsIsTraversableOnly) {
  ASSERT_EQ(start(with([](auto& o) { o.allowed_uids = {65534}; })), std::nullopt);
  struct stat st {};
  ASSERT_EQ(::lstat(fs::path(path_).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST_F(SocketServerTest, RefusesASymlinkedDirectoryAndCreatesNothingThroughIt) {
  const fs::path target = fs::path(dir_) / "elsewhere";
  fs::create_directories(target);
  fs::create_directory_symlink(target, fs::path(path_).parent_path());
  auto error = start();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("symbolic link"), std::string::npos) << *error;
  EXPECT_TRUE(fs::is_empty(target));
}

TEST_F(SocketServerTest, RefusesADirectoryWritableByOthers) {
  const fs::path directory = fs::path(path_).parent_path();
  fs::create_directories(directory);
  ::chmod(directory.c_str(), 0777);
  auto error = start();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("writable by other users (mode 777)"), std::string::npos) << *error;
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(SocketServerTest, AcceptsAStickyDirectoryLikeTmp) {
  const fs::path directory = fs::path(path_).parent_path();
  fs::create_directories(directory);
  ::chmod(directory.c_str(), 01777);
  EXPECT_EQ(start(), std::nullopt);
}

TEST_F(SocketServerTest, RefusesADirectoryOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown to 65534";
  const fs::path directory = fs::path(path_).parent_path();
  fs::create_directories(directory);
  ASSERT_EQ(::chown(directory.c_str(), 65534, 65534), 0);
  auto error = start();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("owned by uid 65534"), std::string::npos) << *error;
  EXPECT_FALSE(fs::exists(path_));
}

// kubelet makes an emptyDir root-owned and mode 0777: a volume of its own, which no other user can create.
TEST_F(SocketServerTest, AcceptsAWorldWritableMountPointLikeTheChartsEmptyDir) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  const fs::path directory = fs::path(path_).parent_path();
  fs::create_directories(directory);
  if (::system(("mount -t tmpfs -o mode=0777,size=1m ramflow-test " + directory.string()).c_str()) != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  auto error = start();
  server_.reset();
  ::system(("umount " + directory.string()).c_str());
  EXPECT_EQ(error, std::nullopt);
}

TEST_F(SocketServerTest, PeerIsTheKernelsPidNotTheClaimedOne) {
  ASSERT_EQ(start(), std::nullopt);
  pid_t child = spawn([&] {
    int fd = connect_to(path_);
    // Claims pid 1: attribution must ignore it.
    bool ok = fd >= 0 && send_packet(fd, R"({"v":1,"seq":0,"type":"hello","agent":"0.1.0","python":"3.11",)"
                                         R"("framework":"none","pool":"none","worker":"","index":null,"pid":1})");
    char byte;
    ::recv(fd, &byte, 1, 0);  // hold the connection until the parent closes the server
    return ok;
  });
  ASSERT_TRUE(sink_.wait_for([&] { return !sink_.messages.empty(); }));
  {
    std::lock_guard lock(sink_.mutex);
    ASSERT_EQ(sink_.connects.size(), 1u);
    EXPECT_EQ(sink_.connects[0].pid, child);
    EXPECT_EQ(sink_.connects[0].uid, ::getuid());
    const auto& [peer, envelope] = sink_.messages[0];
    EXPECT_EQ(peer.pid, child);
    EXPECT_EQ(std::get<Hello>(envelope.message).claimed_pid, 1);
  }
  server_->stop();
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(SocketServerTest, RefusesAPeerWhoseUidIsNotAllowed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid(65534)";
  ASSERT_EQ(start(with([](auto& o) { o.mode = 0666; })), std::nullopt);
  ::chmod(fs::path(path_).parent_path().c_str(), 0755);
  pid_t child = spawn([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return false;
    int fd = connect_to(path_);
    if (fd < 0) return false;
    send_packet(fd, heartbeat(0));
    char byte;
    return ::recv(fd, &byte, 1, 0) <= 0;  // the server closed the connection
  });
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(sink_.wait_for([&] { return !sink_.refused.empty(); }));
  std::lock_guard lock(sink_.mutex);
  EXPECT_EQ(sink_.refused[0].first, 65534u);
  EXPECT_EQ(sink_.refused[0].second, child);
  EXPECT_TRUE(sink_.messages.empty());
  EXPECT_TRUE(sink_.connects.empty());
}

TEST_F(SocketServerTest, AllowsAConfiguredUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to setuid(65534)";
  ASSERT_EQ(start(with([](auto& o) { o.mode = 0666; o.allowed_uids = {65534}; })), std::nullopt);
  pid_t child = spawn([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return false;
    int fd = connect_to(path_);
    return fd >= 0 && send_packet(fd, heartbeat(0));
  });
  EXPECT_EQ(wait_exit(child), 0);
  ASSERT_TRUE(sink_.wait_for([&] { return !sink_.messages.empty(); }));
  std::lock_guard lock(sink_.mutex);
  EXPECT_EQ(sink_.messages[0].first.uid, 65534u);
}

TEST_F(SocketServerTest, ReplacesAStaleSocketFile) {
  fs::create_directories(fs::path(path_).parent_path());
  int stale = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ::close(stale);  // the file stays, nobody listens: what a killed ramflowd leaves
  ASSERT_EQ(start(), std::nullopt);
  int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(send_packet(fd, heartbeat(0)));
  EXPECT_TRUE(sink_.wait_for([&] { return sink_.messages.size() == 1; }));
  ::close(fd);
}

TEST_F(SocketServerTest, DoesNotReplaceALiveSocket) {
  ASSERT_EQ(start(), std::nullopt);
  RecordingSink other_sink;
  SocketServer second(with([&](auto& o) { o.path = path_; }), other_sink);
  auto error = second.start();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("another process is listening"), std::string::npos) << *error;
  int fd = connect_to(path_);  // the first server still owns the path
  EXPECT_GE(fd, 0);
  ::close(fd);
}

TEST_F(SocketServerTest, DoesNotReplaceARegularFile) {
  fs::create_directories(fs::path(path_).parent_path());
  { std::ofstream(path_) << "precious"; }
  auto error = start();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("not a socket"), std::string::npos) << *error;
  EXPECT_TRUE(fs::is_regular_file(path_));
}

TEST_F(SocketServerTest, OversizedPacketIsRejectedAndTheConnectionKept) {
  ASSERT_EQ(start(with([](auto& o) { o.max_message_bytes = 4096; })), std::nullopt);
  int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_packet(fd, std::string(10000, ' ')));
  ASSERT_TRUE(send_packet(fd, heartbeat(0)));
  ASSERT_TRUE(sink_.wait_for([&] { return sink_.messages.size() == 1; }));
  std::lock_guard lock(sink_.mutex);
  ASSERT_EQ(sink_.rejected.size(), 1u);
  EXPECT_EQ(sink_.rejected[0], RejectReason::oversized);
  EXPECT_TRUE(sink_.disconnects.empty());
  ::close(fd);
}

TEST_F(SocketServerTest, SequenceGapsAreCountedAndRegressionsRejected) {
  ASSERT_EQ(start(), std::nullopt);
  int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  for (std::uint64_t seq : {0, 1, 5, 3, 6}) ASSERT_TRUE(send_packet(fd, heartbeat(seq)));
  ASSERT_TRUE(sink_.wait_for([&] { return sink_.messages.size() == 4 && sink_.rejected.size() == 1; }));
  std::lock_guard lock(sink_.mutex);
  ASSERT_EQ(sink_.gaps.size(), 1u);
  EXPECT_EQ(sink_.gaps[0], 3u);  // 2, 3, 4 never arrived
  EXPECT_EQ(sink_.rejected[0], RejectReason::out_of_order);
  ::close(fd);
}

TEST_F(SocketServerTest, SequenceRestartsOnEveryConnection) {
  ASSERT_EQ(start(), std::nullopt);
  for (int i = 0; i < 2; ++i) {
    int fd = connect_to(path_);
    ASSERT_TRUE(send_packet(fd, heartbeat(0)));
    ::close(fd);
  }
  ASSERT_TRUE(sink_.wait_for([&] { return sink_.disconnects.size() == 2; }));
  std::lock_guard lock(sink_.mutex);
  EXPECT_EQ(sink_.messages.size(), 2u);
  EXPECT_TRUE(sink_.gaps.empty());
  EXPECT_TRUE(sink_.rejected.empty());
  EXPECT_NE(sink_.connects[0].connection_id, sink_.connects[1].connection_id);
}

TEST_F(SocketServerTest, ConnectionsPastTheCapAreClosedAndWhatTheySentIsCounted) {
  ASSERT_EQ(start(with([](auto& o) { o.max_connections = 1; })), std::nullopt);
  int first = connect_to(path_);
  ASSERT_TRUE(sink_.wait_for([&] { return sink_.connects.size() == 1; }));
  int second = connect_to(path_);
  ASSERT_GE(second, 0);
  // Sent before or after the server refuses: each packet is either counted there or fails here.
  std::uint64_t sent = 0;
  for (std::uint64_t seq = 0; seq < 50; ++seq) sent += send_packet(second, heartbeat(seq)) ? 1 : 0;
  ASSERT_TRUE(sink_.wait_for([&] { return sink_.over_capacity.size() == 1; }));
  EXPECT_EQ(server_->connection_count(), 1u);
  {
    std::lock_guard lock(sink_.mutex);
    EXPECT_EQ(sink_.over_capacity[0].second, sent);
    EXPECT_TRUE(sink_.messages.empty());
  }
  char byte;
  EXPECT_EQ(::recv(second, &byte, 1, 0), 0);  // closed
  EXPECT_FALSE(send_packet(second, heartbeat(50)));
  ::close(first);
  ::close(second);
}

// Protocol 3: the fd passed with a packet is the peer's task board, handed to
// the sink with the peer; an fd that is not a board is closed and said why.
TEST_F(SocketServerTest, AnFdPassedWithAPacketIsThePeersTaskBoard) {
  ASSERT_EQ(start(), std::nullopt);
  const std::string hello = R"({"v":3,"seq":0,"type":"hello","agent":"0.3.0","python":"3.11",)"
                            R"("framework":"none","pool":"none","worker":"","index":null,"pid":1})";
  pid_t child = spawn([&] {
    int board = ::memfd_create("board", MFD_CLOEXEC);
    char layout[TaskBoard::kBoardBytes] = {};
    std::memcpy(layout, TaskBoard::kMagic, sizeof(TaskBoard::kMagic));
    const std::uint64_t seq = 1;
    const std::uint32_t running = 1, length = 3;
    const std::int64_t since = 5'000'000'000;
    char* slot = layout + TaskBoard::kSlotsAt + TaskBoard::kSlotBytes;  // seq 1: the second slot
    std::memcpy(slot, &seq, 8);
    std::memcpy(slot + 8, &running, 4);
    std::memcpy(slot + 12, &length, 4);
    std::memcpy(slot + 16, &since, 8);
    std::memcpy(slot + 24, "job", 3);
    std::memcpy(slot + TaskBoard::kSlotBytes - 8, &seq, 8);
    int pipe_fds[2];
    int fd = connect_to(path_);
    bool ok = board >= 0 && ::pwrite(board, layout, sizeof(layout), 0) == static_cast<ssize_t>(sizeof(layout)) &&
              ::pipe(pipe_fds) == 0 && fd >= 0 && send_with_fd(fd, hello, board) &&
              send_with_fd(fd, heartbeat(1), pipe_fds[0]);
    return ok;  // exits: the connection closes, the board lives on in the sink
  });
  ASSERT_TRUE(sink_.wait_for([&] { return sink_.boards.size() == 2 && !sink_.disconnects.empty(); }));
  EXPECT_EQ(wait_exit(child), 0);
  std::lock_guard lock(sink_.mutex);
  EXPECT_EQ(sink_.boards[0].peer.pid, child);
  ASSERT_NE(sink_.boards[0].board, nullptr) << sink_.boards[0].problem;
  auto state = sink_.boards[0].board->read();  // after the process ended
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->running);
  EXPECT_EQ(state->task, "job");
  EXPECT_EQ(sink_.boards[1].board, nullptr);
  EXPECT_EQ(sink_.boards[1].problem, "not a regular file");
  EXPECT_EQ(sink_.messages.size(), 2u);  // the packets themselves are delivered as always
}

TEST_F(SocketServerTest, StopIsIdempotentAndRemovesTheSocket) {
  ASSERT_EQ(start(), std::nullopt);
  server_->stop();
  server_->stop();
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(SocketServerTest, TooLongPathIsAClearError) {
  path_ = dir_ + "/" + std::string(120, 'x') + ".sock";
  server_ = std::make_unique<SocketServer>(with([&](auto& o) { o.path = path_; }), sink_);
  auto error = server_->start();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("shorter --socket path"), std::string::npos);
}

}  // namespace
}  // namespace ramflow::ingest
