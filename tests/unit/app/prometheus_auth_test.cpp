#include "app/prometheus_auth.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace ramflow::app {
namespace {

namespace fs = std::filesystem;

class PrometheusAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ramflow-auth-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& content) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  static std::string message_of(const PrometheusAuth& auth) {
    try {
      prometheus_headers(auth);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(PrometheusAuthTest, NoOptionsSendNoHeader) { EXPECT_TRUE(prometheus_headers({}).empty()); }

TEST_F(PrometheusAuthTest, BearerTokenComesFromTheFileWithoutItsLineEnd) {
  const auto headers = prometheus_headers({.token_file = file("token", "eyJhbGciOi.abc-_~+/=\r\n")});
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].first, "Authorization");
  EXPECT_EQ(headers[0].second, "Bearer eyJhbGciOi.abc-_~+/=");
}

TEST_F(PrometheusAuthTest, BasicAuthIsBase64OfUserColonPassword) {
  // RFC 7617's example: Aladdin / open sesame.
  const auto headers = prometheus_headers({.user = "Aladdin", .password_file = file("pw", "open sesame\n")});
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].first, "Authorization");
  EXPECT_EQ(headers[0].second, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_F(PrometheusAuthTest, TenantGoesInXScopeOrgIdBesideTheToken) {
  const auto headers = prometheus_headers({.token_file = file("token", "t0k3n"), .tenant = "team-a|team-b"});
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[1].first, "X-Scope-OrgID");
  EXPECT_EQ(headers[1].second, "team-a|team-b");
}

TEST_F(PrometheusAuthTest, TokenAndUserTogetherAreRefused) {
  EXPECT_NE(message_of({.token_file = file("t", "x"), .user = "u", .password_file = file("p", "y")}).find("not both"),
            std::string::npos);
}

TEST_F(PrometheusAuthTest, UserAndPasswordFileGoTogether) {
  EXPECT_NE(message_of({.user = "u"}).find("go together"), std::string::npos);
  EXPECT_NE(message_of({.password_file = file("p", "y")}).find("go together"), std::string::npos);
}

TEST_F(PrometheusAuthTest, BadSecretFilesNameTheOptionAndNeverTheSecret) {
  const std::string missing = message_of({.token_file = (dir_ / "absent").string()});
  EXPECT_NE(missing.find("cannot read --prometheus-token-file"), std::string::npos);
  EXPECT_NE(missing.find("No such file"), std::string::npos);
  EXPECT_NE(message_of({.token_file = file("empty", "\n")}).find("is empty"), std::string::npos);
  const std::string two_lines = message_of({.token_file = file("two", "secret-one\nsecret-two\n")});
  EXPECT_NE(two_lines.find("one line"), std::string::npos);
  EXPECT_EQ(two_lines.find("secret-one"), std::string::npos);
  EXPECT_NE(message_of({.token_file = file("spaced", "a b")}).find("without spaces"), std::string::npos);
  EXPECT_NE(message_of({.token_file = file("big", std::string(70000, 'a'))}).find("64 KiB"), std::string::npos);
}

TEST_F(PrometheusAuthTest, HeaderInjectionThroughTheTenantOrUserIsRefused) {
  EXPECT_NE(message_of({.tenant = "a\r\nX-Evil: 1"}).find("--prometheus-tenant"), std::string::npos);
  EXPECT_NE(message_of({.tenant = std::string(151, 'a')}).find("150"), std::string::npos);
  EXPECT_NE(message_of({.user = "a:b", .password_file = file("p", "y")}).find("--prometheus-user"), std::string::npos);
}

TEST_F(PrometheusAuthTest, HintsNameTheOptionToCheck) {
  EXPECT_NE(auth_hint(401, {}, "Unauthorized").find("give --prometheus-token-file"), std::string::npos);
  EXPECT_NE(auth_hint(401, {.token_file = "t"}, "").find("refused these credentials"), std::string::npos);
  EXPECT_NE(auth_hint(401, {}, "no org id\n").find("--prometheus-tenant"), std::string::npos);
  EXPECT_NE(auth_hint(403, {.tenant = "a"}, "").find("--prometheus-tenant"), std::string::npos);
  EXPECT_EQ(auth_hint(500, {}, "boom"), "");
}

}  // namespace
}  // namespace ramflow::app
