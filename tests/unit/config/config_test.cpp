#include "config/config.h"

#include <gtest/gtest.h>

namespace ramflow::config {
namespace {

TEST(Config, DefaultsMatchTheDocumentation) {
  Config c;
  EXPECT_EQ(c.listen, "0.0.0.0:9977");
  EXPECT_EQ(c.interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(c.max_processes, 64u);
  EXPECT_EQ(c.smaps_interval, std::chrono::milliseconds(30000));
  EXPECT_EQ(c.top_functions, 50u);
  EXPECT_DOUBLE_EQ(c.leak_medium_mib, 5);
  EXPECT_DOUBLE_EQ(c.leak_high_mib, 20);
}

// Threshold defaults come from thresholds/thresholds.json (tests/unit/analysis
// checks the generated constants against the file).
TEST(Config, ThresholdDefaultsAreTheThresholdsFile) {
  Config c;
  EXPECT_DOUBLE_EQ(c.leak_medium_mib, thresholds::kLeakMediumMiB);
  EXPECT_DOUBLE_EQ(c.leak_high_mib, thresholds::kLeakHighMiB);
  EXPECT_DOUBLE_EQ(c.greedy_mib_per_second, thresholds::kGreedyMiBPerSecond);
  EXPECT_DOUBLE_EQ(c.oom_risk_margin, thresholds::kOomRiskNonreclaimableMargin);
}

TEST(Config, FlagEnvFileAllSetTheSameOption) {
  Config c;
  apply_yaml_text(c, "interval: 2s\nmax_processes: 10\n", "test.yaml");
  EXPECT_EQ(c.interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.max_processes, 10u);
  std::string e1 = "RAMFLOW_INTERVAL=500ms";
  std::string e2 = "RAMFLOW_LEAK_HIGH=40";
  std::string e3 = "RAMFLOW_ENV=staging";  // not an option: belongs to the report
  char* env[] = {e1.data(), e2.data(), e3.data(), nullptr};
  apply_environment(c, env);
  EXPECT_EQ(c.interval, std::chrono::milliseconds(500));
  EXPECT_DOUBLE_EQ(c.leak_high_mib, 40);
  set_option(c, "interval", "3s", Source::kFlag);
  EXPECT_EQ(c.interval, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.max_processes, 10u);
}

TEST(Config, BadValueNamesOptionValueSourceAndWhatIsAllowed) {
  Config c;
  try {
    set_option(c, "interval", "fast", Source::kFlag);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("\"fast\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("--interval"), std::string::npos) << msg;
    EXPECT_NE(msg.find("a duration like"), std::string::npos) << msg;
  }
  EXPECT_EQ(c.interval, std::chrono::milliseconds(1000)) << "a rejected value leaves the old one";
}

TEST(Config, EnvErrorNamesTheVariable) {
  Config c;
  std::string e = "RAMFLOW_MAX_PROCESSES=zero";
  char* env[] = {e.data(), nullptr};
  try {
    apply_environment(c, env);
    FAIL();
  } catch (const ConfigError& err) {
    EXPECT_NE(std::string(err.what()).find("RAMFLOW_MAX_PROCESSES"), std::string::npos);
  }
}

TEST(Config, UnknownYamlKeyIsRejectedWithTheKnownKeys) {
  Config c;
  try {
    apply_yaml_text(c, "intervall: 1s\n", "cfg.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("intervall"), std::string::npos);
    EXPECT_NE(msg.find("cfg.yaml"), std::string::npos);
    EXPECT_NE(msg.find("interval"), std::string::npos);
  }
}

TEST(Config, ADuplicatedYamlKeyIsRejectedNamingBothLines) {
  Config c;
  for (const char* text : {"interval: 2s\nlisten: 0.0.0.0:1\ninterval: 3s\n", "max-processes: 2\nlisten: x:1\nmax_processes: 3\n"}) {
    try {
      apply_yaml_text(c, text, "cfg.yaml");
      ADD_FAILURE() << "accepted " << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("appears twice in cfg.yaml (line 1 and line 3)"), std::string::npos) << e.what();
    }
  }
}

TEST(Config, WrongYamlTypesAreRejected) {
  Config c;
  EXPECT_THROW(apply_yaml_text(c, "interval: [1, 2]\n", "cfg.yaml"), ConfigError);
  EXPECT_THROW(apply_yaml_text(c, "listen: {host: x}\n", "cfg.yaml"), ConfigError);
  EXPECT_THROW(apply_yaml_text(c, "- a\n- b\n", "cfg.yaml"), ConfigError);
  EXPECT_THROW(apply_yaml_text(c, "max-processes: many\n", "cfg.yaml"), ConfigError);
  EXPECT_THROW(apply_yaml_text(c, "a: [\n", "cfg.yaml"), ConfigError);
}

TEST(Config, AllowedUidsFromListOrCommaText) {
  Config c;
  apply_yaml_text(c, "allowed-uids: [1000, 1001]\n", "cfg.yaml");
  EXPECT_EQ(c.allowed_uids, (std::vector<uid_t>{1000, 1001}));
  set_option(c, "allowed-uids", "5,6", Source::kFlag);
  EXPECT_EQ(c.allowed_uids, (std::vector<uid_t>{5, 6}));
  EXPECT_THROW(set_option(c, "allowed-uids", "root", Source::kFlag), ConfigError);
}

TEST(Config, InvalidRegexIsRejected) {
  Config c;
  EXPECT_THROW(set_option(c, "process-match", "python(", Source::kFlag), ConfigError);
}

// Found with the tests/fuzz/config_option harness (ASan, on a hand-made long
// input): a 20000-character pattern overflowed the stack inside std::regex's
// compiler instead of being rejected.
TEST(Config, OverlongRegexIsRejectedNotCompiled) {
  Config c;
  set_option(c, "process-match", std::string(1024, 'a'), Source::kFlag);
  EXPECT_EQ(c.process_match.size(), 1024u);
  try {
    set_option(c, "process-match", std::string(100000, 'a'), Source::kFlag);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("at most 1024 characters"), std::string::npos) << e.what();
  }
  EXPECT_EQ(c.process_match.size(), 1024u);
}

// Found by tests/fuzz/config_yaml: a YAML value holding a NUL ("\0" in a quoted
// scalar) cut the message at the NUL, so it named neither the key nor what is allowed.
TEST(Config, ValueWithControlBytesKeepsTheWholeMessage) {
  Config c;
  try {
    apply_yaml_text(c, "max-processes: \"12\\0\\n3\"\n", "cfg.yaml");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("\"12\\x00\\x0a3\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("key 'max-processes' in cfg.yaml"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected a whole number"), std::string::npos) << msg;
  }
}

TEST(Config, LongValueIsCutInTheMessage) {
  Config c;
  try {
    set_option(c, "max-processes", std::string(100000, '9'), Source::kFlag);
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_LT(msg.size(), 300u) << msg;
    EXPECT_NE(msg.find("(100000 bytes)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--max-processes"), std::string::npos) << msg;
  }
}

// Found by tests/fuzz/config_option and config_yaml (UBSan): std::regex's
// compiler overflowed a long reading the back-reference "\\5555555555555555555".
TEST(Config, RegexWithHugeBackReferenceOrCountIsRejectedNotCompiled) {
  Config c;
  EXPECT_THROW(set_option(c, "process-match", "(a)\\5555555555555555555", Source::kFlag), ConfigError);
  EXPECT_THROW(set_option(c, "process-match", "a{1,99999999999999999999}", Source::kFlag), ConfigError);
  set_option(c, "process-match", "worker-1234567890|a{1,3}", Source::kFlag);  // a literal number is fine
  EXPECT_EQ(c.process_match, "worker-1234567890|a{1,3}");
}

TEST(Config, MissingFileSaysWhatToCheck) {
  Config c;
  try {
    apply_yaml_file(c, "/nonexistent/ramflow.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos);
  }
}

TEST(Config, DescribeListsEveryOption) {
  Config c;
  auto rows = describe(c);
  EXPECT_GE(rows.size(), 20u);
  bool found = false;
  for (auto& [k, v] : rows) found |= (k == "interval" && v == "1s");
  EXPECT_TRUE(found);
  EXPECT_NE(options_help().find("RAMFLOW_PROCESS_MATCH"), std::string::npos);
}

}  // namespace
}  // namespace ramflow::config
