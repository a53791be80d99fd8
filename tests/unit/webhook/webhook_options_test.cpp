// `ramflowd webhook` options: the chart's defaults, flags over environment,
// and a clear error for every bad value (sidecar values checked by ramflowd's
// own rules, so the injected sidecar always starts).
#include <gtest/gtest.h>

#include "webhook/webhook_options.h"

namespace ramflow::webhook {
namespace {

using Flags = std::vector<std::pair<std::string, std::string>>;
const Flags kTls = {{"tls-cert", "/tls/tls.crt"}, {"tls-key", "/tls/tls.key"}};
const std::string kImage = "ghcr.io/ramflow/ramflow:0.1.0";

Flags with(Flags extra) {
  Flags f = kTls;
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

std::string error_of(const Flags& flags, std::vector<std::string> env = {}) {
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  try {
    parse_webhook_options(flags, envp.data(), kImage);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return {};
}

TEST(WebhookOptions, DefaultsAreTheCharts) {
  WebhookOptions o = parse_webhook_options(kTls, nullptr, kImage);
  EXPECT_EQ(o.listen, "0.0.0.0:8443");
  EXPECT_EQ(o.tls_cert, "/tls/tls.crt");
  const InjectionSettings& s = o.injection;
  EXPECT_EQ(s.image, kImage);
  EXPECT_EQ(s.image_pull_policy, "IfNotPresent");
  EXPECT_TRUE(s.native_sidecar);
  EXPECT_EQ(s.sidecar_port, 9977);
  EXPECT_EQ(s.interval, "1s");
  EXPECT_EQ(s.max_processes, "64");
  EXPECT_EQ(s.capture_auto, "true");
  EXPECT_EQ(s.capture_every, "1h");
  EXPECT_EQ(s.sidecar_resources.memory_limit, "128Mi");
  EXPECT_EQ(s.agent_resources.cpu_request, "10m");
  EXPECT_EQ(s.socket_dir, "/run/ramflow");
  EXPECT_EQ(s.agent_mount_path, "/ramflow-agent");
}

TEST(WebhookOptions, FlagsWinOverTheEnvironment) {
  std::string a = "RAMFLOW_IMAGE=registry.internal/ramflow:env", b = "RAMFLOW_NATIVE_SIDECAR=false",
              c = "RAMFLOW_TLS_CERT=/env.crt", d = "RAMFLOW_TLS_KEY=/env.key";
  char* envp[] = {a.data(), b.data(), c.data(), d.data(), nullptr};
  WebhookOptions o = parse_webhook_options({{"image", "registry.internal/ramflow:flag"}, {"sidecar-cpu-request", ""}},
                                           envp, kImage);
  EXPECT_EQ(o.injection.image, "registry.internal/ramflow:flag");
  EXPECT_FALSE(o.injection.native_sidecar);
  EXPECT_EQ(o.tls_cert, "/env.crt");
  EXPECT_EQ(o.injection.sidecar_resources.cpu_request, "") << "an empty quantity unsets the default";
}

TEST(WebhookOptions, TlsFilesAreRequired) {
  EXPECT_NE(error_of({}).find("needs --tls-cert FILE and --tls-key FILE"), std::string::npos);
  EXPECT_NE(error_of({{"tls-cert", "/a"}}).find("--tls-key"), std::string::npos);
}

TEST(WebhookOptions, BadValuesNameTheOptionAndWhatIsAllowed) {
  struct Case {
    Flags flags;
    const char* says;
  };
  const Case cases[] = {
      {with({{"interval", "50ms"}}), "expected a duration like 500ms, 1s, 2m or 1h between 100ms and 1h (as ramflowd serve --interval)"},
      {with({{"max-processes", "0"}}), "--max-processes"},
      {with({{"process-match", "("}}), "ECMAScript"},
      {with({{"sidecar-log-level", "loud"}}), "--sidecar-log-level"},
      {with({{"leak-medium", "30"}}), "must not exceed --leak-high"},
      {with({{"capture-auto", "sometimes"}}), "--capture-auto"},
      {with({{"capture-every", "10s"}}), "--capture-every"},
      {with({{"sidecar-memory-limit", "lots"}}), "a Kubernetes quantity"},
      {with({{"agent-cpu-request", "1.5 cores"}}), "a Kubernetes quantity"},
      {with({{"image-pull-policy", "Sometimes"}}), "one of Always, IfNotPresent, Never"},
      {with({{"native-sidecar", "maybe"}}), "true or false"},
      {with({{"sidecar-port", "70000"}}), "a port from 1 to 65535"},
      {with({{"socket-dir", "run/ramflow"}}), "an absolute directory"},
      {with({{"agent-mount-path", "/ramflow:agent"}}), "without a trailing slash or ':'"},
      {with({{"image", "two words"}}), "without spaces"},
      {with({{"listen", "8443"}}), "HOST:PORT"},
      {with({{"log-format", "xml"}}), "one of text, json (as ramflowd serve --log-format)"},
      {with({{"socket", "/run/x.sock"}}), "unknown option --socket for ramflowd webhook; known options: listen, tls-cert"},
  };
  for (const auto& c : cases) {
    std::string error = error_of(c.flags);
    EXPECT_NE(error.find(c.says), std::string::npos) << c.flags.back().first << ": " << error;
  }
  EXPECT_NE(error_of(kTls, {"RAMFLOW_SIDECAR_PORT=x"}).find("RAMFLOW_SIDECAR_PORT"), std::string::npos);
}

TEST(WebhookOptions, QuantitiesInTheFormsKubernetesWrites) {
  for (const char* q : {"20m", "0.5", "1", "48Mi", "1Gi", "1e3", "128974848", "2.5G"}) {
    EXPECT_EQ(error_of(with({{"sidecar-memory-limit", q}})), "") << q;
  }
}

TEST(WebhookOptions, HelpListsEveryOption) {
  const std::string help = webhook_options_help();
  for (const char* name : {"--listen", "--tls-cert", "--tls-key", "--image", "--native-sidecar", "--sidecar-port",
                           "--sidecar-memory-limit", "--agent-mount-path", "RAMFLOW_<NAME>"}) {
    EXPECT_NE(help.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace ramflow::webhook
