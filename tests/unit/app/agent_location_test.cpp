// Where `ramflowd run` finds the Python agent to inject.
#include "app/agent_location.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace ramflow::app {
namespace {

namespace fs = std::filesystem;

class AgentLocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ramflow-agent-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = fs::canonical(tmpl);
  }
  void TearDown() override {
    ::unsetenv("RAMFLOW_AGENT_DIR");
    fs::remove_all(dir_);
  }
  void install_agent() {
    fs::create_directories(dir_ / "sitecustomize");
    fs::create_directories(dir_ / "ramflow");
    std::ofstream(dir_ / "sitecustomize" / "sitecustomize.py") << "";
    std::ofstream(dir_ / "ramflow" / "__init__.py") << "";
  }
  fs::path dir_;
};

TEST_F(AgentLocationTest, RamflowAgentDirWinsWhenItHoldsTheAgent) {
  install_agent();
  ::setenv("RAMFLOW_AGENT_DIR", dir_.c_str(), 1);
  EXPECT_EQ(find_agent_dir(), dir_.string());
}

TEST_F(AgentLocationTest, ADirectoryWithoutTheAgentIsPassedOver) {
  fs::create_directories(dir_ / "ramflow");
  std::ofstream(dir_ / "ramflow" / "__init__.py") << "";  // no sitecustomize/
  ::setenv("RAMFLOW_AGENT_DIR", dir_.c_str(), 1);
  EXPECT_NE(find_agent_dir(), dir_.string());
}

TEST_F(AgentLocationTest, TheSourceTreesAgentIsTheLastResort) {
  ::unsetenv("RAMFLOW_AGENT_DIR");
  const fs::path found = find_agent_dir();
  ASSERT_FALSE(found.empty());
  EXPECT_TRUE(fs::exists(found / "sitecustomize" / "sitecustomize.py"));
  EXPECT_TRUE(fs::exists(found / "ramflow" / "__init__.py"));
}

}  // namespace
}  // namespace ramflow::app
