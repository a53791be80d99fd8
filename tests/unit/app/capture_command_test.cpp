// `ramflowd capture`: which socket its --url names (its flags: cli_test.cpp).
#include "app/capture_command.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "app/control_socket.h"

namespace ramflow::app {
namespace {

TEST(CaptureCommand, TheControlSocketIsBesideTheAgentSocketUnlessSet) {
  config::Config c;
  c.socket = "/run/ramflow/ramflow.sock";
  EXPECT_EQ(control_socket_path(c), "/run/ramflow/control.sock");
  c.control_socket = "/var/run/rf/ctl.sock";
  EXPECT_EQ(control_socket_path(c), "/var/run/rf/ctl.sock");
}

TEST(CaptureCommand, UrlNamesAUnixSocketNeverTheHttpPort) {
  config::Config c;
  c.socket = "/run/ramflow/ramflow.sock";
  EXPECT_EQ(control_socket_of("", c), "/run/ramflow/control.sock");
  EXPECT_EQ(control_socket_of("unix:/tmp/x/control.sock", c), "/tmp/x/control.sock");
  EXPECT_EQ(control_socket_of("unix:///tmp/x/control.sock", c), "/tmp/x/control.sock");
  EXPECT_EQ(control_socket_of("/tmp/x/control.sock", c), "/tmp/x/control.sock");
  try {
    control_socket_of("http://127.0.0.1:9977", c);
    FAIL() << "an HTTP URL was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("kubectl exec"), std::string::npos) << e.what();
  }
  EXPECT_THROW(control_socket_of("ftp://x", c), std::invalid_argument);
  EXPECT_THROW(control_socket_of("unix:", c), std::invalid_argument);
}

}  // namespace
}  // namespace ramflow::app
