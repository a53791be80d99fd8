// Options from defaults, then the YAML file, then RAMFLOW_* variables, then
// flags: later sources win, and an inconsistent pair is refused.
#include "app/load_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>

namespace ramflow::app {
namespace {

class LoadConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("RAMFLOW_CONFIG");
    char path[] = "/tmp/ramflow-config-XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    file_ = path;
  }
  void TearDown() override { std::remove(file_.c_str()); }
  void write_file(const std::string& yaml) { std::ofstream(file_) << yaml; }
  config::Config load(const CommandLine& cl, std::vector<std::string> env = {}) {
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    return load_config(cl, envp.data());
  }
  std::string file_;
};

TEST_F(LoadConfigTest, NothingGivenIsTheDefaults) {
  const auto c = load(CommandLine{});
  EXPECT_EQ(c.interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(c.max_processes, 64u);
  EXPECT_TRUE(c.sources.empty());
}

TEST_F(LoadConfigTest, FlagsWinOverEnvironmentOverFile) {
  write_file("interval: 5s\nmax-processes: 10\ntop-functions: 7\n");
  CommandLine cl;
  cl.config_file = file_;
  cl.options = {{"interval", "2s"}};
  const auto c = load(cl, {"RAMFLOW_INTERVAL=3s", "RAMFLOW_MAX_PROCESSES=20"});
  EXPECT_EQ(c.interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.max_processes, 20u);
  EXPECT_EQ(c.top_functions, 7u);
  EXPECT_EQ(c.sources.at("interval"), "flag");
  EXPECT_EQ(c.sources.at("max-processes"), "env");
  EXPECT_EQ(c.sources.at("top-functions"), "file");
}

TEST_F(LoadConfigTest, TheFileCanComeFromRamflowConfig) {
  write_file("max-processes: 12\n");
  ::setenv("RAMFLOW_CONFIG", file_.c_str(), 1);
  const auto c = load(CommandLine{});
  ::unsetenv("RAMFLOW_CONFIG");
  EXPECT_EQ(c.max_processes, 12u);
}

TEST_F(LoadConfigTest, AMissingFileIsAnErrorNamingIt) {
  CommandLine cl;
  cl.config_file = "/nonexistent/ramflow.yaml";
  try {
    load(cl);
    FAIL() << "loaded a file that does not exist";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ramflow.yaml"), std::string::npos) << e.what();
  }
}

TEST_F(LoadConfigTest, LeakMediumAboveLeakHighIsRefusedNamingTheVariables) {
  try {
    load(CommandLine{}, {"RAMFLOW_LEAK_MEDIUM=30", "RAMFLOW_LEAK_HIGH=20"});
    FAIL() << "accepted medium > high";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("RAMFLOW_LEAK_MEDIUM"), std::string::npos) << e.what();
  }
}

TEST_F(LoadConfigTest, ABadFlagValueIsRefused) {
  CommandLine cl;
  cl.options = {{"max-processes", "many"}};
  EXPECT_THROW(load(cl), config::ConfigError);
}

}  // namespace
}  // namespace ramflow::app
