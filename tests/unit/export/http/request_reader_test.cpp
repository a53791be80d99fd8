// The request reader on hand-written requests: what it accepts, each limit
// with its status, and that feeding a request in pieces changes nothing.
#include "export/http/detail/request_reader.h"

#include <gtest/gtest.h>

#include <string>

namespace ramflow::exporter::detail {
namespace {

using State = RequestReader::State;

RequestReader reader(std::size_t body = 0, HeadLimits limits = {}) {
  return RequestReader(limits, [body](const Request&) { return body; });
}

TEST(RequestReader, ReadsAGetWithItsPathQueryAndHeaders) {
  auto r = reader();
  ASSERT_EQ(r.feed("GET /api/v1/report?cgroup=%2Fkubepods%2Fa+b HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\n"),
            State::kComplete);
  EXPECT_EQ(r.request().method, "GET");
  EXPECT_EQ(r.request().path, "/api/v1/report");
  EXPECT_EQ(r.request().param("cgroup"), "/kubepods/a b");
  EXPECT_EQ(r.request().param("missing"), "");
  EXPECT_EQ(r.request().header("accept"), "*/*");
  EXPECT_EQ(r.request().header("host"), "x");
}

TEST(RequestReader, FedOneByteAtATimeGivesTheSameRequest) {
  const std::string text = "GET /metrics?a=1&b=%41 HTTP/1.0\nUser-Agent: Prometheus/2.45\n\n";
  auto whole = reader();
  ASSERT_EQ(whole.feed(text), State::kComplete);
  auto bytes = reader();
  State state = State::kReading;
  for (char c : text) state = bytes.feed(std::string_view(&c, 1));
  ASSERT_EQ(state, State::kComplete);
  EXPECT_EQ(bytes.request().path, whole.request().path);
  EXPECT_EQ(bytes.request().query, whole.request().query);
  EXPECT_EQ(bytes.request().headers, whole.request().headers);
  EXPECT_EQ(bytes.request().param("b"), "A");
}

TEST(RequestReader, WaitsForTheEndOfTheHead) {
  auto r = reader();
  EXPECT_EQ(r.feed("GET / HTTP/1.1\r\nHost: x\r\n"), State::kReading);
  EXPECT_EQ(r.feed("\r"), State::kReading);
  EXPECT_EQ(r.feed("\n"), State::kComplete);
}

TEST(RequestReader, EndlessHeaderLinesAreRefusedAtTheLineLimit) {
  auto r = reader(0, {4096, 1 << 20, 64});
  r.feed("GET /metrics HTTP/1.1\r\n");
  State state = State::kReading;
  int lines = 0;
  while (state == State::kReading && lines < 1000) state = r.feed("X-Padding: " + std::to_string(lines++) + "\r\n");
  EXPECT_EQ(state, State::kFailed);
  EXPECT_EQ(r.status(), 431);
  EXPECT_EQ(lines, 65);
  EXPECT_EQ(r.feed("More: 1\r\n"), State::kFailed) << "a failed reader takes nothing more";
}

TEST(RequestReader, AHeadOverTheByteLimitIsRefusedBeforeItIsHeld) {
  auto r = reader(0, {4096, 8192, 1000});
  r.feed("GET / HTTP/1.1\r\n");
  EXPECT_EQ(r.feed("X-Big: " + std::string(9000, 'a')), State::kFailed);
  EXPECT_EQ(r.status(), 431);
}

TEST(RequestReader, ALongRequestLineIs414EvenBeforeItEnds) {
  auto r = reader();
  EXPECT_EQ(r.feed("GET /" + std::string(5000, 'a')), State::kFailed);
  EXPECT_EQ(r.status(), 414);
}

TEST(RequestReader, MalformedRequestsAre400AndOtherVersions505) {
  for (const std::string text : {"GET\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
                                 "G(T / HTTP/1.1\r\n\r\n", "GET http://x/ HTTP/1.1\r\n\r\n", "GET /%zz HTTP/1.1\r\n\r\n",
                                 "GET /%00 HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\n folded\r\n\r\n",
                                 "GET / HTTP/1.1\r\nNo colon\r\n\r\n", "GET / HTTP/1.1\r\nBad\x01: 1\r\n\r\n",
                                 "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "GET / HTTPS/1.1\r\n\r\n"}) {
    auto r = reader();
    EXPECT_EQ(r.feed(text), State::kFailed) << text;
    EXPECT_EQ(r.status(), 400) << text;
    EXPECT_FALSE(r.reason().empty());
  }
  auto r = reader();
  EXPECT_EQ(r.feed("GET / HTTP/2.0\r\n\r\n"), State::kFailed);
  EXPECT_EQ(r.status(), 505);
}

TEST(RequestReader, LeadingEmptyLinesAreTolerated) {
  auto r = reader();
  EXPECT_EQ(r.feed("\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"), State::kComplete);
  EXPECT_EQ(r.request().path, "/healthz");
}

TEST(RequestReader, ABodyIsNeverReadForARouteThatTakesNone) {
  auto r = reader(0);
  EXPECT_EQ(r.feed("POST /metrics HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n"), State::kComplete);
  EXPECT_TRUE(r.request().body.empty());
}

TEST(RequestReader, ABodyIsReadUpToItsContentLength) {
  auto r = reader(16);
  EXPECT_EQ(r.feed("POST /hook HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), State::kReading);
  EXPECT_EQ(r.feed("cdeEXTRA"), State::kComplete);
  EXPECT_EQ(r.request().body, "abcde");
}

TEST(RequestReader, BodiesOverTheLimitChunkedOrAmbiguousAreRefused) {
  struct Case {
    std::string text;
    int status;
  };
  for (const auto& [text, status] : {Case{"POST /h HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 413},
                                     Case{"POST /h HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 413},
                                     Case{"POST /h HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
                                     Case{"POST /h HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
                                     Case{"POST /h HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400}}) {
    auto r = reader(16);
    EXPECT_EQ(r.feed(text), State::kFailed) << text;
    EXPECT_EQ(r.status(), status) << text;
  }
}

TEST(QueryParam, DecodesFormValuesAndTakesTheFirst) {
  EXPECT_EQ(query_param("a=1&a=2", "a"), "1");
  EXPECT_EQ(query_param("flag&x=%2F", "flag"), "");
  EXPECT_EQ(query_param("flag&x=%2F", "x"), "/");
  EXPECT_EQ(query_param("x=%zz", "x"), "");
  EXPECT_EQ(query_param("na%6De=v", "name"), "v");
}

}  // namespace
}  // namespace ramflow::exporter::detail
