#include "app/client_commands.h"

#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/prometheus_auth.h"
#include "export/prometheus/recorded_series.h"
#include "export/report/capture_json.h"
#include "export/report/html_report.h"
#include "export/report/readout.h"

namespace ramflow::app {
namespace {

constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 1;
constexpr std::size_t kCapturesPrinted = 3;

using nlohmann::json;

struct Endpoint {
  std::string base;  // scheme://host:port
  std::string path_prefix;
};

Endpoint split_url(const std::string& url) {
  auto scheme = url.find("://");
  if (url.empty() || scheme == std::string::npos) {
    throw std::invalid_argument("\"" + url + "\" is not a URL; expected e.g. http://127.0.0.1:9977");
  }
  auto slash = url.find('/', scheme + 3);
  Endpoint e{url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash)};
  while (!e.path_prefix.empty() && e.path_prefix.back() == '/') e.path_prefix.pop_back();
  return e;
}

// What a fleet store needs besides the query: the options, and the headers made of them once.
struct StoreAccess {
  PrometheusAuth auth;
  HeaderList headers;
};

nlohmann::json get_json(const std::string& url, const std::string& path, const httplib::Params& params = {},
                        const StoreAccess& access = {}) {
  Endpoint e = split_url(url);
  httplib::Headers headers(access.headers.begin(), access.headers.end());
  httplib::Client client(e.base);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  auto res = client.Get(e.path_prefix + path, params, headers);
  if (!res) {
    throw std::runtime_error("cannot reach " + e.base + ": " + httplib::to_string(res.error()) +
                             " — check the URL (kubectl port-forward pod/<pod> 9977 first?)");
  }
  if (res->status != 200) {
    const std::string hint = auth_hint(res->status, access.auth, res->body);
    throw std::runtime_error(e.base + e.path_prefix + path + " answered HTTP " + std::to_string(res->status) + ": " +
                             res->body.substr(0, 200) + (hint.empty() ? "" : " — " + hint));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(e.base + e.path_prefix + path + " did not answer JSON");
  return j;
}

std::optional<double> prometheus_scalar(const std::string& url, const std::string& query, const StoreAccess& access) {
  auto j = get_json(url, "/api/v1/query", {{"query", query}}, access);
  if (j.value("status", "") != "success") throw std::runtime_error("Prometheus rejected " + query + ": " + j.dump());
  const auto& result = j["data"]["result"];
  if (!result.is_array() || result.empty()) return std::nullopt;
  if (result.size() > 1) {
    throw std::runtime_error("the selector matches " + std::to_string(result.size()) +
                             " workloads; narrow it to one namespace and workload (and cluster, where the store holds several)");
  }
  return std::stod(result[0]["value"][1].get<std::string>());
}

exporter::Readout readout_from_prometheus(const std::string& url, const std::string& selector,
                                          const StoreAccess& access) {
  if (selector.size() < 2 || selector.front() != '{' || selector.back() != '}') {
    throw std::invalid_argument("--selector must be a PromQL label selector like '{namespace=\"jobs\",workload=\"celery-worker\"}'");
  }
  auto series = [&](std::string_view recorded) {
    return prometheus_scalar(url, std::string(recorded) + selector, access);
  };
  auto limit = series(exporter::recorded::kLimit);
  auto request = series(exporter::recorded::kRequest);
  auto peak = series(exporter::recorded::kPeak);
  if (!limit || !request || !peak) {
    throw std::runtime_error("Prometheus has no ramflow fleet history for " + selector +
                             " — are the recording rules of deploy/prometheus/ramflow-rules.yaml loaded?");
  }
  exporter::Readout r;
  r.scope = "workload " + selector + " (max over replicas and 7 days)";
  r.peak_bytes = *peak;
  r.peak_reason = "highest pod footprint among replicas over 7 days";
  r.limit_bytes = *limit;
  r.limit_reason = "highest per-pod recommended limit among replicas over 7 days (peak + headroom + leak allowance)";
  r.request_bytes = *request;
  r.request_reason = "highest per-pod recommended request among replicas over 7 days";
  if (auto celery = series(exporter::recorded::kCeleryMaxMemoryPerChild)) {
    r.celery_max_memory_per_child_kib = static_cast<std::int64_t>(*celery / 1024);
    r.celery_reason = "smallest per-child budget among replicas over 7 days";
  }
  return r;
}

}  // namespace

int recommend_command(const CommandLine& cl) {
  if (cl.url.empty() == cl.prometheus.empty()) {
    std::cerr << "ramflowd recommend: give either --url http://HOST:9977 (one sidecar) or --prometheus URL "
                 "--selector '{...}' (fleet history)\n";
    return kExitUsage;
  }
  if (!cl.output.empty() && cl.output != "text" && cl.output != "json") {
    std::cerr << "ramflowd recommend: --output must be text or json\n";
    return kExitUsage;
  }
  const PrometheusAuth auth{cl.prometheus_token_file, cl.prometheus_user, cl.prometheus_password_file,
                            cl.prometheus_tenant};
  if (cl.prometheus.empty() && !auth.empty()) {
    std::cerr << "ramflowd recommend: the --prometheus-* options go with --prometheus URL (a sidecar's --url needs none)\n";
    return kExitUsage;
  }
  try {
    exporter::Readout r = cl.url.empty() ? readout_from_prometheus(cl.prometheus, cl.selector,
                                                                   StoreAccess{auth, prometheus_headers(auth)})
                                         : exporter::readout_from_report(get_json(cl.url, "/api/v1/report"));
    if (cl.output == "json") std::cout << exporter::format_readout_json(r).dump(2) << "\n";
    else std::cout << exporter::format_readout_text(r);
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "ramflowd recommend: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "ramflowd recommend: " << e.what() << "\n";
    return kExitUnavailable;
  }
}

int report_command(const CommandLine& cl) {
  auto ends_with = [](const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (cl.url.empty() || !(ends_with(cl.output, ".html") || ends_with(cl.output, ".json"))) {
    std::cerr << "ramflowd report: usage: ramflowd report --url http://HOST:9977 --output FILE.html|FILE.json\n";
    return kExitUsage;
  }
  try {
    nlohmann::json report = get_json(cl.url, "/api/v1/report");
    report["source"] = "report";
    std::string body = ends_with(cl.output, ".json") ? report.dump(2) + "\n" : exporter::standalone_html(report);
    std::ofstream out(cl.output, std::ios::binary);
    out << body;
    if (!out) {
      std::cerr << "ramflowd report: cannot write " << cl.output << "\n";
      return kExitUnavailable;
    }
    std::cout << "wrote " << cl.output << "\n";
    // The lines that grew, where people look first: the most recent captures.
    const json& captures = report["execution_flow"].value("allocation_sites", json::array());
    for (std::size_t i = 0; i < captures.size() && i < kCapturesPrinted; ++i) {
      std::cout << exporter::format_capture_text(captures[i], 3);
    }
    return 0;
  } catch (const std::invalid_argument& e) {
    std::cerr << "ramflowd report: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "ramflowd report: " << e.what() << "\n";
    return kExitUnavailable;
  }
}

}  // namespace ramflow::app
