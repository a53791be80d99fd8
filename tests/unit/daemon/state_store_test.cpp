// The state file on a real filesystem: atomic writes, modes, corrupt and
// oversized files set aside, and — with root — a read-only and a full tmpfs
// mounted for the test, so the errors come from the kernel, not a mock.
#include "daemon/state_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "analysis/units.h"

namespace ramflow::daemon {
namespace {

namespace fs = std::filesystem;

analysis::AnalysisState sample_state(int points = 10) {
  analysis::AnalysisState s;
  analysis::ProcessState p;
  p.pid = 77;
  p.start_ticks = 123;
  p.leak_series = "rss_bucket_minimum";
  analysis::BucketSeries week(60.0, 20000, analysis::BucketReduce::maximum);
  for (int i = 0; i <= points; ++i) week.add(60.0 * i, 300.0 * analysis::kMiB + i);
  s.processes.push_back(p);
  s.cgroups["/kubepods/pod-a/worker"].nonreclaimable_maxima = week.state();
  return s;
}

const std::string kOom = R"({"counters":{"/kubepods/pod-a/worker":2},"history":[],"version":1})";

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ramflow-state-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& m : mounts_) ::umount2(m.c_str(), MNT_DETACH);
    fs::remove_all(dir_);
  }
  // A tmpfs of `options` at a fresh directory; "" when it cannot be mounted here.
  std::string mount_tmpfs(const std::string& name, const char* options, unsigned long flags = 0) {
    const std::string at = dir_ + "/" + name;
    fs::create_directories(at);
    if (::mount("tmpfs", at.c_str(), "tmpfs", flags, options) != 0) return "";
    mounts_.push_back(at);
    return at;
  }
  std::string dir_;
  std::vector<std::string> mounts_;
};

TEST_F(StateStoreTest, SavesAtomicallyWithOwnerOnlyModeAndRestoresWhatWasSaved) {
  StateStore store(dir_ + "/sub/dir/");  // missing directories are created, mode 0700
  EXPECT_FALSE(store.restore([](const auto&, auto) { FAIL() << "nothing to restore yet"; }));
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1700000000.5, true);
  ASSERT_TRUE(fs::exists(store.path()));
  struct stat st {};
  ASSERT_EQ(::stat(store.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/sub/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_FALSE(fs::exists(dir_ + "/sub/dir/.ramflow-state.json.tmp"));
  EXPECT_EQ(store.status().last_write, 1700000000.5);
  EXPECT_EQ(store.status().write_errors, 0u);

  StateStore again(dir_ + "/sub/dir");
  analysis::AnalysisState restored;
  std::string oom;
  EXPECT_TRUE(again.restore([&](const analysis::AnalysisState& a, std::string_view o) {
    restored = a;
    oom = o;
  }));
  EXPECT_EQ(analysis::to_json(restored), analysis::to_json(sample_state()));
  EXPECT_EQ(nlohmann::json::parse(oom), nlohmann::json::parse(kOom));
}

TEST_F(StateStoreTest, RewritesOnlyWhenTheGenerationOrTheOomPartChanged) {
  StateStore store(dir_);  // forced writes: the cost rule has its own test
  int built = 0;
  auto state = [&] {
    ++built;
    return sample_state();
  };
  store.save_if_changed(5, state, kOom, 10, true);
  store.save_if_changed(5, state, kOom, 11, true);
  EXPECT_EQ(built, 1);
  EXPECT_EQ(store.status().last_write, 10);
  store.save_if_changed(6, state, kOom, 12, true);
  EXPECT_EQ(built, 2);
  store.save_if_changed(6, state, R"({"counters":{},"history":[],"version":1})", 13, true);
  EXPECT_EQ(built, 3);
  EXPECT_EQ(store.status().last_write, 13);
}

TEST_F(StateStoreTest, AChangeRightAfterAWriteWaitsInProportionToTheWritesCost) {
  StateStore store(dir_);
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 10);
  EXPECT_EQ(store.status().last_write, 10);
  // The write took w > 0 s of CPU; the next may come w / kStateWriteCpuShare later,
  // far more than the microseconds until this call.
  store.save_if_changed(2, [] { return sample_state(20); }, kOom, 11);
  EXPECT_EQ(store.status().last_write, 10);
  store.save_if_changed(2, [] { return sample_state(20); }, kOom, 12, /*force=*/true);  // SIGTERM's flush
  EXPECT_EQ(store.status().last_write, 12);
}

