// The router and the response bytes: 404, 405 with Allow, HEAD, a throwing
// handler, and a handler that tries to split the response.
#include "export/http/detail/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace ramflow::exporter::detail {
namespace {

Request request(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add("GET", "/metrics", [](const Request&) { return Response{200, "text/plain", "m 1\n"}; }, 0);
    router_.add("POST", "/hook", [](const Request& r) { return Response{200, "application/json", r.body}; }, 64);
    router_.add("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("bad"); }, 0);
  }
  Router router_;
};

TEST_F(RouterTest, UnknownPathIs404) { EXPECT_EQ(router_.respond(request("GET", "/nope")).status, 404); }

TEST_F(RouterTest, AMethodThePathDoesNotServeIs405WithAllow) {
  const Response r = router_.respond(request("POST", "/metrics"));
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, HEAD"}));
  EXPECT_EQ(r.body, "ramflowd is read-only: only GET and HEAD are served\n");
  EXPECT_EQ(router_.respond(request("GET", "/hook")).status, 405);
}

TEST_F(RouterTest, OnlyTheRouteThatTakesABodyGetsABodyLimit) {
  EXPECT_EQ(router_.body_limit(request("POST", "/hook")), 64u);
  EXPECT_EQ(router_.body_limit(request("POST", "/metrics")), 0u);
  EXPECT_EQ(router_.body_limit(request("GET", "/nope")), 0u);
}

TEST_F(RouterTest, AThrowingHandlerIs500) { EXPECT_EQ(router_.respond(request("GET", "/boom")).status, 500); }

TEST_F(RouterTest, HeadIsServedByTheGetRouteWithoutTheBody) {
  const Response r = router_.respond(request("HEAD", "/metrics"));
  ASSERT_EQ(r.status, 200);
  const std::string bytes = response_bytes(r, /*head_only=*/true);
  EXPECT_NE(bytes.find("Content-Length: 4\r\n"), std::string::npos);
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "\r\n\r\n");
}

TEST(ResponseBytes, CloseTheConnectionAndCannotBeSplitByAHandler) {
  const std::string bytes =
      response_bytes(Response{200, "text/plain\r\nSet-Cookie: a=b", "x", {{"X-A", "1\r\n\r\ninjected"}}}, false);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(bytes.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Content-Type: text/plainSet-Cookie: a=b\r\n"), std::string::npos);
  EXPECT_EQ(bytes.find("\r\nSet-Cookie"), std::string::npos);
  EXPECT_NE(bytes.find("X-A: 1injected\r\n"), std::string::npos);
  EXPECT_EQ(bytes.substr(bytes.size() - 5), "\r\n\r\nx");
}

}  // namespace
}  // namespace ramflow::exporter::detail
