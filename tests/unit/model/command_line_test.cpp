// The command-line redaction rule on the command lines workers really have.
#include "model/command_line.h"

#include <gtest/gtest.h>

namespace ramflow::model {
namespace {

std::string shown(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : redact_command_line(argv)) out += (out.empty() ? "" : " ") + a;
  return out;
}

TEST(RedactCommandLine, UrlCredentialsAreHiddenWhereverTheUrlIs) {
  EXPECT_EQ(shown({"celery", "-A", "app", "worker", "--broker", "redis://:S3cretPassw0rd@redis:6379/0"}),
            "celery -A app worker --broker redis://***@redis:6379/0");
  EXPECT_EQ(shown({"--result-backend=db+postgresql://app:pw@db/results"}), "--result-backend=db+postgresql://***@db/results");
  EXPECT_EQ(shown({"DATABASE_URL=postgres://u:p@h:5432/x?sslmode=require"}), "DATABASE_URL=postgres://***@h:5432/x?sslmode=require");
  EXPECT_EQ(shown({"https://ghp_abc@github.com/o/r.git", "amqp://guest:guest@rabbit//"}),
            "https://***@github.com/o/r.git amqp://***@rabbit//");
  EXPECT_EQ(shown({"--broker", "redis://redis:6379/0"}), "--broker redis://redis:6379/0") << "no credentials, nothing hidden";
}

TEST(RedactCommandLine, SecretOptionsLoseTheirValueInBothForms) {
  EXPECT_EQ(shown({"worker", "--password", "hunter2", "--concurrency", "2"}), "worker --password *** --concurrency 2");
  EXPECT_EQ(shown({"--api-key=abc", "--client_secret=def", "--auth-token", "ghi", "-token=x"}),
            "--api-key=*** --client_secret=*** --auth-token *** -token=***");
  EXPECT_EQ(shown({"--db-password", "--verbose"}), "--db-password --verbose") << "a flag after it is not its value";
  EXPECT_EQ(shown({"--keyspace", "prod", "--passes=3", "--tokenizer-threads", "4"}),
            "--keyspace prod --passes=3 --tokenizer-threads ***")
      << "words are matched, and 'token' anywhere in a name is a secret";
}

TEST(RedactCommandLine, SecretLookingAssignmentsAreHidden) {
  EXPECT_EQ(shown({"env", "FOO_TOKEN=abc", "AWS_SECRET_ACCESS_KEY=xyz", "DEBUG=1", "python3", "w.py"}),
            "env FOO_TOKEN=*** AWS_SECRET_ACCESS_KEY=*** DEBUG=1 python3 w.py");
  EXPECT_EQ(shown({"x=password=1"}), "x=password=1") << "only the name before the first = decides";
}

TEST(RedactCommandLine, AuthorizationHeadersAreHidden) {
  EXPECT_EQ(shown({"curl", "-H", "Authorization: Bearer abc.def", "http://x"}), "curl -H Authorization: *** http://x");
}

TEST(RedactCommandLine, OrdinaryCommandsAreUntouched) {
  const std::vector<std::string> argv = {"/usr/bin/python3", "-m", "celery", "-A", "shop.search", "worker",
                                         "--concurrency", "2", "--", "-", "--"};
  EXPECT_EQ(redact_command_line(argv), argv);
}

}  // namespace
}  // namespace ramflow::model