TEST_F(StateStoreTest, ACorruptFileIsMovedAsideAndNothingIsApplied) {
  StateStore store(dir_);
  for (const std::string text : {"{\"version\":1,\"analysis\":", "[1,2,3]", "{\"version\":7,\"analysis\":{},\"oom\":{}}"}) {
    std::ofstream(store.path()) << text;
    EXPECT_FALSE(store.restore([](const auto&, auto) { FAIL() << "applied a corrupt state"; })) << text;
    EXPECT_FALSE(fs::exists(store.path()));
    std::ifstream aside(store.path() + ".corrupt");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(aside), {}), text);
  }
}

TEST_F(StateStoreTest, ContentTheDaemonRefusesIsMovedAsideToo) {
  StateStore store(dir_);
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1, true);
  EXPECT_FALSE(store.restore([](const auto&, auto) { throw std::invalid_argument("leak window out of order"); }));
  EXPECT_TRUE(fs::exists(store.path() + ".corrupt"));
}

TEST_F(StateStoreTest, AnOversizedFileIsNotReadIntoMemory) {
  StateStore store(dir_);
  {
    std::ofstream(store.path()) << "{";
  }
  fs::resize_file(store.path(), store.max_file_bytes() + 1);  // sparse: costs no disk
  EXPECT_FALSE(store.restore([](const auto&, auto) { FAIL(); }));
  EXPECT_TRUE(fs::exists(store.path() + ".corrupt"));
}

TEST_F(StateStoreTest, AReadOnlyDirectoryIsCountedAndTheLastGoodFileIsKept) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a read-only tmpfs";
  const std::string rw = mount_tmpfs("ro", "size=1m,mode=0700");
  if (rw.empty()) GTEST_SKIP() << "cannot mount tmpfs here";
  StateStore store(rw);
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1, true);
  ASSERT_EQ(store.status().write_errors, 0u);
  ASSERT_EQ(::mount(nullptr, rw.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  store.save_if_changed(2, [] { return sample_state(20); }, kOom, 2, true);
  store.save_if_changed(3, [] { return sample_state(30); }, kOom, 3, true);
  EXPECT_EQ(store.status().write_errors, 2u);
  EXPECT_EQ(store.status().last_write, 1);
  StateStore reader(rw);
  analysis::AnalysisState restored;
  EXPECT_TRUE(reader.restore([&](const analysis::AnalysisState& a, std::string_view) { restored = a; }));
  EXPECT_EQ(analysis::to_json(restored), analysis::to_json(sample_state()));  // the first write
  ASSERT_EQ(::mount(nullptr, rw.c_str(), nullptr, MS_REMOUNT, nullptr), 0);
  store.save_if_changed(3, [] { return sample_state(30); }, kOom, 4, true);  // a failing store retries
  EXPECT_EQ(store.status().last_write, 4);
}

TEST_F(StateStoreTest, AFullVolumeLeavesNoPartialFileAndKeepsTheLastGoodOne) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  const std::string small = mount_tmpfs("full", "size=64k,mode=0700");
  if (small.empty()) GTEST_SKIP() << "cannot mount tmpfs here";
  StateStore store(small);
  store.save_if_changed(1, [] { return sample_state(10); }, kOom, 1, true);
  ASSERT_EQ(store.status().write_errors, 0u);
  store.save_if_changed(2, [] { return sample_state(10000); }, kOom, 2, true);  // ~300 KiB of JSON
  EXPECT_EQ(store.status().write_errors, 1u);
  EXPECT_FALSE(fs::exists(small + "/.ramflow-state.json.tmp"));
  StateStore reader(small);
  analysis::AnalysisState restored;
  EXPECT_TRUE(reader.restore([&](const analysis::AnalysisState& a, std::string_view) { restored = a; }));
  EXPECT_EQ(analysis::to_json(restored), analysis::to_json(sample_state(10)));
}

