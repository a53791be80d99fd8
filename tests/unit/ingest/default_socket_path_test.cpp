#include "ingest/default_socket_path.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace ramflow::ingest {
namespace {

TEST(DefaultSocketPath, UsesTheRunDirectoryWhenItExists) {
  char dir[] = "/tmp/ramflow-run-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  EXPECT_EQ(default_socket_path(dir, 1000), std::string(dir) + "/ramflow.sock");
  ::rmdir(dir);
}

TEST(DefaultSocketPath, FallsBackToAPerUidTmpDirectory) {
  EXPECT_EQ(default_socket_path("/nonexistent/ramflow", 1000), "/tmp/ramflow-1000/ramflow.sock");
}

}  // namespace
}  // namespace ramflow::ingest
