// The read-only HTTP server on a real loopback socket (127.0.0.1, a free
// port), asked by a real HTTP client.
#include "export/http/http_server.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

namespace ramflow::exporter {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.route("/hello", [](const auto& param) {
      return Response{200, "text/plain; charset=utf-8", "hello " + param("name") + "\n"};
    });
    server_.route("/busy", [](const auto&) { return Response{503, "text/plain", "not ready\n"}; });
    ASSERT_EQ(server_.bind("127.0.0.1:0"), "");
    server_.start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
    client_->set_connection_timeout(5, 0);
    client_->set_read_timeout(5, 0);
  }
  void TearDown() override { server_.stop(); }

  HttpServer server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, PortZeroPicksAFreePort) { EXPECT_GT(server_.port(), 0); }

TEST_F(HttpServerTest, AGetReturnsTheHandlersStatusTypeAndBody) {
  auto res = client_->Get("/hello?name=pod");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(res->body, "hello pod\n");
}

TEST_F(HttpServerTest, TheHandlersStatusIsKept) {
  auto res = client_->Get("/busy");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
}

TEST_F(HttpServerTest, AMissingParameterIsEmpty) {
  auto res = client_->Get("/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "hello \n");
}

TEST_F(HttpServerTest, HeadIsServedWithoutABody) {
  auto res = client_->Head("/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(res->body.empty());
}

TEST_F(HttpServerTest, AnUnknownPathIsNotFound) {
  auto res = client_->Get("/nothing-here");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(HttpServerTest, WritesAreRefusedAsReadOnly) {
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    httplib::Request req;
    req.method = method;
    req.path = "/hello";
    auto res = client_->send(req);
    ASSERT_TRUE(res) << method;
    EXPECT_EQ(res->status, 405) << method;
    EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD") << method;
  }
}

TEST_F(HttpServerTest, ResponsesAreNeverCached) {
  auto res = client_->Get("/hello");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST_F(HttpServerTest, AnAddressInUseIsAnErrorNamingIt) {
  HttpServer second;
  const std::string taken = "127.0.0.1:" + std::to_string(server_.port());
  const std::string error = second.bind(taken);
  EXPECT_NE(error.find(taken), std::string::npos) << error;
  EXPECT_NE(error.find("--listen"), std::string::npos) << error;
}

TEST(HttpServer, StopRightAfterStartReturns) {
  // In a child process with an alarm, so a hang fails the test instead of
  // holding it (a `ramflowd run` of a command that exits at once does this).
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(20);
    for (int i = 0; i < 200; ++i) {
      HttpServer server;
      if (!server.bind("127.0.0.1:0").empty()) ::_exit(2);
      server.start();
      server.stop();
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(WIFSIGNALED(status)) << "stop() right after start() hung";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(HttpServer, StopWithoutStartReturns) {
  HttpServer server;
  ASSERT_EQ(server.bind("127.0.0.1:0"), "");
  server.stop();
}

}  // namespace
}  // namespace ramflow::exporter