TEST_F(StateStoreTest, ASymlinkPlantedAtTheTemporaryNameIsNotFollowed) {
  StateStore store(dir_);
  const std::string victim = dir_ + "/victim";
  std::ofstream(victim) << "untouched";
  fs::create_symlink(victim, dir_ + "/.ramflow-state.json.tmp");
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1, true);
  EXPECT_EQ(store.status().write_errors, 0u);
  EXPECT_FALSE(fs::is_symlink(store.path()));
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "untouched");
}

TEST_F(StateStoreTest, AFileWhoseLastLoadNeverFinishedIsMovedAsideUnread) {
  StateStore store(dir_);
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1, true);
  std::ofstream(store.loading_marker()) << "";  // what a start killed mid-parse leaves
  EXPECT_FALSE(store.restore([](const auto&, auto) { FAIL() << "loaded a file that killed the last start"; }));
  EXPECT_TRUE(fs::exists(store.path() + ".corrupt"));
  EXPECT_FALSE(fs::exists(store.loading_marker()));
  store.save_if_changed(2, [] { return sample_state(); }, kOom, 2, true);
  EXPECT_TRUE(StateStore(dir_).restore([](const auto&, auto) {})) << "the next start is clean";
}

TEST_F(StateStoreTest, TheMarkerIsGoneAfterEveryLoadGoodOrBad) {
  StateStore store(dir_);
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1, true);
  EXPECT_TRUE(store.restore([&](const auto&, auto) { EXPECT_TRUE(fs::exists(store.loading_marker())); }));
  EXPECT_FALSE(fs::exists(store.loading_marker()));
  std::ofstream(store.path()) << "{";
  EXPECT_FALSE(store.restore([](const auto&, auto) {}));
  EXPECT_FALSE(fs::exists(store.loading_marker()));
}

TEST_F(StateStoreTest, HostileShapesUnderTheSizeBoundStopAtTheMemoryBudget) {
  const RestoreBudget budget{16u << 20, "a test budget"};
  StateStore store(dir_, budget);
  ASSERT_EQ(store.max_file_bytes(), (16u << 20) / kCountedBytesPerFileByte);
  const std::size_t size = store.max_file_bytes() - 16;
  std::string objects = "[";
  while (objects.size() < size) objects += "{},";
  objects.back() = ']';
  std::string nested = std::string(size / 2, '[') + std::string(size / 2, ']');
  for (const auto& [text, why] : {std::pair{objects, "MiB of memory to load"}, std::pair{nested, "nested deeper"}}) {
    std::ofstream(store.path()) << text;
    EXPECT_FALSE(store.restore([](const auto&, auto) { FAIL(); }));
    EXPECT_TRUE(fs::exists(store.path() + ".corrupt")) << why;
  }
}

TEST_F(StateStoreTest, AStateTooLargeToBeLoadedAgainIsNotWrittenAndSaysWhatToDo) {
  StateStore store(dir_, RestoreBudget{1u << 20, "a small sidecar"});  // files up to 128 KiB
  store.save_if_changed(1, [] { return sample_state(100000); }, kOom, 1, true);
  EXPECT_FALSE(fs::exists(store.path()));
  EXPECT_EQ(store.status().write_errors, 1u);
  StateStore roomy(dir_);
  roomy.save_if_changed(1, [] { return sample_state(100000); }, kOom, 1, true);
  EXPECT_TRUE(fs::exists(roomy.path()));
}

TEST(StateStoreDisabled, DoesNothingWithoutADirectory) {
  StateStore store("");
  EXPECT_FALSE(store.enabled());
  store.save_if_changed(1, [] { return sample_state(); }, kOom, 1, true);
  EXPECT_FALSE(store.status().last_write);
  EXPECT_FALSE(store.restore([](const auto&, auto) { FAIL(); }));
}

}  // namespace
}  // namespace ramflow::daemon
