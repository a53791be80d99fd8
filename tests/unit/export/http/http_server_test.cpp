// The server on real loopback sockets: binding (a port in use is an error,
// never shared), a POST route with a body, the response budget against
// clients that never read, which connection goes at the cap, and stop() with
// clients still connected.
// Attacks against the whole binary: tests/e2e/test_hostile_http.py.
#include "export/http/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ramflow::exporter {
namespace {

int connect_to(int port, int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void send_all(int fd, const std::string& text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Everything until the server closes (or resets) the connection.
std::string read_all(int fd) {
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  return out;
}

std::string exchange(int port, const std::string& request) {
  const int fd = connect_to(port);
  send_all(fd, request);
  std::string out = read_all(fd);
  ::close(fd);
  return out;
}

TEST(HttpServer, APortAnotherServerListensOnIsAnErrorNamingIt) {
  HttpServer first;
  ASSERT_EQ(first.bind("127.0.0.1:0"), "");
  HttpServer second;
  const std::string error = second.bind("127.0.0.1:" + std::to_string(first.port()));
  EXPECT_NE(error.find("port " + std::to_string(first.port()) + " is already in use"), std::string::npos) << error;
  EXPECT_NE(error.find("--listen"), std::string::npos) << error;
}

TEST(HttpServer, BadAddressesAreErrorsSayingWhatToDo) {
  HttpServer s;
  EXPECT_NE(s.bind("127.0.0.1:99999").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(s.bind("192.0.2.1:0").find("not an address of this machine"), std::string::npos);
}

TEST(HttpServer, ServesGetRoutesAndAPostRouteWithItsBody) {
  HttpServer s;
  s.route("/healthz", [](const auto& param) { return Response{200, "text/plain", "ok " + param("who") + "\n"}; });
  s.route("POST", "/echo", [](const Request& r) { return Response{200, "text/plain", r.body}; }, 1024);
  ASSERT_EQ(s.bind("127.0.0.1:0"), "");
  s.start();
  const std::string get = exchange(s.port(), "GET /healthz?who=me HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(get.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << get;
  EXPECT_EQ(get.substr(get.size() - 6), "ok me\n");
  const std::string post = exchange(s.port(), "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(post.substr(post.size() - 5), "hello");
  const std::string too_big = exchange(s.port(), "POST /echo HTTP/1.1\r\nContent-Length: 2048\r\n\r\n");
  EXPECT_EQ(too_big.rfind("HTTP/1.1 413", 0), 0u) << too_big;
  const std::string head = exchange(s.port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  s.stop();
}

TEST(HttpServer, ASlowReaderIsDisconnectedWhenResponsesOutgrowTheBudget) {
  HttpLimits limits;
  limits.max_buffered_response_bytes = 48u << 20;
  HttpServer s(limits);
  const std::string big(32u << 20, 'x');  // far more than the kernel's socket buffers take
  s.route("/big", [&big](const auto&) { return Response{200, "text/plain", big}; });
  ASSERT_EQ(s.bind("127.0.0.1:0"), "");
  s.start();
  const int slow = connect_to(s.port(), 4096);
  send_all(slow, "GET /big HTTP/1.1\r\n\r\n");
  char first[16];
  ASSERT_GT(::recv(slow, first, sizeof first, 0), 0) << "the first response is being written";
  // The second 32 MiB response does not fit beside the first: the stalled reader goes.
  const std::string second = exchange(s.port(), "GET /big HTTP/1.1\r\n\r\n");
  ASSERT_NE(second.find("\r\n\r\n"), std::string::npos);
  EXPECT_EQ(second.size() - second.find("\r\n\r\n") - 4, big.size()) << "the new response is whole";
  const std::string rest = read_all(slow);
  EXPECT_LT(rest.size(), big.size()) << "the slow reader was cut off";
  ::close(slow);
  s.stop();
}

bool still_open(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

TEST(HttpServer, AtTheCapTheReaderSilentLongestIsClosedNotTheOldest) {
  HttpLimits limits;
  limits.max_connections = 3;
  HttpServer s(limits);
  s.route("/metrics", [](const auto&) { return Response{200, "text/plain", "up 1\n"}; });
  ASSERT_EQ(s.bind("127.0.0.1:0"), "");
  s.start();
  // The sleeps only let the server's loop take each step before the next one (no time is measured).
  const auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); };
  const int trickling = connect_to(s.port());
  settle();
  const int idle = connect_to(s.port());
  settle();
  const int newer_idle = connect_to(s.port());
  settle();
  send_all(trickling, "GET /metrics HTTP/1.1\r\n");  // the oldest connection, but it just sent a byte
  settle();
  const std::string scrape = exchange(s.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(scrape.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << scrape;
  EXPECT_EQ(read_all(idle), "") << "the connection silent longest was closed";
  EXPECT_TRUE(still_open(trickling)) << "the oldest connection had sent a byte since";
  EXPECT_TRUE(still_open(newer_idle));
  for (int fd : {trickling, idle, newer_idle}) ::close(fd);
  s.stop();
}

TEST(HttpServer, AtTheCapConnectionsInTheirGraceKeepTheirSlotAndANewcomerWaitsForOne) {
  HttpLimits limits;
  limits.max_connections = 2;
  limits.shed_grace = std::chrono::seconds(30);  // longer than the test: nobody is shed
  HttpServer s(limits);
  s.route("/metrics", [](const auto&) { return Response{200, "text/plain", "up 1\n"}; });
  ASSERT_EQ(s.bind("127.0.0.1:0"), "");
  s.start();
  const auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); };
  const int first = connect_to(s.port());
  const int second = connect_to(s.port());
  settle();
  const int scraper = connect_to(s.port());  // completed by the kernel, waiting in the backlog
  send_all(scraper, "GET /metrics HTTP/1.1\r\n\r\n");
  settle();
  EXPECT_TRUE(still_open(first)) << "in its grace: not shed";
  EXPECT_TRUE(still_open(second)) << "in its grace: not shed";
  EXPECT_TRUE(still_open(scraper)) << "not refused: it waits to be accepted";
  ::close(first);  // a slot frees: the waiting request is taken and answered
  const std::string scrape = read_all(scraper);
  EXPECT_EQ(scrape.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << scrape;
  for (int fd : {second, scraper}) ::close(fd);
  s.stop();
}

TEST(HttpServer, StopReturnsWithClientsStillConnectedMidRequest) {
  HttpServer s;
  s.route("/healthz", [](const auto&) { return Response{200, "text/plain", "ok\n"}; });
  ASSERT_EQ(s.bind("127.0.0.1:0"), "");
  s.start();
  std::vector<int> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(connect_to(s.port()));
  send_all(clients[0], "GET /healthz HTTP/1.1\r\nX-Slow: 1\r\n");
  s.stop();
  for (int fd : clients) {
    EXPECT_EQ(read_all(fd), "") << "closed without a response";
    ::close(fd);
  }
}

}  // namespace
}  // namespace ramflow::exporter
