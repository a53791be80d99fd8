// The webhook's HTTPS server, live on 127.0.0.1 (a free port), with throwaway
// certificates made by the openssl CLI; clients trust exactly one certificate,
// so a successful call proves which one the server presented. Rotation is
// exercised the way the kubelet updates a Secret volume (files replaced by a
// rename) and the way a naive script does (rewritten in place, one after the other).
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>

#include "review_fixture.h"
#include "webhook/webhook_server.h"

namespace ramflow::webhook {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

// A self-signed EC certificate for IP 127.0.0.1 in DIR/NAME.crt and DIR/NAME.key.
void make_certificate(const fs::path& dir, const std::string& name) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=ramflow-webhook"
      " -addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir / (name + ".key")).string() + " -out " + (dir / (name + ".crt")).string() + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

class WebhookServerLive : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ramflow-webhook-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"a", "b", "c"}) make_certificate(dir_, name);
    install("a");
  }
  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(dir_);
  }

  // Like the kubelet: the new files are written aside and renamed over the served ones.
  void install(const std::string& name) {
    for (const char* ext : {".crt", ".key"}) {
      fs::copy_file(dir_ / (name + ext), dir_ / (std::string("next") + ext), fs::copy_options::overwrite_existing);
      fs::rename(dir_ / (std::string("next") + ext), dir_ / (std::string("tls") + ext));
    }
  }

  std::string start() {
    WebhookOptions o;
    o.listen = "127.0.0.1:0";
    o.tls_cert = (dir_ / "tls.crt").string();
    o.tls_key = (dir_ / "tls.key").string();
    o.injection = testing::chart_settings();
    server_ = std::make_unique<WebhookServer>(o);
    return server_->start();
  }

  // A client that trusts only certificate NAME.
  std::unique_ptr<httplib::SSLClient> client(const std::string& name) {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port());
    c->set_ca_cert_path((dir_ / (name + ".crt")).string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(10, 0);
    return c;
  }

  bool presents(const std::string& name) { return static_cast<bool>(client(name)->Get("/healthz")); }

  std::string metrics() {
    auto res = client(current_)->Get("/metrics");
    return res ? res->body : "";
  }

  fs::path dir_;
  std::unique_ptr<WebhookServer> server_;
  std::string current_ = "a";
};

TEST_F(WebhookServerLive, AnswersAdmissionReviewsOverTls) {
  ASSERT_EQ(start(), "");
  auto c = client("a");
  auto health = c->Get("/healthz");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);

  nlohmann::json review = testing::fixture("replicaset-pod.json");
  auto res = c->Post("/mutate", review.dump(), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  nlohmann::json answer = nlohmann::json::parse(res->body);
  EXPECT_EQ(answer["response"]["uid"], review["request"]["uid"]);
  EXPECT_EQ(answer["response"]["patchType"], "JSONPatch");

  // The same pod through the namespace entry, without its annotation; and a non-pod.
  review["request"]["object"]["metadata"]["annotations"].erase("ramflow.io/inject");
  auto ns = c->Post("/mutate/namespace", review.dump(), "application/json");
  ASSERT_TRUE(ns);
  EXPECT_TRUE(nlohmann::json::parse(ns->body)["response"].contains("patch"));
  auto plain = c->Post("/mutate", review.dump(), "application/json");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(nlohmann::json::parse(plain->body)["response"].contains("patch"));
  auto bad = c->Post("/mutate", "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);

  const std::string m = metrics();
  EXPECT_NE(m.find("ramflow_webhook_admission_reviews_total{outcome=\"injected\"} 2"), std::string::npos) << m;
  EXPECT_NE(m.find("ramflow_webhook_admission_reviews_total{outcome=\"not_requested\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ramflow_webhook_admission_reviews_total{outcome=\"malformed_request\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ramflow_webhook_admission_reviews_total{outcome=\"conflict\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("ramflow_webhook_certificate_expiry_timestamp_seconds "), std::string::npos) << m;
}

TEST_F(WebhookServerLive, RefusesOversizedBodiesAndPlainHttp) {
  ASSERT_EQ(start(), "");
  auto res = client("a")->Post("/mutate", std::string(5 << 20, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_connection_timeout(5, 0);
  plain.set_read_timeout(5, 0);
  auto p = plain.Get("/healthz");
  EXPECT_FALSE(p && p->status == 200) << "plain HTTP must not be served";
}

TEST_F(WebhookServerLive, PresentsARotatedCertificateAtTheNextHandshake) {
  ASSERT_EQ(start(), "");
  ASSERT_TRUE(presents("a"));
  EXPECT_FALSE(presents("b"));

  install("b");
  current_ = "b";
  EXPECT_TRUE(presents("b")) << "the renamed-in certificate is served without a restart";
  EXPECT_FALSE(presents("a"));
  EXPECT_NE(metrics().find("ramflow_webhook_certificate_reloads_total{result=\"success\"} 1"), std::string::npos);

  // Rewritten in place, the certificate first: in between, the new certificate and
  // the old key do not match, the pair is refused and b stays in use.
  write_file(dir_ / "tls.crt", read_file(dir_ / "c.crt"));
  EXPECT_TRUE(presents("b"));
  EXPECT_FALSE(presents("c"));
  EXPECT_NE(metrics().find("ramflow_webhook_certificate_reloads_total{result=\"failure\"} 1"), std::string::npos);
  write_file(dir_ / "tls.key", read_file(dir_ / "c.key"));
  current_ = "c";
  EXPECT_TRUE(presents("c"));
  EXPECT_FALSE(presents("b"));

  // A file that is no PEM at all, or gone: the last good pair keeps serving.
  write_file(dir_ / "tls.crt", "not a certificate\n");
  EXPECT_TRUE(presents("c"));
  fs::remove(dir_ / "tls.key");
  EXPECT_TRUE(presents("c"));
  EXPECT_NE(metrics().find("ramflow_webhook_certificate_reloads_total{result=\"failure\"} 3"), std::string::npos)
      << metrics();
}

TEST_F(WebhookServerLive, DoesNotStartWithoutAUsableCertificate) {
  write_file(dir_ / "tls.key", read_file(dir_ / "b.key"));
  std::string error = start();
  EXPECT_NE(error.find("does not belong to the certificate"), std::string::npos) << error;
  fs::remove(dir_ / "tls.crt");
  error = start();
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  EXPECT_NE(error.find("--tls-cert"), std::string::npos) << error;
}

}  // namespace
}  // namespace ramflow::webhook
