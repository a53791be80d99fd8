// The command line: subcommand, daemon options in order, the command after --.
#include "app/cli.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace ramflow::app {
namespace {

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ramflowd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CommandLine, ServeIsTheDefaultCommand) { EXPECT_EQ(parse({}).command, "serve"); }

TEST(CommandLine, DaemonOptionsKeepTheirOrderInBothSpellings) {
  const auto cl = parse({"serve", "--interval", "2s", "--max-processes=8", "--interval=3s"});
  ASSERT_EQ(cl.options.size(), 3u);
  EXPECT_EQ(cl.options[0], (std::pair<std::string, std::string>{"interval", "2s"}));
  EXPECT_EQ(cl.options[1], (std::pair<std::string, std::string>{"max-processes", "8"}));
  EXPECT_EQ(cl.options[2], (std::pair<std::string, std::string>{"interval", "3s"}));
}

TEST(CommandLine, CommandFlagsAreNotDaemonOptions) {
  const auto cl = parse({"report", "--url", "http://127.0.0.1:9977", "--output", "r.html", "--config", "c.yaml"});
  EXPECT_EQ(cl.command, "report");
  EXPECT_EQ(cl.url, "http://127.0.0.1:9977");
  EXPECT_EQ(cl.output, "r.html");
  EXPECT_EQ(cl.config_file, "c.yaml");
  EXPECT_TRUE(cl.options.empty());
}

TEST(CommandLine, EverythingAfterTheDoubleDashIsTheChildCommand) {
  const auto cl = parse({"run", "--interval", "1s", "--", "/usr/bin/python3", "-m", "celery", "--loglevel", "INFO"});
  EXPECT_EQ(cl.command, "run");
  EXPECT_EQ(cl.child, (std::vector<std::string>{"/usr/bin/python3", "-m", "celery", "--loglevel", "INFO"}));
  EXPECT_EQ(cl.options.size(), 1u);
}

TEST(CommandLine, RunWithoutACommandSaysHowToGiveOne) {
  EXPECT_NE(error_of({"run"}).find("ramflowd run -- python3"), std::string::npos);
}

TEST(CommandLine, RunHelpNeedsNoCommand) { EXPECT_TRUE(parse({"run", "--help"}).help); }

TEST(CommandLine, AStrayArgumentIsAnErrorNamingIt) {
  const std::string error = error_of({"serve", "stray"});
  EXPECT_NE(error.find("\"stray\""), std::string::npos) << error;
  EXPECT_NE(error.find("--help"), std::string::npos) << error;
}

TEST(CommandLine, AStrayArgumentToRunPointsAtTheDoubleDash) {
  EXPECT_NE(error_of({"run", "python3"}).find("after --"), std::string::npos);
}

TEST(CommandLine, AnOptionWithoutItsValueIsAnError) {
  EXPECT_NE(error_of({"--interval"}).find("--interval needs a value"), std::string::npos);
}

TEST(CommandLine, HelpAndVersionAreFlags) {
  EXPECT_TRUE(parse({"-h"}).help);
  EXPECT_TRUE(parse({"--version"}).version);
}

TEST(CommandLine, UsageListsEveryCommandAndTheOptions) {
  const std::string text = usage();
  for (const char* word : {"ramflowd run", "ramflowd recommend", "ramflowd report", "ramflowd capture", "--config",
                           "--interval", "--capture-auto", "--control-socket"}) {
    EXPECT_NE(text.find(word), std::string::npos) << word;
  }
}

TEST(CommandLine, CaptureFlagsAreNotDaemonOptions) {
  const auto cl = parse({"capture", "--pid", "4101", "--tasks=50", "--seconds", "30", "--url", "unix:/run/ramflow/control.sock"});
  EXPECT_EQ(cl.command, "capture");
  EXPECT_EQ(cl.pid, "4101");
  EXPECT_EQ(cl.tasks, "50");
  EXPECT_EQ(cl.seconds, "30");
  EXPECT_TRUE(cl.options.empty());
}

}  // namespace
}  // namespace ramflow::app
